package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
)

// defaultLowestEfficiency is dive's CI default, used when --ci names no rule.
const defaultLowestEfficiency = 0.9

func newInspectCmd(g *globals) *cobra.Command {
	var f buildFlags
	var ci bool
	var lowest float64
	var wasted, pared string
	var top int
	cmd := &cobra.Command{
		Use:   "inspect SRC",
		Short: "Show an image's layers, wasted bytes and efficiency, and what pare build would drop",
		Long: `Read the image's layers without a daemon and show, like dive: each history entry
with the command that made it and the layer's size (bytes of its regular files; empty
layers listed), the wasted bytes (content of layer files that does not reach the merged
filesystem: overwritten by a later layer, deleted by a whiteout or hidden under an
opaque directory), the efficiency (1 - wasted/total, the share of the layers' bytes the
merged filesystem shows) and the largest wasted files (dive also counts the copy that
survives of a file written in several layers; pare counts only the lost ones); then a dry run of pare build
(nothing is written): sizes before and after, kept and dropped files, and the
directories that lose the most bytes.

With --ci (or any threshold) the rules given are checked as in dive's CI mode: each
is printed PASS or FAIL and the exit code is 1 when one fails. --ci alone checks
--lowest-efficiency 0.9, dive's default. Sizes take units: 20MB, 20MiB, 1.5GB.`,
		Example: `  pare inspect docker-daemon:nginx:latest
  pare inspect docker-archive:app.tar --output json
  pare inspect docker-daemon:app --ci --lowest-efficiency 0.95 --highest-wasted-bytes 20MB --largest-pared-size 50MB`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			var lim pare.InspectLimits
			fl := cmd.Flags()
			if fl.Changed("lowest-efficiency") {
				if lowest < 0 || lowest > 1 {
					return usageError{fmt.Errorf("--lowest-efficiency must be between 0 and 1, not %v", lowest)}
				}
				lim.LowestEfficiency = &lowest
			}
			for _, s := range []struct {
				flag, v string
				to      **int64
			}{{"highest-wasted-bytes", wasted, &lim.HighestWastedBytes}, {"largest-pared-size", pared, &lim.LargestParedSize}} {
				if !fl.Changed(s.flag) {
					continue
				}
				n, err := humanize.ParseBytes(s.v)
				if err != nil {
					return usageError{fmt.Errorf("--%s %q: %w", s.flag, s.v, err)}
				}
				v := int64(n)
				*s.to = &v
			}
			if lim != (pare.InspectLimits{}) {
				ci = true
			} else if ci {
				d := defaultLowestEfficiency
				lim.LowestEfficiency = &d
			}
			src, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			io := pare.InspectOptions{Build: opts, Top: top}
			if !g.quiet {
				io.Progress = func(i, n int) { fmt.Fprintf(g.stderr, "measured layer %d/%d\n", i+1, n) }
			}
			res, err := pare.Inspect(cmd.Context(), src, io)
			if err != nil {
				return err
			}
			var rules []pare.RuleResult
			if ci {
				rules = res.Check(lim)
			}
			if g.output == "json" {
				err = g.printJSON(struct {
					*pare.InspectResult
					CI []pare.RuleResult `json:"ci,omitempty"`
				}{res, rules})
			} else {
				err = writeInspect(g.stdout, res, rules)
			}
			if err != nil {
				return err
			}
			var failed []string
			for _, r := range rules {
				if !r.OK {
					failed = append(failed, r.Rule)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("ci: %d of %d rules failed: %s", len(failed), len(rules), strings.Join(failed, ", "))
			}
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&ci, "ci", false, "check the thresholds and exit 1 when one fails (like dive's CI mode)")
	fl.Float64Var(&lowest, "lowest-efficiency", defaultLowestEfficiency, "CI: fail below this efficiency (0..1)")
	fl.StringVar(&wasted, "highest-wasted-bytes", "", "CI: fail when more bytes are wasted (20MB, 20MiB)")
	fl.StringVar(&pared, "largest-pared-size", "", "CI: fail when the files pare build keeps are larger (50MB)")
	fl.IntVar(&top, "top", 10, "how many wasted files and dropped directories to list")
	return cmd
}

func ibytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// writeInspect renders the result as tables.
func writeInspect(w io.Writer, r *pare.InspectResult, rules []pare.RuleResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "inspect %s\n", r.Source)
	empty := 0
	for _, l := range r.Layers {
		if l.Empty {
			empty++
		}
	}
	if len(r.Layers) == 0 {
		b.WriteString("  layers     none (a dir: source or an image without layers)\n")
	} else {
		fmt.Fprintf(&b, "  layers     %d (%d history entries, %d empty)\n", r.LayerCount, len(r.Layers), empty)
	}
	fmt.Fprintf(&b, "  total      %s in layers, %s reach the merged filesystem\n", ibytes(r.TotalBytes), ibytes(r.MergedBytes))
	fmt.Fprintf(&b, "  wasted     %s (%d bytes) in %d files\n", ibytes(r.WastedBytes), r.WastedBytes, r.WastedFileCount)
	fmt.Fprintf(&b, "  efficiency %.2f%% (1 - wasted/total)\n\n", 100*r.Efficiency)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(r.Layers) > 0 {
		fmt.Fprintln(tw, "LAYER\tSIZE\tFILES\tWASTED\tHIDES\tCOMMAND")
	}
	for _, l := range r.Layers {
		if l.Index < 0 {
			fmt.Fprintf(tw, "-\t0 B\t\t\t\t%s\n", oneLine(l.Command))
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", l.Index+1, ibytes(l.Bytes), l.Files, ibytes(l.Wasted), ibytes(l.Hidden), oneLine(l.Command))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.WastedFiles) > 0 {
		fmt.Fprintf(&b, "\nlargest wasted files (%d of %d)\n", len(r.WastedFiles), r.WastedFileCount)
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  WASTED\tCOPIES\tLAYERS\tPATH")
		for _, f := range r.WastedFiles {
			ls := make([]string, len(f.Layers))
			for i, l := range f.Layers {
				ls[i] = fmt.Sprint(l + 1)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", ibytes(f.Bytes), f.Copies, strings.Join(ls, ","), f.Path)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\npare build (dry run)\n")
	if p := r.Pared; p != nil {
		pct := 0.0
		if p.BeforeBytes > 0 {
			pct = 100 * (1 - float64(p.AfterBytes)/float64(p.BeforeBytes))
		}
		fmt.Fprintf(&b, "  size     %s → %s (%.1f%% smaller)\n", ibytes(p.BeforeBytes), ibytes(p.AfterBytes), pct)
		fmt.Fprintf(&b, "  files    %d → %d kept (%d dropped, %s)\n", p.BeforeFiles, p.AfterFiles, p.DroppedFiles, ibytes(p.DroppedBytes))
		for _, m := range p.Missing {
			fmt.Fprintf(&b, "  missing  %s\n", m)
		}
		for _, wn := range p.Warnings {
			fmt.Fprintf(&b, "  warning  %s\n", wn)
		}
		if len(p.TopDropped) > 0 {
			b.WriteString("  most dropped\n")
			tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			for _, d := range p.TopDropped {
				fmt.Fprintf(tw, "    %s\t%d files\t%s\n", ibytes(d.Bytes), d.Files, d.Path)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	} else {
		fmt.Fprintf(&b, "  failed: %s\n", r.ParedError)
	}
	if len(rules) > 0 {
		b.WriteString("\nci\n")
		for _, rr := range rules {
			st := "PASS"
			if !rr.OK {
				st = "FAIL"
			}
			fmt.Fprintf(&b, "  %s: %s: %s\n", st, rr.Rule, rr.Message)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine shortens a history command for a table row.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.TrimPrefix(s, "/bin/sh -c ")), " ")
	s = strings.TrimPrefix(s, "#(nop) ")
	if s == "" {
		return "(no created_by)"
	}
	if r := []rune(s); len(r) > 100 {
		s = string(r[:99]) + "…"
	}
	return s
}
