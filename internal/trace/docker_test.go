package trace_test

import (
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/engine/enginetest"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/internal/trace"
)

// sensorBin builds pare-sensor once per test binary.
func sensorBin(t *testing.T) string {
	t.Helper()
	p, err := trace.BuildSensor(t.Context(), "", sensorCache)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var sensorCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pare-trace-test-")
	if err != nil {
		panic(err)
	}
	sensorCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func files(obs *sensor.Observations, op string) []string {
	var ps []string
	for _, f := range obs.Files {
		if f.Op == op && f.OK {
			ps = append(ps, f.Path)
		}
	}
	return ps
}

func noLeftovers(t *testing.T, eng engine.Engine) {
	t.Helper()
	if ids := enginetest.Leftovers(t, eng); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
}

func TestRunBatchFixture(t *testing.T) {
	eng := enginetest.Docker(t)
	ref := testimages.Require(t, "base")
	var stages []string
	res, err := trace.Run(t.Context(), eng, ref, trace.Options{
		SensorBinary: sensorBin(t),
		Entrypoint:   []string{},
		Cmd:          []string{"cat", "/etc/os-release"},
		RunToExit:    true,
		Duration:     60 * time.Second,
		OnEvent:      func(e trace.Event) { stages = append(stages, e.Stage) },
	})
	if err != nil {
		t.Fatal(err)
	}
	noLeftovers(t, eng)
	if res.ExitCode != 0 || res.Stopped || res.Network != "none" {
		t.Errorf("exit %d stopped %v network %s; stderr %s", res.ExitCode, res.Stopped, res.Network, res.Stderr)
	}
	if !strings.Contains(string(res.Stdout), "bookworm") {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if len(res.Probes) != 1 || res.Probes[0].Kind != probe.KindExit || !res.Probes[0].OK {
		t.Errorf("probes = %+v", res.Probes)
	}
	obs := res.Observations
	if !obs.Complete || len(res.Warnings) != 0 {
		t.Errorf("complete %v, warnings %q", obs.Complete, res.Warnings)
	}
	opened := files(obs, sensor.OpOpen)
	execd := files(obs, sensor.OpExec)
	for _, want := range []string{"/etc/os-release", "/etc/ld.so.cache"} {
		if !slices.Contains(opened, want) {
			t.Errorf("observations lack open of %s; opened %q", want, opened)
		}
	}
	if !slices.ContainsFunc(opened, func(p string) bool { return strings.Contains(p, "libc.so.6") }) {
		t.Errorf("observations lack libc.so.6; opened %q", opened)
	}
	if !slices.ContainsFunc(execd, func(p string) bool { return strings.HasSuffix(p, "/bin/cat") }) {
		t.Errorf("observations lack exec of cat; execs %q", execd)
	}
	for _, s := range []string{"execve", "openat", "exit_group"} {
		if !slices.Contains(obs.Syscalls, s) {
			t.Errorf("syscalls lack %s: %q", s, obs.Syscalls)
		}
	}
	if _, err := trace.SeccompProfile(obs); err != nil {
		t.Error(err)
	}
	if stages[0] != "inspect" || !slices.Contains(stages, "collect") {
		t.Errorf("events: %q", stages)
	}
}

// TestRunServer traces the test tool serving HTTP as its image user (app,
// 1000:1000), with HTTP probes, exec probes and a duration, then runs it
// untraced under the generated seccomp profile and a read-only root and
// compares the probe results.
func TestRunServer(t *testing.T) {
	eng := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	port := freePort(t)
	hp, err := probe.ParseHTTP("GET:/status/201:" + strconv.Itoa(port) + "=201")
	if err != nil {
		t.Fatal(err)
	}
	probes := []probe.Probe{
		hp,
		&probe.HTTP{Path: "/", Port: port},
		&probe.Exec{Argv: []string{"/testtool", "cat", "/etc/group"}},
		&probe.Exec{Argv: []string{"/testtool", "id"}},
	}
	res, err := trace.Run(t.Context(), eng, ref, trace.Options{
		SensorBinary: sensorBin(t),
		Cmd:          []string{"serve", strconv.Itoa(port)},
		Probes:       probes,
		Duration:     100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	noLeftovers(t, eng)
	if res.Network != "host" || res.User.UID != 1000 || res.User.GID != 1000 || res.User.Home != "/home/app" {
		t.Errorf("network %s user %+v", res.Network, res.User)
	}
	if len(res.Probes) != 5 {
		t.Fatalf("probes: %+v", res.Probes)
	}
	for _, p := range res.Probes {
		if !p.OK {
			t.Errorf("probe %s failed: %+v", p.Name, p)
		}
	}
	if res.Probes[0].Status != 201 || res.Probes[1].Head != "ok\n" {
		t.Errorf("http probes: %+v", res.Probes[:2])
	}
	if res.Probes[2].Head != enginetest.GroupFile {
		t.Errorf("exec cat: %+v", res.Probes[2])
	}
	// The exec ran under the sensor, dropped to the image user and its
	// supplementary group (extra, 2000).
	if res.Probes[3].Head != "1000:1000\n" {
		t.Errorf("exec id: %+v", res.Probes[3])
	}
	if !res.Stopped || res.ExitCode != 0 {
		t.Errorf("stopped %v exit %d (stderr %q)", res.Stopped, res.ExitCode, res.Stderr)
	}
	if len(res.Parts) != 3 {
		t.Errorf("%d observation files, want main + 2 execs", len(res.Parts))
	}
	opened := files(res.Observations, sensor.OpOpen)
	if !slices.Contains(opened, "/etc/group") {
		t.Errorf("exec probe's open of /etc/group not merged: %q", opened)
	}
	if !slices.Contains(res.Observations.Syscalls, "accept4") && !slices.Contains(res.Observations.Syscalls, "accept") {
		t.Errorf("server syscalls lack accept: %q", res.Observations.Syscalls)
	}

	// Verification: the image run as it is, under the generated seccomp
	// profile and with a read-only root plus the suggested tmpfs mounts,
	// answers the same probes the same way.
	profile, err := trace.SeccompProfile(res.Observations)
	if err != nil {
		t.Fatal(err)
	}
	tmpfs := map[string]string{}
	for _, m := range trace.WrittenPaths(res.Observations).Mounts {
		tmpfs[m.Path] = ""
	}
	plain, err := trace.Run(t.Context(), eng, ref, trace.Options{
		Untraced:       true,
		Cmd:            []string{"serve", strconv.Itoa(port)},
		Probes:         probes,
		Duration:       100 * time.Millisecond,
		SecurityOpt:    []string{"seccomp=" + string(profile)},
		ReadOnlyRootfs: true,
		Tmpfs:          tmpfs,
	})
	if err != nil {
		t.Fatal(err)
	}
	noLeftovers(t, eng)
	if plain.Observations != nil {
		t.Error("untraced run has observations")
	}
	if d := probe.Compare(res.Probes, plain.Probes); len(d) != 0 {
		t.Errorf("traced and untraced runs differ: %v\nuntraced: %+v\nstderr %s", d, plain.Probes, plain.Stderr)
	}
}

func TestRunCancelCleansUp(t *testing.T) {
	eng := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	ctx, cancel := context.WithCancel(t.Context())
	tmp := t.TempDir()
	_, err := trace.Run(ctx, eng, ref, trace.Options{
		SensorBinary: sensorBin(t),
		Cmd:          []string{"sleep", "60s"},
		TempDir:      tmp,
		Probes:       []probe.Probe{cancelProbe{cancel}, &probe.Duration{D: time.Minute}},
	})
	if err == nil {
		t.Fatal("no error after cancel")
	}
	noLeftovers(t, eng)
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temp dir not removed: %v", ents)
	}
}

// cancelProbe cancels the run from inside, while the container runs.
type cancelProbe struct{ cancel context.CancelFunc }

func (cancelProbe) Name() string { return "cancel" }
func (c cancelProbe) Run(ctx context.Context, t *probe.Target) probe.Result {
	c.cancel()
	return probe.Result{Name: "cancel", OK: true}
}

func TestRunErrors(t *testing.T) {
	eng := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	_, err := trace.Run(t.Context(), eng, "pare-test/missing:none", trace.Options{SensorBinary: sensorBin(t)})
	if err == nil {
		t.Error("missing image: no error")
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = trace.Run(t.Context(), eng, ref, trace.Options{SensorBinary: sensorBin(t),
		Probes: []probe.Probe{&probe.HTTP{Path: "/", Port: l.Addr().(*net.TCPAddr).Port}}})
	if err == nil || !strings.Contains(err.Error(), "already listens") {
		t.Errorf("busy port: %v", err)
	}
	_, err = trace.Run(t.Context(), eng, ref, trace.Options{SensorBinary: sensorBin(t), Network: "none",
		Probes: []probe.Probe{&probe.HTTP{Path: "/"}}})
	if err == nil || !strings.Contains(err.Error(), "network host") {
		t.Errorf("http probe with network none: %v", err)
	}
	// A program that does not exist: the sensor reports it and exits 127.
	res, err := trace.Run(t.Context(), eng, ref, trace.Options{SensorBinary: sensorBin(t),
		Entrypoint: []string{"/nonexistent"}, RunToExit: true, Duration: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 127 || !slices.Equal(res.Warnings, []string{"main program never started (/nonexistent: ENOENT)"}) {
		t.Errorf("missing program: exit %d, warnings %q", res.ExitCode, res.Warnings)
	}
	if len(res.Probes) != 1 || res.Probes[0].OK || res.Probes[0].ExitCode != 127 {
		t.Errorf("exit probe: %+v", res.Probes)
	}
	noLeftovers(t, eng)
}

// TestRunNginx traces the nginx fixture (user www-data, stop signal
// SIGQUIT, listening on 127.0.0.1:8080) with the default probe.
func TestRunNginx(t *testing.T) {
	eng := enginetest.Docker(t)
	ref := testimages.Require(t, "nginx")
	testimages.LockPort(t, testimages.Ports["nginx"])
	res, err := trace.Run(t.Context(), eng, ref, trace.Options{SensorBinary: sensorBin(t)})
	if err != nil {
		t.Fatal(err)
	}
	noLeftovers(t, eng)
	if len(res.Probes) != 1 || !res.Probes[0].OK || res.Probes[0].Name != "port 8080" {
		t.Errorf("default probe: %+v (stderr %s)", res.Probes, res.Stderr)
	}
	if !res.Stopped || res.ExitCode != 0 || len(res.Warnings) != 0 {
		t.Errorf("stop with SIGQUIT: stopped %v exit %d warnings %q stderr %s", res.Stopped, res.ExitCode, res.Warnings, res.Stderr)
	}
	if res.User.UID != 33 {
		t.Errorf("user %+v, want www-data (33)", res.User)
	}
	opened := files(res.Observations, sensor.OpOpen)
	if !slices.Contains(opened, "/etc/nginx/nginx.conf") {
		t.Errorf("nginx.conf not opened: %q", opened)
	}
	w := trace.WrittenPaths(res.Observations)
	t.Logf("written: %q", w.Paths)
	for _, m := range w.Mounts {
		t.Logf("tmpfs %s (image content %v): %q", m.Path, m.ImageContent, m.Paths)
	}
	// The fixture's nginx.conf keeps its pid file and temp paths in /tmp.
	if len(w.Mounts) != 1 || w.Mounts[0].Path != "/tmp" || !slices.Contains(w.Paths, "/tmp/nginx.pid") {
		t.Errorf("tmpfs suggestions: %+v", w.Mounts)
	}

	// With a read-only root, the suggested tmpfs and the generated seccomp
	// profile, nginx answers the same.
	prof, err := trace.SeccompProfile(res.Observations)
	if err != nil {
		t.Fatal(err)
	}
	tmpfs := map[string]string{}
	for _, m := range w.Mounts {
		tmpfs[m.Path] = ""
	}
	opts := trace.Options{Untraced: true, ReadOnlyRootfs: true, Tmpfs: tmpfs, SecurityOpt: []string{"seccomp=" + string(prof)}}
	plain, err := trace.Run(t.Context(), eng, ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := probe.Compare(res.Probes, plain.Probes); len(d) != 0 || plain.ExitCode != 0 {
		t.Errorf("read-only run: diffs %v exit %d stderr %s", d, plain.ExitCode, plain.Stderr)
	}
	// And without the tmpfs it fails: the suggestion is needed.
	opts.Tmpfs = nil
	plain, err = trace.Run(t.Context(), eng, ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(probe.Compare(res.Probes, plain.Probes)) == 0 {
		t.Errorf("nginx served with a read-only /tmp: %+v", plain.Probes)
	}
	noLeftovers(t, eng)
}

// TestSeccompProfileFixtures traces real Debian programs (glibc, threads),
// then runs them untraced under the generated profile with the same probes:
// the results must not differ. This is what catches a runtime syscall
// missing from RuntimeSyscalls or an errno that breaks a libc fallback.
func TestSeccompProfileFixtures(t *testing.T) {
	eng := enginetest.Docker(t)
	tests := []struct {
		name   string
		probes func(port int) []probe.Probe
	}{
		{"python", nil},
		{"node", nil},
		{"redis", func(port int) []probe.Probe {
			return []probe.Probe{&probe.TCP{Port: port}, &probe.Exec{Argv: []string{"redis-cli", "ping"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := testimages.Require(t, tt.name)
			port := testimages.Ports[tt.name]
			testimages.LockPort(t, port)
			var probes []probe.Probe
			if tt.probes != nil {
				probes = tt.probes(port)
			}
			res, err := trace.Run(t.Context(), eng, ref, trace.Options{SensorBinary: sensorBin(t), Probes: probes})
			if err != nil {
				t.Fatal(err)
			}
			if !res.ProbesOK() {
				t.Fatalf("traced probes failed: %+v\nstderr %s", res.Probes, res.Stderr)
			}
			prof, err := trace.SeccompProfile(res.Observations)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := trace.Run(t.Context(), eng, ref, trace.Options{Untraced: true, Probes: probes,
				SecurityOpt: []string{"seccomp=" + string(prof)}})
			if err != nil {
				t.Fatal(err)
			}
			if d := probe.Compare(res.Probes, plain.Probes); len(d) != 0 || plain.ExitCode != res.ExitCode {
				t.Errorf("under the generated profile: diffs %v, exit %d (traced %d)\nstdout %s\nstderr %s", d, plain.ExitCode, res.ExitCode, plain.Stdout, plain.Stderr)
			}
			noLeftovers(t, eng)
		})
	}
}
