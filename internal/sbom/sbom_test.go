package sbom

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/report"
)

func TestCycloneDX(t *testing.T) {
	r := &report.Report{OS: "Debian GNU/Linux 12 (bookworm)", Packages: []report.Package{
		{Name: "libc6", Version: "2.36-9+deb12u14", Arch: "amd64", PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12", Kept: 10, Total: 100, Partial: true},
	}}
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var a, b bytes.Buffer
	if err := CycloneDX(&a, r, "app:pared", digest, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	CycloneDX(&b, r, "app:pared", digest, time.Unix(0, 0))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs differ")
	}
	var doc struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Components   []struct {
			Name, Version, Purl string
		} `json:"components"`
	}
	if err := json.Unmarshal(a.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.6" || doc.SerialNumber != "urn:uuid:01234567-89ab-cdef-0123-456789abcdef" {
		t.Errorf("header = %+v", doc)
	}
	if len(doc.Components) != 1 || doc.Components[0].Purl != r.Packages[0].PURL || doc.Components[0].Version != "2.36-9+deb12u14" {
		t.Errorf("components = %+v", doc.Components)
	}
}
