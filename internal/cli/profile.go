package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfile starts the profiles named by the hidden environment variables
// PARE_CPUPROFILE (a CPU profile written to that file) and PARE_MEMPROFILE (an
// allocation profile, with in-use figures as of the end, written when the
// command ends). It returns the function that stops them: they are for
// measuring pare (bench/), not a feature.
func startProfile() (stop func(), err error) {
	var stops []func()
	if f := os.Getenv("PARE_CPUPROFILE"); f != "" {
		w, err := os.Create(f)
		if err != nil {
			return nil, fmt.Errorf("creating CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(w); err != nil {
			w.Close()
			return nil, fmt.Errorf("starting CPU profile: %w", err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); w.Close() })
	}
	if f := os.Getenv("PARE_MEMPROFILE"); f != "" {
		runtime.MemProfileRate = 64 << 10
		stops = append(stops, func() {
			w, err := os.Create(f)
			if err != nil {
				return
			}
			defer w.Close()
			_ = pprof.Lookup("allocs").WriteTo(w, 0)
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}, nil
}
