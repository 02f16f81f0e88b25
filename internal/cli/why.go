package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/internal/keep"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
)

// whyAnswer is pare why's result.
type whyAnswer struct {
	Path    string           `json:"path"`
	Kept    bool             `json:"kept"`
	Chain   []keptset.Step   `json:"chain,omitempty"`
	Text    string           `json:"text"`
	Reasons []keptset.Reason `json:"reasons,omitempty"`
}

func newWhyCmd(g *globals) *cobra.Command {
	var f buildFlags
	var reportFile string
	cmd := &cobra.Command{
		Use:   "why SRC PATH",
		Short: "Explain why pare build keeps PATH, or why it drops it",
		Long: `Print the chain of reasons that keeps PATH in the pared image, e.g.
  /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 ← DT_NEEDED of /usr/sbin/nginx ← entrypoint
The closure is recomputed with the same build flags, or read from a JSON report
written by pare build --report (then SRC may be "-").`,
		Example: `  pare why docker-daemon:nginx:latest /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0
  pare why - /etc/ssl/certs/ca-certificates.crt --report report.json`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := path.Clean("/" + args[1])
			var ans whyAnswer
			if reportFile != "" {
				a, err := whyFromReport(reportFile, target)
				if err != nil {
					return err
				}
				ans = a
			} else {
				opts, err := f.options(cmd)
				if err != nil {
					return err
				}
				img, err := g.open(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				defer img.Close()
				res, err := keep.Compute(img.View, img.ConfigFile.Config, opts)
				if res == nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				ans.Path = target
				r, rerr := img.View.Resolve(target, true)
				if rerr == nil && res.Set.Has(r.Path) {
					ans.Kept = true
					ans.Chain = res.Set.Why(r.Path)
					ans.Reasons = res.Set.Item(r.Path).Reasons
					ans.Text = keptset.FormatChain(ans.Chain)
					if r.Path != target {
						ans.Text = target + " → " + ans.Text
					}
				} else if _, serr := img.View.Lstat(target); serr != nil {
					ans.Text = fmt.Sprintf("%s does not exist in %s", target, args[0])
				} else {
					ans.Text = fmt.Sprintf("%s is dropped: no program, library, rule or --include of the closure needs it", target)
				}
			}
			if g.output == "json" {
				return g.printJSON(ans)
			}
			fmt.Fprintln(g.stdout, ans.Text)
			for _, r := range ans.Reasons[min(1, len(ans.Reasons)):] {
				fmt.Fprintf(g.stdout, "  also: %s\n", r)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&reportFile, "report", "", "read the closure from this pare build --report file instead of recomputing it")
	return cmd
}

func whyFromReport(file, target string) (whyAnswer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return whyAnswer{}, fmt.Errorf("reading report: %w", err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return whyAnswer{}, fmt.Errorf("%s: not a pare build report: %w", file, err)
	}
	phys := target
	if res, err := rep.View().Resolve(target, true); err == nil {
		phys = res.Path
	}
	for _, k := range rep.Kept {
		if k.Path == phys {
			text := k.Chain
			if phys != target {
				text = target + " → " + text
			}
			return whyAnswer{Path: target, Kept: true, Text: text, Reasons: k.Reasons}, nil
		}
	}
	return whyAnswer{Path: target, Text: fmt.Sprintf("%s is not in the pared image of %s ", target, rep.Source)}, nil
}
