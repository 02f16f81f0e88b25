package pkgdb

import (
	"github.com/package-url/packageurl-go"
	"github.com/pare-dev/pare/pkg/rootfs"
	"strings"
)

// OS is the operating system identity of an image, from os-release.
type OS struct {
	ID        string `json:"id"`         // "debian", "alpine"
	VersionID string `json:"version_id"` // "12", "3.20.3"
	Pretty    string `json:"pretty_name,omitempty"`
}

// ReadOS reads /etc/os-release (or /usr/lib/os-release). A missing file gives
// a zero OS.
func ReadOS(v *rootfs.View) OS {
	var data []byte
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if b, err := v.ReadFile(p, 1<<20); err == nil {
			data = b
			break
		}
	}
	var o OS
	for line := range strings.Lines(string(data)) {
		k, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		val = strings.Trim(val, `"'`)
		switch k {
		case "ID":
			o.ID = val
		case "VERSION_ID":
			o.VersionID = val
		case "PRETTY_NAME":
			o.Pretty = val
		}
	}
	return o
}

// PURL returns the package URL of p on os, as scanners write it:
// pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12, or
// pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3.
func (p *Package) PURL(os OS) string {
	ns := os.ID
	if ns == "" {
		ns = map[string]string{TypeDeb: "debian", TypeApk: "alpine"}[p.Type]
	}
	q := map[string]string{}
	if p.Arch != "" {
		q["arch"] = p.Arch
	}
	if os.ID != "" && os.VersionID != "" {
		q["distro"] = os.ID + "-" + os.VersionID
	}
	if p.Source != "" && p.Source != p.Name && p.Type == TypeDeb {
		src := p.Source
		if p.SourceVersion != "" {
			src += "@" + p.SourceVersion
		}
		q["upstream"] = src
	}
	return packageurl.NewPackageURL(p.Type, ns, p.Name, p.Version, packageurl.QualifiersFromMap(q), "").ToString()
}
