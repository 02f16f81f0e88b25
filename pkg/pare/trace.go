package pare

import (
	"context"
	"fmt"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/internal/trace"
)

// Probe is one way of exercising a running image, made by HTTPProbe,
// TCPProbe, ExecProbe or ScriptProbe.
type Probe struct{ p probe.Probe }

// Name identifies the probe in results ("http GET:/healthz:8080").
func (p Probe) Name() string { return p.p.Name() }

// HTTPProbe parses [METHOD:]PATH[:PORT][=CODES]: a request to 127.0.0.1
// (PORT defaults to the first exposed port). Any HTTP answer counts as
// success unless CODES (e.g. "200,204", "2xx") are given; verification
// compares the status and body either way.
func HTTPProbe(spec string) (Probe, error) {
	p, err := probe.ParseHTTP(spec)
	return Probe{p}, err
}

// TCPProbe parses PORT: the port must accept a connection (a banner is
// read if the server sends one) and the container must still run.
func TCPProbe(spec string) (Probe, error) {
	p, err := probe.ParseTCP(spec)
	return Probe{p}, err
}

// ExecProbe parses a command run inside the container as the image's user
// in its WorkingDir: a JSON argv, or a shell line run with sh -c.
func ExecProbe(spec string) (Probe, error) {
	p, err := probe.ParseExec(spec)
	return Probe{p}, err
}

// ScriptProbe parses a program and its arguments (split on spaces) run on
// the host once the exposed ports accept connections, with
// PARE_TARGET_HOST, PARE_TARGET_PORT(S) and PARE_CONTAINER_ID set.
func ScriptProbe(spec string) (Probe, error) {
	p, err := probe.ParseScript(spec)
	return Probe{p}, err
}

// ProbeResult is what one probe observed: how it ended (Outcome), status,
// exit code, body digest, and whether the container had exited.
type ProbeResult = probe.Result

// Probe outcomes, as in ProbeResult.Outcome.
const (
	OutcomeOK       = probe.OutcomeOK
	OutcomeRefused  = probe.OutcomeRefused
	OutcomeTimeout  = probe.OutcomeTimeout
	OutcomeExited   = probe.OutcomeExited
	OutcomeStatus   = probe.OutcomeStatus
	OutcomeExitCode = probe.OutcomeExitCode
	OutcomeError    = probe.OutcomeError
)

// Observations are the sensor's records of a traced run: every path
// touched and how, every program executed, every system call.
type Observations = sensor.Observations

// Writes are the paths a traced run wrote and the tmpfs mounts that would
// let it run with a read-only root filesystem.
type Writes = trace.Writes

// Network modes of RunOptions.Network.
const (
	NetworkHost   = engine.NetworkHost
	NetworkNone   = engine.NetworkNone
	NetworkBridge = engine.NetworkBridge
)

// RunOptions say how the image is run, for Trace and Verify alike.
type RunOptions struct {
	// Entrypoint and Cmd replace the image's when not nil, like docker run
	// (a new Entrypoint clears Cmd).
	Entrypoint, Cmd []string
	// Runs are more invocations of the image, each in a container of its
	// own: a run's arguments replace Cmd (docker run IMAGE ARGS). What
	// they use is kept too; the pared image's CMD does not change.
	Runs [][]string
	// Probes run in order once the container started. None: an image that
	// exposes TCP ports gets a probe on each (HTTP when it speaks HTTP, a
	// connection otherwise; the container must survive it); an image that
	// exposes none runs to completion.
	Probes []Probe
	// RunToExit waits for the program to finish even if it exposes ports.
	RunToExit bool
	// Duration keeps a server running this long after the probes; for a
	// program that runs to completion it bounds the run (default 2m).
	Duration time.Duration
	// StartTimeout bounds how long host-side probes wait for the ports to
	// accept connections (default 60s).
	StartTimeout time.Duration
	// Network is NetworkHost, NetworkNone or NetworkBridge; empty means host
	// when there is a host-side probe (HTTP, TCP, script, the default port
	// probes), else none.
	Network string
	// TempDir holds temporary files (default os.TempDir).
	TempDir string
	// OnEvent, if set, is told about progress.
	OnEvent func(Event)
}

// Event reports progress of Trace and Verify.
type Event struct {
	// Stage is "load", "inspect", "user", "sensor", "create", "start",
	// "probe", "stop", "collect" or "remove".
	Stage   string
	Message string
	// Image is the reference being run.
	Image string
	// Probe is set when a probe has finished.
	Probe *ProbeResult
}

func (o *RunOptions) traceOptions(image string) trace.Options {
	t := trace.Options{
		Entrypoint: o.Entrypoint, Cmd: o.Cmd, Runs: o.Runs,
		RunToExit: o.RunToExit, Duration: o.Duration, StartTimeout: o.StartTimeout,
		Network: o.Network, TempDir: o.TempDir,
	}
	if o.Probes != nil {
		t.Probes = []probe.Probe{}
		for _, p := range o.Probes {
			t.Probes = append(t.Probes, p.p)
		}
	}
	if o.RunToExit && len(o.Probes) == 0 {
		t.NoDefaultProbes = true
	}
	if o.OnEvent != nil {
		t.OnEvent = func(ev trace.Event) {
			o.OnEvent(Event{Stage: ev.Stage, Message: ev.Message, Image: image, Probe: ev.Probe})
		}
	}
	return t
}

func (o *RunOptions) event(stage, image, format string, args ...any) {
	if o.OnEvent != nil {
		o.OnEvent(Event{Stage: stage, Image: image, Message: fmt.Sprintf(format, args...)})
	}
}

func (o *RunOptions) validate() error {
	switch o.Network {
	case "", engine.NetworkHost, engine.NetworkNone, engine.NetworkBridge:
		return nil
	}
	return fmt.Errorf("network must be host, none or bridge, not %q", o.Network)
}

// TraceOptions configure Trace.
type TraceOptions struct {
	RunOptions
	// SensorBinary is the host path of a static pare-sensor; empty: next to
	// the executable, else built from source.
	SensorBinary string
}

// RunResult is one container run of a trace or verification.
type RunResult struct {
	Command  []string
	ExitCode int
	// Stopped says pare stopped the program (rather than it exiting).
	Stopped bool
	Probes  []ProbeResult
}

// TraceResult is what a traced run of an image produced. Pass it to
// Build (BuildOptions.Trace) to keep what the run used.
type TraceResult struct {
	// Command, ExitCode and Stopped are those of the first run.
	Command  []string
	ExitCode int
	Stopped  bool
	// Runs are every run: the image's command, then RunOptions.Runs.
	Runs []RunResult
	// Probes are the probe results of every run, in order.
	Probes []ProbeResult
	// Observations merge what every run touched.
	Observations *Observations
	// Writes are the paths written and suggested tmpfs mounts.
	Writes   *Writes
	Warnings []Warning
	// Stdout and Stderr are the tails of the first run's output.
	Stdout, Stderr []byte

	raw *trace.Result
}

// ProbesOK reports whether every probe succeeded.
func (t *TraceResult) ProbesOK() bool { return t.raw.ProbesOK() }

// SeccompProfile returns a Docker seccomp profile allowing the system
// calls the traced run made.
func (t *TraceResult) SeccompProfile() ([]byte, error) { return trace.SeccompProfile(t.Observations) }

// Trace runs src in the Docker engine under pare's sensor and probes and
// returns what it used. An image that is not in the engine is loaded under
// a temporary tag, removed afterwards; every container is removed, also
// when ctx is cancelled.
func Trace(ctx context.Context, src *Source, o TraceOptions) (*TraceResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	eng, err := engine.NewDocker(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	defer engine.Sweep(ctx, eng) //nolint:errcheck // last line of defence; trace.Run removes its containers itself
	pruneOrphans(ctx, eng, o.event)
	ref, cleanup, err := inDaemon(ctx, src, o.OnEvent)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	return traceWith(ctx, eng, src, ref, o)
}

// traceWith is Trace on a given engine with src known there as ref.
func traceWith(ctx context.Context, eng engine.Engine, src *Source, ref string, o TraceOptions) (*TraceResult, error) {
	opts := o.traceOptions(src.Ref.String())
	opts.SensorBinary = o.SensorBinary
	if src.View != nil {
		v := src.View
		opts.ResolveUser = trace.FileUserResolver(func(p string) ([]byte, error) { return v.ReadFile(p, 16<<20) })
	}
	res, err := trace.Run(ctx, eng, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	out := &TraceResult{
		Command: res.Command, ExitCode: res.ExitCode, Stopped: res.Stopped,
		Probes: res.Probes, Observations: res.Observations, Writes: trace.WrittenPaths(res.Observations),
		Stdout: res.Stdout, Stderr: res.Stderr, raw: res,
	}
	for _, r := range res.Runs {
		out.Runs = append(out.Runs, RunResult{Command: r.Command, ExitCode: r.ExitCode, Stopped: r.Stopped, Probes: r.Probes})
	}
	for _, w := range res.Warnings {
		out.Warnings = append(out.Warnings, Warning{Kind: WarningTrace, Message: w})
	}
	for _, p := range res.Probes {
		if !p.OK {
			out.Warnings = append(out.Warnings, Warning{Kind: WarningProbe,
				Message: fmt.Sprintf("probe %s failed while tracing (%s): the closure may miss what it would have used", p.Name, p.Err)})
		}
	}
	return out, nil
}
