package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
	"github.com/pare-dev/pare/pkg/transport"
)

// differsError is returned when the pared image behaves differently; it
// names the probes that differed.
func differsError(v *pare.VerifyResult) error {
	return fmt.Errorf("the pared image behaves differently under %s", strings.Join(v.DifferingProbes(), ", "))
}

func newVerifyCmd(g *globals) *cobra.Command {
	var f traceFlags
	var bf buildFlags
	var ignoreBodies bool
	cmd := &cobra.Command{
		Use:   "verify ORIGINAL PARED",
		Short: "Run the original and the pared image under the same probes and compare",
		Long: `Run both images, one after the other, in the Docker engine with the same probes and
runs, and compare how each probe ended: its outcome (ok, refused, timeout, exited,
status, exit-code), HTTP status and body digest, exec output and exit code, the
program's own exit code, and whether the container was still running. A pared image
that behaves differently is a bug: the exit code is 1 when anything differs, and the
error names the probes that differed.`,
		Example: `  pare verify docker-daemon:app docker-daemon:app:pared --http-probe /healthz:8080
  pare verify docker-daemon:job docker-daemon:job:pared --run 'convert b.txt'`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			bo, err := bf.options(cmd)
			if err != nil {
				return err
			}
			ro, err := f.runOptions(g, bo)
			if err != nil {
				return err
			}
			for _, a := range args {
				if _, err := transport.Parse(a); err != nil {
					return usageError{err}
				}
			}
			out, err := pare.Verify(cmd.Context(), args[0], args[1], pare.VerifyOptions{RunOptions: ro, IgnoreBodies: ignoreBodies, Open: g.openOptions()})
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
						st = "failed (" + r.Outcome + "): " + r.Err
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
				return differsError(out)
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
