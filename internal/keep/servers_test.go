package keep

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Servers are a class: what nginx, PostgreSQL, apache or any server never
// seen needs is derived from its package, its binary and its
// configuration. These images are shaped like Debian's nginx and
// PostgreSQL packages, under made-up names, so no rule can know them.

// dbImage is a PostgreSQL-shaped server "dbsrv": its package's own bin dir
// /usr/lib/dbsrv/15/bin, shared with a client package, a $libdir of
// modules compiled into the server, with an optional JIT plugin and its
// bitcode, and a state tree.
func dbImage() *rootfs.Mem {
	m := image()
	lib := "/usr/lib/x86_64-linux-gnu/"
	exe := func(needed ...string) []byte {
		return elftest.Build(elftest.Spec{Interp: interp, Needed: needed, Flags1: 0x08000000})
	}
	so := func(name string, needed ...string) []byte {
		return elftest.Build(elftest.Spec{Soname: name, Needed: needed})
	}
	bin := "/usr/lib/dbsrv/15/bin/"
	m.AddFile(bin+"dbsrv", 0o755, withRodata(exe("libc.so.6"), "/usr/lib/dbsrv/15/lib", "/usr/share/dbsrv/15"))
	m.AddFile(bin+"initdb", 0o755, exe("libfoo.so.1", "libc.so.6"))
	m.AddFile(bin+"db_ctl", 0o755, exe("libc.so.6"))
	m.AddFile(bin+"db_upgrade.sh", 0o755, []byte("#!/usr/bin/python3\nprint(1)\n"))
	m.AddFile(bin+"README", 0o644, []byte("not a program"))
	m.AddFile(bin+"dbclient", 0o755, exe("libunused.so.1", "libc.so.6")) // the client package's
	m.AddFile("/usr/lib/dbsrv/15/lib/plsql.so", 0o644, so("plsql.so", "libc.so.6"))
	m.AddFile("/usr/lib/dbsrv/15/lib/llvmjit.so", 0o644, so("llvmjit.so", "libLLVM-14.so.1"))
	m.AddFile("/usr/lib/dbsrv/15/lib/llvmjit_types.bc", 0o644, []byte("bc"))
	m.AddFile("/usr/lib/dbsrv/15/lib/bitcode/plsql/exec.bc", 0o644, []byte("bc"))
	m.AddFile(lib+"libLLVM-14.so.1", 0o644, so("libLLVM-14.so.1", "libc.so.6"))
	m.AddFile("/usr/share/dbsrv/15/catalog.bki", 0o644, []byte("bki"))
	m.Add(rootfs.Entry{Path: "/var/lib/dbsrv", Type: rootfs.TypeDir, Mode: 0o755, UID: 105, GID: 105}, nil)
	m.Add(rootfs.Entry{Path: "/var/lib/dbsrv/data/VERSION", Type: rootfs.TypeReg, Mode: 0o600, UID: 105, GID: 105}, []byte("15\n"))
	m.Add(rootfs.Entry{Path: "/run/dbsrv", Type: rootfs.TypeDir, Mode: 0o2775, UID: 105, GID: 105}, nil)

	var status strings.Builder
	for _, s := range []string{
		stanza("dbsrv-15", "amd64", "Depends: libc6, dbsrv-client-15\n"),
		stanza("dbsrv-client-15", "amd64", "Source: dbsrv-15\n"),
		stanza("libc6", "amd64", "Multi-Arch: same\nSource: glibc\n"),
	} {
		status.WriteString(s + "\n")
	}
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(status.String()))
	list := func(name string, paths ...string) {
		m.AddFile("/var/lib/dpkg/info/"+name+".list", 0o644, []byte("/.\n"+strings.Join(paths, "\n")+"\n"))
	}
	list("dbsrv-15", "/usr/lib/dbsrv", "/usr/lib/dbsrv/15", "/usr/lib/dbsrv/15/bin", bin+"dbsrv", bin+"initdb", bin+"db_ctl",
		bin+"db_upgrade.sh", bin+"README", "/usr/lib/dbsrv/15/lib", "/usr/lib/dbsrv/15/lib/plsql.so", "/usr/lib/dbsrv/15/lib/llvmjit.so",
		"/usr/lib/dbsrv/15/lib/llvmjit_types.bc", "/usr/lib/dbsrv/15/lib/bitcode", "/usr/lib/dbsrv/15/lib/bitcode/plsql",
		"/usr/lib/dbsrv/15/lib/bitcode/plsql/exec.bc", "/usr/share/dbsrv", "/usr/share/dbsrv/15", "/usr/share/dbsrv/15/catalog.bki")
	list("dbsrv-client-15", "/usr/lib/dbsrv", "/usr/lib/dbsrv/15", "/usr/lib/dbsrv/15/bin", bin+"dbclient")
	list("libc6:amd64", "/lib/x86_64-linux-gnu/libc.so.6")
	return m
}

func TestServerDerivedFromItsPackageAndBinary(t *testing.T) {
	c := cfg("/usr/lib/dbsrv/15/bin/dbsrv", "-D", "/var/lib/dbsrv/data")
	res := pkgClosure(t, dbImage(), c, Options{})
	for _, p := range []string{
		"/usr/lib/dbsrv/15/lib/plsql.so",          // a module of the compiled-in $libdir
		"/usr/share/dbsrv/15/catalog.bki",         // the compiled-in share dir
		"/usr/lib/dbsrv/15/bin/initdb",            // a program beside the server, of its package
		"/usr/lib/dbsrv/15/bin/db_ctl",            // another
		"/usr/lib/x86_64-linux-gnu/libfoo.so.1.2", // ... with its libraries
		"/usr/lib/dbsrv/15/bin/db_upgrade.sh",     // a script beside it, as a file
		"/var/lib/dbsrv/data/VERSION",             // the state tree
		"/run/dbsrv",                              // the run dir named like the package
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{
		"/usr/lib/dbsrv/15/lib/llvmjit.so", "/usr/lib/dbsrv/15/lib/llvmjit_types.bc", // the optional plugin and its data
		"/usr/lib/dbsrv/15/lib/bitcode", "/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1",
		"/usr/lib/dbsrv/15/bin/README",             // not a program
		"/usr/bin/python3.11",                      // the script's interpreter
		"/usr/lib/x86_64-linux-gnu/libunused.so.1", // the client's program's library
	} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	if it := res.Set.Item("/usr/lib/dbsrv/15/bin/initdb"); it != nil && (it.Reasons[0].Kind != keptset.KindPackage || !strings.Contains(it.Reasons[0].Detail, "program beside dbsrv")) {
		t.Errorf("reason of initdb = %+v", it.Reasons[0])
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"/usr/lib/dbsrv/15/lib/llvmjit.so left out, an optional plugin",
		"/usr/lib/dbsrv/15/lib/bitcode left out, read only by the optional plugin llvmjit.so"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestServerSiblingsNotInSharedBinDirs(t *testing.T) {
	// srv-other is another program of srv's package, but in /usr/sbin,
	// which every package shares: it says nothing of what srv runs
	res := pkgClosure(t, pkgImage(), cfg("/usr/sbin/srv"), Options{})
	if res.Set.Has("/usr/sbin/srv-other") {
		t.Errorf("/usr/sbin/srv-other kept: %s", keptset.FormatChain(res.Set.Why("/usr/sbin/srv-other")))
	}
}

func TestServerTracedLeavesTreesAndSiblingsToTheRun(t *testing.T) {
	c := cfg("/usr/lib/dbsrv/15/bin/dbsrv", "-D", "/var/lib/dbsrv/data")
	obs := []Observation{{Path: "/usr/lib/dbsrv/15/bin/dbsrv", Exec: true}, {Path: "/usr/lib/dbsrv/15/lib/plsql.so"}}
	res := pkgClosure(t, dbImage(), c, Options{Observed: obs, Traced: true})
	if !res.Set.Has("/var/lib/dbsrv/data/VERSION") || !res.Set.Has("/usr/lib/dbsrv/15/lib/plsql.so") {
		t.Error("traced: the state tree and the module the run loaded must stay")
	}
	for _, p := range []string{"/usr/share/dbsrv/15/catalog.bki", "/usr/lib/dbsrv/15/bin/initdb"} {
		if res.Set.Has(p) {
			t.Errorf("traced: %s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
}

// webImage is an nginx-shaped server "websrv" whose binary embeds its
// configure arguments (--prefix, --conf-path, --modules-path) and whose
// configuration loads a module and includes files by relative names.
func webImage() *rootfs.Mem {
	m := image()
	exe := elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000})
	m.AddFile("/usr/sbin/websrv", 0o755, withRodata(exe,
		"--prefix=/usr/share/websrv", "--conf-path=/etc/websrv/websrv.conf", "--error-log-path=/var/log/websrv/error.log"))
	m.AddFile("/etc/websrv/websrv.conf", 0o644, []byte("user www-data;\ninclude modules-enabled/*.conf;\nhttp {\n\tinclude mime.types;\n\troot html;\n\tindex index.html;\n\tdefault_type text/plain;\n}\n"))
	m.AddFile("/etc/websrv/mime.types", 0o644, []byte("types { text/html html; }\n"))
	m.AddSymlink("/etc/websrv/modules-enabled/50-mod-geo.conf", "/usr/share/websrv/modules-available/mod-geo.conf")
	m.AddFile("/usr/share/websrv/modules-available/mod-geo.conf", 0o644, []byte("load_module modules/ngx_geo_module.so;\n"))
	m.AddFile("/usr/share/websrv/modules-available/mod-stream.conf", 0o644, []byte("load_module modules/ngx_stream_module.so;\n"))
	m.AddSymlink("/usr/share/websrv/modules", "../../lib/websrv/modules")
	m.AddFile("/usr/lib/websrv/modules/ngx_geo_module.so", 0o644, elftest.Build(elftest.Spec{Soname: "ngx_geo_module.so", Needed: []string{"libfoo.so.1"}}))
	m.AddFile("/usr/lib/websrv/modules/ngx_stream_module.so", 0o644, elftest.Build(elftest.Spec{Soname: "ngx_stream_module.so"}))
	m.AddFile("/usr/share/websrv/html/index.html", 0o644, []byte("<p>hi</p>"))
	m.AddDir("/var/log/websrv", 0o755)
	m.AddSymlink("/var/log/websrv/access.log", "/dev/stdout")
	m.AddFile("/var/log/websrv/old.log.1", 0o644, []byte("old"))

	status := stanza("websrv", "amd64", "Depends: libc6, websrv-common\n") + "\n" +
		stanza("websrv-common", "all", "Conffiles:\n /etc/websrv/websrv.conf 0123\n") + "\n" +
		stanza("libwebsrv-mod-geo", "amd64", "Source: websrv\n") + "\n" +
		stanza("libc6", "amd64", "Multi-Arch: same\nSource: glibc\n") + "\n"
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(status))
	list := func(name string, paths ...string) {
		m.AddFile("/var/lib/dpkg/info/"+name+".list", 0o644, []byte("/.\n"+strings.Join(paths, "\n")+"\n"))
	}
	list("websrv", "/usr/sbin/websrv", "/var/log/websrv")
	list("websrv-common", "/etc/websrv", "/etc/websrv/websrv.conf", "/etc/websrv/mime.types", "/etc/websrv/modules-enabled",
		"/usr/share/websrv", "/usr/share/websrv/modules", "/usr/share/websrv/html", "/usr/share/websrv/html/index.html",
		"/usr/share/websrv/modules-available", "/usr/share/websrv/modules-available/mod-stream.conf")
	list("libwebsrv-mod-geo", "/usr/lib/websrv", "/usr/lib/websrv/modules", "/usr/lib/websrv/modules/ngx_geo_module.so",
		"/usr/lib/websrv/modules/ngx_stream_module.so", "/usr/share/websrv/modules-available/mod-geo.conf")
	list("libc6:amd64", "/lib/x86_64-linux-gnu/libc.so.6")
	return m
}

func TestServerRelativeConfigNames(t *testing.T) {
	for _, traced := range []bool{false, true} {
		o := Options{}
		if traced {
			// the run read the configuration it uses and loaded nothing else
			o = Options{Traced: true, Observed: []Observation{{Path: "/usr/sbin/websrv", Exec: true}, {Path: "/etc/websrv/websrv.conf"}}}
		}
		res := pkgClosure(t, webImage(), cfg("/usr/sbin/websrv"), o)
		for _, p := range []string{
			"/etc/websrv/modules-enabled/50-mod-geo.conf",      // include modules-enabled/*.conf, against the config's dir
			"/usr/share/websrv/modules-available/mod-geo.conf", // ... its link target, read as configuration
			"/usr/lib/websrv/modules/ngx_geo_module.so",        // load_module modules/..., against the compiled-in --prefix
			"/usr/lib/x86_64-linux-gnu/libfoo.so.1.2",          // ... with its libraries
			"/etc/websrv/mime.types",                           // include mime.types
			"/var/log/websrv", "/var/log/websrv/access.log",    // the log dir with its links
		} {
			if !res.Set.Has(p) {
				t.Errorf("traced=%v: %s not kept", traced, p)
			}
		}
		if !traced && !res.Set.Has("/usr/share/websrv/html/index.html") {
			t.Error("static: the data package's html dir not kept") // traced: the run opens what it serves
		}
		if traced {
			// an installed module no configuration loads is left to the run
			// (statically the compiled-in modules dir is kept whole)
			if res.Set.Has("/usr/lib/websrv/modules/ngx_stream_module.so") {
				t.Errorf("traced: ngx_stream_module.so kept: %s", keptset.FormatChain(res.Set.Why("/usr/lib/websrv/modules/ngx_stream_module.so")))
			}
		}
		if res.Set.Has("/var/log/websrv/old.log.1") {
			t.Errorf("traced=%v: an old log kept", traced)
		}
		if !slices.Contains(res.Users, "www-data") {
			t.Errorf("traced=%v: users %v, want www-data from the user directive", traced, res.Users)
		}
		it := res.Set.Item("/usr/lib/websrv/modules/ngx_geo_module.so")
		if it == nil {
			continue
		}
		if r := it.Reasons; !slices.ContainsFunc(r, func(r keptset.Reason) bool {
			return r.Kind == keptset.KindConfig && strings.Contains(r.Detail, "modules/ngx_geo_module.so below /usr/share/websrv")
		}) {
			t.Errorf("traced=%v: reasons of the module = %+v", traced, it.Reasons)
		}
	}
}

func TestRelativeTokens(t *testing.T) {
	for line, want := range map[string][]string{
		"load_module modules/ngx_geo_module.so;":  {"modules/ngx_geo_module.so"},
		`include "conf-enabled/*.conf"`:           {"conf-enabled/*.conf"},
		"Include ports.conf":                      {"ports.conf"},
		"IncludeOptional ./sites-enabled/*.conf":  {"sites-enabled/*.conf"},
		"listen 127.0.0.1:8080 default_server;":   nil, // an address
		"proxy_pass http://backend/x.html;":       nil, // a URL
		"root /srv/www;":                          nil, // absolute: the absolute scan's
		"version 1.2.3":                           nil,
		"try_files $uri $uri/ =404;":              nil, // templates
		"gzip_types text/plain application/json;": {"text/plain", "application/json"},
		"server_name example.com www.example.org": {"example.com", "www.example.org"}, // kept only if they exist
		"AddType application/x-gzip .gz .tgz":     {"application/x-gzip"},
		"include ../../etc/shadow;":               nil, // above the prefix
		"ssl_certificate -----BEGIN":              nil,
	} {
		if d := cmp.Diff(want, relativeTokens(line)); d != "" {
			t.Errorf("relativeTokens(%q) (-want +got):\n%s", line, d)
		}
	}
}

func TestAccountSetting(t *testing.T) {
	for line, want := range map[string][2]string{
		"user www-data;":                {"www-data", ""},
		"user nginx nginx;":             {"nginx", "nginx"},
		`server.username = "www-data"`:  {"www-data", ""},
		`server.groupname = "www-data"`: {"", "www-data"},
		"cache_effective_user proxy":    {"proxy", ""},
		"group haproxy":                 {"", "haproxy"},
		"username: unbound":             {"unbound", ""},
		"user=dnsmasq":                  {"dnsmasq", ""},
		"User ${APACHE_RUN_USER}":       {"", ""}, // a variable
		"user_agent Mozilla/5.0":        {"", ""},
		"users 10":                      {"", ""},
		"user":                          {"", ""},
		"default_user /etc/passwd":      {"", ""}, // not an account name
	} {
		u, g := accountSetting(line)
		if u != want[0] || g != want[1] {
			t.Errorf("accountSetting(%q) = %q, %q; want %q, %q", line, u, g, want[0], want[1])
		}
	}
}

func TestRelativeNamesOnlyInConfiguration(t *testing.T) {
	// a runtime's compiled-in module directory holds packages whose
	// metadata names files relatively: that is no program's configuration
	m := image()
	exe := elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000})
	m.AddFile("/usr/bin/rt", 0o755, withRodata(exe, "/usr/share/rtmods", "/etc/rt/rt.conf"))
	m.AddFile("/usr/share/rtmods/acorn/package.json", 0o644, []byte(`{"main": "dist/acorn.js", "bin": {"acorn": "./bin/acorn"}}`))
	m.AddFile("/usr/share/rtmods/acorn/dist/acorn.js", 0o644, []byte("js"))
	m.AddFile("/usr/share/rtmods/acorn/bin/acorn", 0o755, []byte("#!/usr/bin/env rt\n"))
	m.AddFile("/usr/share/rtmods/rt.conf", 0o644, []byte("plugins acorn/dist/acorn.js\n"))
	m.AddFile("/usr/share/rtmods/loose.json", 0o644, []byte(`{"x": "acorn/bin/acorn"}`))
	res := pkgClosure(t, m, cfg("/usr/bin/rt"), Options{Includes: []string{"/usr/share/rtmods/acorn/package.json", "/usr/share/rtmods/rt.conf", "/usr/share/rtmods/loose.json"}})
	if !res.Set.Has("/usr/share/rtmods/acorn/dist/acorn.js") {
		t.Error("a relative name in a .conf below the program's compiled-in directory not kept")
	}
	for _, p := range []string{"/usr/share/rtmods/acorn/bin/acorn", "/usr/bin/env"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
}

// keepsFile is a knowledge rule that keeps one file, as a runtime's rule
// keeps its boot script from its bin directory.
type keepsFile string

func (keepsFile) Name() string { return "runtime" }

func (k keepsFile) Apply(c knowledge.Keeper) error {
	_, err := c.AddPath(string(k), keptset.Reason{Kind: keptset.KindKnowledge, Rule: "runtime", Detail: "boot script"})
	return err
}

func TestServerSiblingsLeftToARuleThatKeepsFromTheirDir(t *testing.T) {
	// a rule keeps from the program's directory: it knows which programs
	// there are run, the generic sibling rule stays out
	m := dbImage()
	m.AddFile("/usr/lib/dbsrv/15/bin/start.boot", 0o644, []byte("boot"))
	res := pkgClosure(t, m, cfg("/usr/lib/dbsrv/15/bin/dbsrv"), Options{Rules: []knowledge.Rule{keepsFile("/usr/lib/dbsrv/15/bin/start.boot")}})
	if !res.Set.Has("/usr/lib/dbsrv/15/bin/start.boot") {
		t.Fatal("the rule's file not kept")
	}
	if p := "/usr/lib/dbsrv/15/bin/initdb"; res.Set.Has(p) {
		t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
	}
}
