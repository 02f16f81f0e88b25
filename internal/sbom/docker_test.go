package sbom_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/cli"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/sbom"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/pare"
)

func runPare(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := cli.Execute(t.Context(), append(args, "--quiet"), &stdout, &stderr); code != 0 {
		t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDockerPared pares the nginx fixture and checks that the SBOMs of
// pare build --sbom and of pare sbom on the pared image, in both formats,
// validate and list the same packages: those of the original image's
// database of which a file is in the pared image.
func TestDockerPared(t *testing.T) {
	img := testimages.Require(t, "nginx")
	dir := t.TempDir()
	pared := "docker-archive:" + filepath.Join(dir, "pared.tar")
	docs := map[string][]byte{}
	for _, f := range []sbom.Format{sbom.FormatCycloneDX, sbom.FormatSPDX} {
		file := filepath.Join(dir, "build."+string(f)+".json")
		dst := "docker-archive:" + filepath.Join(dir, string(f)+".tar")
		if f == sbom.FormatSPDX {
			dst = pared
		}
		runPare(t, "build", "docker-daemon:"+img, dst, "--sbom", file, "--sbom-format", string(f), "--report", filepath.Join(dir, "report.json"))
		docs["build --sbom-format "+string(f)] = readFile(t, file)
	}
	for _, f := range []sbom.Format{sbom.FormatCycloneDX, sbom.FormatSPDX} {
		docs["sbom --format "+string(f)] = []byte(runPare(t, "sbom", pared, "--format", string(f)))
	}
	out := filepath.Join(dir, "out.spdx.json")
	runPare(t, "sbom", pared, "--format", "spdx", "-o", out)
	if !bytes.Equal(readFile(t, out), docs["sbom --format spdx"]) {
		t.Error("pare sbom -o FILE differs from its standard output")
	}

	// What should be listed, worked out from the original's database and
	// the pared image's files (not from the pared image's database).
	orig, err := pare.Open(t.Context(), "docker-daemon:"+img, pare.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	pv, err := pare.Open(t.Context(), pared, pare.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pv.Close()
	db, err := pkgdb.Read(orig.View)
	if err != nil {
		t.Fatal(err)
	}
	osID := pkgdb.ReadOS(orig.View)
	var want []pkg
	for _, u := range pkgdb.Remaining(db.Usage(orig.View, func(p string) bool {
		_, err := pv.View.Lstat(p)
		return err == nil
	})) {
		want = append(want, pkg{u.Name, u.Version, u.PURL(osID)})
	}
	sortPkgs(want)
	names := map[string]bool{}
	for _, p := range want {
		names[p.Name] = true
	}
	if !names["libc6"] || !names["nginx"] || names["dpkg"] || names["bash"] || len(want) >= len(db.Packages) {
		t.Fatalf("expected set looks wrong: %d of %d packages: %v", len(want), len(db.Packages), want)
	}
	t.Logf("%d of the original's %d packages still have files", len(want), len(db.Packages))

	var rep report.Report
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "report.json")), &rep); err != nil {
		t.Fatal(err)
	}
	var fromReport []pkg
	for _, p := range rep.Packages {
		fromReport = append(fromReport, pkg{p.Name, p.Version, p.PURL})
	}
	sortPkgs(fromReport)
	if d := cmp.Diff(want, fromReport); d != "" {
		t.Errorf("report packages (-want +got):\n%s", d)
	}

	for name, doc := range docs {
		f := sbom.FormatCycloneDX
		if strings.HasSuffix(name, "spdx") {
			f = sbom.FormatSPDX
		}
		if err := sbom.ValidateJSON(t, f, doc); err != nil {
			t.Errorf("%s: not valid against the official schema: %v", name, err)
			continue
		}
		var p parsed
		if f == sbom.FormatSPDX {
			p = parseSPDX(t, doc)
		} else {
			p = parseCycloneDX(t, doc)
		}
		sortPkgs(p.Packages)
		if d := cmp.Diff(want, p.Packages); d != "" {
			t.Errorf("%s packages (-want +got):\n%s", name, d)
		}
	}
}

func sortPkgs(ps []pkg) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].PURL < ps[j].PURL })
}
