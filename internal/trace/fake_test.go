package trace_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/engine/enginetest"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/internal/trace"
)

func outMount(spec engine.ContainerSpec) string {
	for _, m := range spec.Mounts {
		if m.Target == trace.OutDir {
			return m.Source
		}
	}
	return ""
}

func newFake() *enginetest.Fake {
	f := enginetest.NewFake(map[string]*engine.Image{
		"app": {
			Entrypoint:   []string{"/app"},
			Cmd:          []string{"serve"},
			User:         "app",
			Env:          []string{"PATH=/bin"},
			ExposedPorts: []engine.Port{{Number: 9, Proto: "tcp"}},
			StopSignal:   "SIGQUIT",
			OS:           "linux",
			Architecture: "amd64",
		},
	})
	f.Files = map[string]string{
		"/etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"/etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\n",
	}
	f.OnStart = func(spec engine.ContainerSpec) error {
		return sensor.WriteObservations(filepath.Join(outMount(spec), sensor.ObservationsFile), &sensor.Observations{
			Version: sensor.FormatVersion, Command: []string{"/app", "serve"}, Complete: true, Arch: "amd64",
			Files:    []sensor.FileAccess{{Path: "/etc/app.conf", Op: "open", OK: true, Count: 1}},
			Execs:    []sensor.Exec{{Path: "/app", OK: true}},
			Syscalls: []string{"execve", "openat"},
		})
	}
	f.OnExec = func(spec engine.ContainerSpec, e engine.ExecSpec) (*engine.ExecResult, error) {
		err := sensor.WriteObservations(filepath.Join(outMount(spec), sensor.ExecFilePrefix+"7.json"), &sensor.Observations{
			Version: sensor.FormatVersion, Command: e.Argv, Complete: true, Arch: "amd64",
			Files:    []sensor.FileAccess{{Path: "/bin/ls", Op: "exec", OK: true, Count: 1}},
			Execs:    []sensor.Exec{{Path: "/bin/ls", OK: true}},
			Syscalls: []string{"getdents64"},
		})
		return &engine.ExecResult{Stdout: []byte(strings.Join(e.Argv, " "))}, err
	}
	f.Stdout = []byte("out\n")
	return f
}

func TestRunFake(t *testing.T) {
	f := newFake()
	tmp := t.TempDir()
	var stages []string
	res, err := trace.Run(t.Context(), f, "app", trace.Options{
		SensorBinary: sensorBin(t),
		Probes:       []probe.Probe{&probe.Exec{Argv: []string{"ls"}}},
		Network:      engine.NetworkNone,
		TempDir:      tmp,
		Env:          []string{"X=1"},
		OnEvent:      func(e trace.Event) { stages = append(stages, e.Stage) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := f.Live(); len(l) != 0 {
		t.Errorf("containers left: %v", l)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temp dir left: %v", ents)
	}
	// Two containers: the never-started user lookup, then the trace.
	if len(f.Created) != 2 || f.Created[0].Labels[trace.RoleLabel] != "user-lookup" {
		t.Fatalf("created: %+v", f.Created)
	}
	spec := f.Created[1]
	wantEP := []string{"/.pare/sensor", "--out", "/.pare/out", "--uid", "1000", "--gid", "1000", "--groups", "2000", "--", "/app", "serve"}
	if diff := cmp.Diff(wantEP, spec.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if spec.User != "0:0" || spec.Network != "none" || spec.StopSignal != "SIGQUIT" || spec.Labels[trace.RoleLabel] != "trace" {
		t.Errorf("spec: %+v", spec)
	}
	if diff := cmp.Diff([]string{"X=1", "HOME=/home/app"}, spec.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if len(spec.Mounts) != 2 || spec.Mounts[0].Target != trace.SensorPath || !spec.Mounts[0].ReadOnly || spec.Mounts[1].ReadOnly {
		t.Errorf("mounts: %+v", spec.Mounts)
	}
	if diff := cmp.Diff([]string{"SIGQUIT"}, f.Signals); diff != "" {
		t.Errorf("signals (-want +got):\n%s", diff)
	}
	if !res.Stopped || res.ExitCode != 131 || string(res.Stdout) != "out\n" {
		t.Errorf("stopped %v exit %d stdout %q", res.Stopped, res.ExitCode, res.Stdout)
	}
	if len(res.Probes) != 1 || !res.Probes[0].OK || res.Probes[0].Head != "/.pare/sensor exec --out /.pare/out --uid 1000 --gid 1000 --groups 2000 -- ls" {
		t.Errorf("probes: %+v", res.Probes)
	}
	if len(res.Parts) != 2 || !slices.Equal(res.Observations.Syscalls, []string{"execve", "getdents64", "openat"}) || len(res.Observations.Files) != 2 {
		t.Errorf("observations: %+v", res.Observations)
	}
	if !slices.Equal(stages, []string{"inspect", "user", "create", "start", "probe", "probe", "stop", "remove", "collect"}) {
		t.Errorf("stages: %q", stages)
	}
}

func TestRunFakeFailuresClean(t *testing.T) {
	tests := map[string]func(f *enginetest.Fake){
		"start fails": func(f *enginetest.Fake) {
			f.OnStart = func(engine.ContainerSpec) error { return errors.New("start failed") }
		},
		"no observations": func(f *enginetest.Fake) {
			f.OnStart = nil
		},
		"unknown user": func(f *enginetest.Fake) {
			f.Files["/etc/passwd"] = "root:x:0:0::/root:/bin/sh\n"
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			setup(f)
			tmp := t.TempDir()
			_, err := trace.Run(t.Context(), f, "app", trace.Options{SensorBinary: sensorBin(t), TempDir: tmp, NoDefaultProbes: true})
			if err == nil {
				t.Fatal("no error")
			}
			if l := f.Live(); len(l) != 0 {
				t.Errorf("containers left: %v", l)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("temp dir left: %v", ents)
			}
		})
	}
}

func TestRunFakeCancelled(t *testing.T) {
	f := newFake()
	ctx, cancel := context.WithCancel(t.Context())
	f.OnExec = func(engine.ContainerSpec, engine.ExecSpec) (*engine.ExecResult, error) {
		cancel()
		return nil, context.Canceled
	}
	_, err := trace.Run(ctx, f, "app", trace.Options{SensorBinary: sensorBin(t),
		Probes: []probe.Probe{&probe.Exec{Argv: []string{"x"}}}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if l := f.Live(); len(l) != 0 {
		t.Errorf("containers left: %v", l)
	}
}

func TestRunFakeUntraced(t *testing.T) {
	f := newFake()
	f.OnStart = nil
	res, err := trace.Run(t.Context(), f, "app", trace.Options{Untraced: true, Network: "none", NoDefaultProbes: true,
		Cmd: []string{"other"}, ReadOnlyRootfs: true, Tmpfs: map[string]string{"/tmp": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Created) != 1 {
		t.Fatalf("created %d containers", len(f.Created))
	}
	spec := f.Created[0]
	if !slices.Equal(spec.Entrypoint, []string{"/app", "other"}) || spec.User != "" || len(spec.Mounts) != 0 || !spec.ReadOnlyRootfs || spec.Labels[trace.RoleLabel] != "probe" {
		t.Errorf("spec: %+v", spec)
	}
	if res.Observations != nil || !res.Stopped {
		t.Errorf("result: %+v", res)
	}
	if l := f.Live(); len(l) != 0 {
		t.Errorf("containers left: %v", l)
	}
}

// batchFake is an image that exposes no port and exits 0 at start, writing
// one observed path per argument of its command.
func batchFake() *enginetest.Fake {
	f := newFake()
	f.Images["job"] = &engine.Image{Entrypoint: []string{"/job"}, Cmd: []string{"a.txt"}, User: "app",
		WorkingDir: "/work", OS: "linux", Architecture: "amd64"}
	zero := 0
	f.ExitOnStart = &zero
	f.OnStart = func(spec engine.ContainerSpec) error {
		argv := spec.Entrypoint[slices.Index(spec.Entrypoint, "--")+1:]
		var files []sensor.FileAccess
		for _, a := range argv[1:] {
			files = append(files, sensor.FileAccess{Path: "/work/" + a, Op: "open", OK: true, Count: 1})
		}
		return sensor.WriteObservations(filepath.Join(outMount(spec), sensor.ObservationsFile), &sensor.Observations{
			Version: sensor.FormatVersion, Command: argv, Complete: true, Arch: "amd64",
			Files: files, Execs: []sensor.Exec{{Path: argv[0], OK: true}},
		})
	}
	return f
}

// TestRunFakeBatch: an image with no exposed port and no host probe runs
// to completion instead of being stopped at once.
func TestRunFakeBatch(t *testing.T) {
	f := batchFake()
	res, err := trace.Run(t.Context(), f, "job", trace.Options{SensorBinary: sensorBin(t), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Probes) != 1 || res.Probes[0].Kind != probe.KindExit || !res.Probes[0].OK || !res.Probes[0].Exited {
		t.Errorf("probes: %+v", res.Probes)
	}
	if res.Stopped || res.ExitCode != 0 || len(f.Signals) != 0 || res.Network != engine.NetworkNone {
		t.Errorf("stopped %v exit %d signals %v network %s", res.Stopped, res.ExitCode, f.Signals, res.Network)
	}
}

// TestRunFakeRuns: each --run is a container of its own whose arguments
// replace Cmd; results are named by run, observations united.
func TestRunFakeRuns(t *testing.T) {
	f := batchFake()
	res, err := trace.Run(t.Context(), f, "job", trace.Options{SensorBinary: sensorBin(t), TempDir: t.TempDir(),
		Runs: [][]string{{"b.txt", "c.txt"}, {"d.txt"}}})
	if err != nil {
		t.Fatal(err)
	}
	var traced [][]string
	for _, spec := range f.Created {
		if spec.Labels[trace.RoleLabel] == "trace" {
			traced = append(traced, spec.Entrypoint[slices.Index(spec.Entrypoint, "--")+1:])
		}
	}
	want := [][]string{{"/job", "a.txt"}, {"/job", "b.txt", "c.txt"}, {"/job", "d.txt"}}
	if diff := cmp.Diff(want, traced); diff != "" {
		t.Errorf("traced commands (-want +got):\n%s", diff)
	}
	var names []string
	for _, p := range res.Probes {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"exit", "run b.txt c.txt: exit", "run d.txt: exit"}, names); diff != "" {
		t.Errorf("probe names (-want +got):\n%s", diff)
	}
	var paths []string
	for _, fa := range res.Observations.Files {
		paths = append(paths, fa.Path)
	}
	if diff := cmp.Diff([]string{"/work/a.txt", "/work/b.txt", "/work/c.txt", "/work/d.txt"}, paths); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	if len(res.Runs) != 3 || !slices.Equal(res.Runs[2].Command, []string{"/job", "d.txt"}) {
		t.Errorf("runs: %+v", res.Runs)
	}
}

// TestRunFakeExecUserAndDir: --exec runs like docker exec, as the image's
// user in its WorkingDir (through the sensor when traced).
func TestRunFakeExecUserAndDir(t *testing.T) {
	for _, untraced := range []bool{false, true} {
		f := newFake()
		f.Images["app"].WorkingDir = "/srv/app"
		var got []engine.ExecSpec
		onExec := f.OnExec
		f.OnExec = func(spec engine.ContainerSpec, e engine.ExecSpec) (*engine.ExecResult, error) {
			got = append(got, e)
			return onExec(spec, e)
		}
		if untraced {
			f.OnStart = nil
			onExec = func(engine.ContainerSpec, engine.ExecSpec) (*engine.ExecResult, error) {
				return &engine.ExecResult{}, nil
			}
		}
		_, err := trace.Run(t.Context(), f, "app", trace.Options{SensorBinary: sensorBin(t), TempDir: t.TempDir(),
			Untraced: untraced, Network: engine.NetworkNone, Probes: []probe.Probe{&probe.Exec{Argv: []string{"ls", "data"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].WorkingDir != "/srv/app" {
			t.Fatalf("untraced %v: execs %+v", untraced, got)
		}
		if untraced && got[0].User != "app" {
			t.Errorf("untraced exec user %q, want the image's", got[0].User)
		}
		if !untraced && (got[0].User != "0:0" || !slices.Contains(got[0].Env, "HOME=/home/app") ||
			!slices.Equal(got[0].Argv[len(got[0].Argv)-2:], []string{"ls", "data"}) || !slices.Contains(got[0].Argv, "1000")) {
			t.Errorf("traced exec: %+v", got[0])
		}
	}
}
