package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/pare"
)

// run runs pare with args and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(t.Context(), append(args, "--quiet"), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, args...)
	if code != 0 {
		t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func TestUsageAndBadInput(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "not-an-image.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	os.WriteFile(notImage, buf.Bytes(), 0o644)
	garbage := filepath.Join(dir, "garbage.tar")
	os.WriteFile(garbage, []byte("this is not a tar file at all"), 0o644)

	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"ls"}, ExitUsage, "takes at least 1"},
		{[]string{"ls", "docker-archive:x", "--bogus"}, ExitUsage, "unknown flag"},
		{[]string{"ls", "nosuch:thing"}, ExitUsage, "transport"},
		{[]string{"ls", "docker-archive:" + filepath.Join(dir, "missing.tar")}, ExitFailure, "missing.tar"},
		{[]string{"ls", "docker-archive:" + notImage}, ExitFailure, "not-an-image.tar"},
		{[]string{"ls", "docker-archive:" + garbage}, ExitFailure, "garbage.tar"},
		{[]string{"ls", "oci:" + dir}, ExitFailure, dir},
		{[]string{"ls", "dir:" + filepath.Join(dir, "nodir")}, ExitFailure, "nodir"},
		{[]string{"version", "--output", "yaml"}, ExitUsage, "--output"},
		// run and probe flags are checked before any image is read
		{[]string{"verify", "docker-archive:" + garbage, "docker-archive:x", "--run", "[bad"}, ExitUsage, "--run"},
		{[]string{"verify", "docker-archive:" + garbage, "docker-archive:x", "--http-probe", "nopath"}, ExitUsage, "--http-probe"},
		{[]string{"verify", "docker-archive:" + garbage, "docker-archive:x", "--network", "bogus"}, ExitUsage, "--network"},
		{[]string{"verify", "docker-archive:" + garbage, "nosuch:x"}, ExitUsage, "transport"},
		{[]string{"build", "docker-archive:" + garbage, "docker-archive:x", "--verify", "--tcp-probe", "0"}, ExitUsage, "--tcp-probe"},
	} {
		_, errOut, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("pare %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}

func TestFlattenFailureLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.tar")
	_, _, code := run(t, "flatten", "docker-archive:"+filepath.Join(dir, "missing.tar"), "docker-archive:"+dst)
	if code != ExitFailure {
		t.Fatalf("exit %d", code)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("a failed flatten left files: %v", ents)
	}
}

// exportedEntry is what both docker export and pare ls say of one path.
type exportedEntry struct {
	Type string
	Mode string
	UID  int
	GID  int
	Size int64
	Link string
}

// runtimeInjected are paths the container runtime adds to every container.
func runtimeInjected(p string) bool {
	switch p {
	case "/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab", "/dev", "/proc", "/sys", "/dev/console", "/dev/pts", "/dev/shm":
		return true
	}
	return strings.HasPrefix(p, "/dev/") || strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/sys/")
}

func dockerExportListing(t *testing.T, image string) map[string]exportedEntry {
	t.Helper()
	id := strings.TrimSpace(testimages.Docker(t, "create", "--network", "none", image))
	defer testimages.DockerErr(context.Background(), "rm", "-f", id)
	cmd := exec.CommandContext(t.Context(), "docker", "export", id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := map[string]exportedEntry{}
	sizes := map[string]int64{}
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if p == "/" || runtimeInjected(p) {
			continue
		}
		e := exportedEntry{UID: h.Uid, GID: h.Gid, Mode: octalMode(h.FileInfo().Mode())}
		switch h.Typeflag {
		case tar.TypeReg:
			e.Type, e.Size = "file", h.Size
			sizes[p] = h.Size
		case tar.TypeLink:
			target := "/" + strings.TrimPrefix(h.Linkname, "./")
			e.Type, e.Size = "file", sizes[target]
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeSymlink:
			e.Type, e.Link = "symlink", h.Linkname
		case tar.TypeChar:
			e.Type = "char"
		case tar.TypeBlock:
			e.Type = "block"
		case tar.TypeFifo:
			e.Type = "fifo"
		}
		got[p] = e
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return got
}

func paresListing(t *testing.T, ref string) map[string]exportedEntry {
	t.Helper()
	var ents []lsEntry
	if err := json.Unmarshal([]byte(mustRun(t, "ls", ref, "--output", "json")), &ents); err != nil {
		t.Fatal(err)
	}
	got := map[string]exportedEntry{}
	for _, e := range ents {
		if e.Path == "/" || runtimeInjected(e.Path) {
			continue
		}
		got[e.Path] = exportedEntry{Type: e.Type, Mode: e.Mode, UID: e.UID, GID: e.GID, Size: e.Size, Link: e.Link}
	}
	return got
}

// TestLsMatchesDockerExport is the acceptance test of the merged view: for a
// multi-layer image with deletions, replaced directories, hardlinks and odd
// modes, pare ls lists exactly what docker export of the same image holds.
func TestLsMatchesDockerExport(t *testing.T) {
	img := testimages.Require(t, "layers")
	want := dockerExportListing(t, img)
	for _, ref := range []string{"docker-daemon:" + img, "docker-archive:" + testimages.SaveArchive(t, img)} {
		got := paresListing(t, ref)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: pare ls differs from docker export (-docker +pare):\n%s", ref, d)
		}
	}
	if len(want) < 100 {
		t.Errorf("docker export listed only %d entries", len(want))
	}
}

// TestFlattenReproducibleAndRuns flattens the same image twice, expects the
// same digest, loads the result into Docker and runs it.
func TestFlattenReproducibleAndRuns(t *testing.T) {
	img := testimages.Require(t, "layers")
	archive := "docker-archive:" + testimages.SaveArchive(t, img)
	dir := t.TempDir()
	d1 := strings.TrimSpace(mustRun(t, "flatten", archive, "oci:"+filepath.Join(dir, "a")+":flat"))
	d2 := strings.TrimSpace(mustRun(t, "flatten", archive, "oci:"+filepath.Join(dir, "b")+":flat"))
	if d1 != d2 || !strings.HasPrefix(d1, "sha256:") {
		t.Fatalf("flatten digests differ: %s vs %s", d1, d2)
	}
	// Read back what pare wrote, then load it into the daemon.
	flatTag := testimages.TagPrefix + "pare-test/layers-flat:latest"
	mustRun(t, "flatten", "oci:"+filepath.Join(dir, "a")+":flat", "docker-daemon:"+flatTag)
	defer testimages.DockerErr(context.Background(), "rmi", "-f", flatTag)
	want := testimages.Docker(t, "run", "--rm", "--network", "none", img)
	got := testimages.Docker(t, "run", "--rm", "--network", "none", flatTag)
	if got != want || got == "" {
		t.Errorf("flattened image printed %q, original %q", got, want)
	}
	if n := strings.TrimSpace(testimages.Docker(t, "image", "inspect", "-f", "{{len .RootFS.Layers}}", flatTag)); n != "1" {
		t.Errorf("flattened image has %s layers", n)
	}
	if d := cmp.Diff(paresListing(t, "docker-daemon:"+img), paresListing(t, "docker-daemon:"+flatTag)); d != "" {
		t.Errorf("flattened filesystem differs (-orig +flat):\n%s", d)
	}
}

// TestTransportsRoundTrip writes an image to every writable transport and
// reads it back: the file listing must survive.
func TestTransportsRoundTrip(t *testing.T) {
	img := testimages.Require(t, "layers")
	dir := t.TempDir()
	want := paresListing(t, "docker-daemon:"+img)
	refs := []string{
		"docker-archive:" + filepath.Join(dir, "img.tar"),
		"oci:" + filepath.Join(dir, "layout") + ":v1",
		"docker-daemon:pare-test/roundtrip:latest",
	}
	defer testimages.DockerErr(context.Background(), "rmi", "-f", testimages.TagPrefix+"pare-test/roundtrip:latest")
	src := "docker-daemon:" + img
	for _, ref := range refs {
		mustRun(t, "flatten", src, ref)
		if d := cmp.Diff(want, paresListing(t, ref)); d != "" {
			t.Errorf("%s: listing after round trip differs:\n%s", ref, d)
		}
		src = ref // chain: each read is of what pare wrote before
	}
	// dir: read what pare export wrote.
	root := filepath.Join(dir, "rootfs")
	mustRun(t, "export", src, root)
	got := paresListing(t, "dir:"+root)
	for p, e := range want {
		if e.Type == "char" || e.Type == "block" || e.Type == "fifo" {
			continue
		}
		g, ok := got[p]
		if !ok {
			t.Errorf("dir: round trip lost %s", p)
			continue
		}
		if e.Type != "dir" && g != e {
			t.Errorf("dir: %s = %+v, want %+v", p, g, e)
		}
	}
}

// TestVerify builds a pared image and checks that verify finds it behaves
// like the original, and that it reports a broken one (cplugin without the
// plugin it reads from a config file and dlopens).
func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		flags   []string
		same    bool
	}{{"sqlite", nil, true}, {"cplugin", []string{"--exclude", "/opt/cplugin/plugins/**"}, false}} {
		img := testimages.Require(t, tc.fixture)
		pared := testimages.TagPrefix + "pare-test/verify-" + tc.fixture + ":pared"
		mustRun(t, append([]string{"build", "docker-daemon:" + img, "docker-daemon:" + pared}, tc.flags...)...)
		defer testimages.DockerErr(context.Background(), "rmi", "-f", pared)
		out, errOut, code := run(t, "verify", "docker-daemon:"+img, "docker-daemon:"+pared, "--run-to-exit", "--output", "json")
		var res pare.VerifyResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v\n%s%s", tc.fixture, err, out, errOut)
		}
		if res.Same != tc.same || (code == 0) != tc.same {
			t.Errorf("%s: verify said same=%v (exit %d), want %v: %+v", tc.fixture, res.Same, code, tc.same, res.Differences)
		}
		if len(res.Original) == 0 || len(res.Original) != len(res.Pared) {
			t.Errorf("%s: probe results %d vs %d", tc.fixture, len(res.Original), len(res.Pared))
		}
	}
}

// TestBuildVerify pares and verifies in one step.
func TestBuildVerify(t *testing.T) {
	img := testimages.Require(t, "bashscript")
	pared := testimages.TagPrefix + "pare-test/build-verify:pared"
	defer testimages.DockerErr(context.Background(), "rmi", "-f", pared)
	out := mustRun(t, "build", "docker-daemon:"+img, "docker-daemon:"+pared, "--verify", "--run-to-exit", "--output", "json")
	var rep struct {
		Verify *struct {
			Same   bool `json:"same"`
			Probes int  `json:"probes"`
		} `json:"verify"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verify == nil || !rep.Verify.Same || rep.Verify.Probes != 1 {
		t.Errorf("verify = %+v", rep.Verify)
	}
}

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`'1 gallon' liter`, []string{"1 gallon", "liter"}},
		{`-c "a \"b\" c" x\ y ''`, []string{"-c", `a "b" c`, "x y", ""}},
		{"  a\tb  ", []string{"a", "b"}},
	} {
		got, err := shellWords(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := shellWords(`'open`); err == nil {
		t.Error("an unterminated quote is not an error")
	}
}
