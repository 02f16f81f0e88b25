package engine

import (
	"os"
	"strconv"
	"testing"
)

func TestOwnerGone(t *testing.T) {
	self := identity{host: "h", boot: "b1", pidns: "pid:[1]", pid: 100, start: "500"}
	procs := map[int]string{100: "500", 200: "700"} // pid → start time
	start := func(pid int) (string, bool) { s, ok := procs[pid]; return s, ok }
	for _, c := range []struct {
		label string
		gone  bool
	}{
		{"h b1 pid:[1] 100 500", false},   // this process
		{"h b1 pid:[1] 200 700", false},   // another live pare
		{"h b1 pid:[1] 300 900", true},    // no such process
		{"h b1 pid:[1] 200 650", true},    // pid reused by another process
		{"h b0 pid:[1] 200 700", true},    // made before this host rebooted
		{"other b1 pid:[1] 300 9", false}, // another host: cannot tell
		{"h b1 pid:[2] 300 9", false},     // another pid namespace (a pare in a container)
		{"h b1 pid:[1] 300 -", false},     // start time unknown
		{"- b1 pid:[1] 300 9", false},
		{"h - pid:[1] 300 9", false},
		{"12345", false}, // an older label
		{"", false},
		{"h b1 pid:[1] x 9", false},
	} {
		if got := ownerGone(c.label, self, start); got != c.gone {
			t.Errorf("ownerGone(%q) = %v, want %v", c.label, got, c.gone)
		}
	}
	if got := ownerGone("h b1 pid:[1] 300 9", identity{host: "h", boot: "-", pidns: "pid:[1]", pid: 1, start: "1"}, start); got {
		t.Error("a process that cannot read its boot id judged a container gone")
	}
}

func TestProcessIdentity(t *testing.T) {
	id, ok := parseIdentity(OwnerProcess)
	if !ok {
		t.Fatalf("OwnerProcess %q does not parse", OwnerProcess)
	}
	if id.pid != os.Getpid() || id.start == "-" || id.boot == "-" || id.pidns == "-" {
		t.Errorf("OwnerProcess = %q: want this pid %d with start time, boot id and pid namespace", OwnerProcess, os.Getpid())
	}
	if s, ok := startTime(os.Getpid()); !ok || s != id.start {
		t.Errorf("startTime(self) = %q, %v; label says %q", s, ok, id.start)
	}
	if _, ok := startTime(1 << 30); ok {
		t.Error("startTime of a pid that cannot exist says it runs")
	}
	if _, err := strconv.Atoi(id.start); err != nil {
		t.Errorf("start time %q is not a number", id.start)
	}
}
