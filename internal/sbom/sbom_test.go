package sbom_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/sbom"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const osRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"

func stanza(name, version, arch, extra string) string {
	return "Package: " + name + "\nStatus: install ok installed\nArchitecture: " + arch + "\nVersion: " + version + "\n" + extra
}

// fatDeb is a usr-merged image with a classic dpkg database: libc6 and
// bash have files, gone's files were all deleted by a later layer, old is
// removed with only its config left.
func fatDeb() *rootfs.View {
	m := rootfs.NewMem()
	m.AddDir("/usr/bin", 0o755).AddDir("/usr/lib/x86_64-linux-gnu", 0o755)
	m.AddSymlink("/bin", "usr/bin").AddSymlink("/lib", "usr/lib")
	m.AddFile("/usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, []byte("libc"))
	m.AddFile("/usr/bin/bash", 0o755, []byte("bash"))
	m.AddFile("/usr/lib/os-release", 0o644, []byte(osRelease))
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(
		stanza("libc6", "2.36-9+deb12u14", "amd64", "Source: glibc\n")+"\n"+
			stanza("bash", "5.2.15-2+b9", "amd64", "Source: bash (5.2.15-2)\n")+"\n"+
			stanza("gone", "1.0-1", "all", "")+"\n"+
			"Package: old\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 0.9\n"))
	m.AddFile("/var/lib/dpkg/info/libc6:amd64.list", 0o644, []byte("/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n/usr/share/doc/libc6/copyright\n"))
	m.AddFile("/var/lib/dpkg/info/bash.list", 0o644, []byte("/.\n/bin\n/bin/bash\n"))
	m.AddFile("/var/lib/dpkg/info/gone.list", 0o644, []byte("/.\n/usr\n/usr/share/gone/data\n"))
	return m.View()
}

// paredDeb is a pared image: distroless-style status.d, md5sums listing
// the kept files only; base-files has no md5sums (its stanza is the only
// record), dropped has an md5sums whose file is not in the image.
func paredDeb() *rootfs.View {
	m := rootfs.NewMem()
	m.AddDir("/usr/lib/x86_64-linux-gnu", 0o755)
	m.AddSymlink("/lib", "usr/lib")
	m.AddFile("/usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, []byte("libc"))
	m.AddFile("/etc/os-release", 0o644, []byte(osRelease))
	d := "/var/lib/dpkg/status.d/"
	m.AddFile(d+"libc6", 0o644, []byte(stanza("libc6", "2.36-9+deb12u14", "amd64", "Source: glibc\n")))
	m.AddFile(d+"libc6.md5sums", 0o644, []byte("0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n"))
	m.AddFile(d+"base-files", 0o644, []byte(stanza("base-files", "12.4+deb12u12", "amd64", "")))
	// /sbin -> usr/sbin is not kept: the file is only at /usr/sbin/tool
	m.AddFile("/usr/sbin/tool", 0o755, []byte("tool"))
	m.AddFile(d+"tool", 0o644, []byte(stanza("tool", "2.0", "amd64", "")))
	m.AddFile(d+"tool.md5sums", 0o644, []byte("0123456789abcdef0123456789abcdef  sbin/tool\n"))
	m.AddFile(d+"dropped", 0o644, []byte(stanza("dropped", "3", "amd64", "")))
	m.AddFile(d+"dropped.md5sums", 0o644, []byte("0123456789abcdef0123456789abcdef  usr/bin/dropped\n"))
	return m.View()
}

func apkImage() *rootfs.View {
	m := rootfs.NewMem()
	m.AddFile("/lib/ld-musl-x86_64.so.1", 0o755, []byte("musl"))
	m.AddFile("/etc/os-release", 0o644, []byte("ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"))
	m.AddFile("/lib/apk/db/installed", 0o644, []byte(
		"P:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n"+
			"P:busybox\nV:1.36.1-r29\nA:x86_64\nL:GPL-2.0-only\nF:bin\nR:busybox\n\n"))
	return m.View()
}

type pkg struct{ Name, Version, PURL string }

func TestPackages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		view   *rootfs.View
		os     string
		want   []pkg
		counts []int
	}{
		{"dpkg status", fatDeb(), "Debian GNU/Linux 12 (bookworm)", []pkg{
			{"bash", "5.2.15-2+b9", "pkg:deb/debian/bash@5.2.15-2%2Bb9?arch=amd64&distro=debian-12"},
			{"libc6", "2.36-9+deb12u14", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc"},
		}, []int{1, 1}},
		{"dpkg status.d", paredDeb(), "Debian GNU/Linux 12 (bookworm)", []pkg{
			{"base-files", "12.4+deb12u12", "pkg:deb/debian/base-files@12.4%2Bdeb12u12?arch=amd64&distro=debian-12"},
			{"libc6", "2.36-9+deb12u14", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc"},
			{"tool", "2.0", "pkg:deb/debian/tool@2.0?arch=amd64&distro=debian-12"},
		}, []int{0, 1, 1}},
		{"apk", apkImage(), "Alpine Linux v3.20", []pkg{
			{"musl", "1.2.5-r0", "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"},
		}, []int{1}},
		{"no database", rootfs.NewMem().AddFile("/app", 0o755, []byte("x")).View(), "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			osName, ps, err := sbom.Packages(tc.view)
			if err != nil {
				t.Fatal(err)
			}
			if osName != tc.os {
				t.Errorf("os = %q, want %q", osName, tc.os)
			}
			var got []pkg
			var counts []int
			for _, p := range ps {
				got = append(got, pkg{p.Name, p.Version, p.PURL})
				counts = append(counts, p.Kept)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("packages (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.counts, counts); d != "" {
				t.Errorf("file counts (-want +got):\n%s", d)
			}
		})
	}
}

// parsed is what both formats must agree on.
type parsed struct {
	ID       string // serial number / document namespace
	Created  string
	Subject  string
	Packages []pkg
}

func parseCycloneDX(t *testing.T, b []byte) parsed {
	t.Helper()
	var doc struct {
		BOMFormat, SpecVersion, SerialNumber string
		Metadata                             struct {
			Timestamp string
			Component struct{ Name, Type string }
		}
		Components []struct {
			Name, Version, Purl, Type string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.6" || doc.Metadata.Component.Type != "container" {
		t.Errorf("CycloneDX header = %+v", doc)
	}
	p := parsed{ID: doc.SerialNumber, Created: doc.Metadata.Timestamp, Subject: doc.Metadata.Component.Name}
	for _, c := range doc.Components {
		p.Packages = append(p.Packages, pkg{c.Name, c.Version, c.Purl})
	}
	return p
}

func parseSPDX(t *testing.T, b []byte) parsed {
	t.Helper()
	var doc struct {
		SPDXVersion       string `json:"spdxVersion"`
		Name              string `json:"name"`
		DocumentNamespace string `json:"documentNamespace"`
		CreationInfo      struct{ Created string }
		Packages          []struct {
			SPDXID, Name, VersionInfo, PrimaryPackagePurpose string
			ExternalRefs                                     []struct {
				ReferenceCategory, ReferenceType, ReferenceLocator string
			}
		}
		Relationships []struct {
			SpdxElementID, RelatedSpdxElement, RelationshipType string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion = %q", doc.SPDXVersion)
	}
	p := parsed{ID: doc.DocumentNamespace, Created: doc.CreationInfo.Created, Subject: doc.Name}
	contained := map[string]bool{}
	image := ""
	for _, r := range doc.Relationships {
		switch r.RelationshipType {
		case "DESCRIBES":
			image = r.RelatedSpdxElement
		case "CONTAINS":
			contained[r.RelatedSpdxElement] = true
		}
	}
	for _, sp := range doc.Packages {
		if sp.SPDXID == image {
			if sp.PrimaryPackagePurpose != "CONTAINER" {
				t.Errorf("described package %s has purpose %q", sp.SPDXID, sp.PrimaryPackagePurpose)
			}
			continue
		}
		if !contained[sp.SPDXID] {
			t.Errorf("package %s is not CONTAINED by the image", sp.SPDXID)
		}
		purl := ""
		for _, r := range sp.ExternalRefs {
			if r.ReferenceCategory == "PACKAGE-MANAGER" && r.ReferenceType == "purl" {
				purl = r.ReferenceLocator
			}
		}
		p.Packages = append(p.Packages, pkg{sp.Name, sp.VersionInfo, purl})
	}
	return p
}

func write(t *testing.T, f sbom.Format, d *sbom.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := sbom.Write(&b, f, d); err != nil {
		t.Fatal(err)
	}
	if err := sbom.ValidateJSON(t, f, b.Bytes()); err != nil {
		t.Fatalf("%s output does not validate against the official schema: %v\n%s", f, err, b.Bytes())
	}
	return b.Bytes()
}

func TestFormatsAgreeAndValidate(t *testing.T) {
	created := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name   string
		view   *rootfs.View
		digest string
	}{
		{"dpkg status", fatDeb(), "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"dpkg status.d", paredDeb(), ""},
		{"apk", apkImage(), ""},
		{"no database", rootfs.NewMem().AddFile("/app", 0o755, []byte("x")).View(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			osName, ps, err := sbom.Packages(tc.view)
			if err != nil {
				t.Fatal(err)
			}
			d := &sbom.Document{Subject: "docker-archive:/tmp/app image.tar", Digest: tc.digest, OS: osName, Packages: ps, Created: created}
			var want []pkg
			for _, p := range ps {
				want = append(want, pkg{p.Name, p.Version, p.PURL})
			}
			c := parseCycloneDX(t, write(t, sbom.FormatCycloneDX, d))
			s := parseSPDX(t, write(t, sbom.FormatSPDX, d))
			for name, p := range map[string]parsed{"CycloneDX": c, "SPDX": s} {
				if d := cmp.Diff(want, p.Packages); d != "" {
					t.Errorf("%s packages (-want +got):\n%s", name, d)
				}
				if p.Created != "2023-11-14T22:13:20Z" {
					t.Errorf("%s created = %q", name, p.Created)
				}
				if p.Subject != d.Subject {
					t.Errorf("%s subject = %q", name, p.Subject)
				}
			}
			// one identity in both formats
			uuid := strings.TrimPrefix(c.ID, "urn:uuid:")
			if len(uuid) != 36 || !strings.HasSuffix(s.ID, "-"+uuid) || !strings.HasPrefix(s.ID, "https://") || strings.Contains(s.ID, "#") {
				t.Errorf("serial %q, namespace %q", c.ID, s.ID)
			}
			if tc.digest != "" && uuid != "01234567-89ab-cdef-0123-456789abcdef" {
				t.Errorf("serial %q not derived from the digest", c.ID)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	osName, ps, err := sbom.Packages(fatDeb())
	if err != nil {
		t.Fatal(err)
	}
	doc := func(ps []report.Package) *sbom.Document {
		return &sbom.Document{Subject: "oci:out:app", OS: osName, Packages: ps, Created: time.Unix(0, 0)}
	}
	for _, f := range []sbom.Format{sbom.FormatCycloneDX, sbom.FormatSPDX} {
		a, b := write(t, f, doc(ps)), write(t, f, doc(ps))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs differ", f)
		}
		// without a digest the identity follows the content
		other := write(t, f, doc(ps[:1]))
		idA, idB := identity(t, f, a), identity(t, f, other)
		if idA == idB {
			t.Errorf("%s: different package sets share the identity %s", f, idA)
		}
	}
}

func identity(t *testing.T, f sbom.Format, b []byte) string {
	if f == sbom.FormatSPDX {
		return parseSPDX(t, b).ID
	}
	return parseCycloneDX(t, b).ID
}

// The schemas reject what they should: the validation can fail.
func TestSchemasReject(t *testing.T) {
	for _, tc := range []struct {
		f   sbom.Format
		doc string
	}{
		{sbom.FormatSPDX, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://x/y","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: pare"]},"packages":[{"SPDXID":"SPDXRef-a","name":"a"}]}`},
		{sbom.FormatSPDX, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://x/y","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: pare"]},"packages":[{"SPDXID":"SPDXRef-a","name":"a","downloadLocation":"NOASSERTION","primaryPackagePurpose":"NONSENSE"}]}`},
		{sbom.FormatSPDX, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://x/y","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: pare"],"tool":"pare"}}`},
		{sbom.FormatSPDX, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: pare"]}}`},
		{sbom.FormatCycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"nonsense","name":"x"}]}`},
		{sbom.FormatCycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:not-a-uuid"}`},
	} {
		if err := sbom.ValidateJSON(t, tc.f, []byte(tc.doc)); err == nil {
			t.Errorf("%s schema accepts %s", tc.f, tc.doc)
		}
	}
	// and accept a minimal valid document of each
	for f, doc := range map[sbom.Format]string{
		sbom.FormatSPDX:      `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://x/y","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: pare"]}}`,
		sbom.FormatCycloneDX: `{"bomFormat":"CycloneDX","specVersion":"1.6"}`,
	} {
		if err := sbom.ValidateJSON(t, f, []byte(doc)); err != nil {
			t.Errorf("%s schema rejects a minimal document: %v", f, err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]sbom.Format{"": sbom.FormatCycloneDX, "cyclonedx": sbom.FormatCycloneDX, "SPDX": sbom.FormatSPDX, "spdx-json": sbom.FormatSPDX} {
		if got, err := sbom.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := sbom.ParseFormat("swid"); err == nil {
		t.Error("ParseFormat(swid) accepted")
	}
}
