package sbom

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// namespaceBase is the URI prefix of pare's SPDX document namespaces.
const namespaceBase = "https://github.com/pare-dev/pare/spdx/"

const noAssertion = "NOASSERTION"

// SPDX writes d as an SPDX 2.3 JSON document: the document DESCRIBES the
// image (a CONTAINER package), which CONTAINS every OS package, each with
// its purl as a PACKAGE-MANAGER external reference.
func SPDX(w io.Writer, d *Document) error {
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      d.Subject,
		DocumentNamespace: namespaceBase + url.PathEscape(namespaceName(d.Subject)) + "-" + d.uuid(),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "pare"}},
			Created:  d.Created.UTC().Format("2006-01-02T15:04:05Z"),
		},
	}
	const imageID common.ElementID = "Image"
	image := &spdx.Package{
		PackageName: d.Subject, PackageSPDXIdentifier: imageID, PackageVersion: d.Digest,
		PackageDownloadLocation: noAssertion, PrimaryPackagePurpose: "CONTAINER",
		PackageDescription: d.OS,
	}
	if h, ok := strings.CutPrefix(d.Digest, "sha256:"); ok && isHex(h) {
		image.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: h}}
	}
	doc.Packages = append(doc.Packages, image)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{
		RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", string(imageID)),
		Relationship: common.TypeRelationshipDescribe,
	})
	used := map[common.ElementID]bool{imageID: true}
	for _, p := range d.Packages {
		id := packageID(p.Name, p.Arch, used)
		sp := &spdx.Package{
			PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version,
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion,
			PackageCopyrightText: noAssertion,
			PackageComment:       keptComment(p.Kept, p.Total),
		}
		if p.PURL != "" {
			sp.PackageExternalReferences = []*spdx.PackageExternalReference{{
				Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: p.PURL,
			}}
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(imageID)), RefB: common.MakeDocElementID("", string(id)),
			Relationship: common.TypeRelationshipContains,
		})
	}
	if err := spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return fmt.Errorf("encoding SPDX: %w", err)
	}
	return nil
}

// packageID is an SPDX element id for a package ("Package-libc6-amd64"):
// characters SPDX ids do not allow become "-", and a clash gets a number.
func packageID(name, arch string, used map[common.ElementID]bool) common.ElementID {
	base := "Package-" + idChars(name)
	if arch != "" {
		base += "-" + idChars(arch)
	}
	id := common.ElementID(base)
	for i := 2; used[id]; i++ {
		id = common.ElementID(base + "-" + strconv.Itoa(i))
	}
	used[id] = true
	return id
}

// idChars maps s to the characters SPDX ids allow: letters, digits, ".", "-".
func idChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// namespaceName is the image name part of a document namespace: the
// reference with characters that would end or split a URI path mapped to "-".
func namespaceName(subject string) string {
	if subject == "" {
		return "image"
	}
	return strings.Map(func(r rune) rune {
		if r == '#' || r == '/' || r == ':' || r == '?' || r == ' ' {
			return '-'
		}
		return r
	}, subject)
}

func keptComment(kept, total int) string {
	if total > 0 {
		return fmt.Sprintf("pare: %d of %d files kept", kept, total)
	}
	return fmt.Sprintf("pare: %d of its files are in the image", kept)
}
