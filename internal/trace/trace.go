// Package trace runs an image in a real container engine under pare's
// sensor, drives it with probes and collects what the program touched.
//
// The container's entrypoint becomes
//
//	/.pare/sensor --out /.pare/out --uid U --gid G -- <Entrypoint+Cmd>
//
// with the sensor binary bind-mounted read-only and a host temp dir
// bind-mounted at /.pare/out. The container runs as root so the sensor can
// trace and then drop to the image's user (resolved to numbers from the
// image's /etc/passwd and /etc/group). After the probes, the container is
// stopped with the image's StopSignal, the observation files are read and
// merged, and the container and temp dir are removed on every path.
//
// Run's Result also feeds two artifacts: a seccomp profile
// (SeccompProfile) and the written paths with suggested tmpfs mounts for a
// read-only root filesystem (WrittenPaths).
package trace

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/internal/toolbin"
)

// Paths inside the traced container.
const (
	SensorPath = "/.pare/sensor"
	OutDir     = "/.pare/out"
)

// RoleLabel tells what a pare container is for ("trace", "user-lookup").
const RoleLabel = "dev.pare.role"

// Defaults of Options.
const (
	DefaultStopGrace = 10 * time.Second
	DefaultLogTail   = 50
	// DefaultRunTimeout bounds a batch run when Duration is 0.
	DefaultRunTimeout = 2 * time.Minute
)

// Options configure Run. The zero value traces the image's own command:
// an image that exposes TCP ports gets a Port probe on each (HTTP when the
// port speaks it, a connection otherwise) and is stopped right after; an
// image that exposes none, with no host-side probe, is a batch job and
// runs to completion (bounded by Duration, else DefaultRunTimeout).
type Options struct {
	// SensorBinary is the host path of a static pare-sensor for the image's
	// architecture. Empty: FindSensor (next to the executable, else built
	// from source into SensorCacheDir).
	SensorBinary   string
	SensorCacheDir string

	// Entrypoint and Cmd replace the image's when not nil (like docker run
	// --entrypoint and the arguments after the image name).
	Entrypoint []string
	Cmd        []string
	// Runs are more invocations, each in a container of its own after the
	// first: a run's arguments replace Cmd (docker run IMAGE ARGS), the
	// entrypoint stays. Every run gets the same probes; their results are
	// named "run ARGS: PROBE" and their observations are merged.
	Runs [][]string
	// Env is added to the image's environment.
	Env []string

	// Network is engine.NetworkHost or engine.NetworkNone (or bridge, which
	// HTTP and TCP probes cannot reach). Empty: host when there is a
	// host-side probe (HTTP, TCP, port or script), none otherwise.
	Network string

	// Probes run in order after the container starts. When nil and
	// RunToExit is false, a Port probe on each exposed TCP port is used
	// unless NoDefaultProbes is set.
	Probes          []probe.Probe
	NoDefaultProbes bool
	// RunToExit waits for the program to finish after the probes, for at
	// most Duration (0: DefaultRunTimeout). It is implied for an image with
	// no exposed TCP port and no host-side probe.
	RunToExit bool
	// Duration keeps a server running this long after the probes; for a
	// program that runs to exit it is the timeout.
	Duration time.Duration
	// StartTimeout bounds how long host-side probes wait for the ports to
	// accept connections; 0 means probe.DefaultStartTimeout.
	StartTimeout time.Duration
	// StopGrace is how long the program gets to exit after its stop
	// signal before it is killed; 0 means DefaultStopGrace.
	StopGrace time.Duration

	// ResolveUser maps the image's User to ids. Nil: read the image's
	// /etc/passwd and /etc/group through the engine (EngineUserResolver).
	ResolveUser UserResolver
	// CapAdd adds capabilities to the container (e.g. SYS_PTRACE for the
	// sensor's plain ptrace mode).
	CapAdd []string
	// SensorArgs are extra flags for the sensor, before "--".
	SensorArgs []string

	// Untraced runs the image as it is, without the sensor, as its own
	// user: for verification, which runs the original and the pared image
	// under the same probes and compares the results (probe.Compare).
	// Result.Observations is then nil.
	Untraced bool
	// SecurityOpt, ReadOnlyRootfs and Tmpfs are passed to the engine, e.g.
	// to check a generated seccomp profile ("seccomp=<json>") or the
	// suggested tmpfs mounts (WrittenPaths) with a read-only root.
	SecurityOpt    []string
	ReadOnlyRootfs bool
	Tmpfs          map[string]string

	// TempDir is where the host output dir is created (default os.TempDir).
	TempDir string
	// KeepOutput keeps the host output dir (Result.OutputDir) instead of
	// removing it.
	KeepOutput bool
	// LogTail is how many lines of stdout and stderr Result keeps; 0 means
	// DefaultLogTail, negative keeps all.
	LogTail int

	// OnEvent, if set, is told about progress.
	OnEvent func(Event)
}

// Event reports progress of Run to the caller (the CLI renders it).
type Event struct {
	Stage   string // "inspect", "user", "sensor", "create", "start", "probe", "stop", "collect", "remove"
	Message string
	// Probe is set when Stage is "probe" and the probe has finished.
	Probe *probe.Result
}

// RunResult is one container run of a Run call.
type RunResult struct {
	// Command is the program argv of this run.
	Command []string
	// Probes are this run's probe results (names prefixed for later runs).
	Probes []probe.Result
	// ExitCode is the container's exit code; Stopped says pare stopped it.
	ExitCode int
	Stopped  bool
	// Stdout and Stderr are the tails of the container's output.
	Stdout, Stderr []byte
	// OutputDir is the host dir with this run's observation files when
	// Options.KeepOutput is set.
	OutputDir string
}

// Result is what a traced run produced. The run fields (Command, ExitCode,
// Stopped, Stdout, Stderr, OutputDir) are those of the first run; Runs has
// every run.
type Result struct {
	ImageRef string
	Image    *engine.Image
	// Command is the program argv run under the sensor.
	Command []string
	User    Identity
	Network string
	// Observations merges the main program's and every probe exec's.
	Observations *sensor.Observations
	// Parts are the individual observation files, main program first,
	// run after run.
	Parts []*sensor.Observations
	// Probes are the probe results of every run in order.
	Probes []probe.Result
	// Runs are the container runs: the image's command, then Options.Runs.
	Runs []RunResult
	// ExitCode is the container's exit code; Stopped says pare stopped it
	// (rather than the program exiting on its own).
	ExitCode int
	Stopped  bool
	// Stdout and Stderr are the tails of the container's output.
	Stdout, Stderr []byte
	// OutputDir is the host dir with the observation files when
	// Options.KeepOutput is set.
	OutputDir string
	// Warnings are non-fatal problems (incomplete observations, ...).
	Warnings []string
}

// ProbesOK reports whether every probe succeeded.
func (r *Result) ProbesOK() bool {
	for _, p := range r.Probes {
		if !p.OK {
			return false
		}
	}
	return true
}

func (o *Options) event(stage, format string, args ...any) {
	if o.OnEvent != nil {
		o.OnEvent(Event{Stage: stage, Message: fmt.Sprintf(format, args...)})
	}
}

// Command returns the argv of the traced container: the sensor with its
// flags wrapping argv.
func Command(id Identity, sensorArgs, argv []string) []string {
	cmd := append([]string{SensorPath, "--out", OutDir}, credFlags(id)...)
	cmd = append(cmd, sensorArgs...)
	cmd = append(cmd, "--")
	return append(cmd, argv...)
}

// ExecCommand returns the argv of a probe exec run under the sensor.
func ExecCommand(id Identity, argv []string) []string {
	cmd := append([]string{SensorPath, "exec", "--out", OutDir}, credFlags(id)...)
	cmd = append(cmd, "--")
	return append(cmd, argv...)
}

func credFlags(id Identity) []string {
	f := []string{"--uid", strconv.Itoa(id.UID), "--gid", strconv.Itoa(id.GID)}
	if len(id.Groups) > 0 {
		gs := make([]string, len(id.Groups))
		for i, g := range id.Groups {
			gs[i] = strconv.Itoa(g)
		}
		f = append(f, "--groups", strings.Join(gs, ","))
	}
	return f
}

// Run traces image (a reference the engine knows) under the sensor and the
// probes in opts; with opts.Untraced it runs the image as it is under the
// same probes (verification). Each of opts.Runs is one more run in a
// container of its own. The containers and the host temp dirs are removed
// before Run returns, also when ctx is cancelled.
func Run(ctx context.Context, eng engine.Engine, imageRef string, opts Options) (*Result, error) {
	res := &Result{ImageRef: imageRef, ExitCode: -1}

	opts.event("inspect", "inspecting %s", imageRef)
	im, err := eng.InspectImage(ctx, imageRef)
	if err != nil {
		return nil, err
	}
	res.Image = im
	if im.OS != "" && im.OS != "linux" {
		return nil, fmt.Errorf("tracing %s: os %q is not linux", imageRef, im.OS)
	}

	argvs := [][]string{runArgv(im, opts.Entrypoint, opts.Cmd)}
	for _, r := range opts.Runs {
		argvs = append(argvs, runArgv(im, opts.Entrypoint, r))
	}
	for _, argv := range argvs {
		if len(argv) == 0 {
			return nil, fmt.Errorf("tracing %s: image has no entrypoint or cmd", imageRef)
		}
	}

	probes, batch := plan(im, &opts)
	network, err := pickNetwork(opts.Network, probes)
	if err != nil {
		return nil, fmt.Errorf("tracing %s: %w", imageRef, err)
	}
	res.Network = network
	res.Command = argvs[0]

	p := &runPlan{eng: eng, imageRef: imageRef, im: im, opts: &opts, probes: probes, batch: batch, network: network}
	if !opts.Untraced {
		if err := p.prepareSensor(ctx, res); err != nil {
			return nil, err
		}
	}
	for i, argv := range argvs {
		prefix := ""
		if i > 0 {
			prefix = "run " + strings.Join(opts.Runs[i-1], " ") + ": "
		}
		rr, parts, warnings, err := p.runOne(ctx, argv, prefix)
		if err != nil {
			verb := "tracing"
			if opts.Untraced {
				verb = "running"
			}
			return nil, fmt.Errorf("%s %s: %w", verb, imageRef, err)
		}
		res.Runs = append(res.Runs, *rr)
		res.Probes = append(res.Probes, rr.Probes...)
		res.Parts = append(res.Parts, parts...)
		res.Warnings = append(res.Warnings, warnings...)
	}
	first := res.Runs[0]
	res.ExitCode, res.Stopped, res.Stdout, res.Stderr, res.OutputDir = first.ExitCode, first.Stopped, first.Stdout, first.Stderr, first.OutputDir
	if !opts.Untraced {
		res.Observations = Merge(res.Parts...)
	}
	return res, nil
}

// plan decides the probes of each run and whether the program is a batch
// job that runs to completion: with RunToExit, or when the image exposes
// no TCP port and no host-side probe is given (nothing would talk to a
// server, so stopping it at once would trace nothing).
func plan(im *engine.Image, opts *Options) ([]probe.Probe, bool) {
	probes := opts.Probes
	ports := probe.TCPPorts(im.ExposedPorts)
	if probes == nil && !opts.RunToExit && !opts.NoDefaultProbes {
		probes = probe.Defaults(im.ExposedPorts)
	}
	server := slices.ContainsFunc(probes, probe.HostSide)
	return probes, opts.RunToExit || (len(ports) == 0 && !server)
}

// runPlan is what every run of one Run call shares.
type runPlan struct {
	eng      engine.Engine
	imageRef string
	im       *engine.Image
	opts     *Options
	probes   []probe.Probe
	batch    bool
	network  string
	// traced runs only
	id        Identity
	sensorBin string
}

// prepareSensor resolves the image user and finds the sensor binary.
func (p *runPlan) prepareSensor(ctx context.Context, res *Result) error {
	opts := p.opts
	resolve := opts.ResolveUser
	if resolve == nil {
		resolve = EngineUserResolver(ctx, p.eng, p.imageRef)
	}
	opts.event("user", "resolving user %q", p.im.User)
	id, err := resolve(p.im.User)
	if err != nil {
		return err
	}
	res.User, p.id = id, id
	sensorBin := opts.SensorBinary
	if sensorBin == "" {
		opts.event("sensor", "finding pare-sensor for %s", p.im.Architecture)
		if sensorBin, err = FindSensor(ctx, goArch(p.im.Architecture), opts.SensorCacheDir); err != nil {
			return err
		}
	}
	if sensorBin, err = filepath.Abs(sensorBin); err != nil {
		return fmt.Errorf("sensor path: %w", err)
	}
	if err := checkSensor(sensorBin, goArch(p.im.Architecture)); err != nil {
		return err
	}
	p.sensorBin = sensorBin
	return nil
}

// runOne runs argv in a container of its own under the probes; result
// names get prefix (empty for the first run).
func (p *runPlan) runOne(ctx context.Context, argv []string, prefix string) (*RunResult, []*sensor.Observations, []string, error) {
	opts, im := p.opts, p.im
	if p.network == engine.NetworkHost {
		if err := portsFree(ctx, p.probes, probe.TCPPorts(im.ExposedPorts)); err != nil {
			return nil, nil, nil, err
		}
	}
	rr := &RunResult{Command: argv, ExitCode: -1}
	spec := engine.ContainerSpec{
		Image:          p.imageRef,
		Cmd:            []string{},
		Env:            slices.Clone(opts.Env),
		Network:        p.network,
		CapAdd:         opts.CapAdd,
		SecurityOpt:    opts.SecurityOpt,
		ReadOnlyRootfs: opts.ReadOnlyRootfs,
		Tmpfs:          opts.Tmpfs,
		StopSignal:     im.StopSignal,
	}
	// An exec runs like docker exec: as the image's user, in its
	// WorkingDir (made explicit: the traced container itself runs as root).
	execSpec := engine.ExecSpec{User: im.User, WorkingDir: im.WorkingDir}
	var outDir string
	if opts.Untraced {
		spec.Entrypoint = argv
		spec.Labels = map[string]string{RoleLabel: "probe"}
	} else {
		var err error
		outDir, err = os.MkdirTemp(opts.TempDir, "pare-trace-")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("creating output dir: %w", err)
		}
		if opts.KeepOutput {
			rr.OutputDir = outDir
		} else {
			defer os.RemoveAll(outDir)
		}
		if !hasEnv(im.Env, "HOME") && !hasEnv(opts.Env, "HOME") {
			// The engine sets HOME from the container user, which is root
			// here; the program would see the image user's home.
			spec.Env = append(spec.Env, "HOME="+p.id.Home)
			execSpec.Env = []string{"HOME=" + p.id.Home}
		}
		spec.Entrypoint = Command(p.id, opts.SensorArgs, argv)
		spec.User = "0:0"
		spec.Mounts = []engine.Mount{
			{Source: p.sensorBin, Target: SensorPath, ReadOnly: true},
			{Source: outDir, Target: OutDir},
		}
		spec.Labels = map[string]string{RoleLabel: "trace"}
		execSpec.User = "0:0"
	}
	opts.event("create", "creating container (network %s)", p.network)
	err := engine.WithContainer(ctx, p.eng, spec, func(ctx context.Context, cid string) error {
		exec := func(ctx context.Context, argv []string) (*engine.ExecResult, error) {
			es := execSpec
			es.Argv = argv
			if !opts.Untraced {
				es.Argv = ExecCommand(p.id, argv)
			}
			return p.eng.Exec(ctx, cid, es)
		}
		return p.drive(ctx, cid, exec, prefix, rr)
	})
	opts.event("remove", "removed container")
	if err != nil || opts.Untraced {
		return rr, nil, nil, err
	}
	opts.event("collect", "reading observations")
	parts, warnings, err := collect(outDir, rr.Stderr, prefix)
	if err != nil {
		return nil, nil, nil, err
	}
	return rr, parts, warnings, nil
}

// drive starts the container, runs the probes, stops it and reads its logs.
func (p *runPlan) drive(ctx context.Context, cid string, exec func(context.Context, []string) (*engine.ExecResult, error), prefix string, rr *RunResult) error {
	eng, im, opts := p.eng, p.im, p.opts
	opts.event("start", "starting %s", cid[:min(12, len(cid))])
	if err := eng.Start(ctx, cid); err != nil {
		return err
	}
	target := &probe.Target{
		ContainerID:  cid,
		Ports:        probe.TCPPorts(im.ExposedPorts),
		Exec:         exec,
		Wait:         func(ctx context.Context) (int, error) { return eng.Wait(ctx, cid) },
		Logs:         func(ctx context.Context) ([]byte, []byte, error) { return eng.Logs(ctx, cid, 0) },
		State:        func(ctx context.Context) (engine.State, error) { return eng.State(ctx, cid) },
		StartTimeout: opts.StartTimeout,
	}
	all := slices.Clone(p.probes)
	switch {
	case p.batch:
		d := opts.Duration
		if d <= 0 {
			d = DefaultRunTimeout
		}
		all = append(all, &probe.Exit{Timeout: d})
	case opts.Duration > 0:
		all = append(all, &probe.Duration{D: opts.Duration})
	}
	for _, pr := range all {
		if ctx.Err() != nil {
			break
		}
		opts.event("probe", "%s%s", prefix, pr.Name())
		r := pr.Run(ctx, target)
		r.Name = prefix + r.Name
		if st, err := eng.State(ctx, cid); err == nil && !st.Running {
			r.Exited = true
			if r.ExitCode == -1 {
				r.ExitCode = st.ExitCode
			}
		}
		rr.Probes = append(rr.Probes, r)
		if opts.OnEvent != nil {
			opts.OnEvent(Event{Stage: "probe", Message: r.Name, Probe: &r})
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	st, err := eng.State(ctx, cid)
	if err != nil {
		return err
	}
	if st.Running {
		sig := im.StopSignal
		if sig == "" {
			sig = "SIGTERM"
		}
		grace := opts.StopGrace
		if grace <= 0 {
			grace = DefaultStopGrace
		}
		opts.event("stop", "stopping with %s (grace %s)", sig, grace)
		code, err := engine.StopContainer(ctx, eng, cid, sig, grace)
		if err != nil {
			return err
		}
		rr.ExitCode = code
		rr.Stopped = true
	} else {
		rr.ExitCode = st.ExitCode
	}
	tail := opts.LogTail
	if tail == 0 {
		tail = DefaultLogTail
	}
	stdout, stderr, err := eng.Logs(ctx, cid, max(tail, 0))
	if err != nil {
		return err
	}
	rr.Stdout, rr.Stderr = stdout, stderr
	return nil
}

// collect reads the sensor's files of one run from the host output dir.
func collect(dir string, stderr []byte, prefix string) ([]*sensor.Observations, []string, error) {
	main := filepath.Join(dir, sensor.ObservationsFile)
	if _, err := os.Stat(main); err != nil {
		return nil, nil, fmt.Errorf("sensor wrote no %s (did the sensor start? container output: %s)", sensor.ObservationsFile, lastLine(stderr))
	}
	o, err := sensor.ReadObservations(main)
	if err != nil {
		return nil, nil, err
	}
	parts := []*sensor.Observations{o}
	execs, err := filepath.Glob(filepath.Join(dir, sensor.ExecFilePrefix+"*.json"))
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(execs)
	for _, f := range execs {
		o, err := sensor.ReadObservations(f)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, o)
	}
	var warnings []string
	for i, p := range parts {
		name := prefix + "main program"
		if i > 0 {
			name = prefix + "exec " + strings.Join(p.Command, " ")
		}
		if !p.Complete {
			warnings = append(warnings, fmt.Sprintf("observations of %s are incomplete (killed before it flushed)", name))
		}
		if p.Error != "" {
			warnings = append(warnings, fmt.Sprintf("sensor error for %s: %s", name, p.Error))
		}
		if !slices.ContainsFunc(p.Execs, func(e sensor.Exec) bool { return e.OK }) {
			why := "no exec seen"
			if len(p.Execs) > 0 {
				why = p.Execs[0].Path + ": " + p.Execs[0].Errno
			}
			warnings = append(warnings, fmt.Sprintf("%s never started (%s)", name, why))
		}
	}
	return parts, warnings, nil
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "none"
	}
	return strconv.Quote(s)
}

// runArgv is what the engine would run: entrypoint and cmd overrides follow
// docker run (a new entrypoint drops the image's Cmd).
func runArgv(im *engine.Image, entrypoint, cmd []string) []string {
	o := imagecfg.Override{Entrypoint: entrypoint, EntrypointSet: entrypoint != nil, Cmd: cmd, CmdSet: cmd != nil}
	return imagecfg.Argv(im.Entrypoint, im.Cmd, o)
}

func pickNetwork(network string, probes []probe.Probe) (string, error) {
	hostSide, needsHost := false, false
	for _, p := range probes {
		if probe.HostSide(p) {
			hostSide = true
			if _, script := p.(*probe.Script); !script {
				needsHost = true
			}
		}
	}
	switch network {
	case "":
		if hostSide {
			return engine.NetworkHost, nil
		}
		return engine.NetworkNone, nil
	case engine.NetworkHost:
		return network, nil
	case engine.NetworkNone, engine.NetworkBridge:
		if needsHost {
			return "", fmt.Errorf("HTTP and TCP probes reach 127.0.0.1 only and need network host, not %s", network)
		}
		return network, nil
	}
	return "", fmt.Errorf("unknown network mode %q", network)
}

// portsFree checks that nothing listens yet on the ports the probes will
// use or the image exposes: with host networking another server there
// would answer them.
func portsFree(ctx context.Context, probes []probe.Probe, exposed []int) error {
	var busy []string
	for _, p := range probes {
		var port int
		switch p := p.(type) {
		case *probe.HTTP:
			port = p.Port
		case *probe.TCP:
			port = p.Port
		case *probe.Port:
			port = p.Port
		default:
			continue
		}
		if port == 0 && len(exposed) > 0 {
			port = exposed[0]
		}
		if port == 0 {
			continue
		}
		addr := net.JoinHostPort(probe.TargetHost, strconv.Itoa(port))
		if !slices.Contains(busy, addr) && listening(ctx, addr) {
			busy = append(busy, addr)
		}
	}
	for _, port := range exposed {
		addr := net.JoinHostPort(probe.TargetHost, strconv.Itoa(port))
		if !slices.Contains(busy, addr) && listening(ctx, addr) {
			busy = append(busy, addr)
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("something already listens on %s; it would answer the probes instead of the container", strings.Join(busy, ", "))
	}
	return nil
}

// listening reports whether something accepts connections on addr.
func listening(ctx context.Context, addr string) bool {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp4", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func hasEnv(env []string, name string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == name {
			return true
		}
	}
	return false
}

// goArch maps an image architecture to GOARCH (they agree for the common ones).
func goArch(arch string) string { return toolbin.GOARCH(arch) }
