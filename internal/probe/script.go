package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Script runs a program on the host (a test suite, a curl loop) against the
// container. Its environment is the caller's plus
//
//	PARE_TARGET_HOST=127.0.0.1
//	PARE_TARGET_PORT=<first port>      (when the target has ports)
//	PARE_TARGET_PORTS=<ports, space-separated>
//	PARE_CONTAINER_ID=<container id>
//
// Before it runs, it waits (bounded by the target's StartTimeout) until
// the target's ports accept connections, so that it does not race the
// server's start. It succeeds when it exits 0. On timeout or cancellation
// its whole process group is killed.
type Script struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// if it has no slash.
	Argv []string
	// Timeout bounds the script; 0 means DefaultExecTimeout.
	Timeout time.Duration
	// Dir is the working directory (default the caller's).
	Dir string
}

// ParseScript parses a script probe spec: a program path and its
// arguments separated by spaces (no quoting; use a wrapper script for more).
func ParseScript(spec string) (*Script, error) {
	argv := strings.Fields(spec)
	if len(argv) == 0 {
		return nil, errors.New("script probe: empty command")
	}
	return &Script{Argv: argv}, nil
}

// Name implements Probe.
func (s *Script) Name() string { return "script " + strings.Join(s.Argv, " ") }

// Env returns the variables added to the script's environment for t.
func (s *Script) Env(t *Target) []string {
	env := []string{"PARE_TARGET_HOST=" + TargetHost, "PARE_CONTAINER_ID=" + t.ContainerID}
	ports := make([]string, len(t.Ports))
	for i, p := range t.Ports {
		ports[i] = strconv.Itoa(p)
	}
	if len(ports) > 0 {
		env = append(env, "PARE_TARGET_PORT="+ports[0])
	}
	return append(env, "PARE_TARGET_PORTS="+strings.Join(ports, " "))
}

// Run implements Probe.
func (s *Script) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: s.Name(), Kind: KindScript, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	if len(s.Argv) == 0 {
		r.fail(errors.New("empty command"))
		return r
	}
	if err := t.waitPorts(ctx, t.Ports); err != nil {
		r.fail(err)
		return r
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Argv[0], s.Argv[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), s.Env(t)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitWriter{w: &stdout, n: MaxBody}
	cmd.Stderr = &limitWriter{w: &stderr, n: HeadSize}
	err := cmd.Run()
	r.setBody(stdout.Bytes(), int64(stdout.Len()))
	r.StderrHead = head(stderr.Bytes())
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.fail(fmt.Errorf("script: %w", ctx.Err()))
		return r
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.fail(err)
		return r
	}
	if r.ExitCode != 0 {
		r.failAs(OutcomeExitCode, fmt.Sprintf("exit code %d", r.ExitCode))
		return r
	}
	r.succeed()
	return r
}

// limitWriter keeps the first n bytes and discards the rest.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		q := p
		if int64(len(q)) > l.n {
			q = q[:l.n]
		}
		n, err := l.w.Write(q)
		l.n -= int64(n)
		if err != nil {
			return n, err
		}
	}
	return len(p), nil
}
