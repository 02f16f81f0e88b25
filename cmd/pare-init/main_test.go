//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the test binary as pare-init when asked to, so that the
// tests start the real init as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("PARE_INIT_TEST_RUN") == "1" {
		os.Exit(run(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// startInit starts pare-init -- /bin/sh -c script with DIR set to a fresh
// directory, and returns the command and the directory.
func startInit(t *testing.T, script string) (*exec.Cmd, string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "--", "/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "PARE_INIT_TEST_RUN=1", "DIR="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, dir
}

// waitFile waits until path exists and returns its trimmed content.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never written", path)
	return ""
}

// exitCode waits for cmd (at most 10 s) and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("pare-init did not exit")
	}
	return -1
}

// procStat returns the state and parent pid of pid from /proc, ok false
// when the process is gone.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// TestReapsOrphans: a process whose parent exits is re-parented to
// pare-init, which reaps it when it ends: no zombie remains.
func TestReapsOrphans(t *testing.T) {
	cmd, dir := startInit(t, `
		trap 'exit 0' TERM
		sh -c 'sleep 1 & echo $! > "$DIR/orphan"'
		sleep 10 & wait`)
	orphan, err := strconv.Atoi(waitFile(t, filepath.Join(dir, "orphan")))
	if err != nil {
		t.Fatal(err)
	}
	// its parent, the inner sh, exits at once: the orphan's parent becomes init
	adopted := false
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		state, ppid, ok := procStat(orphan)
		if !ok {
			break
		}
		if ppid == cmd.Process.Pid {
			adopted = true
		}
		if state == 'Z' && adopted && time.Until(deadline) < 3*time.Second {
			t.Fatalf("orphan %d is a zombie of pare-init %d", orphan, cmd.Process.Pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, ok := procStat(orphan); ok {
		t.Fatalf("orphan %d still there after 5 s", orphan)
	}
	if !adopted {
		t.Errorf("orphan %d was never a child of pare-init %d", orphan, cmd.Process.Pid)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// TestForwardsSignals: each forwarded signal reaches the program, which
// exits from its trap; pare-init exits with the program's code.
func TestForwardsSignals(t *testing.T) {
	for _, sig := range forwarded {
		s := sig.(syscall.Signal)
		name := strings.TrimPrefix(signame(s), "SIG")
		t.Run(name, func(t *testing.T) {
			cmd, dir := startInit(t, `
				trap 'echo `+name+` > "$DIR/got"; kill $! 2>/dev/null; exit 7' `+name+`
				sleep 10 & echo ready > "$DIR/ready"; wait`)
			waitFile(t, filepath.Join(dir, "ready"))
			if err := cmd.Process.Signal(s); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd); code != 7 {
				t.Errorf("exit %d, want the program's 7", code)
			}
			if got := waitFile(t, filepath.Join(dir, "got")); got != name {
				t.Errorf("trap saw %q, want %q", got, name)
			}
		})
	}
}

// TestForwardsToGroup: a signal reaches the program's other processes too
// (its process group), as Ctrl-C in a terminal would.
func TestForwardsToGroup(t *testing.T) {
	cmd, dir := startInit(t, `
		sh -c 'trap "echo term > \"\$DIR/inner\"; exit 0" TERM; sleep 10 & echo ready > "$DIR/ready"; wait' &
		trap 'wait; exit 5' TERM
		wait`)
	waitFile(t, filepath.Join(dir, "ready"))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 5 {
		t.Errorf("exit %d, want 5", code)
	}
	if got := waitFile(t, filepath.Join(dir, "inner")); got != "term" {
		t.Errorf("inner process saw %q", got)
	}
}

// TestExitStatus: the program's exit code, 128+N when signal N killed it,
// 127 for a program not found, 2 without one.
func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--", "/bin/sh", "-c", "exit 3"}, 3},
		{[]string{"/bin/sh", "-c", "exit 0"}, 0},
		{[]string{"--", "/bin/sh", "-c", "kill -KILL $$"}, 128 + 9},
		{[]string{"--", "/bin/sh", "-c", "kill -TERM $$"}, 128 + 15},
		{[]string{"--", "/nonexistent/program"}, 127},
		{[]string{"--", "no-such-program-anywhere"}, 127},
		{[]string{"--"}, 2},
	} {
		cmd := exec.Command(os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), "PARE_INIT_TEST_RUN=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if got := exitCode(t, cmd); got != c.want {
			t.Errorf("pare-init %q: exit %d, want %d", c.args, got, c.want)
		}
	}
}

func signame(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	case syscall.SIGWINCH:
		return "SIGWINCH"
	}
	return s.String()
}
