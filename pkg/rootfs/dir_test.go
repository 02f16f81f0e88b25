//go:build linux

package rootfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// hostTree makes a root with symlinks that point outside it in every way,
// next to a sentinel directory "outside".
func hostTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{"root/etc", "root/usr/lib", "outside/etc"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string, mode fs.FileMode) {
		if err := os.WriteFile(filepath.Join(base, p), []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("root/etc/passwd", "inside", 0o644)
	write("outside/etc/passwd", "OUTSIDE", 0o644)
	write("root/usr/lib/libc.so.6", "libc", 0o755)
	link := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(base, p)); err != nil {
			t.Fatal(err)
		}
	}
	link(outside+"/etc", "root/abs")            // absolute host path: means <root>/<that path> in the image
	link("/etc", "root/etc2")                   // absolute in-image
	link("../../outside/etc", "root/dotdot")    // climbs above the root
	link("usr/lib", "root/lib")                 // usr-merge style
	link("../../../../../etc/passwd", "root/p") // clamps to /etc/passwd
	if err := os.Link(filepath.Join(root, "usr/lib/libc.so.6"), filepath.Join(root, "usr/lib/hard")); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func TestFromDirResolvesInsideRoot(t *testing.T) {
	root, _ := hostTree(t)
	v, err := FromDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if b, err := v.ReadFile("/etc2/passwd", 100); err != nil || string(b) != "inside" {
		t.Errorf("/etc2/passwd = %q, %v", b, err)
	}
	if b, err := v.ReadFile("/p", 100); err != nil || string(b) != "inside" {
		t.Errorf("/p = %q, %v", b, err)
	}
	// ../../outside/etc clamps at the root: /outside/etc does not exist inside
	if _, err := v.Stat("/dotdot/passwd"); err == nil {
		t.Error("/dotdot/passwd resolved: it must not reach the host's outside/")
	}
	if _, err := v.Stat("/abs/passwd"); err == nil {
		t.Error("/abs/passwd resolved to the host path")
	}
	res, err := v.Resolve("/lib/libc.so.6", true)
	if err != nil || res.Path != "/usr/lib/libc.so.6" {
		t.Errorf("Resolve = %+v, %v", res, err)
	}
	e, err := v.Lstat("/abs")
	if err != nil || e.Type != TypeSymlink || e.Linkname == "" {
		t.Errorf("Lstat(/abs) = %+v, %v", e, err)
	}
	ents, err := v.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Path)
	}
	if d := cmp.Diff([]string{"/abs", "/dotdot", "/etc", "/etc2", "/lib", "/p", "/usr"}, names); d != "" {
		t.Errorf("ReadDir (-want +got):\n%s", d)
	}
	a, _ := v.Lstat("/usr/lib/libc.so.6")
	h, _ := v.Lstat("/usr/lib/hard")
	if a == nil || h == nil || a.HardlinkID == 0 || a.HardlinkID != h.HardlinkID {
		t.Errorf("hardlink IDs: %+v %+v", a, h)
	}
	// the physical-path contract: a symlink in the middle is refused by the backend
	if _, err := v.b.lookup("/etc2/passwd"); err == nil {
		t.Error("backend followed a symlink component")
	}
}

func TestFromDirExportStaysInside(t *testing.T) {
	root, outside := hostTree(t)
	v, err := FromDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	out := filepath.Join(t.TempDir(), "out")
	st, err := Export(t.Context(), v, out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Hardlinks != 1 || st.Files != 2 || st.Symlinks != 5 {
		t.Errorf("stats = %+v", st)
	}
	if l, _ := os.Readlink(filepath.Join(out, "abs")); l != outside+"/etc" {
		t.Errorf("abs -> %q, want verbatim", l)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "etc/passwd")); string(b) != "OUTSIDE" {
		t.Errorf("outside changed: %q", b)
	}
}

func TestFromDirMountPointIsEmpty(t *testing.T) {
	v, err := FromDir("/")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var root, proc unix.Stat_t
	if unix.Stat("/", &root) != nil || unix.Stat("/proc", &proc) != nil || root.Dev == proc.Dev {
		t.Skip("/proc is not a separate mount here")
	}
	e, err := v.Lstat("/proc")
	if err != nil || e.Type != TypeDir {
		t.Fatalf("Lstat(/proc) = %+v, %v", e, err)
	}
	ents, err := v.ReadDir("/proc")
	if err != nil || len(ents) != 0 {
		t.Errorf("ReadDir(/proc) = %d entries, %v; want empty", len(ents), err)
	}
	if _, err := v.Lstat("/proc/self"); err == nil {
		t.Error("/proc/self visible")
	}
	if b, err := v.ReadFile("/etc/hostname", 1<<10); err == nil && len(b) == 0 {
		t.Log("empty /etc/hostname")
	}
}

func TestFromDirOpenat2Fallback(t *testing.T) {
	root, _ := hostTree(t)
	v, err := FromDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.b.(*dirBackend).noOpenat2.Store(true)
	if b, err := v.ReadFile("/etc2/passwd", 100); err != nil || string(b) != "inside" {
		t.Errorf("/etc2/passwd = %q, %v", b, err)
	}
	if _, err := v.Stat("/dotdot/passwd"); err == nil {
		t.Error("/dotdot/passwd resolved")
	}
	if _, err := v.b.lookup("/etc2/passwd"); err == nil {
		t.Error("fallback followed a symlink component")
	}
}
