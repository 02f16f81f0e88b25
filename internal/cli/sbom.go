package cli

import (
	"bytes"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
)

func newSBOMCmd(g *globals) *cobra.Command {
	var format, outFile string
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "Write the SBOM (SPDX or CycloneDX JSON) of the OS packages of an image",
		Long: `Write a software bill of materials of IMAGE's OS packages as SPDX 2.3 JSON or
CycloneDX 1.6 JSON: every package of its dpkg database (status, or distroless-style
status.d as pare writes it) or apk database of which a file is in the image, with its
version and package URL. For a pared image these are exactly the packages that still
have files. The document is reproducible: its timestamp is SOURCE_DATE_EPOCH (default
the Unix epoch), its serial number and namespace derive from the image digest.

Here -o/--output names the file to write (default: standard output); the SBOM is
always JSON.`,
		Example: `  pare sbom docker-daemon:nginx:pared --format spdx -o nginx.spdx.json
  pare sbom docker-archive:app.tar > app.cdx.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := pare.ParseSBOMFormat(format)
			if err != nil {
				return usageError{err}
			}
			src, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			var buf bytes.Buffer
			if err := pare.SBOM(&buf, src, pare.SBOMOptions{Format: f}); err != nil {
				return err
			}
			if outFile == "" || outFile == "-" {
				_, err = g.stdout.Write(buf.Bytes())
				return err
			}
			return writeBytesAtomic(outFile, buf.Bytes())
		},
	}
	cmd.Flags().StringVar(&format, "format", "cyclonedx", "SBOM format: spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.6 JSON)")
	// shadows the global --output (text|json): an SBOM is always JSON
	cmd.Flags().StringVarP(&outFile, "output", "o", "", "write the SBOM to FILE (default: standard output)")
	return cmd
}
