package probe

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Exit waits for the container's main process to finish (batch images) and
// records its exit code and standard output.
type Exit struct {
	// ExpectCode is the exit code that counts as success (default 0).
	ExpectCode int
	// Timeout bounds the wait; 0 waits as long as ctx allows.
	Timeout time.Duration
}

// Name implements Probe.
func (e *Exit) Name() string { return "exit" }

// Run implements Probe.
func (e *Exit) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: e.Name(), Kind: KindExit, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	if t.Wait == nil {
		r.fail(errors.New("wait is not available for this target"))
		return r
	}
	ctx, cancel := withTimeout(ctx, e.Timeout)
	defer cancel()
	code, err := t.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("program did not exit within %s: %w", e.Timeout, ctx.Err())
		}
		r.fail(err)
		return r
	}
	r.ExitCode = code
	if t.Logs != nil {
		stdout, stderr, err := t.Logs(ctx)
		if err != nil {
			r.fail(err)
			return r
		}
		r.setBody(stdout, int64(len(stdout)))
		r.StderrHead = head(stderr)
	}
	if code != e.ExpectCode {
		r.failAs(OutcomeExitCode, fmt.Sprintf("exit code %d, want %d", code, e.ExpectCode))
		return r
	}
	r.succeed()
	return r
}

// Duration lets a server run for a while (after the other probes) and
// checks that it keeps running: it fails as soon as the container exits.
type Duration struct {
	D time.Duration
}

// Name implements Probe.
func (d *Duration) Name() string { return "duration " + d.D.String() }

// durationPoll is how often Duration checks that the container still runs.
const durationPoll = time.Second

// Run implements Probe.
func (d *Duration) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: d.Name(), Kind: KindDuration, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	timer := time.NewTimer(d.D)
	defer timer.Stop()
	tick := time.NewTicker(durationPoll)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			r.fail(ctx.Err())
			return r
		case <-timer.C:
			done = true
		case <-tick.C:
		}
		if t.State == nil {
			continue
		}
		st, err := t.State(ctx)
		if err != nil {
			r.fail(err)
			return r
		}
		if !st.Running {
			r.ExitCode = st.ExitCode
			r.fail(fmt.Errorf("%w with code %d", ErrExited, st.ExitCode))
			return r
		}
	}
	r.succeed()
	return r
}
