package pare

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/sbom"
	"github.com/pare-dev/pare/internal/tarlayer"
)

// RecordVerify adds the verification of the pared image to its report.
func RecordVerify(rep *Report, v *VerifyResult) {
	rv := &report.Verify{Same: v.Same, Probes: len(v.Pared)}
	for _, d := range v.Differences {
		rv.Differences = append(rv.Differences, d.String())
	}
	rep.Verify = rv
}

// WriteSBOM writes a CycloneDX SBOM of the OS packages that remain in the
// pared image described by rep, named subject with digest. Its timestamp
// is SOURCE_DATE_EPOCH (default the Unix epoch), so it is reproducible.
func WriteSBOM(w io.Writer, rep *Report, subject, digest string) error {
	epoch, err := tarlayer.DefaultEpoch()
	if err != nil {
		return err
	}
	return sbom.CycloneDX(w, rep, subject, digest, epoch)
}

// Flatten squashes every file of src into one reproducible layer, with its
// config carried over (setuid bits kept: flattening changes the layering,
// not the content).
func Flatten(src *Source) (v1.Image, error) {
	return assemble.Flatten(src.View, src.ConfigFile, "pare flatten "+src.Ref.String())
}
