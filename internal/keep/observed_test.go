package keep

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/pkg/rootfs"
)

func TestFromObservations(t *testing.T) {
	obs := &sensor.Observations{Files: []sensor.FileAccess{
		{Path: "/usr/bin/python3", Op: sensor.OpExec, OK: true, PID: 1, Exe: "/usr/bin/python3"},
		{Path: "/usr/lib/python3.11/os.py", Op: sensor.OpOpen, OK: true, PID: 1, Exe: "/usr/bin/python3"},
		{Path: "/usr/lib/python3.11/os.py", Op: sensor.OpStat, OK: true, PID: 1, Exe: "/usr/bin/python3"},
		{Path: "/usr/lib/python3.11/nope.py", Op: sensor.OpStat, OK: false, PID: 1},
		{Path: "/tmp/out", Op: sensor.OpOpen, OK: true, Write: true, PID: 1},
		{Path: "/proc/self/maps", Op: sensor.OpOpen, OK: true, PID: 1},
		{Path: "/var/lib/app/sub", Op: sensor.OpMkdir, OK: true, Write: true, PID: 2},
		{Path: "/run/app", Op: sensor.OpMkdir, OK: false, Write: true, Errno: "EEXIST", PID: 2},
		{Path: "/var/log/app/new.log", Op: sensor.OpMkdir, OK: false, Write: true, Errno: "ENOENT", PID: 2},
		{Path: "/var/cache/app/old", Op: sensor.OpUnlink, OK: true, Write: true, PID: 2},
		{Path: "/srv/data", Op: sensor.OpOpen, OK: true, PID: 1},
		{Path: "relative", Op: sensor.OpOpen, OK: true, PID: 1},
	}}
	var got []string
	for _, o := range FromObservations(obs) {
		got = append(got, o.Path+" "+o.Detail)
		if o.Path == "/usr/bin/python3" && !o.Exec {
			t.Error("exec not marked")
		}
	}
	want := []string{
		"/run/app mkdir found it by pid 2",
		"/srv/data open by pid 1",
		"/tmp directory written into (open /tmp/out) by pid 1",
		"/tmp/out opened for writing by pid 1",
		"/usr/bin/python3 exec by pid 1",
		"/usr/lib/python3.11/os.py open by pid 1",
		"/usr/lib/python3.11/os.py stat by pid 1",
		"/var/cache/app directory written into (unlink /var/cache/app/old) by pid 2",
		"/var/lib/app directory written into (mkdir /var/lib/app/sub) by pid 2",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestObservedWritableState: a traced run that wrote into a directory (a
// file created at run time there) keeps that directory with its owner and
// mode, though nothing in it is kept; and paths it only read are kept with
// their parents.
func TestObservedWritableState(t *testing.T) {
	m := image()
	m.Add(rootfs.Entry{Path: "/var/lib/app", Type: rootfs.TypeDir, Mode: 0o750, UID: 101, GID: 102}, nil)
	m.Add(rootfs.Entry{Path: "/var/lib/app/cache", Type: rootfs.TypeDir, Mode: 0o700, UID: 101, GID: 102}, nil)
	m.AddFile("/var/lib/app/cache/stale", 0o600, []byte("x"))
	m.AddFile("/srv/site/index.html", 0o644, []byte("x"))
	obs := &sensor.Observations{Files: []sensor.FileAccess{
		{Path: "/var/lib/app/cache/new.db", Op: sensor.OpOpen, OK: true, Write: true, PID: 7, Exe: "/usr/bin/app"},
		{Path: "/srv/site/index.html", Op: sensor.OpOpen, OK: true, PID: 7, Exe: "/usr/bin/app"},
	}}
	res, err := Compute(m.View(), cfg("app"), Options{Rules: []knowledge.Rule{}, Observed: FromObservations(obs)})
	if err != nil {
		t.Fatal(err)
	}
	it := res.Set.Item("/var/lib/app/cache")
	if it == nil || it.Entry.UID != 101 || it.Entry.GID != 102 || it.Entry.Mode.Perm() != 0o700 {
		t.Fatalf("written-into directory: %+v", it)
	}
	if it.Reasons[0].Kind != keptset.KindTrace {
		t.Errorf("reason: %+v", it.Reasons[0])
	}
	if p := res.Set.Item("/var/lib/app"); p == nil || p.Entry.Mode.Perm() != 0o750 || p.Entry.UID != 101 {
		t.Errorf("its parent: %+v", p)
	}
	if res.Set.Has("/var/lib/app/cache/stale") {
		t.Error("a file the run did not touch is kept")
	}
	if !res.Set.Has("/srv/site/index.html") || !res.Set.Has("/srv/site") {
		t.Error("a read file or its directory is dropped")
	}
}
