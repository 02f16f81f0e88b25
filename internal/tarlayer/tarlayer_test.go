package tarlayer

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/pare-dev/pare/pkg/rootfs"
)

func unsetEpoch(t *testing.T) {
	t.Helper()
	t.Setenv("SOURCE_DATE_EPOCH", "")
	os.Unsetenv("SOURCE_DATE_EPOCH")
}

func file(p, content string, mode fs.FileMode) Item {
	return Item{
		Entry: rootfs.Entry{Path: p, Type: rootfs.TypeReg, Mode: mode, Size: int64(len(content))},
		Open:  func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
	}
}

func dir(p string, mode fs.FileMode, uid, gid int) Item {
	return Item{Entry: rootfs.Entry{Path: p, Type: rootfs.TypeDir, Mode: mode, UID: uid, GID: gid}}
}

func symlink(p, target string) Item {
	return Item{Entry: rootfs.Entry{Path: p, Type: rootfs.TypeSymlink, Mode: 0o777, Linkname: target}}
}

// fixture is a small fixed input used for the golden digests.
func fixture() []Item {
	suid := file("/usr/bin/su", "su-binary", 0o755|fs.ModeSetuid)
	suid.Entry.UID, suid.Entry.GID = 0, 0
	ping := file("/usr/bin/ping", "ping-binary", 0o755)
	ping.Entry.Xattrs = map[string]string{"security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
	h1 := file("/usr/bin/gzip", "gzip-binary", 0o755)
	h1.Entry.HardlinkID = 7
	h2 := file("/usr/bin/gunzip", "gzip-binary", 0o755)
	h2.Entry.HardlinkID = 7
	home := dir("/home/nonroot", 0o700, 65532, 65532)
	tmp := dir("/tmp", 0o777|fs.ModeSticky, 0, 0)
	return []Item{
		file("/etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\n", 0o644),
		symlink("/bin", "usr/bin"),
		suid, ping, h1, h2, home, tmp,
		{Entry: rootfs.Entry{Path: "/dev/null", Type: rootfs.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}},
		{Entry: rootfs.Entry{Path: "/run/fifo", Type: rootfs.TypeFIFO, Mode: 0o600}},
		file("/usr/share/doc/empty", "", 0o644),
	}
}

type hdrInfo struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Uname    string
	Gname    string
	Size     int64
	Linkname string
	ModTime  int64
	Content  string
	Xattrs   map[string]string
}

func readTar(t *testing.T, r io.Reader) []hdrInfo {
	t.Helper()
	tr := tar.NewReader(r)
	var out []hdrInfo
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		var x map[string]string
		for k, v := range h.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				if x == nil {
					x = map[string]string{}
				}
				x[name] = v
			}
		}
		out = append(out, hdrInfo{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.Size, h.Linkname, h.ModTime.Unix(), string(b), x})
	}
	return out
}

func TestWriteTar(t *testing.T) {
	unsetEpoch(t)
	var buf bytes.Buffer
	if err := WriteTar(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, &buf)
	caps := fixture()[3].Entry.Xattrs
	want := []hdrInfo{
		{Name: "bin", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "usr/bin"},
		{Name: "dev/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Type: tar.TypeChar, Mode: 0o666},
		{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, Size: 36, Content: "root:x:0:0:root:/root:/sbin/nologin\n"},
		{Name: "home/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "home/nonroot/", Type: tar.TypeDir, Mode: 0o700, UID: 65532, GID: 65532},
		{Name: "run/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "run/fifo", Type: tar.TypeFifo, Mode: 0o600},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "usr/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/gunzip", Type: tar.TypeReg, Mode: 0o755, Size: 11, Content: "gzip-binary"},
		{Name: "usr/bin/gzip", Type: tar.TypeLink, Mode: 0o755, Linkname: "usr/bin/gunzip"},
		{Name: "usr/bin/ping", Type: tar.TypeReg, Mode: 0o755, Size: 11, Content: "ping-binary", Xattrs: caps},
		{Name: "usr/bin/su", Type: tar.TypeReg, Mode: 0o4755, Size: 9, Content: "su-binary"},
		{Name: "usr/share/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/share/doc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/share/doc/empty", Type: tar.TypeReg, Mode: 0o644},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tar entries (-want +got):\n%s", d)
	}
}

func TestWriteTarDevNumbers(t *testing.T) {
	var buf bytes.Buffer
	items := []Item{{Entry: rootfs.Entry{Path: "/dev/sda", Type: rootfs.TypeBlock, Mode: 0o660, GID: 6, Devmajor: 8, Devminor: 1}}}
	if err := WriteTar(&buf, items, WithEpoch(time.Unix(0, 0)), WithoutParents()); err == nil {
		t.Fatal("WithoutParents: want error for missing /dev")
	}
	items = append(items, dir("/dev", 0o755, 0, 0))
	if err := WriteTar(&buf, items, WithEpoch(time.Unix(0, 0)), WithoutParents()); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	tr.Next()
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "dev/sda" || h.Typeflag != tar.TypeBlock || h.Devmajor != 8 || h.Devminor != 1 || h.Gid != 6 {
		t.Errorf("got %+v", h)
	}
}

func TestSortOrder(t *testing.T) {
	items := []Item{file("/a-b", "", 0o644), file("/a/b", "", 0o644), dir("/a", 0o755, 0, 0), file("/a.c", "", 0o644), file("/A", "", 0o644), file("/a/b0", "", 0o644)}
	var buf bytes.Buffer
	if err := WriteTar(&buf, items, WithEpoch(time.Unix(0, 0))); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range readTar(t, &buf) {
		names = append(names, h.Name)
	}
	want := []string{"A", "a/", "a/b", "a/b0", "a-b", "a.c"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}

func TestComparePaths(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"/a", "/a", 0},
		{"/a", "/a/b", -1},
		{"/a/b", "/a-b", -1},
		{"/a-b", "/a/b", 1},
		{"/a/b/c", "/a/bc", -1},
		{"/", "/a", -1},
		{"/b", "/a/z", 1},
	}
	for _, tt := range tests {
		if got := ComparePaths(tt.a, tt.b); got != tt.want {
			t.Errorf("ComparePaths(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestWriteTarErrors(t *testing.T) {
	short := file("/short", "abc", 0o644)
	short.Entry.Size = 5
	long := file("/long", "abcdef", 0o644)
	long.Entry.Size = 3
	failing := file("/fail", "x", 0o644)
	failing.Open = func() (io.ReadCloser, error) { return nil, errors.New("boom") }
	tests := []struct {
		name  string
		items []Item
		want  string
	}{
		{"duplicate", []Item{file("/a", "", 0o644), file("/a", "", 0o644)}, "duplicate path /a"},
		{"relative", []Item{file("a", "", 0o644)}, `invalid path "a"`},
		{"unclean", []Item{file("/a/../b", "", 0o644)}, `invalid path "/a/../b"`},
		{"parent is file", []Item{file("/a", "", 0o644), file("/a/b", "", 0o644)}, "parent /a of /a/b is a file"},
		{"parent is symlink", []Item{symlink("/lib", "usr/lib"), file("/lib/x", "", 0o644)}, "parent /lib of /lib/x is a symlink"},
		{"socket", []Item{{Entry: rootfs.Entry{Path: "/s", Type: rootfs.TypeSocket}}}, "/s: cannot store a socket"},
		{"short content", []Item{short}, "writing /short: content is 3 bytes, want 5"},
		{"long content", []Item{long}, "writing /long: content is longer than 3 bytes"},
		{"open fails", []Item{failing}, "writing /fail: boom"},
		{"no opener", []Item{{Entry: rootfs.Entry{Path: "/n", Type: rootfs.TypeReg, Size: 1}}}, "writing /n: no content opener"},
		{"root not dir", []Item{file("/", "", 0o644)}, "invalid entry for /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteTar(io.Discard, tt.items, WithEpoch(time.Unix(0, 0)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
	if err := WriteTar(io.Discard, []Item{file("/a", "", 0), file("/a", "", 0)}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("err = %v, want ErrDuplicate", err)
	}
}

func TestEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var buf bytes.Buffer
	if err := WriteTar(&buf, []Item{file("/x", "1", 0o644)}); err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, &buf)[0].ModTime; got != 1700000000 {
		t.Errorf("mtime = %d, want SOURCE_DATE_EPOCH", got)
	}
	buf.Reset()
	if err := WriteTar(&buf, []Item{file("/x", "1", 0o644)}, WithEpoch(time.Unix(42, 0))); err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, &buf)[0].ModTime; got != 42 {
		t.Errorf("mtime = %d, want WithEpoch 42", got)
	}
	buf.Reset()
	it := file("/x", "1", 0o644)
	it.Entry.ModTime = time.Unix(1234, 5)
	if err := WriteTar(&buf, []Item{it}, WithModTimes()); err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, &buf)[0].ModTime; got != 1234 {
		t.Errorf("mtime = %d, want kept 1234", got)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := Layer([]Item{file("/x", "1", 0o644)}); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: err = %v", err)
	}
}

func buildImage(t *testing.T, items []Item, opts ...Option) (v1.Layer, v1.Image) {
	t.Helper()
	l, err := Layer(items, append([]Option{WithTempDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.(io.Closer).Close() })
	img, err := NewImage(l, ImageConfig{
		OS: "linux", Architecture: "amd64",
		Config: v1.Config{
			Entrypoint: []string{"/usr/bin/ping"},
			Env:        []string{"PATH=/usr/bin"},
			User:       "65532",
			Labels:     map[string]string{"b": "2", "a": "1"},
			Hostname:   "dropped",
		},
		CreatedBy: "pare",
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l, img
}

// Golden digests of fixture() with the default epoch. A change here means the
// output of pare changes for every user: update only on purpose.
const (
	goldenDiffID      = "sha256:8645442be5fa8008dfdc83dd6011bc5afb580b84d4983109dbecf9e10da66fa0"
	goldenImageDigest = "sha256:87386eaf3c2fca53402c39881295aa8118e0b3eb64d47de206fd74f8489fa613"
)

func TestDeterminism(t *testing.T) {
	unsetEpoch(t)
	l1, img1 := buildImage(t, fixture())
	rev := fixture()
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	// Same files in another order; the hard-link group is stored by sort order.
	_, img2 := buildImage(t, rev)
	d1, err := img1.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := img2.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("digests differ for the same input: %s vs %s", d1, d2)
	}
	diffID, err := l1.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	if diffID.String() != goldenDiffID {
		t.Errorf("layer diff_id = %s, want golden %s", diffID, goldenDiffID)
	}
	if d1.String() != goldenImageDigest {
		t.Errorf("image digest = %s, want golden %s", d1, goldenImageDigest)
	}
	_, img3 := buildImage(t, fixture(), WithEpoch(time.Unix(1, 0)))
	if d3, _ := img3.Digest(); d3 == d1 {
		t.Error("another epoch gave the same digest")
	}
}

func TestNewImage(t *testing.T) {
	unsetEpoch(t)
	l, img := buildImage(t, fixture(), WithEpoch(time.Unix(1700000000, 0)))
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("manifest media types: %+v", m)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	diffID, _ := l.DiffID()
	want := &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: time.Unix(1700000000, 0).UTC()},
		History:      []v1.History{{Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()}, CreatedBy: "pare"}},
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		Config: v1.Config{
			Entrypoint: []string{"/usr/bin/ping"},
			Env:        []string{"PATH=/usr/bin"},
			User:       "65532",
			Labels:     map[string]string{"a": "1", "b": "2"},
		},
	}
	if d := cmp.Diff(want, cf); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	// The layer content is the tar of WriteTar.
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if err := WriteTar(&buf, fixture(), WithEpoch(time.Unix(1700000000, 0))); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, buf.Bytes()) {
		t.Error("layer content differs from WriteTar output")
	}
	if _, err := NewImage(l, ImageConfig{OS: "linux"}); err == nil {
		t.Error("NewImage without architecture: want error")
	}
}

func TestLayerClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Layer([]Item{file("/x", "data", 0o644)}, WithTempDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("temp dir not empty while the layer lives: %v", ents)
	}
	if _, err := l.Compressed(); err != nil {
		t.Fatal(err)
	}
	if err := l.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Uncompressed(); err == nil {
		t.Error("Uncompressed after Close: want error")
	}
}

func BenchmarkLayer(b *testing.B) {
	data := strings.Repeat("x", 1<<20)
	var items []Item
	for i := range 64 {
		items = append(items, file("/data/f"+string(rune('a'+i%26))+strings.Repeat("z", i/26), data, 0o644))
	}
	b.ResetTimer()
	for b.Loop() {
		l, err := Layer(items, WithTempDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		l.(io.Closer).Close()
	}
}

// TestUncompressedLayer checks WithoutCompression: the stored blob is the
// tar of WriteTar itself, its digest is its DiffID (the DiffID of the
// compressed layer of the same items), and the image declares it an
// uncompressed layer, so a docker-archive names it .tar.
func TestUncompressedLayer(t *testing.T) {
	unsetEpoch(t)
	gz, _ := buildImage(t, fixture())
	raw, img := buildImage(t, fixture(), WithoutCompression())
	var want bytes.Buffer
	if err := WriteTar(&want, fixture()); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() (io.ReadCloser, error){"Compressed": raw.Compressed, "Uncompressed": raw.Uncompressed} {
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: %d bytes, not the %d of WriteTar", name, len(got), want.Len())
		}
	}
	d, _ := raw.Digest()
	id, _ := raw.DiffID()
	gzID, _ := gz.DiffID()
	if size, _ := raw.Size(); d != id || id != gzID || id.String() != goldenDiffID || size != int64(want.Len()) {
		t.Errorf("digest %s, diff_id %s (compressed layer's %s), size %d: want all %s and %d bytes", d, id, gzID, size, goldenDiffID, want.Len())
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if l := m.Layers[0]; l.MediaType != types.OCIUncompressedLayer || l.Digest != d || l.Size != int64(want.Len()) {
		t.Errorf("manifest layer %+v, want media type %s, digest %s, size %d", l, types.OCIUncompressedLayer, d, want.Len())
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if ids := cf.RootFS.DiffIDs; len(ids) != 1 || ids[0] != id {
		t.Errorf("config diff_ids %v, want [%s]", ids, id)
	}
}
