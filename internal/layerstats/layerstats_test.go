package layerstats

import (
	"archive/tar"
	"bytes"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// ent is a tar entry: "d NAME", "f NAME SIZE", "h NAME TARGET"; whiteouts
// and opaque markers are files named so.
type ent struct {
	kind   byte
	name   string
	size   int
	target string
}

func dir(n string) ent              { return ent{kind: 'd', name: n} }
func file(n string, size int) ent   { return ent{kind: 'f', name: n, size: size} }
func link(n, target string) ent     { return ent{kind: 'h', name: n, target: target} }
func whiteout(dir, name string) ent { return ent{kind: 'f', name: dir + ".wh." + name} }
func opaque(dir string) ent         { return ent{kind: 'f', name: dir + ".wh..wh..opq"} }
func layerOf(t *testing.T, es ...ent) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: 0o644}
		switch e.kind {
		case 'd':
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case 'f':
			h.Typeflag, h.Size = tar.TypeReg, int64(e.size)
		case 'h':
			h.Typeflag, h.Linkname = tar.TypeLink, e.target
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.size > 0 {
			if _, err := tw.Write(bytes.Repeat([]byte{'x'}, e.size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// mergedBytes measures the merged filesystem with rootfs, an independent
// application of the layers: regular files, each inode once.
func mergedBytes(t *testing.T, img v1.Image) int64 {
	t.Helper()
	v, err := rootfs.FromImage(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var n int64
	seen := map[uint64]bool{}
	err = v.Walk("/", func(e *rootfs.Entry) error {
		if e.Type != rootfs.TypeReg || (e.HardlinkID != 0 && seen[e.HardlinkID]) {
			return nil
		}
		seen[e.HardlinkID] = e.HardlinkID != 0
		n += e.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCompute(t *testing.T) {
	l0 := layerOf(t,
		dir("a/"), file("a/big", 1000), file("a/keep", 10),
		dir("d/"), file("d/x", 100), dir("d/sub/"), file("d/sub/y", 200),
		dir("o/"), file("o/old", 300),
		file("f", 50),
		file("h1", 40), link("h2", "h1"),
	)
	l1 := layerOf(t,
		dir("a/"), file("a/big", 400), // overwritten: 1000 of layer 0
		whiteout("d/", "sub"),                     // a deleted directory: 200
		dir("o/"), file("o/new", 7), opaque("o/"), // the marker after the new file: 300 of old
		dir("f/"), file("f/in", 3), // a file replaced by a directory: 50
		whiteout("", "h1"), // a hardlink survives: nothing wasted
	)
	l2 := layerOf(t,
		whiteout("a/", "big"), // 400 of layer 1
		file("h2", 5),         // the inode's last name goes: 40 of layer 0
	)
	img := imageOf(t, l0, l1, l2)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var progressed []int
	s, err := Compute(t.Context(), layers, func(i int) { progressed = append(progressed, i) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(progressed, []int{0, 1, 2}) {
		t.Errorf("progress %v", progressed)
	}
	if s.Total != 2115 || s.Wasted != 1990 {
		t.Errorf("total %d wasted %d, want 2115 1990", s.Total, s.Wasted)
	}
	if got := mergedBytes(t, img); got != s.Total-s.Wasted {
		t.Errorf("rootfs merged bytes %d, total-wasted %d", got, s.Total-s.Wasted)
	}
	if want := 125.0 / 2115; math.Abs(s.Efficiency()-want) > 1e-12 {
		t.Errorf("efficiency %v, want %v", s.Efficiency(), want)
	}
	type lw struct {
		files                 int
		bytes, wasted, hidden int64
		whiteouts             int
	}
	want := []lw{{7, 1700, 1590, 0, 0}, {3, 410, 400, 1550, 3}, {1, 5, 0, 440, 1}}
	for i, l := range s.Layers {
		got := lw{l.Files, l.Bytes, l.Wasted, l.Hidden, l.Whiteouts}
		if got != want[i] {
			t.Errorf("layer %d: %+v, want %+v", i, got, want[i])
		}
		if d, _ := layers[i].DiffID(); l.DiffID != d || l.TarBytes == 0 || l.TarBytes%512 != 0 {
			t.Errorf("layer %d: diffid %v tar bytes %d", i, l.DiffID, l.TarBytes)
		}
	}
	wantCopies := []Copy{
		{Path: "/a/big", Layer: 0, Bytes: 1000, By: 1, How: Overwritten},
		{Path: "/f", Layer: 0, Bytes: 50, By: 1, How: Overwritten},
	}
	var got []Copy
	for _, c := range s.Copies {
		if c.How == Overwritten && c.By == 1 {
			got = append(got, c)
		}
	}
	if !reflect.DeepEqual(got, wantCopies) {
		t.Errorf("overwritten by layer 1: %+v", got)
	}
	files := s.Files()
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.Path)
		b.WriteString(" ")
	}
	if b.String() != "/a/big /o/old /d/sub/y /f /h1 " {
		t.Errorf("files by size: %s", b.String())
	}
	if f := files[0]; f.Bytes != 1400 || f.Copies != 2 || !reflect.DeepEqual(f.Layers, []int{0, 1}) {
		t.Errorf("/a/big: %+v", f)
	}
	hows := map[string]string{}
	for _, c := range s.Copies {
		hows[c.Path+"@"+string(rune('0'+c.Layer))] = c.How
	}
	for k, w := range map[string]string{"/d/sub/y@0": Deleted, "/o/old@0": Opaque, "/a/big@1": Deleted, "/h1@0": Overwritten} {
		if hows[k] != w {
			t.Errorf("%s: %q, want %q", k, hows[k], w)
		}
	}
}

func TestComputeNoWaste(t *testing.T) {
	img := imageOf(t,
		layerOf(t, dir("./etc/"), file("./etc/a", 12)),
		layerOf(t, dir("etc/"), file("etc/b", 30), whiteout("etc/", "nothing-there")),
	)
	layers, _ := img.Layers()
	s, err := Compute(t.Context(), layers, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 42 || s.Wasted != 0 || s.Efficiency() != 1 || len(s.Copies) != 0 {
		t.Errorf("total %d wasted %d efficiency %v copies %v", s.Total, s.Wasted, s.Efficiency(), s.Copies)
	}
	if got := mergedBytes(t, img); got != 42 {
		t.Errorf("rootfs merged %d", got)
	}
}

func TestComputeEmpty(t *testing.T) {
	s, err := Compute(t.Context(), nil, nil)
	if err != nil || s.Total != 0 || s.Efficiency() != 1 {
		t.Errorf("%+v %v", s, err)
	}
}
