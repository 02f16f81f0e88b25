package rootfs

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// synthImage is an image of dirs×files regular files of size bytes each, in
// one uncompressed layer.
func synthImage(b *testing.B, dirs, files, size int) v1.Image {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := bytes.Repeat([]byte{'x'}, size)
	for d := range dirs {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%03d/", d), Typeflag: tar.TypeDir, Mode: 0o755})
		for f := range files {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%03d/f%04d", d, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)})
			tw.Write(body)
		}
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		b.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	return img
}

// BenchmarkFromImage measures layer application (tar parse, sha256, spool).
func BenchmarkFromImage(b *testing.B) {
	img := synthImage(b, 20, 200, 16<<10) // 4000 files, 64 MiB
	tmp := b.TempDir()
	for b.Loop() {
		v, err := FromImage(b.Context(), img, WithTempDir(tmp))
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
	}
}

// BenchmarkExport measures writing a view to disk.
func BenchmarkExport(b *testing.B) {
	img := synthImage(b, 20, 200, 16<<10)
	tmp := b.TempDir()
	v, err := FromImage(b.Context(), img, WithTempDir(tmp))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	i := 0
	for b.Loop() {
		i++
		if _, err := Export(b.Context(), v, filepath.Join(tmp, fmt.Sprint("out", i))); err != nil {
			b.Fatal(err)
		}
	}
}
