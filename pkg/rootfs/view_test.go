package rootfs

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func usrMergedMem() *Mem {
	m := NewMem()
	m.AddDir("/usr/lib/x86_64-linux-gnu", 0o755)
	m.AddFile("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0o755, []byte("ld"))
	m.AddSymlink("/lib", "usr/lib")
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	m.AddSymlink("/etc/loop1", "loop2")
	m.AddSymlink("/etc/loop2", "loop1")
	m.AddSymlink("/etc/escape", "../../../../etc/passwd")
	m.AddFile("/etc/passwd", 0o644, []byte("root:x:0:0::/:/bin/sh\n"))
	m.AddSymlink("/etc/abs", "/etc/passwd")
	m.AddFile("/etc/hostname", 0o644, []byte("h"))
	m.AddSymlink("/dirlink", "/etc")
	return m
}

func TestResolveKeepsEveryLink(t *testing.T) {
	v := usrMergedMem().View()
	res, err := v.Resolve("/lib64/ld-linux-x86-64.so.2", true)
	if err != nil {
		t.Fatal(err)
	}
	want := Resolution{
		Path:  "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		Links: []string{"/lib64", "/usr/lib64/ld-linux-x86-64.so.2", "/lib"},
	}
	if d := cmp.Diff(want, res); d != "" {
		t.Errorf("resolution (-want +got):\n%s", d)
	}
}

func TestResolveStaysInRoot(t *testing.T) {
	v := usrMergedMem().View()
	for name, want := range map[string]string{
		"/etc/escape":         "/etc/passwd",
		"/../../etc/passwd":   "/etc/passwd",
		"/dirlink/../etc/abs": "/etc/passwd", // ".." is physical: /dirlink -> /etc, /etc/.. = /
		"/dirlink/hostname":   "/etc/hostname",
		"etc/./abs":           "/etc/passwd",
	} {
		e, err := v.Stat(name)
		if err != nil {
			t.Errorf("Stat(%q): %v", name, err)
			continue
		}
		if e.Path != want {
			t.Errorf("Stat(%q).Path = %q, want %q", name, e.Path, want)
		}
	}
}

func TestResolveLoop(t *testing.T) {
	v := usrMergedMem().View()
	if _, err := v.Stat("/etc/loop1"); !errors.Is(err, ErrLoop) {
		t.Errorf("Stat of a symlink loop: err = %v, want ErrLoop", err)
	}
	if e, err := v.Lstat("/etc/loop1"); err != nil || e.Type != TypeSymlink {
		t.Errorf("Lstat of a loop link = %v, %v; want the symlink", e, err)
	}
}

func TestResolveHopLimit(t *testing.T) {
	m := NewMem()
	m.AddFile("/target", 0o644, []byte("x"))
	// a chain of exactly MaxSymlinkHops links resolves; one more fails
	prev := "/target"
	for i := 0; i <= MaxSymlinkHops; i++ {
		name := "/l" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		m.AddSymlink(name, prev)
		prev = name
	}
	v := m.View()
	if _, err := v.Stat("/lbn"); err != nil { // 40th link (index 39)
		t.Errorf("40 hops: %v", err)
	}
	if _, err := v.Stat("/lbo"); !errors.Is(err, ErrLoop) { // 41st link
		t.Errorf("41 hops: err = %v, want ErrLoop", err)
	}
}

func TestNotDir(t *testing.T) {
	v := usrMergedMem().View()
	if _, err := v.Stat("/etc/passwd/x"); !errors.Is(err, ErrNotDir) {
		t.Errorf("err = %v, want ErrNotDir", err)
	}
	if _, err := v.Stat("/nope/x"); !errors.Is(err, ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

func TestReadFileAndWalk(t *testing.T) {
	v := usrMergedMem().View()
	b, err := v.ReadFile("/dirlink/abs", 1<<20)
	if err != nil || string(b) != "root:x:0:0::/:/bin/sh\n" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := v.ReadFile("/etc/passwd", 3); err == nil {
		t.Error("ReadFile over the limit succeeded")
	}
	var paths []string
	if err := v.Walk("/etc", func(e *Entry) error { paths = append(paths, e.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"/etc", "/etc/abs", "/etc/escape", "/etc/hostname", "/etc/loop1", "/etc/loop2", "/etc/passwd"}
	if d := cmp.Diff(want, paths); d != "" {
		t.Errorf("walk (-want +got):\n%s", d)
	}
}

func TestResolveEmptySymlink(t *testing.T) {
	m := NewMem()
	m.AddSymlink("/d/empty", "")
	v := m.View()
	if _, err := v.Stat("/d/empty"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat of a link to \"\": err = %v, want ErrNotExist", err)
	}
}
