package cli

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
)

func newDockerfileCmd(g *globals) *cobra.Command {
	var f buildFlags
	var af addonFlags
	var tf traceFlags
	var traced bool
	var file, contextDir, sourceImage string
	cmd := &cobra.Command{
		Use:   "dockerfile SRC [build flags]",
		Short: "Print a multi-stage Dockerfile that rebuilds what pare build keeps",
		Long: `Compute what pare build keeps of SRC (with the same flags) and print a Dockerfile
that rebuilds it with COPY --from the source image: FROM SRC AS source, FROM scratch,
a COPY per directory kept whole and per directory of kept files, then USER, ENV,
WORKDIR, EXPOSE, LABEL, STOPSIGNAL, HEALTHCHECK, ENTRYPOINT and CMD of the pared image.
What pare generates (passwd, group, shadow, /tmp, homes, the package database, links,
directories with their modes, --add-init and --add-healthcheck programs) is written to
a context directory (--context, default pare-context beside --file, or in the current
directory) that the Dockerfile copies with --chown where the owner is not root.

The Dockerfile builds with Docker's classic builder (docker 20.10, no BuildKit needed):
  docker build --network host -f Dockerfile pare-context`,
		Example: `  pare dockerfile docker-daemon:nginx:latest --file Dockerfile.pared
  pare dockerfile docker-archive:app.tar --source-image app:1.2 --add-init > Dockerfile`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			if err := af.apply(cmd, &opts); err != nil {
				return err
			}
			if contextDir == "" {
				contextDir = "pare-context"
				if file != "" {
					contextDir = filepath.Join(filepath.Dir(file), "pare-context")
				}
			}
			img, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer img.Close()
			if traced {
				if opts.Trace, err = g.runTrace(cmd, img, &tf, opts); err != nil {
					return err
				}
			}
			name := "Dockerfile"
			if file != "" {
				name = file
			}
			res, err := pare.Dockerfile(img, opts, pare.DockerfileOptions{SourceImage: sourceImage, Context: contextDir, File: name})
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				g.warnf("%s", w.Message)
			}
			if err := res.WriteContext(contextDir); err != nil {
				return err
			}
			if file == "" || file == "-" {
				_, err = g.stdout.Write(res.Dockerfile)
				return err
			}
			return writeBytesAtomic(file, res.Dockerfile)
		},
	}
	f.registerOutput(cmd)
	af.register(cmd)
	cmd.Flags().BoolVar(&traced, "trace", false, "also run the image under the tracer and probes and keep what it used, as pare build --trace")
	tf.register(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "", "write the Dockerfile to FILE (a temporary name, then renamed) instead of stdout")
	cmd.Flags().StringVar(&contextDir, "context", "", "write the build context to DIR (default: pare-context beside --file, else in the current directory)")
	cmd.Flags().StringVar(&sourceImage, "source-image", "", "image name to start FROM (default: the name of a docker-daemon: or docker:// SRC)")
	return cmd
}
