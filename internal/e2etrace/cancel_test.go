package e2etrace

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/internal/trace"
)

// leftContainers lists the containers pare made in this process (trace,
// user look-up, probe runs) that still exist.
func leftContainers(t *testing.T) []string {
	t.Helper()
	out := testimages.Docker(t, "ps", "-a", "-q", "--filter", "label="+trace.RoleLabel,
		"--filter", "label="+engine.OwnerLabel+"="+engine.OwnerValue)
	return strings.Fields(out)
}

// TestTraceCancel starts pare trace on a server for a minute, cancels it
// once the traced server answers, and expects pare to fail at once and to
// leave neither a container nor a temp dir behind.
func TestTraceCancel(t *testing.T) {
	img := testimages.Require(t, "python")
	sensorBin := sensor(t)
	port := testimages.Ports["python"]
	testimages.LockPort(t, port)
	if ids := leftContainers(t); len(ids) != 0 {
		t.Fatalf("containers of this process exist before the test: %v", ids)
	}
	envTmp := t.TempDir()
	t.Setenv("TMPDIR", envTmp)
	tmp := t.TempDir()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		stdout, stderr string
		code           int
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, code := pare(ctx, "trace", "docker-daemon:"+img, "--duration", "60s",
			"--http-probe", "/:8082", "--sensor", sensorBin, "--temp-dir", tmp)
		done <- result{stdout, stderr, code}
	}()

	// Cancel once the traced container runs and its server answers: pare
	// is then inside the 60 s duration.
	var running []string
	sawTemp, sawEnvTemp := false, false
	deadline := time.Now().Add(2 * time.Minute)
	for len(running) == 0 || !answers(port) {
		select {
		case r := <-done:
			t.Fatalf("pare trace ended before it was cancelled: exit %d\n%s", r.code, tail(r.stderr, 20))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the traced server did not come up")
		}
		running = strings.Fields(testimages.Docker(t, "ps", "-q", "--filter", "label="+trace.RoleLabel+"=trace",
			"--filter", "label="+engine.OwnerLabel+"="+engine.OwnerValue))
		sawTemp = sawTemp || hasTraceDir(tmp)
		sawEnvTemp = sawEnvTemp || hasTraceDir(envTmp)
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("pare trace did not return after cancellation")
	}

	if r.code == 0 {
		t.Errorf("cancelled pare trace exited 0:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "context canceled") {
		t.Errorf("stderr does not say it was cancelled:\n%s", tail(r.stderr, 10))
	}
	if ids := leftContainers(t); len(ids) != 0 {
		t.Errorf("containers left after cancellation: %v", ids)
		for _, id := range ids {
			_, _ = testimages.DockerErr(context.Background(), "rm", "-f", id)
		}
	}
	if answers(port) {
		t.Errorf("something still answers on port %d after cancellation", port)
	}
	for _, dir := range []string{tmp, envTmp} {
		if names := tempEntries(t, dir); len(names) != 0 {
			t.Errorf("left in temp dir %s: %v", dir, names)
		}
	}
	// The observation dir is a temporary file like any other: it belongs
	// under --temp-dir.
	if !sawTemp {
		t.Errorf("no pare-trace-* dir appeared under --temp-dir %s while tracing (seen under $TMPDIR: %v)", tmp, sawEnvTemp)
	}
}

// answers reports whether a server accepts connections on 127.0.0.1:port.
func answers(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestSeccompOut traces the sqlite batch fixture with --seccomp-out, then
// runs it untraced under the profile: it prints the same, while a program
// needing a call the trace never saw is refused.
func TestSeccompOut(t *testing.T) {
	img := testimages.Require(t, "sqlite")
	sensorBin := sensor(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "seccomp.json")
	out, _ := mustPare(t, "trace", "docker-daemon:"+img, "--run-to-exit", "--seccomp-out", profile,
		"--sensor", sensorBin, "--output", "json", "--quiet")
	var res struct {
		ExitCode int `json:"exitCode"`
		Probes   []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
			Head string `json:"head"`
		} `json:"probes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("pare trace --output json: %v\n%s", err, out)
	}
	if res.ExitCode != 0 || len(res.Probes) != 1 || !res.Probes[0].OK {
		t.Errorf("traced run: exit %d, probes %+v", res.ExitCode, res.Probes)
	}

	data, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	var prof struct {
		DefaultAction string   `json:"defaultAction"`
		Architectures []string `json:"architectures"`
		Syscalls      []struct {
			Names  []string `json:"names"`
			Action string   `json:"action"`
		} `json:"syscalls"`
	}
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatalf("%s: %v", profile, err)
	}
	var allowed []string
	for _, s := range prof.Syscalls {
		if s.Action == "SCMP_ACT_ALLOW" {
			allowed = append(allowed, s.Names...)
		}
	}
	if prof.DefaultAction != "SCMP_ACT_ERRNO" || len(allowed) == 0 {
		t.Errorf("profile: default %s, %d calls allowed", prof.DefaultAction, len(allowed))
	}
	for _, s := range []string{"read", "openat", "execve"} {
		if !slices.Contains(allowed, s) {
			t.Errorf("profile does not allow %s", s)
		}
	}
	// The sensor's own tracing and calls no program here makes stay out.
	for _, s := range []string{"ptrace", "mount", "bpf", "mkdir", "mkdirat"} {
		if slices.Contains(allowed, s) {
			t.Errorf("profile allows %s", s)
		}
	}

	const want = "apple=3\nbanana=5\ncherry=7\ntotal=15\n"
	plain := testimages.Docker(t, "run", "--rm", "--network", "none", img)
	if plain != want {
		t.Fatalf("sqlite fixture printed %q, want %q", plain, want)
	}
	got, err := testimages.DockerErr(t.Context(), "run", "--rm", "--network", "none", "--security-opt", "seccomp="+profile, img)
	if err != nil || got != want {
		t.Errorf("under the generated profile: %q, %v; want %q", got, err, want)
	}

	// Negative control: mkdir needs a call the trace never saw.
	mkdir := []string{"run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/mkdir"}
	if _, err := testimages.DockerErr(t.Context(), append(mkdir, img, "/tmp/x")...); err != nil {
		t.Fatalf("mkdir without a profile: %v", err)
	}
	_, err = testimages.DockerErr(t.Context(), append(mkdir, "--security-opt", "seccomp="+profile, img, "/tmp/x")...)
	if err == nil || !strings.Contains(err.Error(), "Operation not permitted") {
		t.Errorf("mkdir under the profile: %v; want Operation not permitted", err)
	}
}
