package pkgdb_test

import (
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/pkg/rootfs"
)

func indexView() *rootfs.View {
	m := rootfs.NewMem()
	m.AddSymlink("/bin", "usr/bin")
	m.AddFile("/usr/bin/vim.basic", 0o755, []byte("elf"))
	m.AddSymlink("/etc/alternatives/editor", "/usr/bin/vim.basic")
	m.AddSymlink("/usr/bin/editor", "/etc/alternatives/editor")
	m.AddFile("/usr/bin/dash", 0o755, []byte("elf"))
	m.AddFile("/usr/share/vim/vim90/defaults.vim", 0o644, []byte("x"))
	m.AddFile("/usr/share/vim/vimrc", 0o644, []byte("x"))
	m.AddFile("/usr/share/vim/addons/x.vim", 0o644, []byte("x"))
	m.AddFile("/etc/vim/vimrc", 0o644, []byte("x"))
	m.AddFile("/usr/bin/ls.distrib", 0o755, []byte("elf"))
	m.AddFile("/usr/bin/ls", 0o755, []byte("wrapper"))
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(`Package: vim
Status: install ok installed
Architecture: amd64
Version: 2:9.0
Depends: vim-common (= 2:9.0), vim-runtime (= 2:9.0), libc6 (>= 2.34), libacl1 | libacl1-alt, awk:any
Provides: editor

Package: vim-common
Status: install ok installed
Architecture: all
Version: 2:9.0
Conffiles:
 /etc/vim/vimrc 4f7e
 /etc/vim/old 1234 obsolete

Package: vim-runtime
Status: install ok installed
Architecture: all
Version: 2:9.0

Package: mawk
Status: install ok installed
Architecture: amd64
Version: 1.3
Provides: awk

Package: coreutils
Status: install ok installed
Architecture: amd64
Multi-Arch: foreign
Version: 9.1

Package: dash
Status: install ok installed
Architecture: amd64
Source: dash (0.5.12-2)
Version: 0.5.12-2
Pre-Depends: libc6 (>= 2.34)
`))
	list := func(name string, paths ...string) {
		data := "/.\n"
		for _, p := range paths {
			data += p + "\n"
		}
		m.AddFile("/var/lib/dpkg/info/"+name+".list", 0o644, []byte(data))
	}
	list("vim", "/usr", "/usr/bin", "/usr/bin/vim.basic")
	list("vim-common", "/etc/vim", "/etc/vim/vimrc", "/usr/share/vim", "/usr/share/vim/vimrc")
	list("vim-runtime", "/usr/share/vim", "/usr/share/vim/vim90", "/usr/share/vim/vim90/defaults.vim")
	list("dash", "/bin", "/bin/dash")
	list("coreutils", "/bin/ls")
	m.AddFile("/var/lib/dpkg/diversions", 0o644, []byte("/bin/ls\n/usr/bin/ls.distrib\ncoreutils-wrapper\n"))
	m.AddFile("/var/lib/dpkg/statoverride", 0o644, []byte("root ssl-cert 710 /etc/ssl/private\nroot root 4755 /usr/bin/sudo\nbad line\n"))
	m.AddFile("/var/lib/dpkg/alternatives/editor", 0o644, []byte("auto\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\n\n/usr/bin/vim.basic\n30\n/usr/share/man/man1/vim.1.gz\n/bin/nano\n40\n\n\n"))
	return m.View()
}

func TestIndex(t *testing.T) {
	v := indexView()
	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	ix := db.Index(v)
	names := func(ps []*pkgdb.Package) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	// usr-merge: the list's /bin/dash is /usr/bin/dash
	if got := names(ix.Owners("/usr/bin/dash")); !cmp.Equal(got, []string{"dash"}) {
		t.Errorf("owners of /usr/bin/dash = %v", got)
	}
	// a diverted file is where dpkg moved it
	if got := names(ix.Owners("/usr/bin/ls.distrib")); !cmp.Equal(got, []string{"coreutils"}) {
		t.Errorf("owners of /usr/bin/ls.distrib = %v", got)
	}
	if ix.Listed("/usr/bin/ls") {
		t.Error("the diverted-away path is listed")
	}
	if got := names(ix.Owners("/usr/share/vim")); !cmp.Equal(got, []string{"vim-common", "vim-runtime"}) {
		t.Errorf("owners of /usr/share/vim = %v", got)
	}
	vim := ix.Package("vim", "amd64")
	if vim == nil {
		t.Fatal("vim not found")
	}
	wantDeps := [][]string{{"vim-common"}, {"vim-runtime"}, {"libc6"}, {"libacl1", "libacl1-alt"}, {"awk:any"}}
	if diff := cmp.Diff(wantDeps, vim.Depends); diff != "" {
		t.Errorf("depends (-want +got):\n%s", diff)
	}
	if got := ix.Package("dash", "amd64").Depends; !cmp.Equal(got, [][]string{{"libc6"}}) {
		t.Errorf("pre-depends = %v", got)
	}
	if p := ix.Satisfy([]string{"awk:any"}, "amd64"); p == nil || p.Name != "mawk" {
		t.Errorf("awk:any satisfied by %v", p)
	}
	if p := ix.Satisfy([]string{"libacl1", "libacl1-alt"}, "amd64"); p != nil {
		t.Errorf("an uninstalled dependency satisfied by %s", p.Name)
	}
	common := ix.Package("vim-common", "amd64")
	if !cmp.Equal(common.Conffiles, []string{"/etc/vim/vimrc"}) {
		t.Errorf("conffiles = %v", common.Conffiles)
	}
	if !ix.DataOnly(common, nil) || ix.DataOnly(vim, nil) || ix.DataOnly(ix.Package("dash", ""), nil) {
		t.Error("DataOnly: want vim-common only")
	}
	// /usr/share/vim holds two packages of vim; /usr/share/vim/vim90 one
	runtime := ix.Package("vim-runtime", "")
	only := func(p *pkgdb.Package) func(*pkgdb.Package) bool {
		return func(q *pkgdb.Package) bool { return q == p }
	}
	if ix.PrivateTo("/usr/share/vim", only(runtime)) || !ix.PrivateTo("/usr/share/vim/vim90", only(runtime)) {
		t.Error("PrivateTo: /usr/share/vim/vim90 only")
	}
	if ix.PrivateTo("/usr/share/vim/addons", only(runtime)) {
		t.Error("a directory with nothing listed is private to no one")
	}
	if got := ix.StatOverrides["/etc/ssl/private"]; got != (pkgdb.StatOverride{Owner: "root", Group: "ssl-cert", Mode: 0o710}) {
		t.Errorf("statoverride = %+v", got)
	}
	if got := ix.StatOverrides["/usr/bin/sudo"].Mode; got != fs.ModeSetuid|0o755 {
		t.Errorf("statoverride mode = %v", got)
	}
	alt := ix.Alternatives["editor"]
	if alt.Link != "/usr/bin/editor" || alt.Slaves["editor.1.gz"] != "/usr/share/man/man1/editor.1.gz" ||
		!cmp.Equal(alt.Providers, []string{"/usr/bin/vim.basic", "/bin/nano"}) {
		t.Errorf("alternative = %+v", alt)
	}
	for _, p := range []string{"/usr/bin/editor", "/etc/alternatives/editor"} {
		if n, ok := ix.Managed(p); !ok || n != "editor" {
			t.Errorf("%s not managed by the alternative editor", p)
		}
	}
}

func TestNames(t *testing.T) {
	p := &pkgdb.Package{Name: "postgresql-15", Source: "postgresql-15"}
	if got := p.Names(); !cmp.Equal(got, []string{"postgresql", "postgresql-15"}) {
		t.Errorf("names = %v", got)
	}
	p = &pkgdb.Package{Name: "libmagickcore-6.q16-6", Source: "imagemagick"}
	if got := p.Names(); !cmp.Equal(got, []string{"imagemagick", "libmagickcore-6.q16", "libmagickcore-6.q16-6", "magickcore-6.q16"}) {
		t.Errorf("names = %v", got)
	}
}

func TestApkIndex(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/lib/apk/db/installed", 0o644, []byte("P:nginx\nV:1.24\nA:x86_64\nD:so:libc.musl-x86_64.so.1 nginx-common>=1.24 !nginx-old\np:cmd:nginx=1.24\nF:usr/sbin\nR:nginx\na:0:0:755\nF:var/lib/nginx\nM:100:101:750\n\nP:nginx-common\nV:1.24\nA:noarch\nF:etc/nginx\nR:nginx.conf\n"))
	m.AddFile("/usr/sbin/nginx", 0o755, []byte("elf"))
	m.AddFile("/etc/nginx/nginx.conf", 0o644, []byte("x"))
	m.AddDir("/var/lib/nginx", 0o750)
	v := m.View()
	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	ix := db.Index(v)
	ng := ix.Package("nginx", "x86_64")
	if ng == nil || !cmp.Equal(ng.Depends, [][]string{{"so:libc.musl-x86_64.so.1"}, {"nginx-common"}}) || !cmp.Equal(ng.Provides, []string{"cmd:nginx"}) {
		t.Fatalf("nginx = %+v", ng)
	}
	if ng.Attrs["/var/lib/nginx"] != "100:101:750" || ng.Attrs["/usr/sbin/nginx"] != "0:0:755" {
		t.Errorf("attrs = %v", ng.Attrs)
	}
	if p := ix.Satisfy([]string{"cmd:nginx"}, ""); p != ng {
		t.Errorf("cmd:nginx satisfied by %v", p)
	}
	if !ix.DataOnly(ix.Package("nginx-common", ""), nil) {
		t.Error("nginx-common (noarch, no programs) is not data-only")
	}
}
