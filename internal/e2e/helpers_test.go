package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pare-dev/pare/internal/cli"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/shells"
	"github.com/pare-dev/pare/internal/testimages"
)

// pared images built by this package, removed by TestMain.
var (
	mu      sync.Mutex
	cache   = map[string]*pared{}
	created []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	mu.Lock()
	for _, tag := range created {
		_, _ = testimages.DockerErr(context.Background(), "rmi", "-f", tag)
	}
	mu.Unlock()
	os.Exit(code)
}

// pare runs the pare CLI in process and returns stdout, stderr and the exit code.
func pare(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Execute(t.Context(), append(args, "--quiet"), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func mustPare(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := pare(t, args...)
	if code != 0 {
		t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// pared is one fixture pared into the local engine.
type pared struct {
	name   string        // fixture name
	orig   string        // original image reference
	tag    string        // pared image reference
	flags  []string      // extra pare build flags
	report report.Report // the --report file
	ls     map[string]lsEntry
}

// listing returns pare ls of the pared image (once).
func (p *pared) listing(t *testing.T) map[string]lsEntry {
	t.Helper()
	if p.ls == nil {
		p.ls = listing(t, "docker-daemon:"+p.tag)
	}
	return p.ls
}

// buildPared runs `pare build docker-daemon:ORIG docker-daemon:pare-e2e/NAME:VARIANT
// --report FILE FLAGS...` once per process and returns the result.
func buildPared(t *testing.T, name, variant string, flags ...string) *pared {
	t.Helper()
	return buildFrom(t, testimages.Require(t, name), name, variant, flags...)
}

// buildFrom pares the image orig into pare-e2e/NAME:VARIANT, once per process.
func buildFrom(t *testing.T, orig, name, variant string, flags ...string) *pared {
	t.Helper()
	tag := testimages.TagPrefix + "pare-e2e/" + name + ":" + variant
	mu.Lock()
	p, ok := cache[tag]
	mu.Unlock()
	if ok {
		return p
	}
	reportFile := filepath.Join(t.TempDir(), "report.json")
	args := append([]string{"build", "docker-daemon:" + orig, "docker-daemon:" + tag, "--report", reportFile}, flags...)
	mu.Lock()
	created = append(created, tag)
	mu.Unlock()
	mustPare(t, args...)
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	p = &pared{name: name, orig: orig, tag: tag, flags: flags}
	if err := json.Unmarshal(b, &p.report); err != nil {
		t.Fatalf("%s: %v", reportFile, err)
	}
	mu.Lock()
	cache[tag] = p
	mu.Unlock()
	return p
}

// lsEntry is one entry of pare ls --output json.
type lsEntry struct {
	Path string `json:"path"`
	Type string `json:"type"`
	Mode string `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	Size int64  `json:"size"`
	Link string `json:"link,omitempty"`
}

// listing returns pare ls of ref, by path.
func listing(t *testing.T, ref string) map[string]lsEntry {
	t.Helper()
	var ents []lsEntry
	if err := json.Unmarshal([]byte(mustPare(t, "ls", ref, "--output", "json")), &ents); err != nil {
		t.Fatalf("pare ls %s: %v", ref, err)
	}
	m := make(map[string]lsEntry, len(ents))
	for _, e := range ents {
		m[e.Path] = e
	}
	return m
}

// imageConfig is the part of docker image inspect the tests read.
type imageConfig struct {
	Size   int64
	Config struct {
		User       string
		Entrypoint []string
		Cmd        []string
		Env        []string
		WorkingDir string
	}
}

func inspect(t *testing.T, ref string) imageConfig {
	t.Helper()
	var ic []imageConfig
	if err := json.Unmarshal([]byte(testimages.Docker(t, "image", "inspect", ref)), &ic); err != nil || len(ic) != 1 {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	return ic[0]
}

// batchRun is what a batch container shows.
type batchRun struct {
	Stdout string
	Stderr string
	Code   int
}

// runBatch runs image with --network none and returns its output and exit code.
func runBatch(t *testing.T, image string, runArgs ...string) batchRun {
	t.Helper()
	args := append([]string{"run", "--rm", "--network", "none"}, runArgs...)
	return dockerRun(t, append(args, image)...)
}

// dockerRun runs docker with args and returns what the container printed
// and its exit code; a docker that cannot run fails the test.
func dockerRun(t *testing.T, args ...string) batchRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := batchRun{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	// Exit codes 125-127 of docker run itself mean the container did not start
	// (126/127 can also be the program's); keep them, the comparison shows them.
	return r
}

// compareBatch runs the original and the pared image and compares stdout and
// exit code; it returns both runs.
func compareBatch(t *testing.T, p *pared) (batchRun, batchRun) {
	t.Helper()
	want := runBatch(t, p.orig)
	got := runBatch(t, p.tag)
	if want.Code != 0 || want.Stdout == "" {
		t.Fatalf("original %s: exit %d, stdout %q, stderr %q", p.orig, want.Code, want.Stdout, want.Stderr)
	}
	if got.Stdout != want.Stdout || got.Code != want.Code {
		t.Errorf("%s behaves differently from %s:\noriginal: exit %d, stdout:\n%s\npared: exit %d, stdout:\n%s\npared stderr:\n%s",
			p.tag, p.orig, want.Code, want.Stdout, got.Code, got.Stdout, got.Stderr)
	}
	return want, got
}

// serve starts image as a server on port (in a subtest, so that the
// container is removed and the port lock released when it ends) and
// returns what probe observed of the container id.
func serve(t *testing.T, label, image string, port int, probe func(t *testing.T, id string) []string) []string {
	t.Helper()
	var obs []string
	if !t.Run(label, func(t *testing.T) {
		id := testimages.RunServer(t, image, port)
		obs = probe(t, id)
	}) {
		t.FailNow()
	}
	return obs
}

// compareObservations reports each probe whose answer differs.
func compareObservations(t *testing.T, p *pared, want, got []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("no observations of %s", p.orig)
	}
	if len(want) != len(got) {
		t.Fatalf("%d observations of %s, %d of %s", len(want), p.orig, len(got), p.tag)
	}
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("probe %d differs:\n  original %s\n  pared    %s", i, want[i], got[i])
		}
	}
}

// checks are the per-fixture expectations of checkPared.
type checks struct {
	// shells that the program needs and the pared image keeps (base names).
	shells []string
}

var numericUser = regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`)

// shellNames are the programs no pared image should hold unless needed.
var shellNames = shells.Names()

// checkPared asserts what holds for every pared image: numeric non-root user, /tmp
// 1777, nonroot in /etc/passwd, no shell unless needed, smaller than the
// original, a reason for every path, a why chain ending in the entrypoint,
// and a reproducible digest.
func checkPared(t *testing.T, p *pared, c checks) {
	t.Helper()
	oi, pi := inspect(t, p.orig), inspect(t, p.tag)

	// Config.
	if !numericUser.MatchString(pi.Config.User) {
		t.Errorf("pared config User %q is not numeric", pi.Config.User)
	}
	if pi.Config.User != p.report.User {
		t.Errorf("pared config User %q, report says %q", pi.Config.User, p.report.User)
	}
	if uid, _, _ := strings.Cut(pi.Config.User, ":"); uid == "0" || uid == "" {
		t.Errorf("pared config User %q is root", pi.Config.User)
	}
	if !slices.Equal(pi.Config.Entrypoint, oi.Config.Entrypoint) || !slices.Equal(pi.Config.Cmd, oi.Config.Cmd) ||
		pi.Config.WorkingDir != oi.Config.WorkingDir || !slices.Equal(pi.Config.Env, oi.Config.Env) {
		t.Errorf("config not carried over: pared %+v, original %+v", pi.Config, oi.Config)
	}

	// Files.
	ls := p.listing(t)
	if e, ok := ls["/tmp"]; !ok || e.Type != "dir" || e.Mode != "1777" || e.UID != 0 || e.GID != 0 {
		t.Errorf("/tmp of the pared image is %+v (present %v), want a dir 1777 0:0", e, ok)
	}
	for _, dir := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"} {
		for _, sh := range shellNames {
			e, ok := ls[dir+"/"+sh]
			if !ok || slices.Contains(c.shells, sh) {
				continue
			}
			t.Errorf("pared image holds the shell %s/%s (%s): the program does not need it", dir, sh, e.Type)
		}
	}
	for _, sh := range c.shells {
		if !hasProgram(ls, sh) {
			t.Errorf("pared image lacks the shell %s that the program needs", sh)
		}
	}
	passwd := copyFile(t, p.tag, "/etc/passwd")
	if !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:[^:]*:/home/nonroot:`).MatchString(passwd) {
		t.Errorf("/etc/passwd of the pared image has no nonroot 65532:\n%s", passwd)
	}

	// Report: every kept path has a reason and a chain; every path of the
	// image is either kept with a reason or one of the files pare generates.
	kept := map[string]bool{}
	for _, k := range p.report.Kept {
		kept[k.Path] = true
		if len(k.Reasons) == 0 || k.Chain == "" {
			t.Errorf("report: %s kept without a reason (%+v)", k.Path, k)
		}
		if _, ok := ls[k.Path]; !ok {
			t.Errorf("report keeps %s but the pared image has no such path", k.Path)
		}
	}
	home := homeOf(passwd, pi.Config.User)
	var unexplained []string
	for pth := range ls {
		if pth == "/" || kept[pth] || generated(pth, home) {
			continue
		}
		unexplained = append(unexplained, pth)
	}
	slices.Sort(unexplained)
	if len(unexplained) > 0 {
		t.Errorf("the pared image holds %d paths the report does not explain: %v", len(unexplained), unexplained)
	}
	if len(p.report.Missing) > 0 {
		t.Errorf("report lists missing libraries: %v", p.report.Missing)
	}

	// Size.
	t.Logf("size of %s: original %d bytes, pared %d bytes (%.1f%%); files %d→%d",
		p.name, oi.Size, pi.Size, 100*float64(pi.Size)/float64(oi.Size), p.report.Before.Files, p.report.After.Files)
	fmt.Printf("SIZE %s original=%d pared=%d files=%d/%d\n", p.name, oi.Size, pi.Size, p.report.Before.Files, p.report.After.Files)
	if pi.Size >= oi.Size {
		t.Errorf("pared image (%d bytes) is not smaller than the original (%d bytes)", pi.Size, oi.Size)
	}

	checkWhy(t, p)
	checkReproducible(t, p)
}

// hasProgram reports whether a bin directory of ls holds name.
func hasProgram(ls map[string]lsEntry, name string) bool {
	for _, dir := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"} {
		if _, ok := ls[dir+"/"+name]; ok {
			return true
		}
	}
	return false
}

// generated reports whether p is a file pare build writes itself rather
// than keeps from the source: accounts, /tmp, home directories, the
// rewritten package database and their parent directories.
func generated(p, home string) bool {
	switch p {
	case "/etc", "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/nsswitch.conf", "/tmp", "/home", "/home/nonroot", "/root",
		"/var", "/var/lib", "/var/lib/dpkg", "/var/lib/dpkg/status.d":
		return true
	}
	return strings.HasPrefix(p, "/var/lib/dpkg/status.d/") || (home != "" && p == home)
}

// homeOf returns the home directory of the numeric user in passwd.
func homeOf(passwd, user string) string {
	uid, _, _ := strings.Cut(user, ":")
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && f[2] == uid {
			return path.Clean(f[5])
		}
	}
	return ""
}

// derivedImage builds pare-e2e/NAME:src from a Dockerfile (with --network
// none), once per process, and returns its reference.
func derivedImage(t *testing.T, name, dockerfile string) string {
	t.Helper()
	testimages.RequireDocker(t)
	tag := testimages.TagPrefix + "pare-e2e/" + name + ":src"
	mu.Lock()
	_, ok := cache[tag]
	mu.Unlock()
	if ok {
		return tag
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	created = append(created, tag)
	mu.Unlock()
	cmd := exec.CommandContext(t.Context(), "docker", "build", "-q", "--network", "none", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", tag, err, out)
	}
	mu.Lock()
	cache[tag] = &pared{name: name, orig: tag}
	mu.Unlock()
	return tag
}

// copyFile reads one file of image through the engine (docker create + docker cp).
func copyFile(t *testing.T, image, file string) string {
	t.Helper()
	id := strings.TrimSpace(testimages.Docker(t, "create", "--network", "none", image))
	defer testimages.DockerErr(context.Background(), "rm", "-f", id)
	dir := t.TempDir()
	testimages.Docker(t, "cp", id+":"+file, filepath.Join(dir, "f"))
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkWhy asks pare why (recomputing the closure from the original image)
// about a library of the main program and expects a chain that ends in the
// entrypoint and matches the report.
func checkWhy(t *testing.T, p *pared) {
	t.Helper()
	target, chain := whyTarget(p.report)
	if target == "" {
		t.Errorf("report keeps nothing for the entrypoint")
		return
	}
	out := mustPare(t, append([]string{"why", "docker-daemon:" + p.orig, target}, p.flags...)...)
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, target+" ← ") || !strings.HasSuffix(first, "← entrypoint") {
		t.Errorf("pare why %s printed %q, want a chain from it to the entrypoint", target, out)
	}
	if first != chain {
		t.Errorf("pare why %s printed %q, the report says %q", target, first, chain)
	}
	t.Logf("pare why %s", first)
}

// whyTarget picks a library needed by the program the entrypoint runs (or the
// program itself when it is static) and returns it with its report chain.
func whyTarget(r report.Report) (string, string) {
	roots := map[string]bool{}
	for _, k := range r.Kept {
		for _, rs := range k.Reasons {
			if rs.Kind == keptset.KindEntrypoint && k.Type == "file" {
				roots[k.Path] = true
			}
		}
	}
	// Interpreters of root scripts count as main programs too.
	for _, k := range r.Kept {
		for _, rs := range k.Reasons {
			if rs.Kind == keptset.KindShebang && roots[rs.From] {
				roots[k.Path] = true
			}
		}
	}
	var program, programChain string
	for _, k := range r.Kept {
		if roots[k.Path] && program == "" {
			program, programChain = k.Path, k.Chain
		}
		for _, rs := range k.Reasons {
			if rs.Kind == keptset.KindNeeded && roots[rs.From] {
				return k.Path, k.Chain
			}
		}
	}
	return program, programChain
}

// checkReproducible builds the same image again, into a docker-archive
// (like the daemon, a sink that gets the layer uncompressed: an OCI layout
// gets it compressed, another digest), and expects the same digest.
func checkReproducible(t *testing.T, p *pared) {
	t.Helper()
	dst := "docker-archive:" + filepath.Join(t.TempDir(), "again.tar")
	args := append([]string{"build", "docker-daemon:" + p.orig, dst, "--output", "json"}, p.flags...)
	var r report.Report
	if err := json.Unmarshal([]byte(mustPare(t, args...)), &r); err != nil {
		t.Fatal(err)
	}
	if r.Digest == "" || r.Digest != p.report.Digest {
		t.Errorf("building %s twice gave digests %s and %s", p.orig, p.report.Digest, r.Digest)
	}
}
