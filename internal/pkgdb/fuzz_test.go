package pkgdb_test

import (
	"testing"

	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const debStatus = `Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1, tzdata (>= 2021a-1) | tzdata-legacy
Conffiles:
 /etc/ld.so.conf.d/x86_64-linux-gnu.conf d4e7a7b88a71b5ffd9e2644e71a0cfab
 /etc/obsolete.conf 0123 obsolete

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
`

// exercise reads the database of v and uses every part of it.
func exercise(t *testing.T, v *rootfs.View) {
	db, err := pkgdb.Read(v)
	if err != nil || db == nil {
		return
	}
	ix := db.Index(v)
	for _, p := range db.Packages {
		p.Names()
		p.PURL(pkgdb.ReadOS(v))
		for _, f := range ix.Files(p) {
			ix.Owners(f)
			ix.Managed(f)
		}
		ix.DataOnly(p, func(string) bool { return false })
		ix.Satisfy(append([]string{p.Name}, p.Provides...), p.Arch)
		ix.PrivateTo("/usr/share/"+p.Name, func(*pkgdb.Package) bool { return true })
	}
	us := db.Usage(v, func(string) bool { return true })
	db.Files(us)
}

// FuzzDpkg reads a dpkg database whose status, file list, md5sums,
// diversions, statoverride and alternatives are the input.
func FuzzDpkg(f *testing.F) {
	f.Add([]byte(debStatus), []byte("/.\n/etc\n/etc/ld.so.conf.d/x86_64-linux-gnu.conf\n/lib/x86_64-linux-gnu/libc.so.6\n"),
		[]byte("d41d8cd98f00b204e9800998ecf8427e  lib/x86_64-linux-gnu/libc.so.6\n"),
		[]byte("/usr/bin/x\n/usr/bin/x.distrib\n:\n"), []byte("root shadow 2755 /usr/bin/chage\n"),
		[]byte("auto\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\n\n/bin/nano\n40\n\n"))
	f.Add([]byte("Package: a\nStatus: install ok installed\nDepends: b:any (>= 1), c | d\n\nPackage:\n\n\n"),
		[]byte("../../etc/passwd\n\n/x/../../y"), []byte("x\n  \n  /a"), []byte("a\n"), []byte("x y\n"), []byte("manual\n"))
	f.Fuzz(func(t *testing.T, status, list, md5sums, diversions, statoverride, alternatives []byte) {
		m := rootfs.NewMem()
		m.AddFile("/var/lib/dpkg/status", 0o644, status)
		m.AddFile("/var/lib/dpkg/status.d/tzdata", 0o644, status)
		m.AddFile("/var/lib/dpkg/info/libc6:amd64.list", 0o644, list)
		m.AddFile("/var/lib/dpkg/info/a.list", 0o644, list)
		m.AddFile("/var/lib/dpkg/info/libc6:amd64.md5sums", 0o644, md5sums)
		m.AddFile("/var/lib/dpkg/status.d/tzdata.md5sums", 0o644, md5sums)
		m.AddFile("/var/lib/dpkg/diversions", 0o644, diversions)
		m.AddFile("/var/lib/dpkg/statoverride", 0o644, statoverride)
		m.AddFile("/var/lib/dpkg/alternatives/editor", 0o644, alternatives)
		m.AddFile("/etc/os-release", 0o644, alternatives)
		m.AddFile("/lib/x86_64-linux-gnu/libc.so.6", 0o755, []byte("elf"))
		exercise(t, m.View())
	})
}

// FuzzApk reads an apk installed database.
func FuzzApk(f *testing.F) {
	f.Add([]byte("C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nD:!conflict so:libc.musl-x86_64.so.1\np:so:libc.musl-x86_64.so.1=1\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1xyz=\n\nP:busybox\nF:bin\nR:busybox\nM:0:0:4755\n"))
	f.Add([]byte("P:x\nF:../../etc\nR:../passwd\nR:\nF:\n\n\nP:\n"))
	f.Fuzz(func(t *testing.T, installed []byte) {
		m := rootfs.NewMem()
		m.AddFile("/lib/apk/db/installed", 0o644, installed)
		m.AddFile("/lib/ld-musl-x86_64.so.1", 0o755, []byte("elf"))
		m.AddFile("/etc/os-release", 0o644, []byte("ID=alpine\nVERSION_ID=3.19.1\n"))
		exercise(t, m.View())
	})
}
