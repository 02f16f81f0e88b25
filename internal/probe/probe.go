// Package probe drives a running container from outside so that the program
// in it does what it does in production while it is traced: HTTP requests,
// commands run inside the container, host scripts, waiting for a batch
// program to finish, or simply letting a server run for a while.
//
// Each probe is bounded by a timeout and returns a Result whose compared
// fields (see Compare) are deterministic, so the results of the original and
// the pared image can be diffed by verification.
package probe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/pare-dev/pare/internal/engine"
)

// Probe kinds, as found in Result.Kind.
const (
	KindHTTP     = "http"
	KindTCP      = "tcp"
	KindExec     = "exec"
	KindScript   = "script"
	KindExit     = "exit"
	KindDuration = "duration"
	KindPort     = "port" // a default probe that has not yet told HTTP from TCP
)

// Outcomes say how a probe ended, as found in Result.Outcome. Verification
// compares them: a server that refuses connections and one that has died
// both fail an HTTP probe, but they did not fail the same way.
const (
	OutcomeOK       = "ok"        // the expectation held
	OutcomeRefused  = "refused"   // the port never accepted a connection
	OutcomeTimeout  = "timeout"   // the probe ran out of time
	OutcomeExited   = "exited"    // the container exited before or during the probe
	OutcomeStatus   = "status"    // an HTTP status outside the expected codes
	OutcomeExitCode = "exit-code" // a command, script or program exited with another code
	OutcomeError    = "error"     // anything else (protocol error, reset, engine error)
)

// DefaultStartTimeout bounds how long a probe waits for the container's
// ports to accept connections before it acts.
const DefaultStartTimeout = 60 * time.Second

// ErrExited is wrapped by the errors of probes that found the container
// no longer running.
var ErrExited = errors.New("container exited")

// TargetHost is the only address probes connect to: containers run with
// host networking and servers are expected on the loopback interface.
const TargetHost = "127.0.0.1"

// HeadSize is how many leading bytes of a body or output Result.Head keeps.
const HeadSize = 256

// MaxBody bounds how much of a body or output is read and digested.
const MaxBody = 16 << 20

// Probe is one way of exercising a container.
type Probe interface {
	// Name identifies the probe; it is the same for the same spec, so the
	// results of two runs can be matched by name.
	Name() string
	// Run exercises the target and reports what happened. Run honours
	// ctx and its own timeout; failures are reported in the Result.
	Run(ctx context.Context, t *Target) Result
}

// Target is the running container probes act on. The functions are supplied
// by the orchestrator (internal/trace or verification); a nil function makes the
// probes that need it fail with an error.
type Target struct {
	// ContainerID is passed to scripts as PARE_CONTAINER_ID.
	ContainerID string
	// Ports are the TCP ports on 127.0.0.1 the container serves (usually
	// the image's exposed ports); probes without a port use the first.
	Ports []int
	// Exec runs argv inside the container (the tracer wraps it in the sensor).
	Exec func(ctx context.Context, argv []string) (*engine.ExecResult, error)
	// Wait blocks until the container's main process exits and returns its
	// exit code.
	Wait func(ctx context.Context) (int, error)
	// Logs returns the container's stdout and stderr so far.
	Logs func(ctx context.Context) (stdout, stderr []byte, err error)
	// State reports whether the container still runs.
	State func(ctx context.Context) (engine.State, error)
	// StartTimeout bounds the wait for a port to accept connections before
	// a host-side probe acts; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
}

func (t *Target) startTimeout() time.Duration {
	if t.StartTimeout > 0 {
		return t.StartTimeout
	}
	return DefaultStartTimeout
}

// running reports whether the container still runs (true when unknown).
func (t *Target) running(ctx context.Context) (bool, int) {
	if t.State == nil {
		return true, 0
	}
	st, err := t.State(ctx)
	if err != nil {
		return true, 0
	}
	return st.Running, st.ExitCode
}

// waitPorts waits, bounded by the start timeout, until each port accepts
// connections.
func (t *Target) waitPorts(ctx context.Context, ports []int) error {
	ctx, cancel := context.WithTimeout(ctx, t.startTimeout())
	defer cancel()
	for _, p := range ports {
		if err := WaitPort(ctx, net.JoinHostPort(TargetHost, strconv.Itoa(p)), t.State); err != nil {
			return err
		}
	}
	return nil
}

// Result is what one probe observed.
type Result struct {
	// Name is the probe's Name.
	Name string `json:"name"`
	// Kind is one of the Kind* constants.
	Kind string `json:"kind"`
	// OK says whether the probe's expectation held (status code, exit code,
	// still running).
	OK bool `json:"ok"`
	// Status is the HTTP status code (HTTP probes), 0 if no response.
	Status int `json:"status,omitempty"`
	// ExitCode is the exit code of the command, script or container
	// (exec, script, exit probes); -1 when there is none.
	ExitCode int `json:"exitCode"`
	// Digest is "sha256:<hex>" of the response body or stdout (first
	// MaxBody bytes); empty if nothing was read.
	Digest string `json:"digest,omitempty"`
	// Size is the length of the body or stdout read.
	Size int64 `json:"size"`
	// Head is the first HeadSize bytes of the body or stdout, for humans.
	Head string `json:"head,omitempty"`
	// StderrHead is the first HeadSize bytes of stderr (exec, script, exit).
	StderrHead string `json:"stderrHead,omitempty"`
	// Duration is how long the probe took; it is not compared.
	Duration time.Duration `json:"duration"`
	// Err says what went wrong, if anything.
	Err string `json:"error,omitempty"`
	// Outcome is how the probe ended (one of the Outcome* constants).
	Outcome string `json:"outcome"`
	// Exited says the container was no longer running when the probe
	// ended (set by the orchestrator after each probe).
	Exited bool `json:"exited,omitempty"`
}

// fail reports a result as a failure with the given error; its outcome is
// derived from the error.
func (r *Result) fail(err error) {
	r.OK = false
	r.Err = err.Error()
	r.Outcome = OutcomeOf(err)
}

// failAs reports a failure with an explicit outcome.
func (r *Result) failAs(outcome, msg string) {
	r.OK = false
	r.Err = msg
	r.Outcome = outcome
}

// succeed marks the result as a success.
func (r *Result) succeed() {
	r.OK = true
	r.Outcome = OutcomeOK
}

// OutcomeOf classifies the error a probe ended with.
func OutcomeOf(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrExited):
		return OutcomeExited
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	}
	return OutcomeError
}

// setBody fills Digest, Size and Head from data.
func (r *Result) setBody(data []byte, total int64) {
	if total == 0 && len(data) == 0 {
		return
	}
	sum := sha256.Sum256(data)
	r.Digest = "sha256:" + hex.EncodeToString(sum[:])
	r.Size = total
	r.Head = head(data)
}

// head returns the first HeadSize bytes of data as valid UTF-8.
func head(data []byte) string {
	if len(data) > HeadSize {
		data = data[:HeadSize]
	}
	return string([]rune(string(data))) // replaces invalid bytes with U+FFFD
}

// RunAll runs the probes in order and returns their results. It stops early
// only when ctx is done; the remaining probes are then reported as failed.
func RunAll(ctx context.Context, t *Target, probes []Probe) []Result {
	results := make([]Result, 0, len(probes))
	for _, p := range probes {
		if err := ctx.Err(); err != nil {
			results = append(results, Result{Name: p.Name(), Kind: kindOf(p), ExitCode: -1, Err: fmt.Sprintf("not run: %v", err), Outcome: OutcomeOf(err)})
			continue
		}
		results = append(results, p.Run(ctx, t))
	}
	return results
}

func kindOf(p Probe) string {
	switch p.(type) {
	case *HTTP:
		return KindHTTP
	case *TCP:
		return KindTCP
	case *Exec:
		return KindExec
	case *Script:
		return KindScript
	case *Exit:
		return KindExit
	case *Duration:
		return KindDuration
	case *Port:
		return KindPort
	}
	return ""
}

// withTimeout bounds ctx by d when d > 0.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Defaults returns the probes used when the user gives none: a Port probe
// on each exposed TCP port (GET / when the port speaks HTTP, a connection
// otherwise; the container must still run afterwards).
func Defaults(ports []engine.Port) []Probe {
	var ps []Probe
	for _, p := range ports {
		if p.Proto == "tcp" {
			ps = append(ps, &Port{Port: p.Number})
		}
	}
	return ps
}

// HostSide reports whether p acts from the host and so needs the
// container on the host network (HTTP, TCP, Port and Script probes).
func HostSide(p Probe) bool {
	switch p.(type) {
	case *HTTP, *TCP, *Port, *Script:
		return true
	}
	return false
}

// TCPPorts returns the numbers of the TCP ports among ports.
func TCPPorts(ports []engine.Port) []int {
	var ns []int
	for _, p := range ports {
		if p.Proto == "tcp" {
			ns = append(ns, p.Number)
		}
	}
	return ns
}
