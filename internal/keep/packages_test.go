package keep

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// withRodata appends a .rodata section holding strs (NUL-terminated) and a
// section header table to an ELF64 little-endian file made by elftest.
func withRodata(elfFile []byte, strs ...string) []byte {
	var ro bytes.Buffer
	ro.WriteByte(0)
	for _, s := range strs {
		ro.WriteString(s)
		ro.WriteByte(0)
	}
	shstr := []byte("\x00.rodata\x00.shstrtab\x00")
	out := append([]byte{}, elfFile...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	roOff := uint64(len(out))
	out = append(out, ro.Bytes()...)
	strOff := uint64(len(out))
	out = append(out, shstr...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	sh := func(name uint32, typ uint32, flags, off, size uint64) {
		var h [64]byte
		le := binary.LittleEndian
		le.PutUint32(h[0:], name)
		le.PutUint32(h[4:], typ)
		le.PutUint64(h[8:], flags)
		le.PutUint64(h[24:], off)
		le.PutUint64(h[32:], size)
		le.PutUint64(h[48:], 1)
		out = append(out, h[:]...)
	}
	sh(0, 0, 0, 0, 0)
	sh(1, 1 /* SHT_PROGBITS */, 2 /* SHF_ALLOC */, roOff, uint64(ro.Len()))
	sh(9, 3 /* SHT_STRTAB */, 0, strOff, uint64(len(shstr)))
	le := binary.LittleEndian
	le.PutUint64(out[0x28:], shoff)
	le.PutUint16(out[0x3a:], 64)
	le.PutUint16(out[0x3c:], 3)
	le.PutUint16(out[0x3e:], 2)
	return out
}

func stanza(name, arch, extra string) string {
	return "Package: " + name + "\nStatus: install ok installed\nArchitecture: " + arch + "\nVersion: 1.0\n" + extra
}

// pkgImage is image() with a synthetic dpkg database: a server "srv" whose
// data package "srv-common" holds its configuration, a library "libimg" that
// names its coders directory and its policy file in its read-only data, and
// libc6 listed with usr-merge paths (/lib/x86_64-linux-gnu/libc.so.6).
func pkgImage() *rootfs.Mem {
	m := image()
	lib := "/usr/lib/x86_64-linux-gnu/"
	exe := func(needed ...string) []byte {
		return elftest.Build(elftest.Spec{Interp: interp, Needed: needed, Flags1: 0x08000000})
	}
	m.AddFile("/usr/sbin/srv", 0o755, exe("libimg.so.1", "libc.so.6"))
	m.AddFile("/usr/sbin/srv-other", 0o755, exe("libc.so.6"))
	m.AddFile("/usr/lib/srv/helper", 0o755, exe("libhelper.so.1", "libc.so.6"))
	m.AddFile("/usr/lib/srv/hook.sh", 0o755, []byte("#!/usr/bin/python3\nprint(1)\n"))
	m.AddFile("/usr/lib/srv/modules/mod.so", 0o644, elftest.Build(elftest.Spec{Soname: "mod.so", Needed: []string{"libfoo.so.1"}}))
	m.AddFile(lib+"libhelper.so.1", 0o644, elftest.Build(elftest.Spec{Soname: "libhelper.so.1", Needed: []string{"libc.so.6"}}))
	m.AddFile(lib+"libsrvextra.so.1", 0o644, elftest.Build(elftest.Spec{Soname: "libsrvextra.so.1"}))
	m.AddFile("/usr/share/doc/srv/changelog.gz", 0o644, []byte("x"))
	m.AddFile("/usr/share/man/man8/srv.8.gz", 0o644, []byte("x"))
	m.AddFile("/usr/share/locale/de/LC_MESSAGES/srv.mo", 0o644, []byte("x"))
	m.AddFile("/etc/init.d/srv", 0o755, []byte("#!/bin/sh\n"))
	m.AddFile("/etc/init.d/srv-common", 0o755, []byte("#!/bin/sh\n")) // a service script does not make a package a program
	m.AddFile("/etc/srv/srv.conf", 0o644, []byte("root /usr/share/srv/html\n"))
	m.AddFile("/etc/srv/sites-available/default", 0o644, []byte("x"))
	m.AddSymlink("/etc/srv/sites-enabled/default", "../sites-available/default") // made by postinst
	m.AddFile("/usr/share/srv/html/index.html", 0o644, []byte("<p>hi</p>"))
	m.AddFile("/usr/share/srv-data/table.dat", 0o644, []byte("t"))
	m.Add(rootfs.Entry{Path: "/var/lib/srv", Type: rootfs.TypeDir, Mode: 0o750, UID: 101, GID: 102}, nil)
	m.Add(rootfs.Entry{Path: "/var/lib/srv/state.db", Type: rootfs.TypeReg, Mode: 0o640, UID: 101, GID: 102}, []byte("db"))
	m.Add(rootfs.Entry{Path: "/var/log/srv", Type: rootfs.TypeDir, Mode: 0o750, UID: 101, GID: 4}, nil)
	m.Add(rootfs.Entry{Path: "/var/log/srv/old.log", Type: rootfs.TypeReg, Mode: 0o640, UID: 101, GID: 4}, []byte("old"))
	m.Add(rootfs.Entry{Path: "/var/cache/srv", Type: rootfs.TypeDir, Mode: 0o700, UID: 101, GID: 102}, nil) // made by postinst
	m.AddFile("/usr/sbin/adduser", 0o755, []byte("#!/usr/bin/perl\n"))
	m.AddFile("/usr/share/adduser/adduser.conf", 0o644, []byte("x"))

	m.AddFile(lib+"libimg.so.1", 0o644, withRodata(elftest.Build(elftest.Spec{Soname: "libimg.so.1", Needed: []string{"libc.so.6"}}),
		"/usr/lib/x86_64-linux-gnu/Img-1.2/coders", "/etc/Img-1/", "/usr/share", "/bin/sh", "/usr/lib/srv/helper",
		"PATH=/usr/local/bin:/usr/bin", "/usr/share/zoneinfo", "/etc/passwd", "/no/such/file", "format %s/%s"))
	m.AddFile(lib+"Img-1.2/coders/png.so", 0o644, elftest.Build(elftest.Spec{Soname: "png.so", Needed: []string{"libfoo.so.1"}}))
	m.AddFile(lib+"Img-1.2/coders/png.la", 0o644, []byte("la"))
	m.AddFile(lib+"Img-1.2/filters/f.so", 0o644, elftest.Build(elftest.Spec{Soname: "f.so"}))
	m.AddFile("/etc/Img-1/policy.xml", 0o644, []byte("<policy/>"))
	m.AddFile("/usr/share/zoneinfo/UTC", 0o644, []byte("TZif"))
	m.AddFile(lib+"gconv/UTF-16.so", 0o644, []byte("x"))

	var status strings.Builder
	for _, s := range []string{
		stanza("srv", "amd64", "Depends: libc6 (>= 2.36), srv-common (= 1.0), adduser | passwd, libimg1\nConffiles:\n /etc/init.d/srv 0123\n /etc/srv/old.conf 0123 obsolete\n"),
		stanza("srv-common", "all", "Depends: srv-data\nConffiles:\n /etc/srv/srv.conf 0123\n"),
		stanza("srv-data", "all", ""),
		stanza("adduser", "all", ""),
		stanza("libc6", "amd64", "Multi-Arch: same\nSource: glibc\n"),
		stanza("libimg1", "amd64", "Multi-Arch: same\nSource: img\nDepends: img-common\n"),
		stanza("img-common", "all", "Source: img\n"),
		stanza("tzdata", "all", ""),
	} {
		status.WriteString(s + "\n")
	}
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(status.String()))
	list := func(name string, paths ...string) {
		m.AddFile("/var/lib/dpkg/info/"+name+".list", 0o644, []byte("/.\n"+strings.Join(paths, "\n")+"\n"))
	}
	list("srv", "/usr", "/usr/sbin", "/usr/sbin/srv", "/usr/sbin/srv-other", "/usr/lib", "/usr/lib/srv", "/usr/lib/srv/helper",
		"/usr/lib/srv/hook.sh", "/usr/lib/srv/modules", "/usr/lib/srv/modules/mod.so", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/x86_64-linux-gnu/libsrvextra.so.1", "/usr/share/doc/srv/changelog.gz", "/usr/share/man/man8/srv.8.gz",
		"/usr/share/locale/de/LC_MESSAGES/srv.mo", "/etc/init.d/srv", "/var/log/srv")
	list("srv-common", "/etc", "/etc/init.d/srv-common", "/etc/srv", "/etc/srv/srv.conf", "/etc/srv/sites-available", "/etc/srv/sites-available/default",
		"/etc/srv/sites-enabled", "/usr/share/srv", "/usr/share/srv/html", "/usr/share/srv/html/index.html", "/var/lib/srv")
	list("srv-data", "/usr/share/srv-data", "/usr/share/srv-data/table.dat")
	list("adduser", "/usr/sbin/adduser", "/usr/share/adduser/adduser.conf")
	list("libc6:amd64", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/gconv", "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so")
	list("libimg1:amd64", "/usr/lib/x86_64-linux-gnu/libimg.so.1", "/usr/lib/x86_64-linux-gnu/Img-1.2",
		"/usr/lib/x86_64-linux-gnu/Img-1.2/coders", "/usr/lib/x86_64-linux-gnu/Img-1.2/coders/png.so",
		"/usr/lib/x86_64-linux-gnu/Img-1.2/coders/png.la", "/usr/lib/x86_64-linux-gnu/Img-1.2/filters",
		"/usr/lib/x86_64-linux-gnu/Img-1.2/filters/f.so")
	list("img-common", "/etc/Img-1", "/etc/Img-1/policy.xml")
	list("tzdata", "/usr/share/zoneinfo", "/usr/share/zoneinfo/UTC")
	return m
}

func pkgClosure(t *testing.T, m *rootfs.Mem, c v1.Config, o Options) *Result {
	t.Helper()
	if o.Rules == nil {
		o.Rules = []knowledge.Rule{} // what the package step does alone
	}
	res, err := Compute(m.View(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPackagePayloadOfAProgram(t *testing.T) {
	res := pkgClosure(t, pkgImage(), cfg("/usr/sbin/srv"), Options{})
	for _, p := range []string{
		"/etc/srv/srv.conf",                        // conffile of a data-only dependency
		"/etc/srv/sites-enabled/default",           // maintainer output in a private /etc dir
		"/etc/srv/sites-available/default",         // its target
		"/usr/share/srv/html/index.html",           // data of srv-common
		"/usr/share/srv-data/table.dat",            // data-only, transitively
		"/usr/lib/srv/helper",                      // private tree
		"/usr/lib/x86_64-linux-gnu/libhelper.so.1", // the helper's library
		"/usr/lib/srv/modules/mod.so",              // a plugin in the private tree
		"/usr/lib/x86_64-linux-gnu/libfoo.so.1.2",  // ... and its library
		"/usr/lib/srv/hook.sh",                     // a helper script, as a file
		"/var/lib/srv/state.db",                    // /var/lib/P keeps its contents
		"/var/log/srv", "/var/cache/srv",           // state dirs
		"/etc/Img-1/policy.xml",                           // compiled into libimg
		"/usr/lib/x86_64-linux-gnu/Img-1.2/coders/png.so", // compiled-in private dir of libimg
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{
		"/usr/share/doc/srv/changelog.gz", "/usr/share/man/man8/srv.8.gz", "/usr/share/locale/de/LC_MESSAGES/srv.mo",
		"/etc/init.d/srv",                                      // a conffile, but a service script
		"/usr/sbin/srv-other",                                  // another program of the package
		"/usr/lib/x86_64-linux-gnu/libsrvextra.so.1",           // a library of the package in a shared dir
		"/usr/sbin/adduser", "/usr/share/adduser/adduser.conf", // a dependency with programs
		"/var/log/srv/old.log",                           // only the log directory itself
		"/usr/bin/python3.11",                            // the helper script's interpreter
		"/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so",      // libc6's trees never come with libc
		"/usr/lib/x86_64-linux-gnu/Img-1.2/filters/f.so", // a sibling of the named coders dir
		"/usr/share/zoneinfo/UTC",                        // a compiled-in shared directory keeps no tree
		"/usr/share/srv-data",                            // (listed by srv-data: must be kept, see below)
	} {
		if p == "/usr/share/srv-data" {
			continue
		}
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	for p, want := range map[string][3]int{"/var/lib/srv": {0o750, 101, 102}, "/var/log/srv": {0o750, 101, 4}, "/var/cache/srv": {0o700, 101, 102}} {
		it := res.Set.Item(p)
		if it == nil {
			continue
		}
		if int(it.Entry.Mode.Perm()) != want[0] || it.Entry.UID != want[1] || it.Entry.GID != want[2] {
			t.Errorf("%s: mode %o owner %d:%d, want %o %d:%d", p, it.Entry.Mode.Perm(), it.Entry.UID, it.Entry.GID, want[0], want[1], want[2])
		}
	}
	r := res.Set.Item("/etc/srv/srv.conf").Reasons[0]
	if r.Kind != keptset.KindPackage || !strings.Contains(r.Detail, "package srv-common") {
		t.Errorf("reason of srv.conf = %+v", r)
	}
	if r := res.Set.Item("/etc/Img-1/policy.xml").Reasons[0]; r.Kind != keptset.KindCompiled || r.From != "/usr/lib/x86_64-linux-gnu/libimg.so.1" {
		t.Errorf("reason of policy.xml = %+v", r)
	}
	if !res.Set.Has("/usr/share") || !res.Set.Has("/usr/share/zoneinfo") {
		t.Error("a compiled-in directory must exist, even when its contents are not kept")
	}
	if res.Set.Has("/usr/bin/sh") {
		t.Errorf("a compiled-in /bin/sh of a library brought a shell: %s", keptset.FormatChain(res.Set.Why("/usr/bin/sh")))
	}
	// the database the closure read is handed on for the assembly
	if db := res.Packages; db == nil || db.Type != pkgdb.TypeDeb || len(db.Packages) == 0 {
		t.Errorf("Result.Packages = %+v, want the image's dpkg database", db)
	}
}

// A library's package gives its configuration but not its trees; the
// server program, not found through a package, gives nothing.
func TestPackagePayloadOfALibrary(t *testing.T) {
	m := pkgImage()
	// a program outside any package that needs only libhelper (of no package) and libc
	m.AddFile("/opt/tool/bin/tool", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000}))
	res := pkgClosure(t, m, cfg("/opt/tool/bin/tool"), Options{})
	if !res.Set.Has("/usr/lib/x86_64-linux-gnu/libc.so.6") {
		t.Fatal("libc not kept")
	}
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", "/etc/srv/srv.conf", "/usr/lib/srv/helper"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
}

// In traced mode trees are not expanded: the trace saw what was used.
func TestPackagePayloadTraced(t *testing.T) {
	res := pkgClosure(t, pkgImage(), cfg("/usr/sbin/srv"), Options{Observed: []Observation{{Path: "/usr/sbin/srv", Exec: true}}})
	for _, p := range []string{"/etc/srv/srv.conf", "/var/lib/srv/state.db", "/var/log/srv", "/etc/Img-1/policy.xml"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	// (/usr/share/srv/html is kept all the same: srv.conf names it, and
	// paths named by a kept config are kept in both modes)
	for _, p := range []string{"/usr/lib/srv/modules/mod.so", "/usr/lib/x86_64-linux-gnu/Img-1.2/coders/png.so"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept in traced mode: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
}

func TestApplicationFiles(t *testing.T) {
	m := pkgImage()
	m.SetHistory("import base", "/bin/sh -c apt-get update && apt-get install -y srv", "COPY dir:abc in /app", "/bin/sh -c pip install -r req.txt")
	add := func(p string, layer int, data string) {
		m.AddFile(p, 0o644, []byte(data))
		m.SetLayer(p, layer)
	}
	add("/app/main.py", 3, "print(1)")
	add("/app/static/style.css", 3, "body{}")
	add("/app/.git/HEAD", 3, "ref")
	add("/app/node_modules/.cache/x", 3, "cache")
	add("/app/node_modules/lib/index.js", 3, "x")
	m.AddFile("/app/native/addon.node", 0o644, elftest.Build(elftest.Spec{Soname: "addon.node", Needed: []string{"libhelper.so.1"}}))
	add("/root/.cache/pip/wheel", 4, "cache")
	add("/srv/www/large.txt", 2, "large") // same RUN as the install, but the app's
	m.AddDir("/usr/local/share/ca-certificates", 0o755)
	m.SetLayer("/usr/local/share/ca-certificates", 2) // made by a maintainer script
	m.AddDir("/usr/local/games", 0o755)
	m.SetLayer("/usr/local/games", 1) // the base's skeleton
	m.AddDir("/usr/local/share/mine", 0o755)
	m.SetLayer("/usr/local/share/mine", 4)
	add("/home/dev/.profile", 3, "x")
	add("/code/lib/mod.py", 3, "x") // named by the Env only
	add("/etc/generated.conf", 2, "x")
	c := cfg("/usr/sbin/srv")
	c.WorkingDir = "/app"
	c.Env = append(c.Env, "PYTHONPATH=/code/lib")
	res := pkgClosure(t, m, c, Options{})
	for _, p := range []string{"/app/main.py", "/app/static/style.css", "/app/node_modules/lib/index.js", "/app/native/addon.node",
		"/usr/lib/x86_64-linux-gnu/libhelper.so.1", "/srv/www/large.txt", "/usr/local/share/mine", "/home/dev/.profile", "/code/lib/mod.py"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{"/app/.git/HEAD", "/app/node_modules/.cache/x", "/root/.cache/pip/wheel", "/usr/local/share/ca-certificates", "/usr/local/games", "/etc/generated.conf"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	r := res.Set.Item("/app/static/style.css").Reasons[0]
	if r.Kind != keptset.KindApp || !strings.Contains(r.Detail, "layer 3 (COPY dir:abc in /app)") {
		t.Errorf("reason = %+v", r)
	}
	// traced: /app still, not /usr/local (runtimes live there; the trace sees them)
	res = pkgClosure(t, m, c, Options{Observed: []Observation{{Path: "/usr/sbin/srv", Exec: true}}})
	if !res.Set.Has("/app/static/style.css") || res.Set.Has("/usr/local/share/mine") {
		t.Error("traced: want /app kept and /usr/local left to the trace")
	}
	// --exclude drops application files as usual
	res = pkgClosure(t, m, c, Options{Excludes: []string{"/app/static/**"}})
	if res.Set.Has("/app/static/style.css") || !res.Set.Has("/app/main.py") {
		t.Error("--exclude did not drop an application file")
	}
}

func TestPathStrings(t *testing.T) {
	got := pathStrings([]byte("\x00/etc/foo.conf\x00PATH=/usr/bin:/bin\x00%s/%s\x00/a\x00x/y/z\x00/opt/app/lib;/opt/x\x00\x01/usr/share/p\x02R@/etc/papersize\x00usr/lib/rel\x00"))
	want := []string{"/etc/foo.conf", "/usr/bin", "/bin", "/opt/app/lib", "/opt/x", "/usr/share/p", "/etc/papersize"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pathStrings = %q, want %q", got, want)
	}
}

func TestRelates(t *testing.T) {
	for _, c := range []struct {
		dir   string
		names []string
		want  bool
	}{
		{"git-core", []string{"git"}, true},
		{"ImageMagick-6.9.11", []string{"imagemagick", "libmagickcore-6.q16-6"}, true},
		{"nginx", []string{"nginx-common", "nginx"}, true},
		{"gconv", []string{"glibc", "libc6", "c6"}, false},
		{"modules", []string{"libnginx-mod-http", "nginx"}, false},
		{"15", []string{"postgresql-15", "postgresql"}, false},
	} {
		if got := relatesName(c.dir, c.names); got != c.want {
			t.Errorf("relatesName(%q, %q) = %v", c.dir, c.names, got)
		}
	}
}
