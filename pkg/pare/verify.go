package pare

import (
	"context"
	"fmt"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/trace"
	"github.com/pare-dev/pare/pkg/transport"
)

// Difference is one way the pared image behaved differently from the
// original under a probe: Field is "missing", "kind", "outcome", "ok",
// "status", "exitCode", "exited" or "digest"; A is the original's value,
// B the pared image's.
type Difference = probe.Difference

// VerifyOptions configure Verify.
type VerifyOptions struct {
	RunOptions
	// IgnoreBodies compares statuses and exit codes only, not body digests
	// (for pages that embed dates).
	IgnoreBodies bool
	// Open configures reading an image that must be loaded into the engine
	// first (anything but docker-daemon:).
	Open OpenOptions
}

// VerifyResult is the comparison of the original and the pared image.
type VerifyResult struct {
	Original    []ProbeResult `json:"original"`
	Pared       []ProbeResult `json:"pared"`
	Differences []Difference  `json:"differences"`
	// Same says the pared image behaved like the original under every probe.
	Same bool `json:"same"`
}

// Verify runs the original and the pared image (transport references; a
// docker-daemon: image is used in place, any other is loaded under a
// temporary tag) one after the other, untraced, under the same probes and
// runs, and compares how each probe ended: outcome (refused, timeout,
// exited, status, exit code), status, exit code, whether the container had
// exited, and the body or output digest. A pared image that dies at start
// differs from an original that keeps running even when both fail a probe.
func Verify(ctx context.Context, original, pared string, o VerifyOptions) (*VerifyResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	eng, err := engine.NewDocker(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	defer engine.Sweep(ctx, eng) //nolint:errcheck // last line of defence
	pruneOrphans(ctx, eng, o.event)
	return verifyWith(ctx, eng, original, pared, o, func(ctx context.Context, ref string) (string, func(), error) {
		r, err := transport.Parse(ref)
		if err != nil {
			return "", nil, err
		}
		if r.Kind == transport.DockerDaemon {
			return r.Name, func() {}, nil
		}
		o.event("load", ref, "reading %s", ref)
		src, err := Open(ctx, ref, o.Open)
		if err != nil {
			return "", nil, err
		}
		defer src.Close()
		return inDaemon(ctx, src, o.OnEvent)
	})
}

// verifyWith is Verify on a given engine; load makes a reference known to it.
func verifyWith(ctx context.Context, eng engine.Engine, original, pared string, o VerifyOptions,
	load func(context.Context, string) (string, func(), error)) (*VerifyResult, error) {
	var results [2][]ProbeResult
	for i, ref := range []string{original, pared} {
		name, cleanup, err := load(ctx, ref)
		if err != nil {
			return nil, err
		}
		opts := o.traceOptions(ref)
		opts.Untraced = true
		res, err := trace.Run(ctx, eng, name, opts)
		cleanup()
		if err != nil {
			return nil, fmt.Errorf("running %s: %w", ref, err)
		}
		results[i] = res.Probes
	}
	diffs := probe.Compare(results[0], results[1])
	if o.IgnoreBodies {
		kept := diffs[:0]
		for _, d := range diffs {
			if d.Field != probe.FieldDigest {
				kept = append(kept, d)
			}
		}
		diffs = kept
	}
	return &VerifyResult{Original: results[0], Pared: results[1], Differences: diffs, Same: len(diffs) == 0}, nil
}

// DifferingProbes returns the names of the probes that differed, in order.
func (v *VerifyResult) DifferingProbes() []string {
	var names []string
	for _, d := range v.Differences {
		if len(names) == 0 || names[len(names)-1] != d.Name {
			names = append(names, d.Name)
		}
	}
	return names
}
