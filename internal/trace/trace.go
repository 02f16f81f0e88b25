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
)

// Options configure Run. The zero value traces the image's own command,
// probes GET / on each exposed port and stops it right after.
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
	// Env is added to the image's environment.
	Env []string

	// Network is engine.NetworkHost or engine.NetworkNone (or bridge, which
	// HTTP and TCP probes cannot reach). Empty: host when there are HTTP or
	// TCP probes, none otherwise.
	Network string

	// Probes run in order after the container starts. When nil and
	// RunToExit is false, GET / on each exposed TCP port is used unless
	// NoDefaultProbes is set.
	Probes          []probe.Probe
	NoDefaultProbes bool
	// RunToExit waits for the program to finish (batch images) after the
	// probes, for at most Duration (0: until ctx is done).
	RunToExit bool
	// Duration keeps a server running this long after the probes; with
	// RunToExit it is the timeout.
	Duration time.Duration
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

// Result is what a traced run produced.
type Result struct {
	ImageRef string
	Image    *engine.Image
	// Command is the program argv run under the sensor.
	Command []string
	User    Identity
	Network string
	// Observations merges the main program's and every probe exec's.
	Observations *sensor.Observations
	// Parts are the individual observation files, main program first.
	Parts []*sensor.Observations
	// Probes are the probe results in order.
	Probes []probe.Result
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
// same probes (verification). The containers and the host temp dir are
// removed before Run returns, also when ctx is cancelled.
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

	argv := runArgv(im, opts.Entrypoint, opts.Cmd)
	if len(argv) == 0 {
		return nil, fmt.Errorf("tracing %s: image has no entrypoint or cmd", imageRef)
	}

	probes := opts.Probes
	if probes == nil && !opts.RunToExit && !opts.NoDefaultProbes {
		probes = probe.Defaults(im.ExposedPorts)
	}
	network, err := pickNetwork(opts.Network, probes)
	if err != nil {
		return nil, fmt.Errorf("tracing %s: %w", imageRef, err)
	}
	res.Network = network
	if network == engine.NetworkHost {
		if err := portsFree(ctx, probes, probe.TCPPorts(im.ExposedPorts)); err != nil {
			return nil, fmt.Errorf("tracing %s: %w", imageRef, err)
		}
	}

	res.Command = argv
	if opts.Untraced {
		spec := engine.ContainerSpec{
			Image:          imageRef,
			Entrypoint:     argv,
			Cmd:            []string{},
			Env:            opts.Env,
			Network:        network,
			CapAdd:         opts.CapAdd,
			SecurityOpt:    opts.SecurityOpt,
			ReadOnlyRootfs: opts.ReadOnlyRootfs,
			Tmpfs:          opts.Tmpfs,
			StopSignal:     im.StopSignal,
			Labels:         map[string]string{RoleLabel: "probe"},
		}
		opts.event("create", "creating container (network %s)", network)
		err = engine.WithContainer(ctx, eng, spec, func(ctx context.Context, cid string) error {
			exec := func(ctx context.Context, argv []string) (*engine.ExecResult, error) {
				return eng.Exec(ctx, cid, engine.ExecSpec{Argv: argv})
			}
			return drive(ctx, eng, cid, im, exec, probes, &opts, res)
		})
		opts.event("remove", "removed container")
		if err != nil {
			return nil, fmt.Errorf("running %s: %w", imageRef, err)
		}
		return res, nil
	}

	resolve := opts.ResolveUser
	if resolve == nil {
		resolve = EngineUserResolver(ctx, eng, imageRef)
	}
	opts.event("user", "resolving user %q", im.User)
	id, err := resolve(im.User)
	if err != nil {
		return nil, err
	}
	res.User = id

	sensorBin := opts.SensorBinary
	if sensorBin == "" {
		opts.event("sensor", "finding pare-sensor for %s", im.Architecture)
		if sensorBin, err = FindSensor(ctx, goArch(im.Architecture), opts.SensorCacheDir); err != nil {
			return nil, err
		}
	}
	if sensorBin, err = filepath.Abs(sensorBin); err != nil {
		return nil, fmt.Errorf("sensor path: %w", err)
	}
	if err := checkSensor(sensorBin, goArch(im.Architecture)); err != nil {
		return nil, err
	}

	outDir, err := os.MkdirTemp(opts.TempDir, "pare-trace-")
	if err != nil {
		return nil, fmt.Errorf("creating output dir: %w", err)
	}
	if opts.KeepOutput {
		res.OutputDir = outDir
	} else {
		defer os.RemoveAll(outDir)
	}

	env := slices.Clone(opts.Env)
	if !hasEnv(im.Env, "HOME") && !hasEnv(opts.Env, "HOME") {
		// The engine sets HOME from the container user, which is root
		// here; the program would see the image user's home.
		env = append(env, "HOME="+id.Home)
	}
	spec := engine.ContainerSpec{
		Image:      imageRef,
		Entrypoint: Command(id, opts.SensorArgs, argv),
		Cmd:        []string{},
		User:       "0:0",
		Env:        env,
		Network:    network,
		Mounts: []engine.Mount{
			{Source: sensorBin, Target: SensorPath, ReadOnly: true},
			{Source: outDir, Target: OutDir},
		},
		CapAdd:         opts.CapAdd,
		SecurityOpt:    opts.SecurityOpt,
		ReadOnlyRootfs: opts.ReadOnlyRootfs,
		Tmpfs:          opts.Tmpfs,
		StopSignal:     im.StopSignal,
		Labels:         map[string]string{RoleLabel: "trace"},
	}

	opts.event("create", "creating container (network %s)", network)
	err = engine.WithContainer(ctx, eng, spec, func(ctx context.Context, cid string) error {
		exec := func(ctx context.Context, argv []string) (*engine.ExecResult, error) {
			return eng.Exec(ctx, cid, engine.ExecSpec{Argv: ExecCommand(id, argv), User: "0:0"})
		}
		return drive(ctx, eng, cid, im, exec, probes, &opts, res)
	})
	opts.event("remove", "removed container")
	if err != nil {
		return nil, fmt.Errorf("tracing %s: %w", imageRef, err)
	}

	opts.event("collect", "reading observations")
	if err := collect(outDir, res); err != nil {
		return nil, fmt.Errorf("tracing %s: %w", imageRef, err)
	}
	return res, nil
}

// drive starts the container, runs the probes, stops it and reads its logs.
func drive(ctx context.Context, eng engine.Engine, cid string, im *engine.Image, exec func(context.Context, []string) (*engine.ExecResult, error), probes []probe.Probe, opts *Options, res *Result) error {
	opts.event("start", "starting %s", cid[:min(12, len(cid))])
	if err := eng.Start(ctx, cid); err != nil {
		return err
	}
	target := &probe.Target{
		ContainerID: cid,
		Ports:       probe.TCPPorts(im.ExposedPorts),
		Exec:        exec,
		Wait:        func(ctx context.Context) (int, error) { return eng.Wait(ctx, cid) },
		Logs:        func(ctx context.Context) ([]byte, []byte, error) { return eng.Logs(ctx, cid, 0) },
		State: func(ctx context.Context) (engine.State, error) {
			return eng.State(ctx, cid)
		},
	}
	all := slices.Clone(probes)
	if opts.RunToExit {
		all = append(all, &probe.Exit{Timeout: opts.Duration})
	} else if opts.Duration > 0 {
		all = append(all, &probe.Duration{D: opts.Duration})
	}
	for _, p := range all {
		if ctx.Err() != nil {
			break
		}
		opts.event("probe", "%s", p.Name())
		r := p.Run(ctx, target)
		res.Probes = append(res.Probes, r)
		if opts.OnEvent != nil {
			opts.OnEvent(Event{Stage: "probe", Message: p.Name(), Probe: &r})
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
		res.ExitCode = code
		res.Stopped = true
	} else {
		res.ExitCode = st.ExitCode
	}
	tail := opts.LogTail
	if tail == 0 {
		tail = DefaultLogTail
	}
	stdout, stderr, err := eng.Logs(ctx, cid, max(tail, 0))
	if err != nil {
		return err
	}
	res.Stdout, res.Stderr = stdout, stderr
	return nil
}

// collect reads the sensor's files from the host output dir.
func collect(dir string, res *Result) error {
	main := filepath.Join(dir, sensor.ObservationsFile)
	if _, err := os.Stat(main); err != nil {
		return fmt.Errorf("sensor wrote no %s (did the sensor start? container output: %s)", sensor.ObservationsFile, lastLine(res.Stderr))
	}
	o, err := sensor.ReadObservations(main)
	if err != nil {
		return err
	}
	res.Parts = append(res.Parts, o)
	execs, err := filepath.Glob(filepath.Join(dir, sensor.ExecFilePrefix+"*.json"))
	if err != nil {
		return err
	}
	slices.Sort(execs)
	for _, f := range execs {
		o, err := sensor.ReadObservations(f)
		if err != nil {
			return err
		}
		res.Parts = append(res.Parts, o)
	}
	for i, p := range res.Parts {
		name := "main program"
		if i > 0 {
			name = "exec " + strings.Join(p.Command, " ")
		}
		if !p.Complete {
			res.Warnings = append(res.Warnings, fmt.Sprintf("observations of %s are incomplete (killed before it flushed)", name))
		}
		if p.Error != "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("sensor error for %s: %s", name, p.Error))
		}
		if !slices.ContainsFunc(p.Execs, func(e sensor.Exec) bool { return e.OK }) {
			why := "no exec seen"
			if len(p.Execs) > 0 {
				why = p.Execs[0].Path + ": " + p.Execs[0].Errno
			}
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s never started (%s)", name, why))
		}
	}
	res.Observations = Merge(res.Parts...)
	return nil
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
	hasHTTP := false
	for _, p := range probes {
		switch p.(type) {
		case *probe.HTTP, *probe.TCP:
			hasHTTP = true
		}
	}
	switch network {
	case "":
		if hasHTTP {
			return engine.NetworkHost, nil
		}
		return engine.NetworkNone, nil
	case engine.NetworkHost:
		return network, nil
	case engine.NetworkNone, engine.NetworkBridge:
		if hasHTTP {
			return "", fmt.Errorf("HTTP and TCP probes reach 127.0.0.1 only and need network host, not %s", network)
		}
		return network, nil
	}
	return "", fmt.Errorf("unknown network mode %q", network)
}

// portsFree checks that nothing listens yet on the ports the HTTP probes
// will use: with host networking another server there would answer them.
func portsFree(ctx context.Context, probes []probe.Probe, exposed []int) error {
	var busy []string
	for _, p := range probes {
		var port int
		switch p := p.(type) {
		case *probe.HTTP:
			port = p.Port
		case *probe.TCP:
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
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := d.DialContext(dctx, "tcp4", addr)
		cancel()
		if err == nil {
			conn.Close()
			if !slices.Contains(busy, addr) {
				busy = append(busy, addr)
			}
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("something already listens on %s; it would answer the probes instead of the container", strings.Join(busy, ", "))
	}
	return nil
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
func goArch(arch string) string {
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return arch
}
