package knowledge_test

import (
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const zi = "/usr/share/zoneinfo"

// tzTree is a bookworm-like zoneinfo: zones, the right/ variants, posix/
// links, posixrules and the tables, and a C program (no zone API).
func tzTree() *rootfs.Mem {
	m := bookworm()
	for _, z := range []string{"Etc/UTC", "Europe/Paris", "Asia/Tokyo", "America/New_York", "EST5EDT", "right/Europe/Paris", "right/Etc/UTC"} {
		m.AddFile(zi+"/"+z, 0o644, []byte("TZif "+z))
	}
	m.AddSymlink(zi+"/UTC", "Etc/UTC")
	m.AddSymlink(zi+"/posixrules", "America/New_York")
	m.AddSymlink(zi+"/localtime", "/etc/localtime")
	m.AddSymlink(zi+"/posix/Europe", "../Europe")
	m.AddFile(zi+"/tzdata.zi", 0o644, []byte("Z Europe/Paris 0:9:21 - LMT\nZ Asia/Tokyo 9:18:59 - LMT\n"))
	m.AddFile(zi+"/zone.tab", 0o644, []byte("FR\t+4852+00220\tEurope/Paris\n"))
	m.AddSymlink("/etc/localtime", zi+"/Etc/UTC")
	m.AddFile("/etc/timezone", 0o644, []byte("Etc/UTC\n"))
	m.AddFile("/opt/zones/Mars/Olympus", 0o644, []byte("TZif"))
	m.AddFile("/usr/sbin/server", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libc.so.6"}}))
	m.AddFile("/usr/bin/gosrv", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libc.so.6"}, Strings: []string{"/usr/share/zoneinfo/"}}))
	return m
}

var (
	cServer = keptset.Object{Path: "/usr/sbin/server"}
	zoneAPI = keptset.Object{Path: "/usr/bin/gosrv", CGO: true, Go: true}
)

func TestTZDataNamedZones(t *testing.T) {
	// a C program: only the zones the image names, no duplicates
	c := run(t, tzTree().View(), []keptset.Object{glibcObj(), cServer}, nil, knowledge.NewTZData())
	wantKept(t, c, zi+"/Etc/UTC", zi+"/UTC", zi+"/localtime", zi+"/posixrules", zi+"/America/New_York", "/etc/localtime", "/etc/timezone")
	wantDropped(t, c, zi+"/Europe/Paris", zi+"/Asia/Tokyo", zi+"/right/Etc/UTC", zi+"/posix/Europe", zi+"/tzdata.zi", zi+"/zone.tab")

	// TZ names a zone; a kept configuration names another (not the
	// tables of zoneinfo itself, which name every zone)
	m := tzTree()
	m.AddFile("/etc/server.conf", 0o644, []byte("log_timezone = 'Asia/Tokyo'\n# the rest\n"))
	c = run(t, m.View(), []keptset.Object{glibcObj(), cServer}, []string{"TZ=Europe/Paris"}, keepRule("/etc/server.conf", zi+"/zone.tab"), knowledge.NewTZData())
	wantKept(t, c, zi+"/Europe/Paris", zi+"/Asia/Tokyo")
	wantDropped(t, c, zi+"/right/Europe/Paris", zi+"/EST5EDT")

	// TZ=right/... selects the leap-second variant; an absolute TZ its file
	c = run(t, tzTree().View(), []keptset.Object{glibcObj(), cServer}, []string{"TZ=right/Europe/Paris"}, knowledge.NewTZData())
	wantKept(t, c, zi+"/right/Europe/Paris")
	wantDropped(t, c, zi+"/Europe/Paris", zi+"/right/Etc/UTC")
	c = run(t, tzTree().View(), []keptset.Object{glibcObj(), cServer}, []string{"TZ=:/opt/zones/Mars/Olympus"}, knowledge.NewTZData())
	wantKept(t, c, "/opt/zones/Mars/Olympus")

	// no program: nothing; --no-tzdata: nothing
	c = run(t, tzTree().View(), nil, nil, knowledge.NewTZData())
	wantDropped(t, c, zi+"/Etc/UTC")
	c = run(t, tzTree().View(), []keptset.Object{cServer}, nil, knowledge.Without(knowledge.Default(), "tzdata")...)
	wantDropped(t, c, zi+"/Etc/UTC", "/etc/localtime")
}

func TestTZDataZoneTakers(t *testing.T) {
	// an object naming zoneinfo looks zones up by name: the whole
	// directory but the duplicates and the tables nothing names
	c := run(t, tzTree().View(), []keptset.Object{glibcObj(), zoneAPI}, nil, knowledge.NewTZData())
	wantKept(t, c, zi+"/Europe/Paris", zi+"/Asia/Tokyo", zi+"/EST5EDT", zi+"/posixrules")
	wantDropped(t, c, zi+"/right/Europe/Paris", zi+"/posix/Europe", zi+"/tzdata.zi", zi+"/zone.tab")

	// a table is kept when a kept object names it, or a kept source file
	// of a language runtime (a zone picker, a country listing)
	m := tzTree()
	m.AddFile("/usr/bin/picker", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libc.so.6"}, Strings: []string{"/usr/share/zoneinfo/", "zone.tab"}}))
	c = run(t, m.View(), []keptset.Object{glibcObj(), {Path: "/usr/bin/picker"}}, nil, knowledge.NewTZData())
	wantKept(t, c, zi+"/zone.tab", zi+"/Asia/Tokyo")
	wantDropped(t, c, zi+"/tzdata.zi")
	m = tzTree()
	m.AddFile("/usr/bin/python3.11", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libc.so.6"}}))
	m.AddFile("/usr/lib/python3/dist-packages/tzlist.py", 0o644, []byte("open('/usr/share/zoneinfo/tzdata.zi')\n"))
	c = run(t, m.View(), []keptset.Object{glibcObj(), {Path: "/usr/bin/python3.11"}}, nil, keepRule("/usr/lib/python3/dist-packages/tzlist.py"), knowledge.NewTZData())
	wantKept(t, c, zi+"/tzdata.zi", zi+"/Asia/Tokyo")
	wantDropped(t, c, zi+"/zone.tab")

	// a language runtime (an entry with application files) too
	m = tzTree()
	m.AddFile("/usr/bin/python3.11", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libc.so.6"}}))
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("# os\n"))
	c = run(t, m.View(), []keptset.Object{glibcObj(), {Path: "/usr/bin/python3.11"}}, nil, knowledge.NewTZData())
	wantKept(t, c, zi+"/Asia/Tokyo")
	wantDropped(t, c, zi+"/right/Europe/Paris")

	// a configuration naming a right/ zone keeps right/
	m = tzTree()
	m.AddFile("/etc/app.conf", 0o644, []byte("zone=/usr/share/zoneinfo/right/Etc/UTC\n"))
	c = run(t, m.View(), []keptset.Object{glibcObj(), zoneAPI}, nil, keepRule("/etc/app.conf"), knowledge.NewTZData())
	wantKept(t, c, zi+"/right/Europe/Paris", zi+"/right/Etc/UTC")
	wantDropped(t, c, zi+"/posix/Europe")

	// --keep-zoneinfo keeps it all
	c = run(t, tzTree().View(), []keptset.Object{glibcObj(), cServer}, nil, knowledge.TZData{All: true})
	wantKept(t, c, zi+"/right/Europe/Paris", zi+"/posix/Europe", zi+"/Asia/Tokyo", zi+"/tzdata.zi")
}

func TestWhole(t *testing.T) {
	rules := knowledge.Whole(knowledge.Default(), "gconv", "tzdata")
	n := 0
	for _, r := range rules {
		switch x := r.(type) {
		case knowledge.Gconv:
			n++
			if !x.All {
				t.Error("gconv: All not set")
			}
		case knowledge.TZData:
			n++
			if !x.All {
				t.Error("tzdata: All not set")
			}
		}
	}
	if n != 2 || len(rules) != len(knowledge.Default()) {
		t.Errorf("Whole kept %d of the two rules, %d rules in all", n, len(rules))
	}
	c := run(t, tzTree().View(), []keptset.Object{glibcObj(), cServer}, nil, knowledge.Whole(knowledge.Default(), "tzdata")...)
	wantKept(t, c, zi+"/right/Europe/Paris", zi+"/Asia/Tokyo")
}
