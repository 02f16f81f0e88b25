package keep

import (
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/knowledge"
)

// TestArgumentConfigNamesLocale: a configuration file given as an argument
// is scanned like kept /etc files, so the locale it names is kept.
func TestArgumentConfigNamesLocale(t *testing.T) {
	m := image()
	m.AddFile("/srv/app.conf", 0o644, []byte("listen = 8080\nlc_messages = 'de_DE.UTF-8'\n"))
	m.AddFile("/usr/lib/locale/de_DE.utf8/LC_MESSAGES/SYS_LC_MESSAGES", 0o644, []byte("de"))
	m.AddFile("/usr/lib/locale/fr_FR.utf8/LC_MESSAGES/SYS_LC_MESSAGES", 0o644, []byte("fr"))
	res, err := Compute(m.View(), cfg("app", "--config=/srv/app.conf"), Options{Rules: []knowledge.Rule{knowledge.Locale{}}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Set.Has("/usr/lib/locale/de_DE.utf8/LC_MESSAGES/SYS_LC_MESSAGES") {
		t.Error("the locale named by the argument's config is not kept")
	}
	if res.Set.Has("/usr/lib/locale/fr_FR.utf8/LC_MESSAGES/SYS_LC_MESSAGES") {
		t.Error("a locale nothing names is kept")
	}
}

// TestTracedKeepsApplicationDependencies: with a trace the interpreter's
// distribution tree is left to the trace, the application's
// dependencies are not.
func TestTracedKeepsApplicationDependencies(t *testing.T) {
	m := image()
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("os"))
	m.AddFile("/opt/venv/pyvenv.cfg", 0o644, []byte("home = /usr/bin\n"))
	m.AddSymlink("/opt/venv/bin/python3", "/usr/bin/python3.11")
	m.AddFile("/opt/venv/lib/python3.11/site-packages/flask/__init__.py", 0o644, []byte("flask"))
	m.AddFile("/srv/app/main.py", 0o644, []byte("import flask"))
	c := cfg("/opt/venv/bin/python3", "/srv/app/main.py")
	for _, traced := range []bool{false, true} {
		res, err := Compute(m.View(), c, Options{Rules: []knowledge.Rule{knowledge.Python}, Traced: traced})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Set.Has("/opt/venv/lib/python3.11/site-packages/flask/__init__.py") {
			t.Errorf("traced=%v: the venv's site-packages is not kept", traced)
		}
		if got := res.Set.Has("/usr/lib/python3.11/os.py"); got == traced {
			t.Errorf("traced=%v: standard library kept = %v", traced, got)
		}
	}
}

// TestComputeDefaultRules runs Compute with every default rule on an
// in-memory image: the loader closure, the runtime entry, the
// capabilities the CA and media-type rules ask for, and the system rules.
func TestComputeDefaultRules(t *testing.T) {
	m := image()
	lib := "/usr/lib/x86_64-linux-gnu/"
	m.AddFile(lib+"libgcc_s.so.1", 0o644, elftest.Build(elftest.Spec{Soname: "libgcc_s.so.1", Needed: []string{"libc.so.6"}}))
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("os"))
	m.AddFile("/opt/venv/pyvenv.cfg", 0o644, []byte("home = /usr/bin\n"))
	m.AddSymlink("/opt/venv/bin/python3", "/usr/bin/python3.11")
	m.AddFile("/opt/venv/lib/python3.11/site-packages/flask/__init__.py", 0o644, []byte("flask"))
	m.AddFile("/srv/app/main.py", 0o644, []byte("import flask"))
	m.AddFile("/etc/ssl/certs/ca-certificates.crt", 0o644, []byte("bundle"))
	m.AddFile("/etc/mime.types", 0o644, []byte("text/html html\n"))
	m.AddFile("/etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n"))
	m.AddFile("/usr/share/zoneinfo/Etc/UTC", 0o644, []byte("TZif"))
	m.AddFile("/usr/lib/locale/C.utf8/LC_CTYPE", 0o644, []byte("ctype"))
	m.AddFile("/usr/share/perl5/Debconf/Log.pm", 0o644, []byte("perl"))
	res, err := Compute(m.View(), cfg("/opt/venv/bin/python3", "/srv/app/main.py"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/usr/bin/python3.11", lib + "libc.so.6", lib + "libgcc_s.so.1", "/usr/lib/python3.11/os.py",
		"/opt/venv/lib/python3.11/site-packages/flask/__init__.py", "/srv/app/main.py",
		"/etc/ssl/certs/ca-certificates.crt", "/etc/mime.types", "/etc/nsswitch.conf",
		"/usr/share/zoneinfo/Etc/UTC", "/usr/lib/locale/C.utf8/LC_CTYPE",
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{"/usr/share/perl5/Debconf/Log.pm", "/usr/share/doc/app/README", "/usr/bin/jq"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %v", p, res.Set.Why(p))
		}
	}
	if r := res.Set.Item("/etc/ssl/certs/ca-certificates.crt").Reasons[0]; r.Rule != "ca-certs" || r.From != "/usr/bin/python3.11" {
		t.Errorf("CA bundle kept for %+v, want ca-certs for python (VerifiesTLS)", r)
	}
}
