package transport

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// layerOf returns an uncompressed layer tar holding the files name → content.
func layerOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return b.Bytes()
}

// saveArchive writes a docker save archive (uncompressed layer.tar members,
// as Docker 20.10 writes them) of layers; a layer equal to an earlier one is
// a symlink to it, as docker save does.
func saveArchive(t *testing.T, layers ...[]byte) string {
	t.Helper()
	cf := v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}}
	var paths []string
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[v1.Hash]string{}
	for i, l := range layers {
		h, _, _ := v1.SHA256(bytes.NewReader(l))
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, h)
		p := fmt.Sprintf("%d/layer.tar", i)
		paths = append(paths, p)
		if first, ok := seen[h]; ok {
			tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeSymlink, Linkname: "../" + first, Mode: 0o644})
			continue
		}
		seen[h] = p
		tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(l))})
		tw.Write(l)
	}
	raw, _ := json.Marshal(cf)
	tw.WriteHeader(&tar.Header{Name: "config.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(raw))})
	tw.Write(raw)
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"bench/app:1"}, "Layers": paths}})
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(man))})
	tw.Write(man)
	tw.Close()
	p := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkInPlace checks that every layer of img is stored uncompressed in a
// file range holding exactly layers[i].
func checkInPlace(t *testing.T, img v1.Image, layers [][]byte) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		fl, ok := l.(rootfs.FileLayer)
		if !ok {
			t.Fatalf("layer %d (%T) is not a rootfs.FileLayer", i, l)
		}
		lf, err := fl.UncompressedFile()
		if err != nil || lf == nil {
			t.Fatalf("layer %d: UncompressedFile = %v, %v", i, lf, err)
		}
		got, _ := io.ReadAll(io.NewSectionReader(lf.File, lf.Offset, lf.Size))
		if !bytes.Equal(got, layers[i]) {
			t.Errorf("layer %d: the file range holds %d bytes, not the layer's %d", i, len(got), len(layers[i]))
		}
		if lf.Release != nil {
			lf.Release()
		}
	}
}

func TestArchiveLayersInPlace(t *testing.T) {
	l0 := layerOf(t, "a", strings.Repeat("a", 3000), "b", "bee")
	l1 := layerOf(t, "a", "replaced", "c/d", strings.Repeat("d", 700))
	layers := [][]byte{l0, l1, l0}
	p := saveArchive(t, layers...)
	img, err := Read(t.Context(), Reference{Kind: DockerArchive, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	checkInPlace(t, img, layers)
	v, err := rootfs.FromImage(t.Context(), img, rootfs.WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for name, want := range map[string]string{"/a": strings.Repeat("a", 3000), "/b": "bee", "/c/d": strings.Repeat("d", 700)} {
		if b, err := v.ReadFile(name, 1<<20); err != nil || string(b) != want {
			t.Errorf("%s = %.20q (%d bytes), %v", name, b, len(b), err)
		}
	}

	// A byte changed in a file's content after Read: the layer's diff_id
	// check, done while indexing in place, names the layer.
	raw, _ := os.ReadFile(p)
	i := bytes.Index(raw, []byte(strings.Repeat("d", 700)))
	raw[i+10] = 'x'
	os.WriteFile(p, raw, 0o644)
	_, err = rootfs.FromImage(t.Context(), img, rootfs.WithTempDir(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "layer 1 (diff_id") || !strings.Contains(err.Error(), "does not match the diff_id") {
		t.Errorf("corrupt layer: err = %v, want a diff_id mismatch naming layer 1", err)
	}
}

func TestLayoutUncompressedInPlace(t *testing.T) {
	l0 := layerOf(t, "x", "ex", "y", strings.Repeat("y", 5000))
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(l0, types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	got, err := Read(t.Context(), Reference{Kind: OCI, Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	checkInPlace(t, got, [][]byte{l0})
	v, err := rootfs.FromImage(t.Context(), got, rootfs.WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if b, err := v.ReadFile("/y", 1<<20); err != nil || string(b) != strings.Repeat("y", 5000) {
		t.Errorf("/y: %d bytes, %v", len(b), err)
	}

	// Gzip layers of a layout are not files of the stream: they are decoded.
	gzImg := testImage(t, "amd64")
	gdir := filepath.Join(t.TempDir(), "gz")
	if err := Write(t.Context(), Reference{Kind: OCI, Path: gdir}, gzImg); err != nil {
		t.Fatal(err)
	}
	gimg, err := Read(t.Context(), Reference{Kind: OCI, Path: gdir})
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := gimg.Layers()
	if lf, err := ls[0].(rootfs.FileLayer).UncompressedFile(); lf != nil || err != nil {
		t.Errorf("gzip blob: UncompressedFile = %+v, %v; want nil", lf, err)
	}
}
