//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/sensor"
)

const baseImage = "pare-fixture/base:bookworm"

// needDocker skips unless docker and the base fixture image are available;
// in CI (CI=true) a missing image fails the test instead.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("docker test skipped in -short mode")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skipf("docker not available: %v", err)
	}
	if err := exec.Command("docker", "image", "inspect", baseImage).Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("image %s missing (built by scripts/ of the test images)", baseImage)
		}
		t.Skipf("image %s missing", baseImage)
	}
}

// TestInContainer runs the sensor as the entrypoint of a container under
// Docker's default seccomp profile and capabilities, as root and as nobody.
func TestInContainer(t *testing.T) {
	needDocker(t)
	bin := buildSensor(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"root/seccomp", nil},
		{"root/ptrace", []string{"--mode", "ptrace"}},
		{"nobody/seccomp", []string{"--uid", "65534", "--gid", "65534"}},
		{"nobody/ptrace", []string{"--uid", "65534", "--gid", "65534", "--mode", "ptrace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"run", "--rm", "--network", "none",
				"-v", bin + ":/.pare/sensor:ro", "-v", out + ":/.pare/out",
				baseImage, "/.pare/sensor", "--out", "/.pare/out"}
			args = append(args, tc.args...)
			args = append(args, "--", "/bin/sh", "-c", "cd /etc && ls >/dev/null && id -u && exec /bin/ls /etc")
			b, err := exec.Command("docker", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("docker run: %v\n%s", err, b)
			}
			wantUID := "0"
			if slices.Contains(tc.args, "--uid") {
				wantUID = "65534"
			}
			if first, _, _ := strings.Cut(string(b), "\n"); first != wantUID {
				t.Errorf("program ran as uid %q, want %s\n%s", first, wantUID, b)
			}
			o, err := sensor.ReadObservations(filepath.Join(out, sensor.ObservationsFile))
			if err != nil {
				t.Fatal(err)
			}
			if !o.Complete || o.ExitCode != 0 || o.Error != "" {
				t.Errorf("observations: complete %v exit %d error %q", o.Complete, o.ExitCode, o.Error)
			}
			var paths []string
			for _, e := range o.Execs {
				paths = append(paths, e.Path)
			}
			for _, p := range []string{"/bin/sh", "/usr/bin/id", "/bin/ls"} {
				if !slices.Contains(paths, p) {
					t.Errorf("exec of %s not recorded: %v", p, paths)
				}
			}
			// "ls" with cwd /etc opens "." (/etc); the loader maps libc.
			for _, want := range []sensor.FileAccess{
				{Path: "/etc", Op: sensor.OpOpen, Exe: "/usr/bin/ls"},
				{Path: "/etc", Op: sensor.OpChdir, Exe: "/usr/bin/dash"},
				{Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", Op: sensor.OpMmap, Exe: "/usr/bin/ls"},
			} {
				if !slices.ContainsFunc(o.Files, func(f sensor.FileAccess) bool {
					return f.Path == want.Path && f.Op == want.Op && f.Exe == want.Exe && f.OK
				}) {
					t.Errorf("access %s %s by %s not recorded", want.Op, want.Path, want.Exe)
				}
			}
		})
	}
}

// TestPrivilegeDrop traces a root program that switches to another user and
// executes a shell: its exec is read back from the new program's stack (the
// caller is not dumpable then) and the tracer thread takes the new user to
// read the shell's /proc links.
func TestPrivilegeDrop(t *testing.T) {
	needDocker(t)
	bin := buildSensor(t)
	for _, mode := range []string{"seccomp", "ptrace"} {
		t.Run(mode, func(t *testing.T) {
			out := t.TempDir()
			b, err := exec.Command("docker", "run", "--rm", "--network", "none",
				"-v", bin+":/.pare/sensor:ro", "-v", out+":/.pare/out", baseImage,
				"/.pare/sensor", "--mode", mode, "--out", "/.pare/out", "--",
				"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
				"sh", "-c", "cd /tmp && touch rel && id -u").CombinedOutput()
			if err != nil || string(b) != "65534\n" {
				t.Fatalf("docker run: %v\n%s", err, b)
			}
			o, err := sensor.ReadObservations(filepath.Join(out, sensor.ObservationsFile))
			if err != nil {
				t.Fatal(err)
			}
			var shell *sensor.Exec
			for i, e := range o.Execs {
				if e.Path == "/usr/bin/sh" {
					shell = &o.Execs[i]
				}
			}
			if shell == nil || !slices.Equal(shell.Argv, []string{"sh", "-c", "cd /tmp && touch rel && id -u"}) {
				t.Fatalf("exec of the shell not recorded: %+v", o.Execs)
			}
			for _, want := range []sensor.FileAccess{
				{Path: "/usr/bin/sh", Op: sensor.OpExec, Exe: "/usr/bin/setpriv", Write: false},
				{Path: "/tmp", Op: sensor.OpChdir, Exe: "/usr/bin/dash"},
				{Path: "/tmp/rel", Op: sensor.OpOpen, Exe: "/usr/bin/touch", Write: true},
				{Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", Op: sensor.OpMmap, Exe: "/usr/bin/dash"},
			} {
				if !slices.ContainsFunc(o.Files, func(f sensor.FileAccess) bool {
					return f.Path == want.Path && f.Op == want.Op && f.Exe == want.Exe && f.Write == want.Write && f.OK
				}) {
					t.Errorf("access %s %s by %s not recorded", want.Op, want.Path, want.Exe)
				}
			}
		})
	}
}

// TestDockerExecAndStop covers `docker exec` probes through `pare-sensor
// exec` and `docker stop` (SIGTERM to the sensor as PID 1).
func TestDockerExecAndStop(t *testing.T) {
	needDocker(t)
	bin := buildSensor(t)
	out := t.TempDir()
	b, err := exec.Command("docker", "run", "-d", "--network", "none",
		"-v", bin+":/.pare/sensor:ro", "-v", out+":/.pare/out",
		baseImage, "/.pare/sensor", "--out", "/.pare/out", "--", "sleep", "300").Output()
	if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	id := strings.TrimSpace(string(b))
	defer exec.Command("docker", "rm", "-f", id).Run()
	b, err = exec.Command("docker", "exec", id, "/.pare/sensor", "exec", "--out", "/.pare/out", "--", "cat", "/etc/debian_version").CombinedOutput()
	if err != nil {
		t.Fatalf("docker exec: %v\n%s", err, b)
	}
	matches, _ := filepath.Glob(filepath.Join(out, sensor.ExecFilePrefix+"*.json"))
	if len(matches) != 1 {
		t.Fatalf("exec observation files: %v", matches)
	}
	o, err := sensor.ReadObservations(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if !hasFile(o, "/etc/debian_version", sensor.OpOpen) {
		t.Errorf("docker exec: /etc/debian_version not recorded")
	}
	if b, err := exec.Command("docker", "stop", "-t", "20", id).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, b)
	}
	b, _ = exec.Command("docker", "inspect", "-f", "{{.State.ExitCode}}", id).Output()
	if code := strings.TrimSpace(string(b)); code != "143" {
		t.Errorf("container exit code %s, want 143 (sleep killed by the forwarded SIGTERM)", code)
	}
	o, err = sensor.ReadObservations(filepath.Join(out, sensor.ObservationsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !o.Complete || o.Signal != "SIGTERM" || o.ExitCode != 143 {
		t.Errorf("after docker stop: complete %v exit %d signal %q", o.Complete, o.ExitCode, o.Signal)
	}
}

// TestPtraceRefused: under a seccomp profile that denies ptrace the sensor
// fails with exit 127 and says why, in the observations too.
func TestPtraceRefused(t *testing.T) {
	needDocker(t)
	bin := buildSensor(t)
	out := t.TempDir()
	profile := filepath.Join(t.TempDir(), "noptrace.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("docker", "run", "--rm", "--network", "none", "--security-opt", "seccomp="+profile,
		"-v", bin+":/.pare/sensor:ro", "-v", out+":/.pare/out", baseImage,
		"/.pare/sensor", "--out", "/.pare/out", "--", "true").CombinedOutput()
	if code := exitCode(t, err); code != exitCannotRun || !strings.Contains(string(b), "ptrace refused") {
		t.Errorf("exit %d, output %s", code, b)
	}
	o, err := sensor.ReadObservations(filepath.Join(out, sensor.ObservationsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.Error, "ptrace refused") || o.ExitCode != -1 {
		t.Errorf("observations: exit %d error %q", o.ExitCode, o.Error)
	}
}

// TestPrivilegedPrograms runs, as nobody, a program that reads /etc/shadow
// thanks to a file capability or the set-user-ID bit. Traced, it keeps its
// privilege only in ModePtrace in a container given CAP_SYS_PTRACE: see the
// package documentation of internal/sensor.
func TestPrivilegedPrograms(t *testing.T) {
	needDocker(t)
	for _, tool := range []string{"gcc", "setcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on this machine", tool)
		}
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to set file capabilities")
	}
	bin := buildSensor(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	fcap, suid := filepath.Join(dir, "fcap"), filepath.Join(dir, "suid")
	for _, p := range []string{fcap, suid} {
		if b, err := exec.Command("gcc", "-static", "-o", p, "testdata/readfile.c").CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, b)
		}
	}
	if b, err := exec.Command("setcap", "cap_dac_override=+ep", fcap).CombinedOutput(); err != nil {
		t.Skipf("setcap: %v %s", err, b)
	}
	if err := os.Chmod(suid, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	run := func(extra []string, cmd ...string) string {
		args := append([]string{"run", "--rm", "--network", "none", "-v", bin + ":/.pare/sensor:ro",
			"-v", fcap + ":/fcap:ro", "-v", suid + ":/suid:ro"}, extra...)
		b, _ := exec.Command("docker", append(append(args, baseImage), cmd...)...).CombinedOutput()
		return strings.TrimSpace(string(b))
	}
	for _, prog := range []string{"/fcap", "/suid"} {
		if got := run([]string{"--user", "65534"}, prog, "/etc/shadow"); got != "ok" {
			t.Fatalf("%s untraced as nobody: %s", prog, got)
		}
		for _, tc := range []struct {
			mode string
			caps []string
			want string
		}{
			{"seccomp", nil, "Permission denied"},
			{"ptrace", nil, "Permission denied"},
			{"seccomp", []string{"--cap-add", "SYS_PTRACE"}, "Permission denied"},
			{"ptrace", []string{"--cap-add", "SYS_PTRACE"}, "ok"},
		} {
			got := run(tc.caps, "/.pare/sensor", "--mode", tc.mode, "--uid", "65534", "--gid", "65534", "--", prog, "/etc/shadow")
			if got != tc.want {
				t.Errorf("%s traced, mode %s %v: %q, want %q", prog, tc.mode, tc.caps, got, tc.want)
			}
		}
	}
}
