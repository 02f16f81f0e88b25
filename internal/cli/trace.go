package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/keep"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/source"
	"github.com/pare-dev/pare/internal/trace"
	"github.com/pare-dev/pare/pkg/transport"
)

// traceFlags drive a traced run: probes, how long, which network.
type traceFlags struct {
	probes     probeSpecs
	runToExit  bool
	duration   time.Duration
	network    string
	sensor     string
	seccompOut string
}

// probeSpec is one probe flag, kept in command-line order.
type probeSpec struct{ flag, spec string }

// probeSpecs collects the probe flags of every kind in the order given, so
// that "--tcp-probe 5432 --exec 'psql ...'" waits for the port first.
type probeSpecs []probeSpec

// probeFlag is the pflag.Value of one probe flag name.
type probeFlag struct {
	name string
	list *probeSpecs
}

func (p probeFlag) String() string { return "" }
func (p probeFlag) Type() string   { return "spec" }
func (p probeFlag) Set(v string) error {
	*p.list = append(*p.list, probeSpec{p.name, v})
	return nil
}

func (f *traceFlags) register(fl *pflag.FlagSet) {
	fl.Var(probeFlag{"http-probe", &f.probes}, "http-probe", "HTTP probe [METHOD:]PATH[:PORT][=CODES] on 127.0.0.1 (repeatable; default GET / on each exposed port)")
	fl.Var(probeFlag{"tcp-probe", &f.probes}, "tcp-probe", "wait until 127.0.0.1:PORT accepts connections (repeatable)")
	fl.Var(probeFlag{"exec", &f.probes}, "exec", `command run inside the container under the tracer: a shell line or a JSON argv (repeatable)`)
	fl.Var(probeFlag{"probe-script", &f.probes}, "probe-script", "script run on the host with PARE_TARGET_HOST/PARE_TARGET_PORT(S)/PARE_CONTAINER_ID set (repeatable)")
	fl.BoolVar(&f.runToExit, "run-to-exit", false, "batch image: let the command run to completion")
	fl.DurationVar(&f.duration, "duration", 0, "keep a server running this long after the probes (with --run-to-exit: the timeout)")
	fl.StringVar(&f.network, "network", "", "network of the container: host, none or bridge (default: host with HTTP/TCP probes, else none)")
	fl.StringVar(&f.sensor, "sensor", "", "path of a static pare-sensor binary (default: next to pare, else built from source)")
	fl.StringVar(&f.seccompOut, "seccomp-out", "", "write a Docker seccomp profile of the system calls seen to FILE")
}

// options turns the flags into trace options; probes run in the order given.
func (f *traceFlags) options(entrypoint, cmd []string) (trace.Options, error) {
	o := trace.Options{
		SensorBinary: f.sensor, RunToExit: f.runToExit, Duration: f.duration, Network: f.network,
		Entrypoint: entrypoint, Cmd: cmd,
	}
	switch f.network {
	case "", engine.NetworkHost, engine.NetworkNone, "bridge":
	default:
		return o, usageError{fmt.Errorf("--network must be host, none or bridge, not %q", f.network)}
	}
	for _, ps := range f.probes {
		var p probe.Probe
		var err error
		switch ps.flag {
		case "http-probe":
			p, err = probe.ParseHTTP(ps.spec)
		case "tcp-probe":
			spec := ps.spec
			if !strings.HasPrefix(spec, "tcp:") {
				spec = "tcp:" + spec
			}
			p, err = probe.ParseTCP(spec)
		case "exec":
			p, err = probe.ParseExec(ps.spec)
		case "probe-script":
			p, err = probe.ParseScript(ps.spec)
		}
		if err != nil {
			return o, usageError{fmt.Errorf("--%s %q: %w", ps.flag, ps.spec, err)}
		}
		o.Probes = append(o.Probes, p)
	}
	if f.runToExit && o.Probes == nil {
		o.NoDefaultProbes = true
	}
	return o, nil
}

// inDaemon makes img available to the Docker engine: a docker-daemon source
// is used as it is, any other is loaded under a temporary tag that the
// returned cleanup removes.
func (g *globals) inDaemon(ctx context.Context, img *source.Image) (string, func(), error) {
	if img.Ref.Kind == transport.DockerDaemon {
		return img.Ref.Name, func() {}, nil
	}
	if img.Image == nil {
		return "", nil, usageError{fmt.Errorf("%s: a dir: source cannot be traced: load it into Docker first", img.Ref)}
	}
	var b [6]byte
	rand.Read(b[:])
	tag := "pare-trace/tmp-" + hex.EncodeToString(b[:]) + ":latest"
	ref := transport.Reference{Kind: transport.DockerDaemon, Name: tag}
	if err := transport.Write(ctx, ref, img.Image); err != nil {
		return "", nil, fmt.Errorf("loading %s into Docker for tracing: %w", img.Ref, err)
	}
	cleanup := func() {
		c, err := client.New(client.FromEnv)
		if err != nil {
			return
		}
		defer c.Close()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = c.ImageRemove(rctx, tag, client.ImageRemoveOptions{Force: true})
	}
	return tag, cleanup, nil
}

// runTrace runs img under the sensor with the probes of f.
func (g *globals) runTrace(ctx context.Context, img *source.Image, f *traceFlags, entrypoint, cmd []string) (*trace.Result, error) {
	opts, err := f.options(entrypoint, cmd)
	if err != nil {
		return nil, err
	}
	opts.TempDir = g.tempDir
	eng, err := engine.NewDocker(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	ref, cleanup, err := g.inDaemon(ctx, img)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	opts.OnEvent = func(ev trace.Event) {
		if g.quiet {
			return
		}
		if ev.Probe != nil {
			status := "ok"
			if !ev.Probe.OK {
				status = "FAILED: " + ev.Probe.Err
			}
			fmt.Fprintf(g.stderr, "trace: probe %s: %s\n", ev.Probe.Name, status)
			return
		}
		fmt.Fprintf(g.stderr, "trace: %s\n", ev.Message)
	}
	if img.View != nil {
		v := img.View
		opts.ResolveUser = trace.FileUserResolver(func(p string) ([]byte, error) { return v.ReadFile(p, 16<<20) })
	}
	defer engine.Sweep(ctx, eng) //nolint:errcheck // last line of defence; Run removes its containers itself
	res, err := trace.Run(ctx, eng, ref, opts)
	if err != nil {
		return nil, err
	}
	if f.seccompOut != "" {
		prof, err := trace.SeccompProfile(res.Observations)
		if err != nil {
			return nil, err
		}
		if err := writeBytesAtomic(f.seccompOut, prof); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func newTraceCmd(g *globals) *cobra.Command {
	var f traceFlags
	var bf buildFlags
	var obsOut string
	cmd := &cobra.Command{
		Use:   "trace SRC",
		Short: "Run the image under pare's tracer and probes and print what it used",
		Long: `Run SRC in the Docker engine with pare-sensor as the entrypoint wrapper: it starts the
image's Entrypoint+Cmd as the image's user, follows every process and thread, and records
each path opened, executed, stat-ed or mapped, and every system call. Probes drive the
program (default: GET / on each exposed port); then it is stopped with its StopSignal.
The container is always removed, also on Ctrl-C.`,
		Example: `  pare trace docker-daemon:myapp --http-probe /healthz:8080 --seccomp-out seccomp.json
  pare trace docker-archive:job.tar --run-to-exit --output json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bo, err := bf.options(cmd)
			if err != nil {
				return err
			}
			img, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer img.Close()
			res, err := g.runTrace(cmd.Context(), img, &f, entrypointOverride(bo), cmdOverride(bo))
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if obsOut != "" {
				if err := writeFileAtomic(obsOut, res.Observations); err != nil {
					return err
				}
			}
			writes := trace.WrittenPaths(res.Observations)
			if g.output == "json" {
				return g.printJSON(map[string]any{"command": res.Command, "exitCode": res.ExitCode, "probes": res.Probes,
					"observations": res.Observations, "writes": writes, "warnings": res.Warnings})
			}
			obs := keep.FromObservations(res.Observations)
			execs := 0
			for _, o := range obs {
				if o.Exec {
					execs++
				}
			}
			fmt.Fprintf(g.stdout, "traced %s: %s (exit %d)\n", args[0], strings.Join(res.Command, " "), res.ExitCode)
			fmt.Fprintf(g.stdout, "  used     %d paths of the image, %d programs executed, %d system calls\n", len(obs), execs, len(res.Observations.Syscalls))
			for _, p := range res.Probes {
				st := "ok"
				if !p.OK {
					st = "FAILED " + p.Err
				}
				fmt.Fprintf(g.stdout, "  probe    %s: %s\n", p.Name, st)
			}
			for _, m := range writes.Mounts {
				fmt.Fprintf(g.stdout, "  writes   %s (%d paths): mount a tmpfs/emptyDir there for a read-only root filesystem\n", m.Path, len(m.Paths))
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(g.stdout, "  warning  %s\n", w)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&bf.entrypoint, "entrypoint", "", "override the image Entrypoint (JSON array or a plain command line)")
	cmd.Flags().StringVar(&bf.cmd, "cmd", "", "override the image Cmd (JSON array or a plain command line)")
	cmd.Flags().StringVar(&obsOut, "observations-out", "", "write the raw observations as JSON to FILE")
	return cmd
}

// entrypointOverride and cmdOverride give the overrides of o as trace
// and verify take them: nil keeps the image's, empty clears it.
func entrypointOverride(o keep.Options) []string {
	if !o.EntrypointSet {
		return nil
	}
	ep, _ := imagecfg.Command(nil, nil, o.Override())
	return append([]string{}, ep...)
}

func cmdOverride(o keep.Options) []string {
	if !o.EntrypointSet && !o.CmdSet {
		return nil
	}
	_, c := imagecfg.Command(nil, nil, o.Override()) // a new entrypoint clears the image's Cmd
	return append([]string{}, c...)
}

// writeBytesAtomic writes data to a temporary name beside file, then renames it.
func writeBytesAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(path.Dir(file), "."+path.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
