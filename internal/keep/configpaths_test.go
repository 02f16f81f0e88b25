package keep

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const srvConf = `# srv configuration; see /usr/share/doc/srv/README
include /etc/srv/conf.d/*.conf
logfile = "/var/log/srv/access.log"
pidfile /run/srv/srv.pid   # written at start
datadir: /var/lib/srv
key_file '/etc/ssl/private/srv.key'
upstream http://localhost:8080/api
location /static/ {
helper=/usr/lib/srv/helper
tool /usr/bin/nosuch-tool
; error_log /var/log/commented/error.log
`

// serverImage adds to image() a server whose config, passed as an
// argument, names a log and a pid file to create, a state tree, a TLS key
// readable through a group, a helper program and more configs by glob.
func serverImage() *rootfs.Mem {
	m := image()
	add := func(p string, ty rootfs.Type, mode fs.FileMode, uid, gid int, data string) {
		m.Add(rootfs.Entry{Path: p, Type: ty, Mode: mode, UID: uid, GID: gid}, []byte(data))
	}
	m.AddFile("/usr/sbin/srv", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000}))
	m.AddFile("/usr/lib/srv/helper", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libfoo.so.1"}, Flags1: 0x08000000}))
	m.AddFile("/usr/lib/srv/unused", 0o644, []byte("x"))
	m.AddFile("/etc/srv/srv.conf", 0o644, []byte(srvConf))
	m.AddFile("/etc/srv/conf.d/a.conf", 0o644, []byte("docroot /srv/www\n"))
	m.AddFile("/etc/srv/conf.d/b.conf", 0o644, []byte("spool /var/cache/srv/%Y-%m\nlogdir /var/log\n"))
	m.AddFile("/etc/srv/conf.d/b.conf.dpkg-old", 0o644, []byte("spool /var/old\n"))
	m.AddFile("/srv/www/index.html", 0o644, []byte("<a href=\"/about\">hi</a>"))
	m.AddFile("/usr/share/doc/srv/README", 0o644, []byte("docs"))
	add("/var/log", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/log/srv", rootfs.TypeDir, 0o750, 101, 4, "")
	add("/var/log/srv/access.log.1", rootfs.TypeReg, 0o640, 101, 4, "old")
	add("/var/log/commented", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/run", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/run/srv", rootfs.TypeDir, 0o755, 101, 102, "")
	add("/var/lib/srv", rootfs.TypeDir, 0o700, 101, 102, "")
	add("/var/lib/srv/db", rootfs.TypeReg, 0o600, 101, 102, "data")
	add("/var/cache/srv", rootfs.TypeDir, 0o755, 101, 102, "")
	add("/etc/ssl/private", rootfs.TypeDir, 0o710, 0, 110, "")
	add("/etc/ssl/private/srv.key", rootfs.TypeReg, 0o640, 0, 110, "KEY")
	add("/etc/ssl/private/other.key", rootfs.TypeReg, 0o640, 0, 110, "KEY")
	return m
}

func TestConfigNamedByArgument(t *testing.T) {
	res := computeOn(t, serverImage(), cfg("/usr/sbin/srv", "-f", "/etc/srv/srv.conf"), Options{})
	for _, p := range []string{
		"/etc/srv/srv.conf", "/etc/srv/conf.d/a.conf", "/etc/srv/conf.d/b.conf",
		"/var/log/srv", "/run/srv", "/var/lib/srv", "/var/lib/srv/db", "/var/cache/srv",
		"/etc/ssl/private/srv.key", "/usr/lib/srv/helper", "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2",
		"/srv/www/index.html", "/var/log",
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{
		"/usr/share/doc/srv/README", "/var/log/srv/access.log.1", "/var/log/commented", "/etc/ssl/private/other.key",
		"/usr/lib/srv/unused", "/etc/srv/conf.d/b.conf.dpkg-old", "/var/old",
	} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	if it := res.Set.Item("/usr/bin"); it != nil {
		t.Errorf("/usr/bin kept: %+v", it.Reasons) // nothing needs it; not writable state
	}
	// owners and modes of the state directories are the source's
	for p, want := range map[string][3]int{"/var/log/srv": {0o750, 101, 4}, "/run/srv": {0o755, 101, 102}, "/etc/ssl/private": {0o710, 0, 110}} {
		e := res.Set.Item(p).Entry
		if int(e.Mode.Perm()) != want[0] || e.UID != want[1] || e.GID != want[2] {
			t.Errorf("%s: %o %d:%d, want %o %d:%d", p, e.Mode.Perm(), e.UID, e.GID, want[0], want[1], want[2])
		}
	}
	// the chain names the config, its line and the argument that named it
	chain := keptset.FormatChain(res.Set.Why("/var/log/srv"))
	for _, want := range []string{"writable directory of /var/log/srv/access.log, named in /etc/srv/srv.conf line 3", "argument /etc/srv/srv.conf", "entrypoint"} {
		if !strings.Contains(chain, want) {
			t.Errorf("chain of /var/log/srv lacks %q: %s", want, chain)
		}
	}
	if r := res.Set.Item("/run/srv").Reasons[0]; r.Kind != keptset.KindState || r.From != "/etc/srv/srv.conf" || !strings.Contains(r.Detail, "line 4") {
		t.Errorf("/run/srv reason = %+v", r)
	}
	// (/srv is also an application root, so index.html has that reason too)
	if rs := res.Set.Item("/srv/www/index.html").Reasons; !slices.ContainsFunc(rs, func(r keptset.Reason) bool { return r.From == "/etc/srv/conf.d/a.conf" }) {
		t.Errorf("/srv/www/index.html reasons = %+v, want one from a.conf", rs)
	}
	if r := res.Set.Item("/etc/srv/conf.d/a.conf").Reasons[0]; r.Kind != keptset.KindConfig || !strings.Contains(r.Detail, "/etc/srv/conf.d/*.conf") {
		t.Errorf("a.conf reason = %+v", r)
	}
}

// computeOn computes the closure of m without knowledge rules: the tests
// are about named paths alone.
func computeOn(t *testing.T, m *rootfs.Mem, c v1.Config, o Options) *Result {
	t.Helper()
	o.Rules = []knowledge.Rule{}
	res, err := Compute(m.View(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestEnvPaths(t *testing.T) {
	m := image()
	m.Add(rootfs.Entry{Path: "/opt/app/app.yml", Type: rootfs.TypeReg, Mode: 0o644}, []byte("db: /var/lib/app/db.sqlite\n"))
	m.Add(rootfs.Entry{Path: "/opt/app/lib/mod.py", Type: rootfs.TypeReg, Mode: 0o644}, []byte("x = 1\n"))
	m.Add(rootfs.Entry{Path: "/var/lib/app", Type: rootfs.TypeDir, Mode: 0o770, UID: 1000, GID: 1000}, nil)
	m.Add(rootfs.Entry{Path: "/usr/bin/other", Type: rootfs.TypeReg, Mode: 0o755}, []byte("#!/bin/sh\n"))
	c := cfg("app")
	c.Env = append(c.Env, "APP_CONFIG=/opt/app/app.yml", "PYTHONPATH=/opt/app/lib:/opt/missing", "HOME=/root", "GREETING=hello/world")
	res := computeOn(t, m, c, Options{})
	for _, p := range []string{"/opt/app/app.yml", "/opt/app/lib/mod.py", "/var/lib/app"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if res.Set.Has("/usr/bin/other") {
		t.Error("a PATH directory was kept as a tree")
	}
	if r := res.Set.Item("/var/lib/app").Reasons[0]; r.Kind != keptset.KindState || r.From != "/opt/app/app.yml" {
		t.Errorf("/var/lib/app reason = %+v", r)
	}
	if r := res.Set.Item("/opt/app/app.yml").Reasons[0]; r.Kind != keptset.KindConfig || r.Detail != "named by Env APP_CONFIG" {
		t.Errorf("/opt/app/app.yml reason = %+v", r)
	}
}

func TestArgumentForms(t *testing.T) {
	m := image()
	m.AddFile("/etc/a.conf", 0o644, []byte("x\n"))
	m.AddFile("/etc/b.conf", 0o644, []byte("x\n"))
	m.AddFile("/etc/c.conf", 0o644, []byte("x\n"))
	m.AddFile("/etc/d.conf", 0o644, []byte("x\n"))
	m.AddFile("/etc/e.conf", 0o644, []byte("x\n"))
	m.AddDir("/run/app", 0o755)
	c := cfg("app", "--config=/etc/a.conf", "-c/etc/b.conf", "conf=/etc/c.conf", "--list=/etc/d.conf,/etc/e.conf", "--pidfile", "/run/app/app.pid")
	res := computeOn(t, m, c, Options{})
	for _, p := range []string{"/etc/a.conf", "/etc/b.conf", "/etc/c.conf", "/etc/d.conf", "/etc/e.conf", "/run/app"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if r := res.Set.Item("/run/app").Reasons[0]; r.Kind != keptset.KindState || r.From != "/usr/bin/app" {
		t.Errorf("/run/app reason = %+v", r)
	}
}

func TestArgCandidates(t *testing.T) {
	for a, want := range map[string][]string{
		"/etc/x":              {"/etc/x"},
		"--config=/etc/x":     {"/etc/x"},
		"-c/etc/x":            {"/etc/x"},
		"-c":                  nil,
		"--verbose":           nil,
		"config=/etc/x":       {"/etc/x"},
		"a/b=c":               {"a/b=c"},
		"--path=/a:/b":        {"/a:/b", "/a", "/b"},
		"unix:/run/x.sock":    {"unix:/run/x.sock", "/run/x.sock"},
		"$HOME/x":             nil,
		"--opt=-x":            nil,
		"127.0.0.1:8080":      {"127.0.0.1:8080"},
		"-Dkey=/opt/x.jar,/y": {"/opt/x.jar,/y", "/opt/x.jar", "/y"},
	} {
		if d := cmp.Diff(want, argCandidates(a)); d != "" {
			t.Errorf("argCandidates(%q) (-want +got):\n%s", a, d)
		}
	}
}

func TestPathTokens(t *testing.T) {
	for line, want := range map[string][]string{
		`include /etc/x/*.conf;`:               {"/etc/x/*.conf"},
		`log="/var/log/x.log"`:                 {"/var/log/x.log"},
		`"paths": ["/a/b", "/c"],`:             {"/a/b", "/c"},
		`listen unix:/run/x.sock`:              {"/run/x.sock"},
		`url = http://example/x/y`:             nil,
		`file:///etc/x`:                        nil,
		`location ~ ^/api/(.*)$ {`:             nil,
		`<file>/etc/x.xml</file>`:              {"/etc/x.xml"},
		`see /etc/x.`:                          {"/etc/x"},
		`key: /etc/y:`:                         {"/etc/y"},
		`ratio 1/2`:                            nil,
		`dir /srv/{a,b}/x`:                     {"/srv/{a,b}/x"},
		`cmd=(/usr/bin/x /usr/bin/y)`:          {"/usr/bin/x", "/usr/bin/y"},
		`pid /run/x//y/../z.pid`:               {"/run/x/z.pid"},
		"tab\t/etc/t":                          {"/etc/t"},
		`a=/one b=/two:/three`:                 {"/one", "/two", "/three"},
		`log /var/log/x.log:rotate`:            {"/var/log/x.log"},
		`LogFormat "%h %l" /var/log/%Y/access`: {"/var/log/%Y/access"},
		// an escaped space joins words: a pattern, not a path
		`0	string	eval\ "exec\ /usr/bin/perl	application/x-perl`: nil,
		`match ^foo\ /bin/sh$`:   nil,
		`root /srv/my\ site/www`: {"/srv/my site/www"},
		`x a\\ /etc/y`:           {"/etc/y"}, // an escaped backslash, then a space
	} {
		if d := cmp.Diff(want, pathTokens(line)); d != "" {
			t.Errorf("pathTokens(%q) (-want +got):\n%s", line, d)
		}
	}
	for line, want := range map[string]string{
		"  # pid /run/x":          "",
		"; x=/y":                  "",
		"// /z":                   "",
		"<!-- /w -->":             "",
		"pid /run/x.pid # note /": "pid /run/x.pid",
		"pid\t/run/x.pid\t# /c":   "pid\t/run/x.pid",
	} {
		if got := configLine(line); got != want {
			t.Errorf("configLine(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestConfigBounds(t *testing.T) {
	m := image()
	for i := 0; i <= maxNamedTreeEntries; i++ {
		m.AddFile(fmt.Sprintf("/data/big/f%05d", i), 0o644, nil)
	}
	m.AddFile("/data/small/f", 0o644, []byte("x"))
	m.AddFile("/etc/app.conf", 0o644, []byte("big /data/big\nsmall /data/small\nlibs /usr/lib/x86_64-linux-gnu\nhome /home\n"))
	m.AddFile("/etc/shells", 0o644, []byte("/usr/bin/bash\n"))
	m.AddFile("/etc/ssl/private/k.pem", 0o600, []byte("-----BEGIN PRIVATE KEY-----\n/etc/named-by-pem\n"))
	m.AddFile("/etc/named-by-pem", 0o644, nil)
	m.AddFile("/app/node_modules/x/package.json", 0o644, []byte(`{"bin": "/usr/bin/jq"}`))
	m.AddFile("/app/settings.json", 0o644, []byte(`{"tool": "/usr/bin/sed"}`))
	res := computeOn(t, m, cfg("app", "/etc/app.conf", "/etc/shells", "/etc/ssl/private/k.pem", "/app/node_modules/x/package.json"), Options{})
	if !res.Set.Has("/data/big") || res.Set.Has("/data/big/f00000") {
		t.Error("a tree over the bounds: want the directory alone")
	}
	if !res.Set.Has("/data/small/f") {
		t.Error("a small tree was not kept")
	}
	if res.Set.Has("/usr/lib/x86_64-linux-gnu/libunused.so.1") {
		t.Error("a hierarchy directory was kept as a tree")
	}
	warned := false
	for _, w := range res.Warnings {
		warned = warned || strings.Contains(w, "/data/big") && strings.Contains(w, "--include")
	}
	if !warned {
		t.Errorf("no warning for the big tree: %q", res.Warnings)
	}
	// /etc/shells is a system table, PEM files and language package metadata
	// are not configs, even when named on the command line ... except that a
	// file named on the command line is read as one unless PEM: shells is.
	if res.Set.Has("/etc/named-by-pem") {
		t.Errorf("a PEM file was read as a config: %s", keptset.FormatChain(res.Set.Why("/etc/named-by-pem")))
	}
	if !res.Set.Has("/usr/bin/bash") {
		t.Error("/etc/shells named on the command line was not read")
	}
	if !res.Set.Has("/usr/bin/jq") {
		t.Error("a JSON file named on the command line was not read")
	}

	// not named on the command line: /etc/shells and node_modules metadata
	// kept by something else are not read; a config by extension is
	res = computeOn(t, m, cfg("app"), Options{Includes: []string{"/etc/shells", "/app"}})
	for _, p := range []string{"/usr/bin/bash", "/usr/bin/jq"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	if !res.Set.Has("/usr/bin/sed") {
		t.Error("/app/settings.json was not read")
	}
}

// TestStaticEntrypointArgs checks the named-path scan on the plain v1.Config
// path too: the Cmd's arguments after an entrypoint.
func TestStaticEntrypointArgs(t *testing.T) {
	c := v1.Config{Entrypoint: []string{"/usr/sbin/srv"}, Cmd: []string{"--config=/etc/srv/srv.conf"}}
	res := computeOn(t, serverImage(), c, Options{})
	if !res.Set.Has("/var/log/srv") || !res.Set.Has("/var/lib/srv/db") {
		t.Error("paths of a config named by --config= not kept")
	}
}

func TestScratchDirs(t *testing.T) {
	m := image()
	m.AddDir("/var/tmp", fs.ModeSticky|0o777)
	m.AddDir("/run/lock", 0o755) // not world-writable: not a scratch directory
	res := computeOn(t, m, cfg("app"), Options{})
	if it := res.Set.Item("/var/tmp"); it == nil || it.Entry.Mode != fs.ModeSticky|0o777 || it.Reasons[0].Kind != keptset.KindState {
		t.Errorf("/var/tmp = %+v", it)
	}
	if res.Set.Has("/run/lock") {
		t.Error("/run/lock 0755 kept as a scratch directory")
	}
}

// TestMagicTableNamesNoProgram: a data table beside the config (a MIME
// magic file, whose patterns match scripts' first lines) names programs
// only inside patterns joined by escaped spaces; none of them is kept,
// while a path the table's neighbour names as a value still is.
func TestMagicTableNamesNoProgram(t *testing.T) {
	m := serverImage()
	m.AddFile("/etc/srv/conf.d/c.conf", 0o644, []byte("magicfile /etc/srv/magic\n"))
	m.AddFile("/etc/srv/magic", 0o644, []byte("# magic data\n"+
		"0\tstring\t\teval\\ \"exec\\ /usr/bin/perl\tapplication/x-perl\n"+
		"0\tstring\t\t#!\\ /usr/bin/perl\tapplication/x-perl\n"))
	m.AddFile("/usr/bin/perl", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000}))
	res := computeOn(t, m, cfg("/usr/sbin/srv", "-f", "/etc/srv/srv.conf"), Options{})
	if !res.Set.Has("/etc/srv/magic") {
		t.Errorf("/etc/srv/magic not kept")
	}
	if res.Set.Has("/usr/bin/perl") {
		t.Errorf("/usr/bin/perl kept: %s", keptset.FormatChain(res.Set.Why("/usr/bin/perl")))
	}
}
