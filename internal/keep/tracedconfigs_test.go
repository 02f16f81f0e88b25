package keep

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
)

// After a traced run, a package's configuration file the run never opened
// is kept, but what it names is not followed; once the run opened it, it
// is. Without Traced (observations alone) nothing changes.
func TestUnreadConfigTraced(t *testing.T) {
	exec := Observation{Path: "/usr/sbin/srv", Exec: true}
	read := Observation{Path: "/etc/srv/srv.conf", Detail: "open by pid 1"}
	for _, tc := range []struct {
		name   string
		opts   Options
		follow bool
	}{
		{"traced, unread", Options{Traced: true, Observed: []Observation{exec}}, false},
		{"traced, read", Options{Traced: true, Observed: []Observation{exec, read}}, true},
		{"observations without Traced", Options{Observed: []Observation{exec}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := pkgClosure(t, pkgImage(), cfg("/usr/sbin/srv"), tc.opts)
			if !res.Set.Has("/etc/srv/srv.conf") {
				t.Fatal("/etc/srv/srv.conf (a conffile) not kept")
			}
			named := "/usr/share/srv/html/index.html"
			if got := res.Set.Has(named); got != tc.follow {
				t.Errorf("%s kept = %v, want %v: %s", named, got, tc.follow, keptset.FormatChain(res.Set.Why(named)))
			}
			if !tc.follow {
				noted := false
				for _, n := range res.Notes {
					noted = noted || strings.Contains(n, "configuration files the run did not read")
				}
				if !noted {
					t.Errorf("no note on the unread configuration files: %q", res.Notes)
				}
			}
		})
	}
}
