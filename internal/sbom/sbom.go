// Package sbom writes the software bill of materials of a pared image: the
// OS packages that still have files in it, as CycloneDX JSON.
package sbom

import (
	"fmt"
	"io"
	"strconv"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/pare-dev/pare/internal/report"
)

// CycloneDX writes r's remaining packages as a CycloneDX 1.6 JSON document
// about the image named subject (digest is its manifest digest). The output
// is deterministic: the timestamp is epoch and the serial number is derived
// from the digest.
func CycloneDX(w io.Writer, r *report.Report, subject, digest string, epoch time.Time) error {
	bom := cdx.NewBOM()
	if len(digest) >= len("sha256:")+32 {
		h := digest[len("sha256:"):]
		bom.SerialNumber = fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: epoch.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "pare",
		}}},
		Component: &cdx.Component{
			BOMRef: digest, Type: cdx.ComponentTypeContainer, Name: subject, Version: digest,
		},
	}
	if r.OS != "" {
		bom.Metadata.Component.Description = r.OS
	}
	comps := make([]cdx.Component, 0, len(r.Packages))
	for _, p := range r.Packages {
		c := cdx.Component{
			BOMRef: p.PURL, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: p.PURL,
			Properties: &[]cdx.Property{
				{Name: "pare:kept_files", Value: strconv.Itoa(p.Kept)},
				{Name: "pare:total_files", Value: strconv.Itoa(p.Total)},
				{Name: "pare:partial", Value: strconv.FormatBool(p.Partial)},
			},
		}
		comps = append(comps, c)
	}
	bom.Components = &comps
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return fmt.Errorf("encoding CycloneDX: %w", err)
	}
	return nil
}
