package trace_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/trace"
)

// Example shows dynamic mode as a CLI would wire it: parse the probe flags,
// trace, write the artifacts, then verify a pared image against the
// original with the same probes.
func Example() {
	ctx := context.Background() // the CLI passes its signal.NotifyContext
	eng, err := engine.NewDocker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()
	defer engine.Sweep(ctx, eng) // last line of defence; Run already cleans up

	var probes []probe.Probe
	for _, spec := range []string{"GET:/healthz:8080", "/:8080=2xx,301"} { // --probe-http
		p, err := probe.ParseHTTP(spec)
		if err != nil {
			fmt.Println(err)
			return
		}
		probes = append(probes, p)
	}
	if p, err := probe.ParseExec(`["/app","--version"]`); err == nil { // --probe-exec
		probes = append(probes, p)
	}

	res, err := trace.Run(ctx, eng, "example/app:latest", trace.Options{
		Probes:   probes,
		Duration: 5 * time.Second,
		OnEvent:  func(e trace.Event) { fmt.Fprintln(os.Stderr, e.Stage, e.Message) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	profile, _ := trace.SeccompProfile(res.Observations)
	writes := trace.WrittenPaths(res.Observations)
	_, _ = profile, writes

	// Verification: both images untraced, same probes, then compare.
	orig, _ := trace.Run(ctx, eng, "example/app:latest", trace.Options{Untraced: true, Probes: probes})
	pared, _ := trace.Run(ctx, eng, "example/app:pared", trace.Options{Untraced: true, Probes: probes})
	for _, d := range probe.Compare(orig.Probes, pared.Probes) {
		fmt.Println(d)
	}
}
