package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSBOMUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sbom"}, "takes 1"},
		{[]string{"sbom", "dir:/nonexistent", "--format", "swid"}, "unknown SBOM format"},
		{[]string{"build", "dir:/nonexistent", "docker-archive:x", "--sbom", "x", "--sbom-format", "swid"}, "--sbom-format"},
	} {
		_, errOut, code := run(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("pare %s: exit %d, stderr %q; want exit %d with %q", strings.Join(tc.args, " "), code, errOut, ExitUsage, tc.want)
		}
	}
}

// TestSBOMDir writes the SBOM of a root directory with a dpkg database in
// both formats, to stdout and with -o.
func TestSBOMDir(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/os-release", "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
	write("usr/bin/hello", "hello")
	write("var/lib/dpkg/status", "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\n\n"+
		"Package: gone\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n")
	write("var/lib/dpkg/info/hello.list", "/.\n/usr\n/usr/bin\n/usr/bin/hello\n")
	write("var/lib/dpkg/info/gone.list", "/.\n/usr/bin/gone\n")
	t.Setenv("SOURCE_DATE_EPOCH", "86400")
	const purl = "pkg:deb/debian/hello@2.10-3?arch=amd64&distro=debian-12"

	var cdx struct {
		Metadata   struct{ Timestamp string }
		Components []struct{ Name, Purl string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, "sbom", "dir:"+root)), &cdx); err != nil {
		t.Fatal(err)
	}
	if len(cdx.Components) != 1 || cdx.Components[0].Purl != purl || cdx.Metadata.Timestamp != "1970-01-02T00:00:00Z" {
		t.Errorf("CycloneDX = %+v", cdx)
	}

	out := filepath.Join(t.TempDir(), "sbom.spdx.json")
	if stdout := mustRun(t, "sbom", "dir:"+root, "--format", "spdx", "-o", out); stdout != "" {
		t.Errorf("stdout with -o: %q", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var spdx struct {
		SPDXVersion  string `json:"spdxVersion"`
		CreationInfo struct{ Created string }
		Packages     []struct {
			Name         string
			ExternalRefs []struct{ ReferenceLocator string }
		}
	}
	if err := json.Unmarshal(b, &spdx); err != nil {
		t.Fatal(err)
	}
	var purls []string
	for _, p := range spdx.Packages {
		for _, r := range p.ExternalRefs {
			purls = append(purls, r.ReferenceLocator)
		}
	}
	if spdx.SPDXVersion != "SPDX-2.3" || spdx.CreationInfo.Created != "1970-01-02T00:00:00Z" || len(purls) != 1 || purls[0] != purl {
		t.Errorf("SPDX = %s", b)
	}
}
