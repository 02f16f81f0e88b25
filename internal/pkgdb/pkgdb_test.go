package pkgdb_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Stanzas and lists copied from a Debian bookworm minbase root.
const libgccStanza = `Package: libgcc-s1
Protected: yes
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 140
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: gcc-12
Version: 12.2.0-14+deb12u1
Replaces: libgcc1 (<< 1:10)
Provides: libgcc1 (= 1:12.2.0-14+deb12u1)
Depends: gcc-12-base (= 12.2.0-14+deb12u1), libc6 (>= 2.35)
Description: GCC support library
 Shared version of the support library, a library of internal subroutines
 that GCC uses to overcome shortcomings of particular machines, or
 special needs for some languages.
Homepage: http://gcc.gnu.org/
Important: yes
`

const bashStanza = `Package: bash
Essential: yes
Status: install ok installed
Priority: required
Section: shells
Installed-Size: 7164
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Multi-Arch: foreign
Source: bash (5.2.15-2)
Version: 5.2.15-2+b9
Conffiles:
 /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d
 /etc/skel/.bashrc 7eb2a5e3e1e3d4e2d1d1aa5c32a1a7a4
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
`

const removedStanza = `Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
`

func debView() *rootfs.View {
	m := rootfs.NewMem()
	m.AddDir("/usr/bin", 0o755).AddDir("/usr/lib/x86_64-linux-gnu", 0o755)
	m.AddSymlink("/bin", "usr/bin").AddSymlink("/lib", "usr/lib")
	m.AddFile("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1", 0o644, []byte("gcc"))
	m.AddFile("/usr/share/lintian/overrides/libgcc-s1", 0o644, []byte("overrides"))
	m.AddFile("/usr/bin/bash", 0o755, []byte("bash"))
	m.AddSymlink("/usr/bin/rbash", "bash")
	m.AddFile("/etc/bash.bashrc", 0o644, []byte("rc"))
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(bashStanza+"\n"+removedStanza+"\n"+libgccStanza))
	m.AddFile("/var/lib/dpkg/info/libgcc-s1:amd64.list", 0o644, []byte("/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libgcc_s.so.1\n/usr\n/usr/share\n/usr/share/doc\n/usr/share/lintian\n/usr/share/lintian/overrides\n/usr/share/lintian/overrides/libgcc-s1\n/usr/share/doc/libgcc-s1\n"))
	m.AddFile("/var/lib/dpkg/info/libgcc-s1:amd64.md5sums", 0o644, []byte("8ff3819553818db46d80bf18e7bd5366  lib/x86_64-linux-gnu/libgcc_s.so.1\n44a14dcf85ae45e233e4d47509cc2369  usr/share/lintian/overrides/libgcc-s1\n"))
	m.AddFile("/var/lib/dpkg/info/bash.list", 0o644, []byte("/.\n/bin\n/bin/bash\n/bin/rbash\n/etc\n/etc/bash.bashrc\n/usr/share/doc/bash/README\n"))
	m.AddFile("/var/lib/dpkg/info/bash.md5sums", 0o644, []byte("d86b21405852d8642ca41afae9dcf0f5  bin/bash\n"))
	// dash diverts bash's /bin/sh... here: a local diversion of /usr/bin/rbash
	m.AddFile("/var/lib/dpkg/diversions", 0o644, []byte("/bin/rbash\n/bin/rbash.orig\n:\n"))
	m.AddSymlink("/usr/bin/rbash.orig", "bash")
	m.AddFile("/usr/bin/rbash", 0o755, []byte("local replacement"))
	m.AddFile("/usr/lib/os-release", 0o644, []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"))
	m.AddSymlink("/etc/os-release", "../usr/lib/os-release")
	return m.View()
}

func keptSet(paths ...string) func(string) bool {
	m := map[string]bool{}
	for _, p := range paths {
		m[p] = true
	}
	return func(p string) bool { return m[p] }
}

func TestDpkg(t *testing.T) {
	v := debView()
	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	if db.Type != pkgdb.TypeDeb || len(db.Packages) != 2 {
		t.Fatalf("db = %+v", db)
	}
	b := db.Packages[0]
	if b.Name != "bash" || b.Version != "5.2.15-2+b9" || b.Source != "bash" || b.SourceVersion != "5.2.15-2" || b.Arch != "amd64" {
		t.Errorf("bash = %+v", b)
	}
	if g := db.Packages[1]; g.Name != "libgcc-s1" || g.Source != "gcc-12" || g.SourceVersion != "" {
		t.Errorf("libgcc-s1 = %+v", g)
	}
	// /lib/x86_64-linux-gnu/libgcc_s.so.1 of the list is /usr/lib/... physically
	us := db.Usage(v, keptSet("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"))
	type count struct {
		Name        string
		Kept, Total int
		Partial     bool
	}
	var got []count
	for _, u := range us {
		got = append(got, count{u.Name, u.KeptFiles, u.TotalFiles, u.Partial})
	}
	want := []count{{"bash", 0, 3, true}, {"libgcc-s1", 1, 2, true}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("usage (-want +got):\n%s", d)
	}
	files := db.Files(us)
	if len(files) != 2 || files[0].Path != "/var/lib/dpkg/status.d/libgcc-s1" || files[1].Path != "/var/lib/dpkg/status.d/libgcc-s1.md5sums" {
		t.Fatalf("files = %+v", files)
	}
	if string(files[0].Data) != libgccStanza {
		t.Errorf("status.d/libgcc-s1 =\n%s", files[0].Data)
	}
	if got := string(files[1].Data); got != "8ff3819553818db46d80bf18e7bd5366  lib/x86_64-linux-gnu/libgcc_s.so.1\n" {
		t.Errorf("md5sums = %q", got)
	}
	os := pkgdb.ReadOS(v)
	if p := db.Packages[1].PURL(os); p != "pkg:deb/debian/libgcc-s1@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=gcc-12" {
		t.Errorf("PURL = %s", p)
	}
	// a kept symlink counts; a fully kept package is not partial
	// bash's /bin/rbash lives at /bin/rbash.orig (diverted)
	us = db.Usage(v, keptSet("/usr/bin/bash", "/usr/bin/rbash.orig", "/etc/bash.bashrc"))
	if us[0].KeptFiles != 3 || us[0].Partial {
		t.Errorf("bash usage = %+v", us[0])
	}
	us = db.Usage(v, keptSet("/usr/bin/rbash"))
	if us[0].KeptFiles != 0 {
		t.Errorf("the local /usr/bin/rbash counted for bash: %+v", us[0])
	}
}

func TestDistrolessRoundTrip(t *testing.T) {
	// what Files writes, Read reads back (status.d, file list from md5sums)
	v := debView()
	db, _ := pkgdb.Read(v)
	us := db.Usage(v, keptSet("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"))
	m := rootfs.NewMem()
	m.AddDir("/usr/lib/x86_64-linux-gnu", 0o755).AddSymlink("/lib", "usr/lib")
	m.AddFile("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1", 0o644, []byte("gcc"))
	for _, f := range db.Files(us) {
		m.AddFile(f.Path, f.Mode, f.Data)
	}
	v2 := m.View()
	db2, err := pkgdb.Read(v2)
	if err != nil {
		t.Fatal(err)
	}
	if len(db2.Packages) != 1 || db2.Packages[0].Name != "libgcc-s1" || db2.Packages[0].Version != "12.2.0-14+deb12u1" {
		t.Fatalf("read back %+v", db2.Packages)
	}
	us2 := db2.Usage(v2, func(string) bool { return true })
	if us2[0].KeptFiles != 1 || us2[0].TotalFiles != 1 || us2[0].Partial {
		t.Errorf("usage read back = %+v", us2[0])
	}
}

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
S:411232
I:647168
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712245345
c:ce4b3f8c
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1aaa=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q1bbb=

C:Q1def=
P:busybox
V:1.36.1-r28
A:x86_64
L:GPL-2.0-only
o:busybox
F:bin
R:busybox
a:0:0:755
Z:Q1ccc=
F:etc
R:securetty
Z:Q1ddd=
`

func TestApk(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/lib/ld-musl-x86_64.so.1", 0o755, []byte("musl"))
	m.AddSymlink("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1")
	m.AddFile("/bin/busybox", 0o755, []byte("bb"))
	m.AddFile("/etc/securetty", 0o644, []byte("tty"))
	m.AddFile("/lib/apk/db/installed", 0o644, []byte(apkInstalled))
	m.AddFile("/etc/os-release", 0o644, []byte("ID=alpine\nVERSION_ID=3.20.3\n"))
	v := m.View()
	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	if db.Type != pkgdb.TypeApk || len(db.Packages) != 2 || db.Packages[1].Name != "musl" || db.Packages[1].License != "MIT" {
		t.Fatalf("db = %+v", db.Packages)
	}
	us := db.Usage(v, keptSet("/lib/ld-musl-x86_64.so.1"))
	files := db.Files(us)
	if len(files) != 1 || files[0].Path != "/lib/apk/db/installed" {
		t.Fatalf("files = %+v", files)
	}
	got := string(files[0].Data)
	if strings.Contains(got, "busybox") || strings.Contains(got, "libc.musl") || strings.Contains(got, "Q1bbb") ||
		!strings.Contains(got, "R:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1aaa=\n") || !strings.HasPrefix(got, "C:Q1abc=\nP:musl\n") {
		t.Errorf("installed =\n%s", got)
	}
	if p := db.Packages[1].PURL(pkgdb.ReadOS(v)); p != "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3" {
		t.Errorf("PURL = %s", p)
	}
}

func TestNoDatabase(t *testing.T) {
	db, err := pkgdb.Read(rootfs.NewMem().AddFile("/app", 0o755, []byte("x")).View())
	if err != nil || db.Type != "" || len(db.Packages) != 0 {
		t.Errorf("Read = %+v, %v", db, err)
	}
}

// TestMinbase reads the real dpkg database of the Debian bookworm minbase root.
func TestMinbase(t *testing.T) {
	dir := minbase(t)
	v, err := rootfs.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Packages) < 80 {
		t.Fatalf("%d packages, want the ~88 of minbase", len(db.Packages))
	}
	// keep /bin/ls (coreutils, listed as /bin/ls) and libc's files
	kept := map[string]bool{"/usr/bin/ls": true}
	err = v.Walk("/usr/lib/x86_64-linux-gnu", func(e *rootfs.Entry) error {
		if strings.HasPrefix(filepath.Base(e.Path), "libc.so") || strings.HasPrefix(filepath.Base(e.Path), "ld-linux") {
			kept[e.Path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	us := pkgdb.Remaining(db.Usage(v, func(p string) bool { return kept[p] }))
	var names []string
	for _, u := range us {
		names = append(names, u.Name)
		if !u.Partial {
			t.Errorf("%s fully kept: %d of %d", u.Name, u.KeptFiles, u.TotalFiles)
		}
	}
	if d := cmp.Diff([]string{"coreutils", "libc6"}, names); d != "" {
		t.Errorf("remaining (-want +got):\n%s", d)
	}
	files := db.Files(us)
	var fnames []string
	for _, f := range files {
		fnames = append(fnames, f.Path)
	}
	want := []string{"/var/lib/dpkg/status.d/coreutils", "/var/lib/dpkg/status.d/coreutils.md5sums", "/var/lib/dpkg/status.d/libc6", "/var/lib/dpkg/status.d/libc6.md5sums"}
	if d := cmp.Diff(want, fnames); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if !strings.Contains(string(files[1].Data), "  bin/ls\n") || strings.Count(string(files[1].Data), "\n") != 1 {
		t.Errorf("coreutils.md5sums = %q", files[1].Data)
	}
	if !strings.HasPrefix(string(files[2].Data), "Package: libc6\nStatus: install ok installed\n") {
		t.Errorf("status.d/libc6 = %q", files[2].Data)
	}
}

// minbase returns the debootstrapped bookworm minbase root that
// scripts/fixtures.sh caches, building it when docker is there.
func minbase(t *testing.T) string {
	t.Helper()
	cache, err := testimages.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "rootfs")
	if _, err := os.Stat(filepath.Join(dir, "var/lib/dpkg/status")); err != nil {
		testimages.Require(t, "base")
	}
	if _, err := os.Stat(filepath.Join(dir, "var/lib/dpkg/status")); err != nil {
		t.Skipf("no minbase root at %s", dir)
	}
	return dir
}
