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

const baselinePasswd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`

const baselineGroup = `root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
`

func src(t *testing.T) *accounts.DB {
	t.Helper()
	v := rootfs.NewMem().AddFile("/etc/passwd", 0o644, []byte(passwd)).AddFile("/etc/group", 0o644, []byte(group)).View()
	db, err := accounts.Read(v)
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

func TestGenerate(t *testing.T) {
	tests := []struct {
		name          string
		opts          accounts.Options
		user, home    string
		passwd, group string // lines after the baseline
	}{
		{name: "no user: nonroot", user: "65532:65532", home: "/home/nonroot"},
		{name: "root: nonroot", opts: accounts.Options{User: "root"}, user: "65532:65532", home: "/home/nonroot"},
		{name: "0:0: nonroot", opts: accounts.Options{User: "0:0"}, user: "65532:65532", home: "/home/nonroot"},
		{name: "app by name", opts: accounts.Options{User: "app"}, user: "1002:1002", home: "/app",
			passwd: "app:x:1002:1002::/app:/sbin/nologin\n", group: "app:x:1002:\n"},
		{name: "postgres by uid, supplementary group, shell not kept", opts: accounts.Options{User: "100"}, user: "100:102", home: "/var/lib/postgresql",
			passwd: "postgres:x:100:102:PostgreSQL administrator,,,:/var/lib/postgresql:/sbin/nologin\n", group: "ssl-cert:x:101:postgres\npostgres:x:102:\n"},
		{name: "shell kept", opts: accounts.Options{User: "postgres", ShellKept: func(s string) bool { return s == "/bin/bash" }}, user: "100:102", home: "/var/lib/postgresql",
			passwd: "postgres:x:100:102:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n", group: "ssl-cert:x:101:postgres\npostgres:x:102:\n"},
		{name: "user:group names", opts: accounts.Options{User: "www-data:staff"}, user: "33:50", home: "/var/www",
			passwd: "www-data:x:33:33:www-data:/var/www:/sbin/nologin\n", group: "www-data:x:33:\n"},
		{name: "uid without entry", opts: accounts.Options{User: "4242"}, user: "4242"},
		{name: "uid:gid without entries", opts: accounts.Options{User: "4242:4243"}, user: "4242:4243"},
		{name: "RunAs root overrides", opts: accounts.Options{User: "app", RunAs: "root"}, user: "0:0", home: "/root"},
		{name: "RunAs nonroot without source entry", opts: accounts.Options{User: "app", RunAs: "nonroot"}, user: "65532:65532", home: "/home/nonroot"},
		{name: "file owners and nginx user", opts: accounts.Options{UIDs: []int{1002, 33, 0, 7777}, GIDs: []int{65534, 102, 4}, Users: []string{"www-data"}},
			user: "65532:65532", home: "/home/nonroot",
			passwd: "www-data:x:33:33:www-data:/var/www:/sbin/nologin\napp:x:1002:1002::/app:/sbin/nologin\n",
			group:  "adm:x:4:\nwww-data:x:33:\npostgres:x:102:\n"},
		{name: "explicit group with a taken gid", opts: accounts.Options{Groups: []string{"nogroup"}}, user: "65532:65532", home: "/home/nonroot",
			group: "nogroup:x:65534:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := accounts.Generate(src(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.User != tt.user || r.Home != tt.home {
				t.Errorf("User, Home = %q, %q; want %q, %q", r.User, r.Home, tt.user, tt.home)
			}
			if d := cmp.Diff(baselinePasswd+tt.passwd, string(r.Passwd)); d != "" {
				t.Errorf("passwd (-want +got):\n%s", d)
			}
			if d := cmp.Diff(baselineGroup+tt.group, string(r.Group)); d != "" {
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
	o := accounts.Options{User: "app", UIDs: []int{100, 33, 1}, GIDs: []int{101, 1, 33}}
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
	// USER nobody (the gostatic fixture): uid and Debian's nogroup gid
	r, err := accounts.Generate(db, accounts.Options{User: "nobody", GIDs: []int{0}, UIDs: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "65534:65534" || string(r.Passwd) != baselinePasswd || string(r.Group) != baselineGroup {
		t.Errorf("User %q\npasswd:\n%s\ngroup:\n%s", r.User, r.Passwd, r.Group)
	}
}
