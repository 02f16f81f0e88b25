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
	"fmt"
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
)

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
}

// fail reports a result as a failure with the given error.
func (r *Result) fail(err error) {
	r.OK = false
	r.Err = err.Error()
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
			results = append(results, Result{Name: p.Name(), Kind: kindOf(p), ExitCode: -1, Err: fmt.Sprintf("not run: %v", err)})
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

// Defaults returns the probes used when the user gives none: GET / on each
// exposed TCP port.
func Defaults(ports []engine.Port) []Probe {
	var ps []Probe
	for _, p := range ports {
		if p.Proto == "tcp" {
			ps = append(ps, &HTTP{Method: "GET", Path: "/", Port: p.Number})
		}
	}
	return ps
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
