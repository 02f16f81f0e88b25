//go:build linux

package hostile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// TestMain removes the pare binary the tests built. Run with
// PARE_HOSTILE_LAUNCH=1, the test binary is instead the launcher runPare
// measures pare through (see launch).
func TestMain(m *testing.M) {
	if os.Getenv("PARE_HOSTILE_LAUNCH") == "1" {
		os.Exit(launch(os.Args[1:]))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pareBin builds cmd/pare once per test binary and returns its path.
func pareBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "pare-hostile-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "pare")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/pare-dev/pare/cmd/pare")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			binErr = errors.New("go build ./cmd/pare: " + err.Error() + "\n" + out.String())
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// launch runs args and writes the child's peak RSS in KiB to fd 3.
//
// It exists because the peak RSS of a process started straight from the
// test counts the test's own: Go starts children with vfork, and exec
// records the parent's high-water mark as the child's. Started from this
// small launcher, pare's figure is its own.
func launch(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			f := os.NewFile(3, "rss")
			fmt.Fprintf(f, "%d", ru.Maxrss)
			f.Close()
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "launch:", err)
	return 127
}

// result is how one pare process ended.
type result struct {
	code    int
	stdout  string
	stderr  string
	elapsed time.Duration
	maxRSS  int64 // bytes
}

// runPare runs the pare binary with args and measures it. A process still
// running after timeout is killed (and the result says so with code -1).
func runPare(t *testing.T, timeout time.Duration, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, self, append([]string{pareBin(t)}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), "PARE_HOSTILE_LAUNCH=1")
	rr, rw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{rw}
	cmd.WaitDelay = 5 * time.Second
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Start()
	rw.Close()
	if err == nil {
		err = cmd.Wait()
	}
	rss, _ := io.ReadAll(rr)
	rr.Close()
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		r.code = -1
		r.stderr += "\n(run: " + err.Error() + ")"
	}
	if kib, err := strconv.ParseInt(string(rss), 10, 64); err == nil {
		r.maxRSS = kib << 10
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("pare %s panicked:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// layer is a layer blob with its digests, served from memory. Its digests
// may be wrong on purpose.
type layer struct {
	blob           []byte
	gz             bool
	digest, diffID v1.Hash
}

var _ v1.Layer = (*layer)(nil)

func (l *layer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *layer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *layer) Size() (int64, error)     { return int64(len(l.blob)), nil }
func (l *layer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	if !l.gz {
		return l.Compressed()
	}
	return gzip.NewReader(bytes.NewReader(l.blob))
}
func (l *layer) MediaType() (types.MediaType, error) {
	if l.gz {
		return types.DockerLayer, nil
	}
	return types.DockerUncompressedLayer, nil
}

func hashOf(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// genLayer streams the tar gen writes through gzip, computing both digests
// without holding the uncompressed stream.
func genLayer(t *testing.T, gen func(tw *tar.Writer)) *layer {
	t.Helper()
	var blob bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&blob, gzip.BestSpeed)
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, h))
	gen(tw)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	l := &layer{blob: blob.Bytes(), gz: true, diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}
	l.digest = hashOf(l.blob)
	return l
}

// rawLayer stores uncompressed tar bytes as they are (a docker save layer).
func rawLayer(b []byte) *layer {
	return &layer{blob: b, digest: hashOf(b), diffID: hashOf(b)}
}

// gzLayer gzips the tar bytes b.
func gzLayer(t *testing.T, b []byte) *layer {
	var blob bytes.Buffer
	zw := gzip.NewWriter(&blob)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &layer{blob: blob.Bytes(), gz: true, digest: hashOf(blob.Bytes()), diffID: hashOf(b)}
}

// ent is one tar entry.
type ent struct {
	name, body, link string
	typ              byte
	mode             int64
	major, minor     int64
}

func reg(name, body string) ent { return ent{name: name, body: body, typ: tar.TypeReg, mode: 0o755} }
func dirE(name string) ent      { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func sym(name, to string) ent   { return ent{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777} }
func hardE(name, to string) ent { return ent{name: name, link: to, typ: tar.TypeLink, mode: 0o644} }
func writeEnt(t *testing.T, tw *tar.Writer, e ent) {
	hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
		ModTime: time.Unix(1700000000, 0), Devmajor: e.major, Devminor: e.minor, Format: tar.FormatPAX}
	if e.typ == tar.TypeReg {
		hdr.Size = int64(len(e.body))
	}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatalf("tar header %q: %v", e.name, err)
	}
	if hdr.Size > 0 {
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
}

// tarOf returns the uncompressed tar of entries.
func tarOf(t *testing.T, entries ...ent) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		writeEnt(t, tw, e)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// entLayer is a gzipped layer of entries.
func entLayer(t *testing.T, entries ...ent) *layer { return gzLayer(t, tarOf(t, entries...)) }

// writeArchive writes a docker-archive of layers with config cfg to path.
func writeArchive(t *testing.T, path string, cfg v1.Config, layers ...*layer) {
	t.Helper()
	img := buildImage(t, cfg, layers...)
	if err := tarball.WriteToFile(path, name.MustParseReference("hostile:latest"), img); err != nil {
		t.Fatal(err)
	}
}

// snapshot lists every path below dir (but not below the skipped ones)
// with its mode and content.
func snapshot(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		if err != nil {
			m[p] = "error " + err.Error()
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		m[p] = fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			m[p] += " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			m[p] += " -> " + l
		}
		return nil
	})
	return m
}

// diffSnapshots reports paths that changed, appeared or vanished.
func diffSnapshots(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, s := range after {
		if b, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared (%q)", what, p, s)
		} else if b != s {
			t.Errorf("%s: %s changed from %q to %q", what, p, b, s)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: %s vanished", what, p)
		}
	}
}

// entries lists the names in dir.
func entries(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// buildImage is a linux/amd64 image of layers with config cfg.
func buildImage(t *testing.T, cfg v1.Config, layers ...*layer) v1.Image {
	t.Helper()
	ls := make([]v1.Layer, len(layers))
	for i, l := range layers {
		ls[i] = l
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", "amd64", cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes an OCI layout of layers with config cfg to dir.
func writeLayout(t *testing.T, dir string, cfg v1.Config, layers ...*layer) {
	t.Helper()
	img := buildImage(t, cfg, layers...)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
}
