package sbom

import (
	"fmt"
	"io"
	"strconv"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// CycloneDX writes d as a CycloneDX 1.6 JSON document: the image is the
// metadata component, every package a library component with its purl.
func CycloneDX(w io.Writer, d *Document) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + d.uuid()
	ref := d.Digest
	if ref == "" {
		ref = "image"
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: d.Created.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "pare",
		}}},
		Component: &cdx.Component{
			BOMRef: ref, Type: cdx.ComponentTypeContainer, Name: d.Subject, Version: d.Digest,
			Description: d.OS,
		},
	}
	comps := make([]cdx.Component, 0, len(d.Packages))
	for _, p := range d.Packages {
		props := []cdx.Property{{Name: "pare:files_present", Value: strconv.Itoa(p.Kept)}}
		if p.Total > 0 { // from a build: what was kept of the source's files
			props = []cdx.Property{
				{Name: "pare:kept_files", Value: strconv.Itoa(p.Kept)},
				{Name: "pare:total_files", Value: strconv.Itoa(p.Total)},
				{Name: "pare:partial", Value: strconv.FormatBool(p.Partial)},
			}
		}
		bomRef := p.PURL
		if bomRef == "" {
			bomRef = "pkg-" + p.Name + "-" + p.Arch
		}
		comps = append(comps, cdx.Component{
			BOMRef: bomRef, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version,
			PackageURL: p.PURL, Properties: &props,
		})
	}
	bom.Components = &comps
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return fmt.Errorf("encoding CycloneDX: %w", err)
	}
	return nil
}
