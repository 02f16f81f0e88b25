package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/trace"
	"github.com/pare-dev/pare/pkg/transport"
)

// errDiffers is returned when the pared image behaves differently.
var errDiffers = fmt.Errorf("the images behave differently")

// verifyResult is pare verify's result.
type verifyResult struct {
	Original    []probe.Result     `json:"original"`
	Pared       []probe.Result     `json:"pared"`
	Differences []probe.Difference `json:"differences"`
	Same        bool               `json:"same"`
}

func newVerifyCmd(g *globals) *cobra.Command {
	var f traceFlags
	var bf buildFlags
	var ignoreBodies bool
	cmd := &cobra.Command{
		Use:   "verify ORIGINAL PARED",
		Short: "Run the original and the pared image under the same probes and compare",
		Long: `Run both images, one after the other, in the Docker engine with the same probes
(HTTP status and body digest, exec output and exit code, the program's own exit code) and
report every difference. A pared image that behaves differently is a bug: the exit code is
1 when anything differs.`,
		Example: `  pare verify docker-daemon:app docker-daemon:app:pared --http-probe /healthz:8080
  pare verify docker-daemon:job docker-daemon:job:pared --run-to-exit`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			bo, err := bf.options(cmd)
			if err != nil {
				return err
			}
			opts, err := f.options(entrypointOverride(bo), cmdOverride(bo))
			if err != nil {
				return err
			}
			out, err := g.compare(cmd.Context(), args[0], args[1], opts, ignoreBodies)
			if err != nil {
				return err
			}
			if g.output == "json" {
				if err := g.printJSON(out); err != nil {
					return err
				}
			} else {
				for _, r := range out.Pared {
					st := "ok"
					if !r.OK {
						st = "failed: " + r.Err
					}
					fmt.Fprintf(g.stdout, "probe %s: %s\n", r.Name, st)
				}
				for _, d := range out.Differences {
					fmt.Fprintf(g.stdout, "DIFFERENT %s\n", d)
				}
				if out.Same {
					fmt.Fprintf(g.stdout, "same behaviour under %d probes\n", len(out.Original))
				}
			}
			if !out.Same {
				return errDiffers
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&bf.entrypoint, "entrypoint", "", "override the Entrypoint of both images (JSON array or a plain command line)")
	cmd.Flags().StringVar(&bf.cmd, "cmd", "", "override the Cmd of both images (JSON array or a plain command line)")
	cmd.Flags().BoolVar(&ignoreBodies, "ignore-bodies", false, "compare statuses and exit codes only, not body digests (for pages that embed dates)")
	return cmd
}

// compare runs the original and the pared image untraced under the same
// probes, one after the other, and diffs the results.
func (g *globals) compare(ctx context.Context, original, pared string, opts trace.Options, ignoreBodies bool) (verifyResult, error) {
	opts.Untraced = true
	opts.TempDir = g.tempDir
	var out verifyResult
	eng, err := engine.NewDocker(ctx)
	if err != nil {
		return out, err
	}
	defer eng.Close()
	defer engine.Sweep(ctx, eng) //nolint:errcheck // last line of defence
	var results [2][]probe.Result
	for i, ref := range []string{original, pared} {
		r, err := g.verifyRun(ctx, eng, ref, opts)
		if err != nil {
			return out, err
		}
		results[i] = r
	}
	diffs := probe.Compare(results[0], results[1])
	if ignoreBodies {
		kept := diffs[:0]
		for _, d := range diffs {
			if d.Field != "digest" {
				kept = append(kept, d)
			}
		}
		diffs = kept
	}
	return verifyResult{Original: results[0], Pared: results[1], Differences: diffs, Same: len(diffs) == 0}, nil
}

// verifyRun runs one image untraced under the probes.
func (g *globals) verifyRun(ctx context.Context, eng engine.Engine, ref string, opts trace.Options) ([]probe.Result, error) {
	r, err := transport.Parse(ref)
	if err != nil {
		return nil, usageError{err}
	}
	name := r.Name
	if r.Kind != transport.DockerDaemon {
		// anything else is read and loaded into the engine under a temporary tag
		img, err := g.open(ctx, ref)
		if err != nil {
			return nil, err
		}
		defer img.Close()
		var cleanup func()
		name, cleanup, err = g.inDaemon(ctx, img)
		if err != nil {
			return nil, err
		}
		defer cleanup()
	}
	res, err := trace.Run(ctx, eng, name, opts)
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", ref, err)
	}
	return res.Probes, nil
}
