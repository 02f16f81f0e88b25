//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pare-dev/pare/internal/sensor"
)

// buildSensor builds the static sensor binary into a temp dir.
func buildSensor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pare-sensor")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building pare-sensor: %v\n%s", err, b)
	}
	return bin
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("running sensor: %v", err)
	}
	return ee.ExitCode()
}

func TestRunWritesObservations(t *testing.T) {
	bin := buildSensor(t)
	out := t.TempDir()
	err := exec.Command(bin, "--out", out, "--", "sh", "-c", "cat /etc/hostname >/dev/null; exit 4").Run()
	if code := exitCode(t, err); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
	o, err := sensor.ReadObservations(filepath.Join(out, sensor.ObservationsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !o.Complete || o.ExitCode != 4 || o.Mode != "seccomp" {
		t.Errorf("observations: complete %v exit %d mode %q", o.Complete, o.ExitCode, o.Mode)
	}
	if !hasFile(o, "/etc/hostname", sensor.OpOpen) {
		t.Errorf("/etc/hostname open not recorded: %+v", o.Files)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("out dir holds %v, want only %s", entries, sensor.ObservationsFile)
	}
}

func TestExecSubcommand(t *testing.T) {
	bin := buildSensor(t)
	out := t.TempDir()
	cmd := exec.Command(bin, "exec", "--mode", "ptrace", "--out", out, "--", "cat", "/etc/hostname")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	name := sensor.ExecFilePrefix + strconv.Itoa(cmd.Process.Pid) + ".json"
	o, err := sensor.ReadObservations(filepath.Join(out, name))
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != "ptrace" || !hasFile(o, "/etc/hostname", sensor.OpOpen) {
		t.Errorf("exec observations: mode %q files %+v", o.Mode, o.Files)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--out", "x"},
		{"--bogus", "--", "true"},
		{"--groups", "a,b", "--", "true"},
	} {
		if code := run(args, &strings.Builder{}); code != exitUsage {
			t.Errorf("run(%q) = %d, want %d", args, code, exitUsage)
		}
	}
}

// TestSIGTERM sends SIGTERM to the sensor: the observations are flushed
// before the signal reaches the program, which exits with its own status.
func TestSIGTERM(t *testing.T) {
	bin := buildSensor(t)
	out := t.TempDir()
	obs := filepath.Join(out, sensor.ObservationsFile)
	script := fmt.Sprintf(`trap 'cp %s %s/at-term.json; exit 7' TERM; cat /etc/hostname >/dev/null; echo ready; sleep 60 & wait $!`, obs, out)
	cmd := exec.Command(bin, "--flush", "0", "--out", out, "--", "sh", "-c", script)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("program said %q", line)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd.Wait()); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	mid, err := sensor.ReadObservations(filepath.Join(out, "at-term.json"))
	if err != nil {
		t.Fatalf("no observations flushed at SIGTERM: %v", err)
	}
	if mid.Complete || mid.ExitCode != -1 || !hasFile(mid, "/etc/hostname", sensor.OpOpen) {
		t.Errorf("flushed at SIGTERM: complete %v exit %d, files %+v", mid.Complete, mid.ExitCode, mid.Files)
	}
	final, err := sensor.ReadObservations(obs)
	if err != nil {
		t.Fatal(err)
	}
	if !final.Complete || final.ExitCode != 7 {
		t.Errorf("final: complete %v exit %d", final.Complete, final.ExitCode)
	}
}

func hasFile(o *sensor.Observations, path, op string) bool {
	return slices.ContainsFunc(o.Files, func(f sensor.FileAccess) bool {
		return f.Path == path && f.Op == op && f.OK
	})
}

// TestPeriodicFlush: while the program runs, the observations so far are
// written every --flush interval (the program waits until the file shows
// its cat's open, then copies it).
func TestPeriodicFlush(t *testing.T) {
	bin := buildSensor(t)
	out := t.TempDir()
	obs := filepath.Join(out, sensor.ObservationsFile)
	// wait for the recorded access itself ("path": "/etc/hostname"), not for
	// the exec argv of this very script, which names the path too
	script := fmt.Sprintf(`cat /etc/hostname >/dev/null; until grep -Eq '"path": *"/etc/hostname"' %s 2>/dev/null; do sleep 0.01; done; cp %s %s/periodic.json`, obs, obs, out)
	if err := exec.Command(bin, "--flush", "20ms", "--out", out, "--", "sh", "-c", script).Run(); err != nil {
		t.Fatal(err)
	}
	mid, err := sensor.ReadObservations(filepath.Join(out, "periodic.json"))
	if err != nil {
		t.Fatal(err)
	}
	if mid.Complete || !hasFile(mid, "/etc/hostname", sensor.OpOpen) {
		t.Errorf("periodic flush: complete %v, files %+v", mid.Complete, mid.Files)
	}
}
