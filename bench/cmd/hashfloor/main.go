// Command hashfloor measures the floor of verifying a docker-archive: it
// computes the sha256 of every layer.tar member of the archive (what a
// reader must do to check each layer against its diff_id), as many layers
// at once as there are CPUs (GOMAXPROCS), largest first, reading with
// pread in buffers of -buf bytes. It prints nothing but errors; time it.
//
//	hashfloor [-buf N] ARCHIVE
package main

import (
	"archive/tar"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
)

func main() {
	buf := flag.Int("buf", 256<<10, "read buffer size in bytes")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: hashfloor [-buf N] ARCHIVE")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *buf); err != nil {
		fmt.Fprintf(os.Stderr, "hashfloor: %v\n", err)
		os.Exit(1)
	}
}

type member struct{ off, size int64 }

func run(name string, bufSize int) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	var layers []member
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(h.Name, ".tar") {
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return err
			}
			layers = append(layers, member{off, h.Size})
		}
	}
	sort.Slice(layers, func(i, j int) bool { return layers[i].size > layers[j].size })
	jobs := make(chan member)
	errs := make(chan error, len(layers))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, bufSize)
			for m := range jobs {
				h := sha256.New()
				if _, err := io.CopyBuffer(h, io.NewSectionReader(f, m.off, m.size), b); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, m := range layers {
		jobs <- m
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs
}
