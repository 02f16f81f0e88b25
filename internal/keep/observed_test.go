package keep

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/sensor"
)

func TestFromObservations(t *testing.T) {
	obs := &sensor.Observations{Files: []sensor.FileAccess{
		{Path: "/usr/bin/python3", Op: sensor.OpExec, OK: true, PID: 1, Exe: "/usr/bin/python3"},
		{Path: "/usr/lib/python3.11/os.py", Op: sensor.OpOpen, OK: true, PID: 1, Exe: "/usr/bin/python3"},
		{Path: "/usr/lib/python3.11/os.py", Op: sensor.OpStat, OK: true, PID: 1, Exe: "/usr/bin/python3"},
		{Path: "/usr/lib/python3.11/nope.py", Op: sensor.OpStat, OK: false, PID: 1},
		{Path: "/tmp/out", Op: sensor.OpOpen, OK: true, Write: true, PID: 1},
		{Path: "/proc/self/maps", Op: sensor.OpOpen, OK: true, PID: 1},
		{Path: "/etc", Op: sensor.OpMkdir, OK: true, PID: 1},
		{Path: "relative", Op: sensor.OpOpen, OK: true, PID: 1},
	}}
	var got []string
	for _, o := range FromObservations(obs) {
		got = append(got, o.Path+" "+o.Detail)
		if o.Path == "/usr/bin/python3" && !o.Exec {
			t.Error("exec not marked")
		}
	}
	want := []string{"/usr/bin/python3 exec by pid 1", "/usr/lib/python3.11/os.py open by pid 1", "/usr/lib/python3.11/os.py stat by pid 1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
