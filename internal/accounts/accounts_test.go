package accounts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/accounts"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// bookworm /etc/passwd and /etc/group (base-passwd), plus users added by the
// fixture images (useradd --user-group) and a postgres-like system user.
const passwd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
postgres:x:100:102:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
app:x:1002:1002::/app:/usr/sbin/nologin
`

const group = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
www-data:x:33:
staff:x:50:
users:x:100:
nogroup:x:65534:
postgres:x:102:
ssl-cert:x:101:postgres
app:x:1002:
`

// shadow holds a real hash for postgres, a locked hash for app and aging
// fields; www-data has no entry.
const shadow = `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
sync:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
_apt:*:19000:0:99999:7:::
postgres:$y$j9T$abc$def:19500:0:99999:7:::
app:!$6$salt$hash:19501:0:99999:7::20000:
`

const gshadow = `root:*::
postgres:!::
ssl-cert:!::postgres
app:$6$x$y:app:
`

func src(t *testing.T) *accounts.DB {
	t.Helper()
	return read(t, rootfs.NewMem().AddFile("/etc/passwd", 0o644, []byte(passwd)).AddFile("/etc/group", 0o644, []byte(group)))
}

func read(t *testing.T, m *rootfs.Mem) *accounts.DB {
	t.Helper()
	db, err := accounts.Read(m.View())

	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestRead(t *testing.T) {
	db := src(t)
	if len(db.Users) != 10 || len(db.Groups) != 13 {
		t.Fatalf("%d users, %d groups", len(db.Users), len(db.Groups))
	}
	u, ok := db.UserByName("postgres")
	if !ok || u.UID != 100 || u.GID != 102 || u.Home != "/var/lib/postgresql" || u.Shell != "/bin/bash" {
		t.Errorf("postgres = %+v", u)
	}
	g, ok := db.GroupByName("ssl-cert")
	if !ok || g.GID != 101 || len(g.Members) != 1 || g.Members[0] != "postgres" {
		t.Errorf("ssl-cert = %+v", g)
	}
	// missing files: empty
	db, err := accounts.Read(rootfs.NewMem().View())
	if err != nil || len(db.Users) != 0 {
		t.Errorf("Read(empty) = %+v, %v", db, err)
	}
	// malformed lines are skipped
	db = accounts.Parse([]byte("ok:x:5:5::/:/bin/sh\nshort:x:1\nbad:x:a:1::/:/bin/sh\n+nis::::::\n"), nil)
	if len(db.Users) != 1 || db.Users[0].Name != "ok" {
		t.Errorf("Parse = %+v", db.Users)
	}
}

// TestGenerateVerbatim: by default every source entry is written as the
// source wrote it, login shells, gecos and supplementary groups included,
// and only the baseline accounts the source lacks are added.
func TestGenerateVerbatim(t *testing.T) {
	for _, who := range []string{"", "postgres", "app:ssl-cert"} {
		r, err := accounts.Generate(src(t), accounts.Options{User: who})
		if err != nil {
			t.Fatal(err)
		}
		// nobody's group 65534 is Debian's nogroup: no second name for it
		if d := cmp.Diff(passwd+"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", string(r.Passwd)); d != "" {
			t.Errorf("User %q: passwd (-want +got):\n%s", who, d)
		}
		if d := cmp.Diff(group+"nonroot:x:65532:\n", string(r.Group)); d != "" {
			t.Errorf("User %q: group (-want +got):\n%s", who, d)
		}
		if r.Shadow != nil || r.GShadow != nil {
			t.Errorf("User %q: shadow files written for a source without them", who)
		}
	}
	// a source without root, with a hash in passwd and a taken 65532
	r, err := accounts.Generate(accounts.Parse(
		[]byte("svc:$1$salt$hash:100:100:Service,,,:/srv:/bin/false:extra\nother:x:65532:100::/:/bin/sh\n"),
		[]byte("svc:pw:100:svc,other\n")), accounts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantP := "root:x:0:0:root:/root:/sbin/nologin\nsvc:!:100:100:Service,,,:/srv:/bin/false:extra\nother:x:65532:100::/:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	if d := cmp.Diff(wantP, string(r.Passwd)); d != "" {
		t.Errorf("passwd (-want +got):\n%s", d)
	}
	wantG := "root:x:0:\nsvc:!:100:svc,other\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
	if d := cmp.Diff(wantG, string(r.Group)); d != "" {
		t.Errorf("group (-want +got):\n%s", d)
	}
	if r.User != "65532:65532" || r.Home != "/" {
		t.Errorf("User, Home = %q, %q; want the source's 65532 entry", r.User, r.Home)
	}
}

func TestGenerateShadow(t *testing.T) {
	m := rootfs.NewMem().AddFile("/etc/passwd", 0o644, []byte(passwd)).AddFile("/etc/group", 0o644, []byte(group)).
		AddFile("/etc/shadow", 0o640, []byte(shadow)).AddFile("/etc/gshadow", 0o640, []byte(gshadow))
	r, err := accounts.Generate(read(t, m), accounts.Options{User: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	want := `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
sync:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
_apt:*:19000:0:99999:7:::
postgres:!:19500:0:99999:7:::
app:!:19501:0:99999:7::20000:
nonroot:*:::::::
`
	if d := cmp.Diff(want, string(r.Shadow)); d != "" {
		t.Errorf("shadow (-want +got):\n%s", d)
	}
	wantG := "root:*::\npostgres:!::\nssl-cert:!::postgres\napp:!:app:\nnonroot:*::\n"
	if d := cmp.Diff(wantG, string(r.GShadow)); d != "" {
		t.Errorf("gshadow (-want +got):\n%s", d)
	}
	if strings.Contains(string(r.Shadow)+string(r.GShadow), "$") {
		t.Error("a hash survived")
	}
	// trimmed: only the kept accounts' entries
	r, err = accounts.Generate(read(t, m), accounts.Options{User: "postgres", Trim: true})
	if err != nil {
		t.Fatal(err)
	}
	want = "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\npostgres:!:19500:0:99999:7:::\nnonroot:*:::::::\n"
	if d := cmp.Diff(want, string(r.Shadow)); d != "" {
		t.Errorf("trimmed shadow (-want +got):\n%s", d)
	}
}

func TestGenerateTrim(t *testing.T) {
	const (
		root   = "root:x:0:0:root:/root:/bin/bash\n"
		nobody = "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
		nonroo = "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
		groot  = "root:x:0:\ntty:x:5:\n"
		gstaff = "staff:x:50:\n"
		gnog   = "nogroup:x:65534:\n"
		gnon   = "nonroot:x:65532:\n"
	)
	tests := []struct {
		name          string
		opts          accounts.Options
		user, home    string
		passwd, group string
	}{
		{name: "no user: nonroot", user: "65532:65532", home: "/home/nonroot",
			passwd: root + nobody + nonroo, group: groot + gstaff + gnog + gnon},
		{name: "root: nonroot", opts: accounts.Options{User: "root"}, user: "65532:65532", home: "/home/nonroot",
			passwd: root + nobody + nonroo, group: groot + gstaff + gnog + gnon},
		{name: "app by name", opts: accounts.Options{User: "app"}, user: "1002", home: "/app",
			passwd: root + nobody + "app:x:1002:1002::/app:/usr/sbin/nologin\n" + nonroo,
			group:  groot + gstaff + gnog + "app:x:1002:\n" + gnon},
		{name: "postgres by uid: supplementary group, shell verbatim", opts: accounts.Options{User: "100"}, user: "100", home: "/var/lib/postgresql",
			passwd: root + nobody + "postgres:x:100:102:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n" + nonroo,
			group:  groot + gstaff + gnog + "postgres:x:102:\nssl-cert:x:101:postgres\n" + gnon},
		{name: "user:group names", opts: accounts.Options{User: "www-data:staff"}, user: "33:50", home: "/var/www",
			passwd: root + "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" + nobody + nonroo,
			group:  groot + "www-data:x:33:\n" + gstaff + gnog + gnon},
		{name: "uid without entry", opts: accounts.Options{User: "4242"}, user: "4242",
			passwd: root + nobody + nonroo, group: groot + gstaff + gnog + gnon},
		{name: "RunAs root overrides", opts: accounts.Options{User: "app", RunAs: "root"}, user: "0", home: "/root",
			passwd: root + nobody + nonroo, group: groot + gstaff + gnog + gnon},
		{name: "file owners and a run-time user", opts: accounts.Options{UIDs: []int{1002, 33, 0, 7777}, GIDs: []int{65534, 102, 4}, Users: []string{"www-data"}},
			user: "65532:65532", home: "/home/nonroot",
			passwd: root + "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" + nobody + "app:x:1002:1002::/app:/usr/sbin/nologin\n" + nonroo,
			group:  "root:x:0:\nadm:x:4:\ntty:x:5:\nwww-data:x:33:\n" + gstaff + gnog + "postgres:x:102:\napp:x:1002:\n" + gnon},
		{name: "members of kept groups are only kept users", opts: accounts.Options{Groups: []string{"ssl-cert"}}, user: "65532:65532", home: "/home/nonroot",
			passwd: root + nobody + nonroo, group: groot + gstaff + gnog + "ssl-cert:x:101:\n" + gnon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Trim = true
			r, err := accounts.Generate(src(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.User != tt.user || r.Home != tt.home {
				t.Errorf("User, Home = %q, %q; want %q, %q", r.User, r.Home, tt.user, tt.home)
			}
			if d := cmp.Diff(tt.passwd, string(r.Passwd)); d != "" {
				t.Errorf("passwd (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.group, string(r.Group)); d != "" {
				t.Errorf("group (-want +got):\n%s", d)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, u := range []string{"ghost", "app:ghosts"} {
		if _, err := accounts.Generate(src(t), accounts.Options{User: u}); err == nil || !strings.Contains(err.Error(), "ghost") {
			t.Errorf("Generate(User %q) error = %v", u, err)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	o := accounts.Options{User: "app", Trim: true, UIDs: []int{100, 33, 1}, GIDs: []int{101, 1, 33}}
	a, _ := accounts.Generate(src(t), o)
	o.UIDs, o.GIDs = []int{1, 33, 100}, []int{33, 101, 1}
	b, _ := accounts.Generate(src(t), o)
	if string(a.Passwd) != string(b.Passwd) || string(a.Group) != string(b.Group) {
		t.Errorf("order of owners changed the output:\n%s\n%s", a.Passwd, b.Passwd)
	}
}

// TestMinbase reads the real accounts of the Debian bookworm minbase root.
func TestMinbase(t *testing.T) {
	cache, err := testimages.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "rootfs")
	if _, err := os.Stat(filepath.Join(dir, "etc/passwd")); err != nil {
		testimages.Require(t, "base")
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/passwd")); err != nil {
		t.Skipf("no minbase root at %s", dir)
	}
	v, err := rootfs.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	db, err := accounts.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := db.UserByName("nobody"); !ok || u.UID != 65534 || u.GID != 65534 {
		t.Errorf("nobody = %+v", u)
	}
	if g, ok := db.GroupByID(65534); !ok || g.Name != "nogroup" {
		t.Errorf("group 65534 = %+v", g)
	}
	// USER nobody (the gostatic fixture): uid and Debian's nogroup gid;
	// base-passwd's accounts verbatim, nonroot added
	r, err := accounts.Generate(db, accounts.Options{User: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "65534" || !strings.HasPrefix(string(r.Passwd), string(src)) ||
		!strings.Contains(string(r.Passwd), "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n") {
		t.Errorf("User %q\npasswd:\n%s", r.User, r.Passwd)
	}
}
