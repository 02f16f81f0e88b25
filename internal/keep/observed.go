package keep

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/sensor"
)

// runtimePath reports paths that belong to the container runtime or to
// pare's own sensor, not to the image.
func runtimePath(p string) bool {
	for _, prefix := range []string{"/proc", "/sys", "/dev", "/.pare"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return !strings.HasPrefix(p, "/")
}

// FromObservations turns a sensor's records into closure inputs: every path
// the program read, stat-ed, mapped, listed or executed successfully. Paths
// it wrote, and those of the runtime (/proc, /sys, /dev) are left out.
func FromObservations(obs *sensor.Observations) []Observation {
	if obs == nil {
		return nil
	}
	var out []Observation
	seen := map[string]bool{}
	for _, fa := range obs.Files {
		if !fa.OK || fa.Write || runtimePath(fa.Path) {
			continue
		}
		switch fa.Op {
		case sensor.OpOpen, sensor.OpStat, sensor.OpExec, sensor.OpReadlink, sensor.OpMmap, sensor.OpAccess, sensor.OpChdir:
		default:
			continue
		}
		key := fa.Path + "\x00" + fa.Op
		if seen[key] {
			continue
		}
		seen[key] = true
		by := fa.Exe
		if by == "" {
			by = fmt.Sprintf("pid %d", fa.PID)
		}
		out = append(out, Observation{
			Path: fa.Path, Exec: fa.Op == sensor.OpExec, By: by,
			Detail: fmt.Sprintf("%s by pid %d", fa.Op, fa.PID),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
