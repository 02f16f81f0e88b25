package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
)

func newWhyCmd(g *globals) *cobra.Command {
	var f buildFlags
	var reportFile string
	cmd := &cobra.Command{
		Use:   "why SRC PATH",
		Short: "Explain why pare build keeps PATH, or why it drops it",
		Long: `Print the chain of reasons that keeps PATH in the pared image, e.g.
  /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 ← DT_NEEDED of /usr/sbin/nginx ← entrypoint
then every other reason ("also: ..."): for a library, every kept object that needs it.
The closure is recomputed with the same build flags, or read from a JSON report
written by pare build --report (then SRC may be "-").`,
		Example: `  pare why docker-daemon:nginx:latest /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0
  pare why - /etc/ssl/certs/ca-certificates.crt --report report.json`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ans *pare.WhyAnswer
			if reportFile != "" {
				rep, err := pare.ReadReport(reportFile)
				if err != nil {
					return err
				}
				ans = pare.WhyInReport(rep, args[1])
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
				if ans, err = pare.Why(img, args[1], opts); err != nil {
					return err
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
