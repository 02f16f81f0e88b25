package transport

import (
	"archive/tar"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/sys/unix"
)

type tarEntry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Linkname string
	Content  string
	Xattrs   map[string]string
}

func listLayer(t *testing.T, l v1.Layer) []tarEntry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		var x map[string]string
		for k, v := range h.PAXRecords {
			if n, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				if x == nil {
					x = map[string]string{}
				}
				x[n] = v
			}
		}
		out = append(out, tarEntry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, string(b), x})
	}
}

// makeTree builds a small root filesystem and returns its path.
func makeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/bin/app"), []byte("app"), 0o755))
	must(os.Chmod(filepath.Join(root, "usr/bin/app"), 0o755|os.ModeSetuid))
	must(os.Link(filepath.Join(root, "usr/bin/app"), filepath.Join(root, "usr/bin/app2")))
	must(os.Symlink("usr/bin", filepath.Join(root, "bin")))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "etc/abs")))
	must(os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644))
	must(os.Chown(filepath.Join(root, "etc/passwd"), 1000, 1001))
	must(syscall.Mkfifo(filepath.Join(root, "etc/fifo"), 0o600))
	if err := unix.Setxattr(filepath.Join(root, "etc/passwd"), "user.pare", []byte("yes"), 0); err != nil {
		t.Logf("no user xattrs here: %v", err)
	}
	ln, err := net.Listen("unix", filepath.Join(root, "etc/sock"))
	must(err)
	t.Cleanup(func() { ln.Close() })
	return root
}

func TestReadDir(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	os.Unsetenv("SOURCE_DATE_EPOCH")
	root := makeTree(t)
	ref := mustParse(t, "dir:"+root)
	img, err := Read(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cmp.Equal(cf.Config.Env, []string{DefaultPath}) {
		t.Errorf("config: os %q arch %q env %q", cf.OS, cf.Architecture, cf.Config.Env)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s", mt)
	}
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("layers: %d, %v", len(ls), err)
	}
	got := listLayer(t, ls[0])
	var xa map[string]string
	if v, err := unix.Getxattr(filepath.Join(root, "etc/passwd"), "user.pare", make([]byte, 8)); err == nil && v == 3 {
		xa = map[string]string{"user.pare": "yes"}
	}
	want := []tarEntry{
		{Name: "bin", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "usr/bin"},
		{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/abs", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/etc/passwd"},
		{Name: "etc/fifo", Type: tar.TypeFifo, Mode: 0o600},
		{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, UID: 1000, GID: 1001, Content: "root:x:0:0::/:/bin/sh\n", Xattrs: xa},
		// etc/sock: sockets are skipped
		{Name: "usr/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/app", Type: tar.TypeReg, Mode: 0o4755, Content: "app"},
		{Name: "usr/bin/app2", Type: tar.TypeLink, Mode: 0o4755, Linkname: "usr/bin/app"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("layer (-want +got):\n%s", d)
	}
	// Streaming twice gives the same bytes; the image round-trips through oci:.
	d1, _ := img.Digest()
	img2, _ := Read(t.Context(), ref)
	if d2, _ := img2.Digest(); d1 != d2 {
		t.Errorf("digest changed between reads: %s, %s", d1, d2)
	}
	out := Reference{Kind: OCI, Path: filepath.Join(t.TempDir(), "out")}
	if err := Write(t.Context(), out, img); err != nil {
		t.Fatal(err)
	}
	back, err := Read(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(summarize(t, img), summarize(t, back)); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestReadDirLazy(t *testing.T) {
	root := makeTree(t)
	img, err := Read(t.Context(), Reference{Kind: Dir, Path: root})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is read before first use: a file added now is in the layer.
	if err := os.WriteFile(filepath.Join(root, "late"), []byte("late"), 0o644); err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	found := false
	for _, e := range listLayer(t, ls[0]) {
		found = found || e.Name == "late"
	}
	if !found {
		t.Error("layer was read before first use")
	}
}

func TestWalkDirChangingFile(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	os.WriteFile(p, []byte("12345678"), 0o644)
	items, err := WalkDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ now, want string }{{"1234", "1234\x00\x00\x00\x00"}, {"1234567890", "12345678"}} {
		os.WriteFile(p, []byte(tc.now), 0o644)
		rc, err := items[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != tc.want {
			t.Errorf("file now %q: read %q, %v; want %q", tc.now, b, err, tc.want)
		}
	}
	// A file swapped for a symlink after the walk is not followed.
	os.Remove(p)
	os.Symlink("/etc/hostname", p)
	if _, err := items[0].Open(); err == nil {
		t.Error("Open followed a symlink swapped in after the walk")
	}
}

func TestWalkDirMtimes(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	os.WriteFile(p, []byte("x"), 0o644)
	mt := time.Unix(1600000000, 0)
	os.Chtimes(p, mt, mt)
	img, err := Read(t.Context(), Reference{Kind: Dir, Path: root})
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	rc, _ := ls[0].Uncompressed()
	defer rc.Close()
	h, err := tar.NewReader(rc).Next()
	if err != nil || !h.ModTime.Equal(mt) {
		t.Errorf("mtime %v, %v; want %v", h.ModTime, err, mt)
	}
}
