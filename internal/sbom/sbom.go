// Package sbom writes the software bill of materials of an image: the OS
// packages that still have files in it, as CycloneDX 1.6 JSON or SPDX 2.3
// JSON. Both formats list the same packages with the same package URLs and
// versions, and both are deterministic: the timestamp is an epoch the caller
// gives (SOURCE_DATE_EPOCH) and the serial number / document namespace are
// derived from the image digest or, without one, from the document's content.
package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Format is an SBOM format.
type Format string

// Formats.
const (
	FormatCycloneDX Format = "cyclonedx" // CycloneDX 1.6 JSON
	FormatSPDX      Format = "spdx"      // SPDX 2.3 JSON
)

// ParseFormat accepts "cyclonedx" (also "cdx", "") and "spdx" (also
// "spdx-json").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "cyclonedx", "cdx", "cyclonedx-json":
		return FormatCycloneDX, nil
	case "spdx", "spdx-json":
		return FormatSPDX, nil
	}
	return "", fmt.Errorf("unknown SBOM format %q (want spdx or cyclonedx)", s)
}

// Document is what an SBOM says about one image.
type Document struct {
	// Subject names the image ("docker-daemon:app:pared").
	Subject string
	// Digest is the image's manifest digest ("sha256:..."), "" when unknown.
	Digest string
	// OS is the PRETTY_NAME of the image's os-release.
	OS string
	// Packages are the OS packages that still have files, in a stable order.
	// Total is 0 when the package's full size is not known (an SBOM read
	// from an image rather than from a build).
	Packages []report.Package
	// Created is the document's timestamp.
	Created time.Time
}

// FromReport is the document of a pared image described by r.
func FromReport(r *report.Report, subject, digest string, created time.Time) *Document {
	return &Document{Subject: subject, Digest: digest, OS: r.OS, Packages: r.Packages, Created: created}
}

// Packages returns the OS identity (PRETTY_NAME) and the packages of the
// image v that still have files, as its dpkg (status, or distroless-style
// status.d) or apk database says: a package is listed when a file its
// database lists exists in v (a file listed under /bin, /lib, ... may be
// in /usr only: usr-merge), or when its database lists no files at all (a
// status.d stanza without md5sums: the database is the only claim). An
// image without a database has no packages.
func Packages(v *rootfs.View) (string, []report.Package, error) {
	db, err := pkgdb.Read(v)
	if err != nil {
		return "", nil, fmt.Errorf("reading the package database: %w", err)
	}
	if db.Type == "" {
		return "", nil, nil
	}
	osID := pkgdb.ReadOS(v)
	var out []report.Package
	for _, u := range db.Usage(v, func(string) bool { return true }) {
		n := u.KeptFiles
		if n == 0 {
			n = usrMerged(v, u.Files)
		}
		if n == 0 && len(u.Files) > 0 {
			continue
		}
		out = append(out, report.Package{Name: u.Name, Version: u.Version, Arch: u.Arch, PURL: u.PURL(osID), Kept: n})
	}
	return osID.Pretty, out, nil
}

// mergedDirs are the top directories that a usr-merged Debian or Alpine
// root makes links into /usr; packages still list files under them.
var mergedDirs = []string{"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"}

// usrMerged counts the files of a package listed under a usr-merged top
// directory that v has only under /usr: a pared image keeps the /lib link
// only when a path goes through it, yet /lib/x/libfoo.so.1 is still there
// as /usr/lib/x/libfoo.so.1.
func usrMerged(v *rootfs.View, files []string) int {
	n := 0
	for _, f := range files {
		for _, d := range mergedDirs {
			if !strings.HasPrefix(f, d) {
				continue
			}
			if e, err := v.Lstat("/usr" + f); err == nil && e.Type != rootfs.TypeDir {
				n++
			}
		}
	}
	return n
}

// Write writes d in format f.
func Write(w io.Writer, f Format, d *Document) error {
	switch f {
	case FormatCycloneDX, "":
		return CycloneDX(w, d)
	case FormatSPDX:
		return SPDX(w, d)
	}
	return fmt.Errorf("unknown SBOM format %q", f)
}

// uuid returns the document's identity as a UUID: the first 128 bits of
// the image's sha256 digest, or of a sha256 over the subject and the
// packages' purls when there is no digest. The same image gives the same
// UUID in both formats.
func (d *Document) uuid() string {
	h, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok || len(h) < 32 || !isHex(h[:32]) {
		s := sha256.New()
		fmt.Fprintf(s, "%s\x00%s\x00", d.Subject, d.Digest)
		for _, p := range d.Packages {
			fmt.Fprintf(s, "%s\x00%s\x00%s\x00", p.Name, p.Arch, p.PURL)
		}
		h = hex.EncodeToString(s.Sum(nil))
	}
	h = strings.ToLower(h)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
