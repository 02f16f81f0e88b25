package keep

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
)

// After a traced run, a package's configuration file the run never opened
// is kept, but what it names is not followed; once the run opened it, it
// is, and a tree it names is kept whole when the run used a file in it
// (only the directory when it used none). Without Traced (observations
// alone) nothing changes.
func TestUnreadConfigTraced(t *testing.T) {
	exec := Observation{Path: "/usr/sbin/srv", Exec: true}
	read := Observation{Path: "/etc/srv/srv.conf", Detail: "open by pid 1"}
	served := Observation{Path: "/usr/share/srv/html/index.html", Detail: "open by pid 1"}
	for _, tc := range []struct {
		name   string
		opts   Options
		follow bool
		note   string
	}{
		{"traced, unread", Options{Traced: true, Observed: []Observation{exec}}, false, "configuration files the run did not read"},
		{"traced, read, tree used", Options{Traced: true, Observed: []Observation{exec, read, served}}, true, ""},
		{"traced, read, tree unused", Options{Traced: true, Observed: []Observation{exec, read}}, false, "were not used by the run"},
		{"observations without Traced", Options{Observed: []Observation{exec}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := pkgImage()
			m.AddFile("/usr/share/srv/html/about.html", 0o644, []byte("<p>about</p>"))
			res := pkgClosure(t, m, cfg("/usr/sbin/srv"), tc.opts)
			if !res.Set.Has("/etc/srv/srv.conf") {
				t.Fatal("/etc/srv/srv.conf (a conffile) not kept")
			}
			named := "/usr/share/srv/html/about.html"
			if got := res.Set.Has(named); got != tc.follow {
				t.Errorf("%s kept = %v, want %v: %s", named, got, tc.follow, keptset.FormatChain(res.Set.Why(named)))
			}
			if tc.note != "" {
				noted := false
				for _, n := range res.Notes {
					noted = noted || strings.Contains(n, tc.note)
				}
				if !noted {
					t.Errorf("no note %q: %q", tc.note, res.Notes)
				}
			}
			if tc.note == "were not used by the run" && !res.Set.Has("/usr/share/srv/html") {
				t.Error("the named directory /usr/share/srv/html itself not kept")
			}
		})
	}
}

// A runtime's environment marker (pyvenv.cfg) is not read as
// configuration: its "command" line names the environment's own root,
// which would keep the whole environment (the runtime's rule keeps what
// it needs). The same text in a configuration file is followed.
func TestEnvironmentMarkerNotConfig(t *testing.T) {
	m := serverImage()
	text := "home = /usr/bin\ncommand = /usr/bin/python3 -m venv /opt/venv\n"
	m.AddFile("/opt/venv/pyvenv.cfg", 0o644, []byte(text))
	m.AddFile("/opt/venv/lib/python3.11/site-packages/pip/big.py", 0o644, []byte("x"))
	m.AddFile("/opt/other/other.cfg", 0o644, []byte(strings.ReplaceAll(text, "/opt/venv", "/opt/other")))
	m.AddFile("/opt/other/lib/big.py", 0o644, []byte("x"))
	// traced (so /opt is no application root), the run read both files
	res := computeOn(t, m, cfg("/usr/sbin/srv"), Options{Traced: true, Observed: []Observation{
		{Path: "/usr/sbin/srv", Exec: true}, {Path: "/opt/venv/pyvenv.cfg"}, {Path: "/opt/other/other.cfg"},
	}})
	if p := "/opt/venv/lib/python3.11/site-packages/pip/big.py"; res.Set.Has(p) {
		t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
	}
	if p := "/opt/other/lib/big.py"; !res.Set.Has(p) {
		t.Errorf("%s (named by a configuration file) not kept", p)
	}
}
