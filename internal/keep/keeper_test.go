package keep

import (
	"testing"

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
