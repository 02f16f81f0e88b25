package pare

import (
	"fmt"
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

// SBOMFormat is the format of an SBOM.
type SBOMFormat = sbom.Format

// SBOM formats.
const (
	SBOMCycloneDX = sbom.FormatCycloneDX // CycloneDX 1.6 JSON (the default)
	SBOMSPDX      = sbom.FormatSPDX      // SPDX 2.3 JSON
)

// ParseSBOMFormat accepts "cyclonedx" (or "") and "spdx".
func ParseSBOMFormat(s string) (SBOMFormat, error) { return sbom.ParseFormat(s) }

// SBOMOptions configure WriteSBOM and SBOM.
type SBOMOptions struct {
	// Format is the document format; "" is CycloneDX.
	Format SBOMFormat
}

// WriteSBOM writes an SBOM of the OS packages that remain in the pared
// image described by rep, named subject with digest. Its timestamp is
// SOURCE_DATE_EPOCH (default the Unix epoch) and its serial number or
// namespace derives from the digest, so it is reproducible.
func WriteSBOM(w io.Writer, rep *Report, subject, digest string, o SBOMOptions) error {
	epoch, err := tarlayer.DefaultEpoch()
	if err != nil {
		return err
	}
	return sbom.Write(w, o.Format, sbom.FromReport(rep, subject, digest, epoch))
}

// SBOM writes an SBOM of the OS packages of any image: those of its dpkg
// (status or status.d) or apk database of which a file is in the image.
// For a pared image these are the packages that still have files. The
// document is named after src's reference and, when src was read as an
// image, its manifest digest; it is reproducible like WriteSBOM's.
func SBOM(w io.Writer, src *Source, o SBOMOptions) error {
	epoch, err := tarlayer.DefaultEpoch()
	if err != nil {
		return err
	}
	osName, pkgs, err := sbom.Packages(src.View)
	if err != nil {
		return fmt.Errorf("%s: %w", src.Ref, err)
	}
	d := &sbom.Document{Subject: src.Ref.String(), OS: osName, Packages: pkgs, Created: epoch}
	if src.Image != nil {
		dg, err := src.Image.Digest()
		if err != nil {
			return fmt.Errorf("digest of %s: %w", src.Ref, err)
		}
		d.Digest = dg.String()
	}
	return sbom.Write(w, o.Format, d)
}

// Flatten squashes every file of src into one reproducible layer, with its
// config carried over (setuid bits kept: flattening changes the layering,
// not the content).
func Flatten(src *Source) (v1.Image, error) {
	return assemble.Flatten(src.View, src.ConfigFile, "pare flatten "+src.Ref.String())
}
