package rootfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// te is one tar entry of a test layer.
type te struct {
	name, body, link string
	typ              byte
	mode             int64
	pax              map[string]string
}

func file(name, body string) te    { return te{name: name, body: body, typ: tar.TypeReg, mode: 0o644} }
func dir(name string) te           { return te{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) te   { return te{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777} }
func hardlink(name, to string) te  { return te{name: name, link: to, typ: tar.TypeLink, mode: 0o644} }
func whiteout(name string) te      { return te{name: name, typ: tar.TypeReg, mode: 0o600} }
func withMode(e te, m int64) te    { e.mode = m; return e }
func withPAX(e te, k, v string) te { e.pax = map[string]string{k: v}; return e }

func layerTar(t testing.TB, entries ...te) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0), PAXRecords: e.pax,
			Uid: 1000, Gid: 1001,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imageOf(t testing.TB, layers ...[]byte) v1.Image {
	t.Helper()
	var ls []v1.Layer
	for _, b := range layers {
		b := b
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func viewOf(t *testing.T, layers ...[]byte) *View {
	t.Helper()
	v, err := FromImage(t.Context(), imageOf(t, layers...), WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// listing returns "path type [content|->target]" for every entry of v.
func listing(t *testing.T, v *View) []string {
	t.Helper()
	var out []string
	err := v.Walk("/", func(e *Entry) error {
		s := e.Path + " " + e.Type.String()
		switch e.Type {
		case TypeReg:
			b, err := v.ReadFile(e.Path, 1<<20)
			if err != nil {
				return err
			}
			s += " " + string(b)
		case TypeSymlink:
			s += " -> " + e.Linkname
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpaqueWhiteoutEitherOrder(t *testing.T) {
	l1 := layerTar(t, dir("a"), dir("a/b"), dir("a/b/c"), file("a/b/c/bar", "bar"), file("a/keep", "k"))
	want := []string{"/ dir", "/a dir", "/a/b dir", "/a/b/c dir", "/a/b/c/foo file foo"}
	for name, l2 := range map[string][]byte{
		"opq first": layerTar(t, whiteout("a/.wh..wh..opq"), file("a/b/c/foo", "foo")),
		"opq last":  layerTar(t, file("a/b/c/foo", "foo"), whiteout("a/.wh..wh..opq")),
		"opq last with dirs": layerTar(t, dir("a/b"), dir("a/b/c"), file("a/b/c/foo", "foo"),
			whiteout("a/.wh..wh..opq")),
	} {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(want, listing(t, viewOf(t, l1, l2))); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestOpaqueKeepsAttributesOfSameLayerDir(t *testing.T) {
	l1 := layerTar(t, dir("a"), dir("a/b"), file("a/b/old", "o"))
	l2 := layerTar(t, withMode(dir("a/b"), 0o700), file("a/b/new", "n"), whiteout("a/.wh..wh..opq"))
	v := viewOf(t, l1, l2)
	if d := cmp.Diff([]string{"/ dir", "/a dir", "/a/b dir", "/a/b/new file n"}, listing(t, v)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if e, err := v.Lstat("/a/b"); err != nil || e.Mode != 0o700 {
		t.Errorf("a/b = %+v, %v; want mode 0700 from layer 2", e, err)
	}
}

func TestWhiteoutSameLayerSurvives(t *testing.T) {
	for name, l2 := range map[string][]byte{
		"file before marker": layerTar(t, file("x", "new"), whiteout(".wh.x")),
		"marker before file": layerTar(t, whiteout(".wh.x"), file("x", "new")),
	} {
		t.Run(name, func(t *testing.T) {
			v := viewOf(t, layerTar(t, file("x", "old"), file("y", "y")), l2)
			if d := cmp.Diff([]string{"/ dir", "/x file new", "/y file y"}, listing(t, v)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	// one layer holding both: x exists
	v := viewOf(t, layerTar(t, file("x", "only"), whiteout(".wh.x")))
	if d := cmp.Diff([]string{"/ dir", "/x file only"}, listing(t, v)); d != "" {
		t.Errorf("single layer (-want +got):\n%s", d)
	}
}

func TestWhiteoutDirRemovesSubtree(t *testing.T) {
	l1 := layerTar(t, dir("d"), dir("d/e"), file("d/e/f", "f"), file("d/g", "g"), file("h", "h"))
	l2 := layerTar(t, whiteout(".wh.d"), whiteout("nope/.wh.zz"), whiteout(".wh..wh.plnk"), whiteout(".wh."))
	v := viewOf(t, l1, l2)
	if d := cmp.Diff([]string{"/ dir", "/h file h"}, listing(t, v)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// a whiteout of a dir recreated in the same layer hides only the lower children
	l2 = layerTar(t, dir("d"), file("d/new", "n"), whiteout(".wh.d"))
	v = viewOf(t, l1, l2)
	if d := cmp.Diff([]string{"/ dir", "/d dir", "/d/new file n", "/h file h"}, listing(t, v)); d != "" {
		t.Errorf("recreated (-want +got):\n%s", d)
	}
}

func TestReplaceAcrossLayers(t *testing.T) {
	l1 := layerTar(t, file("p", "file"), dir("q"), file("q/child", "c"), symlink("s", "q"))
	l2 := layerTar(t, dir("p"), file("p/in", "i"), file("q", "now a file"), dir("s"))
	v := viewOf(t, l1, l2)
	want := []string{"/ dir", "/p dir", "/p/in file i", "/q file now a file", "/s dir"}
	if d := cmp.Diff(want, listing(t, v)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// dir over dir updates attributes and keeps children
	l3 := layerTar(t, withMode(dir("p"), 0o711))
	v = viewOf(t, l1, l2, l3)
	if e, _ := v.Lstat("/p"); e == nil || e.Mode != 0o711 {
		t.Errorf("/p = %+v, want mode 0711", e)
	}
	if _, err := v.Lstat("/p/in"); err != nil {
		t.Errorf("child lost on dir-over-dir: %v", err)
	}
}

func TestHardlinkContentAtLinkTime(t *testing.T) {
	l1 := layerTar(t, file("t2", "123"))
	l2 := layerTar(t, hardlink("t1", "t2"), hardlink("t3", "t2"))
	l3 := layerTar(t, file("t1", "456"))
	v := viewOf(t, l1, l2, l3)
	want := []string{"/ dir", "/t1 file 456", "/t2 file 123", "/t3 file 123"}
	if d := cmp.Diff(want, listing(t, v)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	t1, _ := v.Lstat("/t1")
	t2, _ := v.Lstat("/t2")
	t3, _ := v.Lstat("/t3")
	if t2.HardlinkID == 0 || t2.HardlinkID != t3.HardlinkID || t1.HardlinkID != 0 {
		t.Errorf("hardlink IDs t1=%d t2=%d t3=%d; want t2=t3≠0, t1=0", t1.HardlinkID, t2.HardlinkID, t3.HardlinkID)
	}
}

func TestMetadata(t *testing.T) {
	capv := "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	long := strings.Repeat("long/", 40) + "name"
	l := layerTar(t,
		withPAX(withMode(file("bin/ping", "elf"), 0o4755), "SCHILY.xattr.security.capability", capv),
		withPAX(dir("ovl"), "SCHILY.xattr.trusted.overlay.opaque", "y"),
		withMode(dir("tmp"), 0o1777),
		withMode(file("sg", ""), 0o2711),
		file(long, "deep"),
		te{name: "dev/null", typ: tar.TypeChar, mode: 0o666},
		te{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		symlink("lnk", "/bin/ping"),
	)
	v := viewOf(t, l)
	ping, err := v.Stat("/lnk")
	if err != nil {
		t.Fatal(err)
	}
	if ping.Mode != 0o755|fs.ModeSetuid || ping.UID != 1000 || ping.GID != 1001 || ping.Xattrs["security.capability"] != capv {
		t.Errorf("ping = %+v", ping)
	}
	if e, _ := v.Lstat("/ovl"); e == nil || len(e.Xattrs) != 0 {
		t.Errorf("overlay xattr kept: %+v", e)
	}
	if e, _ := v.Lstat("/tmp"); e == nil || e.Mode != 0o777|fs.ModeSticky {
		t.Errorf("/tmp = %+v", e)
	}
	if e, _ := v.Lstat("/sg"); e == nil || e.Mode != 0o711|fs.ModeSetgid {
		t.Errorf("/sg = %+v", e)
	}
	if b, err := v.ReadFile(long, 10); err != nil || string(b) != "deep" {
		t.Errorf("long name: %q %v", b, err)
	}
	if e, _ := v.Lstat("/dev/null"); e == nil || e.Type != TypeChar {
		t.Errorf("/dev/null = %+v", e)
	}
	if e, _ := v.Lstat("/fifo"); e == nil || e.Type != TypeFIFO {
		t.Errorf("/fifo = %+v", e)
	}
	if e, _ := v.Lstat("/lnk"); e == nil || e.Type != TypeSymlink || e.Linkname != "/bin/ping" {
		t.Errorf("/lnk = %+v", e)
	}
}

// hostileLayers tries to escape the root in every way rule 31 lists.
func hostileLayers(t testing.TB) [][]byte {
	return [][]byte{
		layerTar(t, dir("etc"), file("etc/passwd", "image passwd")),
		layerTar(t,
			file("../../x", "dotdot"),
			file("/abs/x", "abs"),
			symlink("link", "/etc"),
			file("link/passwd", "through link"),
			symlink("rel", "../../../../etc"),
			file("rel/shadow", "through rel"),
			symlink(".", "/etc"),
			symlink("/", "/tmp"),
			file(".", "root file"),
			hardlink("hl1", "../../etc/passwd"),
			hardlink("hl2", "missing/file"),
			hardlink("hl3", "/etc"),
			symlink("hostlink", "/etc/hostname"),
			file("hostlink/x", "replaces link"),
			symlink("loop1", "loop2"),
			symlink("loop2", "loop1"),
			file("loop1/x", "loop"),
			symlink("empty", ""),
			file("empty/x", "empty"),
		),
	}
}

func TestHostileLayerStaysInRoot(t *testing.T) {
	v := viewOf(t, hostileLayers(t)...)
	want := []string{
		"/ dir",
		"/abs dir",
		"/abs/x file abs",
		"/empty -> ",
		"/etc dir",
		"/etc/hostname dir",
		"/etc/hostname/x file replaces link",
		"/etc/passwd file through link",
		"/etc/shadow file through rel",
		"/hl1 file through link",
		"/hostlink -> /etc/hostname",
		"/link -> /etc",
		"/loop1 -> loop2",
		"/loop2 -> loop1",
		"/rel -> ../../../../etc",
		"/x file dotdot",
	}
	got := listing(t, v)
	for i := range got {
		got[i] = strings.Replace(got[i], " symlink -> ", " -> ", 1)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if len(v.Warnings()) != 7 {
		t.Errorf("warnings = %q, want 7 (root replacements, bad hardlinks, loop, empty link)", v.Warnings())
	}
}

// snapshot lists every path below dir with its size and mode.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			m[p] = "error " + err.Error()
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		m[p] = fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			m[p] += " " + string(b)
		}
		return nil
	})
	return m
}

func TestHostileExportContained(t *testing.T) {
	v := viewOf(t, hostileLayers(t)...)
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	os.MkdirAll(filepath.Join(outside, "etc"), 0o755)
	os.WriteFile(filepath.Join(outside, "etc", "passwd"), []byte("sentinel"), 0o644)
	os.WriteFile(filepath.Join(base, "x"), []byte("sentinel x"), 0o644)
	before := snapshot(t, base)
	out := filepath.Join(base, "out")
	st, err := Export(t.Context(), v, out)
	if err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, base)
	for p, s := range after {
		if strings.HasPrefix(p, out+"/") || p == out {
			continue
		}
		if before[p] != s {
			t.Errorf("outside the export: %s changed from %q to %q", p, before[p], s)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("outside the export: %s removed", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "etc/passwd")); err != nil || string(b) != "through link" {
		t.Errorf("exported etc/passwd = %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(out, "link")); err != nil || l != "/etc" {
		t.Errorf("exported link = %q, %v", l, err)
	}
	// the host's /etc/passwd was not touched: it is not "through link"
	if b, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(b), "through link") {
		t.Error("host /etc/passwd was written")
	}
	if st.Files != 5 || st.Hardlinks != 1 || st.Symlinks != 5 || len(st.Warnings) != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestExportRoundTrip(t *testing.T) {
	l1 := layerTar(t, dir("usr"), dir("usr/bin"), withMode(file("usr/bin/su", "su!"), 0o4755),
		file("usr/bin/a", "shared"), hardlink("usr/bin/b", "usr/bin/a"), symlink("bin", "usr/bin"),
		withMode(dir("ro"), 0o555), file("ro/f", "in ro"), withMode(dir("tmp"), 0o1777),
		te{name: "dev/null", typ: tar.TypeChar, mode: 0o666})
	v := viewOf(t, l1)
	out := filepath.Join(t.TempDir(), "root")
	st, err := Export(t.Context(), v, out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 3 || st.Hardlinks != 1 || st.Skipped != 1 || len(st.Warnings) != 1 || st.Bytes != int64(len("su!shared")+len("in ro")) {
		t.Errorf("stats = %+v", st)
	}
	check := func(p string, mode fs.FileMode) os.FileInfo {
		fi, err := os.Lstat(filepath.Join(out, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode = %v, want %v", p, fi.Mode(), mode)
		}
		if !fi.ModTime().Equal(time.Unix(1700000000, 0)) && fi.Mode()&fs.ModeSymlink == 0 && p != "." && p != "dev" {
			t.Errorf("%s mtime = %v", p, fi.ModTime())
		}
		return fi
	}
	check("usr/bin/su", 0o755|fs.ModeSetuid)
	check("ro", fs.ModeDir|0o555)
	check("tmp", fs.ModeDir|0o777|fs.ModeSticky)
	check("bin", fs.ModeSymlink|0o777)
	a, b := check("usr/bin/a", 0o644), check("usr/bin/b", 0o644)
	if a != nil && b != nil && !os.SameFile(a, b) {
		t.Error("usr/bin/a and b are not one inode")
	}
	if os.Geteuid() == 0 && a != nil {
		if st := a.Sys().(*syscall.Stat_t); int(st.Uid) != 1000 || int(st.Gid) != 1001 {
			t.Errorf("owner = %d:%d", st.Uid, st.Gid)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, "dev/null")); err == nil {
		t.Error("device node created")
	}
	// no temp dir left next to the result
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the export", len(ents))
	}
	// a second export into the now non-empty dir is refused
	if _, err := Export(t.Context(), v, out); err == nil {
		t.Error("export into a non-empty dir succeeded")
	}
}

func TestExportErrorLeavesNothing(t *testing.T) {
	v := viewOf(t, layerTar(t, withMode(dir("ro"), 0o500), file("ro/f", "x"), file("z", "z")))
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Export(ctx, v, filepath.Join(parent, "out")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// fakeLayer serves fixed uncompressed bytes under a claimed diff_id.
type fakeLayer struct {
	diffID v1.Hash
	open   func() (io.ReadCloser, error)
}

func (l fakeLayer) Digest() (v1.Hash, error)             { return l.diffID, nil }
func (l fakeLayer) DiffID() (v1.Hash, error)             { return l.diffID, nil }
func (l fakeLayer) Compressed() (io.ReadCloser, error)   { return l.open() }
func (l fakeLayer) Uncompressed() (io.ReadCloser, error) { return l.open() }
func (l fakeLayer) Size() (int64, error)                 { return 0, nil }
func (l fakeLayer) MediaType() (types.MediaType, error)  { return types.DockerLayer, nil }

func sha(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h
}

func TestLayerIntegrity(t *testing.T) {
	good := layerTar(t, file("a", strings.Repeat("x", 5000)), file("b", "b"))
	gzipped := gz(t, good)
	corrupt := bytes.Clone(gzipped)
	corrupt[len(corrupt)/2] ^= 0xff
	ok := layerTar(t, file("ok", "ok"))
	for name, l := range map[string]fakeLayer{
		"diff_id mismatch": {sha([]byte("other")), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good)), nil }},
		"truncated":        {sha(good), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good[:2000])), nil }},
		"truncated at entry boundary": {sha(good), func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(good[:512*13])), nil
		}},
		"corrupt gzip": {sha(good), func() (io.ReadCloser, error) { return gzip.NewReader(bytes.NewReader(corrupt)) }},
		"truncated gzip": {sha(good), func() (io.ReadCloser, error) {
			return gzip.NewReader(bytes.NewReader(gzipped[:len(gzipped)-10]))
		}},
	} {
		t.Run(name, func(t *testing.T) {
			lok, _ := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ok)), nil })
			img, err := mutate.AppendLayers(empty.Image, lok, l)
			if err != nil {
				t.Fatal(err)
			}
			v, err := FromImage(t.Context(), img, WithTempDir(t.TempDir()))
			if err == nil {
				v.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "layer 1 (diff_id "+l.diffID.String()) {
				t.Errorf("error does not name the layer: %v", err)
			}
		})
	}
	// the gzip variant of the good layer passes through ggcr's own reader
	v := viewOf(t, ok, gzipped)
	if b, err := v.ReadFile("/a", 1<<20); err != nil || len(b) != 5000 {
		t.Errorf("gzip layer: %d bytes, %v", len(b), err)
	}
}

func TestLimits(t *testing.T) {
	big := layerTar(t, file("a", strings.Repeat("x", 100)), file("b", strings.Repeat("y", 100)))
	deep := layerTar(t, file(strings.Repeat("d/", 10)+"f", "f"))
	links := layerTar(t, file("a", "a"), hardlink("b", "a"), hardlink("c", "a"))
	for name, tc := range map[string]struct {
		layer []byte
		l     Limits
	}{
		"file size":  {big, Limits{FileSize: 99}},
		"total":      {big, Limits{TotalBytes: 150}},
		"entries":    {big, Limits{Entries: 1}},
		"depth":      {deep, Limits{Depth: 5}},
		"hardlinks":  {links, Limits{Hardlinks: 1}},
		"link depth": {layerTar(t, symlink("l", strings.Repeat("d/", 8)), file("l/x", "x")), Limits{Depth: 5}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromImage(t.Context(), imageOf(t, tc.layer), WithLimits(tc.l), WithTempDir(t.TempDir()))
			if !errors.Is(err, ErrLimit) {
				t.Errorf("err = %v, want ErrLimit", err)
			}
		})
	}
}

func TestProgressAndSpoolCleanup(t *testing.T) {
	tmp := t.TempDir()
	var events []Progress
	img := imageOf(t, layerTar(t, file("a", "a")), layerTar(t, file("b", "b")))
	v, err := FromImage(t.Context(), img, WithTempDir(tmp), WithProgress(func(p Progress) { events = append(events, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || !events[1].Done || events[1].Layer != 1 || events[1].Layers != 2 || events[0].Bytes == 0 {
		t.Errorf("events = %+v", events)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spool visible in the temp dir: %v", ents)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzApplyLayer feeds arbitrary bytes as a layer and checks that nothing
// panics and that every node sits at the path its place in the tree says.
func FuzzApplyLayer(f *testing.F) {
	for _, l := range hostileLayers(f) {
		f.Add(l)
	}
	f.Add(layerTar(f, file("a/b/c/bar", "bar"), whiteout("a/.wh..wh..opq"), hardlink("h", "a/b/c/bar")))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, _ := makeOptions([]Option{WithLimits(Limits{TotalBytes: 1 << 20, Entries: 1000, Depth: 64, Hardlinks: 100})})
		sp, err := newSpool(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer sp.close()
		a := newApplier(o, sp)
		_ = a.applyLayer(context.Background(), 1, bytes.NewReader(hostileLayers(t)[0]))
		_ = a.applyLayer(context.Background(), 2, bytes.NewReader(data))
		freeze(a.t.root) // as FromImage leaves it
		checkTree(t, a.t.root, "/")
		v := &View{b: a.t}
		base := t.TempDir()
		os.WriteFile(filepath.Join(base, "sentinel"), []byte("s"), 0o644)
		want := []string{"out", "sentinel"}
		if _, err := Export(context.Background(), v, filepath.Join(base, "out")); err != nil {
			want = want[1:] // an error (a name too long for the disk) leaves nothing
		}
		ents, _ := os.ReadDir(base)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		if d := cmp.Diff(want, names); d != "" {
			t.Errorf("outside the export (-want +got):\n%s", d)
		}
		if b, _ := os.ReadFile(filepath.Join(base, "sentinel")); string(b) != "s" {
			t.Error("sentinel changed")
		}
	})
}

func checkTree(t *testing.T, n *node, p string) {
	if n.entry.Path != p {
		t.Fatalf("node at %s says it is %s", p, n.entry.Path)
	}
	if n.entry.Type == TypeDir && n.dir == nil {
		t.Fatalf("dir %s without children", p)
	}
	for _, k := range n.children() {
		name := childName(n.entry.Path, k)
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			t.Fatalf("bad name %q in %s", name, p)
		}
		cp := p + "/" + name
		if p == "/" {
			cp = "/" + name
		}
		checkTree(t, k, cp)
	}
}

func TestGNULongNames(t *testing.T) {
	long := strings.Repeat("g", 100) + "/" + strings.Repeat("n", 120)
	target := "/" + strings.Repeat("t", 150)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: long, Typeflag: tar.TypeReg, Mode: 0o644, Size: 2, Format: tar.FormatGNU},
		{Name: "s", Linkname: target, Typeflag: tar.TypeSymlink, Mode: 0o777, Format: tar.FormatGNU},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("ok"))
		}
	}
	tw.Close()
	if !bytes.Contains(buf.Bytes(), []byte("././@LongLink")) {
		t.Fatal("the writer did not use GNU long names")
	}
	v := viewOf(t, buf.Bytes())
	if b, err := v.ReadFile(long, 10); err != nil || string(b) != "ok" {
		t.Errorf("long name: %q %v", b, err)
	}
	if l, err := v.Readlink("/s"); err != nil || l != target {
		t.Errorf("long link: %q %v", l, err)
	}
}

// rawHeader is a ustar header block, for headers archive/tar will not write.
func rawHeader(name string, typ byte, size int) []byte {
	b := make([]byte, 512)
	copy(b[0:], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad512(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }

// A tar of a few KiB in GNU sparse 1.0 format declaring a 1 TiB file must hit
// the file size cap, not fill the disk.
func TestSparseBomb(t *testing.T) {
	var recs []byte
	for _, kv := range [][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", "big"}, {"GNU.sparse.realsize", "1099511627776"},
	} {
		r := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(r) + 2
		if len(fmt.Sprint(n)+r) != n {
			n++
		}
		recs = append(recs, fmt.Sprint(n)+r...)
	}
	sparseMap := pad512([]byte("1\n1099511627775\n1\n")) // one 1-byte block at the end
	var tarb []byte
	tarb = append(tarb, rawHeader("PaxHeaders/big", 'x', len(recs))...)
	tarb = append(tarb, pad512(recs)...)
	tarb = append(tarb, rawHeader("GNUSparseFile.0/big", '0', len(sparseMap)+512)...)
	tarb = append(tarb, sparseMap...)
	tarb = append(tarb, make([]byte, 512+1024)...)

	hdr, err := tar.NewReader(bytes.NewReader(tarb)).Next()
	if err != nil || hdr.Size != 1<<40 {
		t.Fatalf("crafted header = %+v, %v; want a 1 TiB file", hdr, err)
	}
	_, err = FromImage(t.Context(), imageOf(t, tarb), WithTempDir(t.TempDir()))
	if !errors.Is(err, ErrLimit) {
		t.Errorf("err = %v, want ErrLimit", err)
	}
}

func TestConcurrentReads(t *testing.T) {
	var ents []te
	for i := range 50 {
		ents = append(ents, file(fmt.Sprintf("f%02d", i), strings.Repeat(string(rune('a'+i%26)), 1000+i)))
	}
	v := viewOf(t, layerTar(t, ents...))
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 50 {
				n := (i + g) % 50
				b, err := v.ReadFile(fmt.Sprintf("/f%02d", n), 1<<20)
				if err == nil && (len(b) != 1000+n || b[len(b)-1] != byte('a'+n%26)) {
					err = fmt.Errorf("f%02d: wrong content", n)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// cleanAbs and cleanBase are path.Clean("/" + name) and its Base for every
// name, the odd ones too.
func TestCleanAbs(t *testing.T) {
	names := []string{"", ".", "./", "..", "/", "//", "usr/bin/", "./etc/passwd", "././x", "a//b", "a/./b", "a/../b",
		"a/..", "a/.", "..a/b", "a/b../c", "a/", "a///", "/a", ".wh.x", "a/.wh..wh..opq", "...", "./.."}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, rng.IntN(9))
		for i := range b {
			b[i] = "a./"[rng.IntN(3)]
		}
		names = append(names, string(b))
	}
	for _, n := range names {
		if got, want := cleanAbs(n), path.Clean("/"+n); got != want {
			t.Fatalf("cleanAbs(%q) = %q, want %q", n, got, want)
		}
		if got, want := cleanBase(n), path.Base(path.Clean("/"+n)); got != want {
			t.Fatalf("cleanBase(%q) = %q, want %q", n, got, want)
		}
	}
}
