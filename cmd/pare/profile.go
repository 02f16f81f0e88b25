package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfile starts a CPU profile written to $PARE_CPUPROFILE and arranges
// for a heap profile in $PARE_MEMPROFILE, when those are set: a hidden hook
// for measuring pare on real images (bench/). The returned function stops
// and writes them.
func startProfile() func() {
	cpu, mem := os.Getenv("PARE_CPUPROFILE"), os.Getenv("PARE_MEMPROFILE")
	var f *os.File
	if cpu != "" {
		var err error
		if f, err = os.Create(cpu); err != nil {
			fmt.Fprintf(os.Stderr, "pare: PARE_CPUPROFILE: %v\n", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "pare: PARE_CPUPROFILE: %v\n", err)
			f.Close()
			f = nil
		}
	}
	return func() {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		if mem != "" {
			m, err := os.Create(mem)
			if err != nil {
				fmt.Fprintf(os.Stderr, "pare: PARE_MEMPROFILE: %v\n", err)
				return
			}
			runtime.GC()
			if err := pprof.WriteHeapProfile(m); err != nil {
				fmt.Fprintf(os.Stderr, "pare: PARE_MEMPROFILE: %v\n", err)
			}
			m.Close()
		}
	}
}
