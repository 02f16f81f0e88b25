package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultExecTimeout bounds an exec or script probe.
const DefaultExecTimeout = 60 * time.Second

// Exec runs a command inside the container. In dynamic mode the tracer's
// Target.Exec wraps it in the sensor (/.pare/sensor exec --out /.pare/out --
// ARGV), so what it touches is recorded too.
type Exec struct {
	// Argv is the command; ParseExec turns a shell line into sh -c LINE.
	Argv []string
	// ExpectCode is the exit code that counts as success (default 0).
	ExpectCode int
	// Timeout bounds the command; 0 means DefaultExecTimeout.
	Timeout time.Duration
}

// ParseExec parses an exec probe spec: a JSON array is an argv
// (`["/app","--version"]`), anything else a shell command line run with
// sh -c (the image needs a shell for that).
func ParseExec(spec string) (*Exec, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, errors.New("exec probe: empty command")
	}
	if strings.HasPrefix(s, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(s), &argv); err != nil {
			return nil, fmt.Errorf("exec probe %q: parsing JSON argv: %w", spec, err)
		}
		if len(argv) == 0 || argv[0] == "" {
			return nil, fmt.Errorf("exec probe %q: empty argv", spec)
		}
		return &Exec{Argv: argv}, nil
	}
	return &Exec{Argv: []string{"sh", "-c", spec}}, nil
}

// Name implements Probe.
func (e *Exec) Name() string {
	if len(e.Argv) == 3 && e.Argv[0] == "sh" && e.Argv[1] == "-c" {
		return "exec " + e.Argv[2]
	}
	b, _ := json.Marshal(e.Argv)
	return "exec " + string(b)
}

// Run implements Probe.
func (e *Exec) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: e.Name(), Kind: KindExec, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	if t.Exec == nil {
		r.fail(errors.New("exec is not available for this target"))
		return r
	}
	if len(e.Argv) == 0 {
		r.fail(errors.New("empty command"))
		return r
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	res, err := t.Exec(ctx, e.Argv)
	if err != nil {
		r.fail(err)
		return r
	}
	r.ExitCode = res.ExitCode
	r.setBody(res.Stdout, int64(len(res.Stdout)))
	r.StderrHead = head(res.Stderr)
	if res.ExitCode != e.ExpectCode {
		r.failAs(OutcomeExitCode, fmt.Sprintf("exit code %d, want %d", res.ExitCode, e.ExpectCode))
		return r
	}
	r.succeed()
	return r
}
