package keep

import (
	"fmt"
	"path"
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

// FromObservations turns a sensor's records into closure inputs, so that a
// traced build never keeps less than the run needed:
//
//   - every path the program opened (for reading or writing), stat-ed,
//     mapped, listed, read as a link, checked with access, entered with
//     chdir or executed successfully;
//   - the parent directory of every path it wrote (created, renamed,
//     removed, chmod-ed...), so that the directories it writes into exist
//     with their owner and mode (writable state);
//   - a directory whose mkdir failed with EEXIST (it was there already).
//
// Paths that do not exist in the image (created at run time) are dropped
// later, when they are looked up. Those of the runtime (/proc, /sys, /dev)
// and the sensor's own are left out. Kept paths carry their parent
// directories with owner and mode (keptset).
func FromObservations(obs *sensor.Observations) []Observation {
	if obs == nil {
		return nil
	}
	var out []Observation
	seen := map[string]bool{}
	add := func(p string, exec bool, by, detail string) {
		if runtimePath(p) || p == "/" {
			return
		}
		key := p + "\x00" + detail
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Observation{Path: p, Exec: exec, By: by, Detail: detail})
	}
	for _, fa := range obs.Files {
		by := fa.Exe
		if by == "" {
			by = fmt.Sprintf("pid %d", fa.PID)
		}
		if fa.Write {
			if fa.OK {
				add(path.Dir(fa.Path), false, by, fmt.Sprintf("directory written into (%s %s) by pid %d", fa.Op, fa.Path, fa.PID))
				if fa.Op == sensor.OpOpen {
					// an existing file opened for writing is read too
					// (databases, logs appended to); a new one is dropped
					// when it is not found in the image
					add(fa.Path, false, by, fmt.Sprintf("opened for writing by pid %d", fa.PID))
				}
			} else if fa.Op == sensor.OpMkdir && fa.Errno == "EEXIST" {
				add(fa.Path, false, by, fmt.Sprintf("mkdir found it by pid %d", fa.PID))
			}
			continue
		}
		if !fa.OK {
			continue
		}
		switch fa.Op {
		case sensor.OpOpen, sensor.OpStat, sensor.OpExec, sensor.OpReadlink, sensor.OpMmap, sensor.OpAccess, sensor.OpChdir:
		default:
			continue
		}
		add(fa.Path, fa.Op == sensor.OpExec, by, fmt.Sprintf("%s by pid %d", fa.Op, fa.PID))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
