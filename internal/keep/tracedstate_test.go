package keep

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
)

// A package's state tree keeps its own files in both modes; after a traced
// run, its links to another package's data are left to the run.
func TestStateTreeLinksTraced(t *testing.T) {
	m := pkgImage()
	m.AddSymlink("/var/lib/srv/tables/table.dat", "/usr/share/srv-data/table.dat")
	m.AddSymlink("/var/lib/srv/current", "state.db") // inside the tree: kept
	exec := Observation{Path: "/usr/sbin/srv", Exec: true}
	link, data := "/var/lib/srv/tables/table.dat", "/usr/share/srv-data/table.dat"

	res := pkgClosure(t, m, cfg("/usr/sbin/srv"), Options{Traced: true, Observed: []Observation{exec}})
	for _, p := range []string{"/var/lib/srv/state.db", "/var/lib/srv/current", "/var/lib/srv/tables"} {
		if !res.Set.Has(p) {
			t.Errorf("traced: %s not kept", p)
		}
	}
	for _, p := range []string{link, data} {
		if res.Set.Has(p) {
			t.Errorf("traced: %s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	noted := false
	for _, n := range res.Notes {
		noted = noted || strings.Contains(n, "links of the state directory /var/lib/srv")
	}
	if !noted {
		t.Errorf("no note on the links left out: %q", res.Notes)
	}

	// the run opened the link: it and its target stay
	res = pkgClosure(t, m, cfg("/usr/sbin/srv"), Options{Traced: true, Observed: []Observation{exec, {Path: link, Detail: "open"}}})
	for _, p := range []string{link, data} {
		if !res.Set.Has(p) {
			t.Errorf("traced, opened: %s not kept", p)
		}
	}

	// without a trace the whole tree, links and targets
	res = pkgClosure(t, m, cfg("/usr/sbin/srv"), Options{})
	for _, p := range []string{link, data, "/var/lib/srv/state.db"} {
		if !res.Set.Has(p) {
			t.Errorf("static: %s not kept", p)
		}
	}
}
