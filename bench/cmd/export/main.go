// Command export is the benchmark driver for rootfs.FromImage + rootfs.Export:
//
//	go run ./bench/cmd/export docker-archive:IMG.tar OUTDIR
//	go run ./bench/cmd/export docker-daemon:NAME OUTDIR
//
// It prints the time of each phase and the process's peak RSS to stderr.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/pkg/rootfs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

func open(src string) (v1.Image, error) {
	switch {
	case strings.HasPrefix(src, "docker-archive:"):
		return tarball.ImageFromPath(strings.TrimPrefix(src, "docker-archive:"), nil)
	case strings.HasPrefix(src, "docker-daemon:"):
		ref, err := name.ParseReference(strings.TrimPrefix(src, "docker-daemon:"))
		if err != nil {
			return nil, err
		}
		return daemon.Image(ref, daemon.WithContext(context.Background()), daemon.WithFileBufferedOpener())
	}
	return nil, fmt.Errorf("source %q: want docker-archive:PATH or docker-daemon:NAME", src)
}

func run(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: export SRC DIR")
	}
	start := time.Now()
	img, err := open(args[0])
	if err != nil {
		return err
	}
	var read int64
	v, err := rootfs.FromImage(ctx, img, rootfs.WithProgress(func(p rootfs.Progress) {
		if p.Done {
			read += p.Bytes
		}
	}))
	if err != nil {
		return err
	}
	defer v.Close()
	applied := time.Now()
	st, err := rootfs.Export(ctx, v, args[1])
	if err != nil {
		return err
	}
	done := time.Now()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Fprintf(os.Stderr, "layers: %d MiB read in %.2fs; export: %d files, %d dirs, %d symlinks, %d hardlinks, %d MiB in %.2fs; total %.2fs; peak RSS %d MiB; %d warnings\n",
		read>>20, applied.Sub(start).Seconds(), st.Files, st.Dirs, st.Symlinks, st.Hardlinks, st.Bytes>>20,
		done.Sub(applied).Seconds(), done.Sub(start).Seconds(), ru.Maxrss>>10, len(st.Warnings)+len(v.Warnings()))
	return nil
}
