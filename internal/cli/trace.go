package cli

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pare-dev/pare/pkg/pare"
)

// traceFlags drive a run of the image: probes, runs, how long, which network.
type traceFlags struct {
	probes       probeSpecs
	runs         []string
	runToExit    bool
	duration     time.Duration
	startTimeout time.Duration
	network      string
	sensor       string
	seccompOut   string
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
	fl.Var(probeFlag{"http-probe", &f.probes}, "http-probe", "HTTP probe [METHOD:]PATH[:PORT][=CODES] on 127.0.0.1; any answer counts unless CODES are given (repeatable; default: a probe on each exposed port)")
	fl.Var(probeFlag{"tcp-probe", &f.probes}, "tcp-probe", "wait until 127.0.0.1:PORT accepts connections; the container must still run afterwards (repeatable)")
	fl.Var(probeFlag{"exec", &f.probes}, "exec", `command run inside the container as the image's user in its WorkingDir: a shell line or a JSON argv (repeatable)`)
	fl.Var(probeFlag{"probe-script", &f.probes}, "probe-script", "script run on the host once the exposed ports accept connections, with PARE_TARGET_HOST/PARE_TARGET_PORT(S)/PARE_CONTAINER_ID set (repeatable)")
	fl.StringArrayVar(&f.runs, "run", nil, `one more run of the image with ARGS replacing its Cmd, like docker run IMAGE ARGS (a shell-style line or a JSON array; repeatable); the output's CMD is unchanged`)
	fl.BoolVar(&f.runToExit, "run-to-exit", false, "let the command run to completion even if the image exposes ports (implied when it exposes none and no host probe is given)")
	fl.DurationVar(&f.duration, "duration", 0, "keep a server running this long after the probes; bounds a program that runs to completion (default 2m)")
	fl.DurationVar(&f.startTimeout, "start-timeout", 0, "how long host probes wait for the ports to accept connections (default 1m)")
	fl.StringVar(&f.network, "network", "", "network of the container: host, none or bridge (default: host with HTTP/TCP/script probes or exposed ports, else none)")
	fl.StringVar(&f.sensor, "sensor", "", "path of a static pare-sensor binary (default: next to pare, else built from source)")
	fl.StringVar(&f.seccompOut, "seccomp-out", "", "write a Docker seccomp profile of the system calls seen to FILE")
}

// runOptions turns the flags into run options; probes run in the order given.
func (f *traceFlags) runOptions(g *globals, b pare.BuildOptions) (pare.RunOptions, error) {
	o := pare.RunOptions{
		Entrypoint: b.Entrypoint, Cmd: b.Cmd, RunToExit: f.runToExit, Duration: f.duration,
		StartTimeout: f.startTimeout, Network: f.network, TempDir: g.tempDir, OnEvent: g.renderEvent,
	}
	switch f.network {
	case "", pare.NetworkHost, pare.NetworkNone, pare.NetworkBridge:
	default:
		return o, usageError{fmt.Errorf("--network must be host, none or bridge, not %q", f.network)}
	}
	for _, r := range f.runs {
		args, err := splitCommand("run", r)
		if err != nil {
			return o, err
		}
		o.Runs = append(o.Runs, args)
	}
	for _, ps := range f.probes {
		var p pare.Probe
		var err error
		switch ps.flag {
		case "http-probe":
			p, err = pare.HTTPProbe(ps.spec)
		case "tcp-probe":
			spec := ps.spec
			if !strings.HasPrefix(spec, "tcp:") {
				spec = "tcp:" + spec
			}
			p, err = pare.TCPProbe(spec)
		case "exec":
			p, err = pare.ExecProbe(ps.spec)
		case "probe-script":
			p, err = pare.ScriptProbe(ps.spec)
		}
		if err != nil {
			return o, usageError{fmt.Errorf("--%s %q: %w", ps.flag, ps.spec, err)}
		}
		o.Probes = append(o.Probes, p)
	}
	return o, nil
}

// renderEvent prints the progress of a run on stderr.
func (g *globals) renderEvent(ev pare.Event) {
	if g.quiet {
		return
	}
	if ev.Probe != nil {
		status := "ok"
		if !ev.Probe.OK {
			status = "FAILED (" + ev.Probe.Outcome + "): " + ev.Probe.Err
		}
		fmt.Fprintf(g.stderr, "trace: probe %s: %s\n", ev.Probe.Name, status)
		return
	}
	fmt.Fprintf(g.stderr, "trace: %s\n", ev.Message)
}

// runTrace traces img with the flags of f and writes --seccomp-out.
func (g *globals) runTrace(cmd *cobra.Command, img *pare.Source, f *traceFlags, b pare.BuildOptions) (*pare.TraceResult, error) {
	ro, err := f.runOptions(g, b)
	if err != nil {
		return nil, err
	}
	res, err := pare.Trace(cmd.Context(), img, pare.TraceOptions{RunOptions: ro, SensorBinary: f.sensor})
	if err != nil {
		return nil, err
	}
	if f.seccompOut != "" {
		prof, err := res.SeccompProfile()
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
program (default: a probe on each exposed port); then it is stopped with its StopSignal.
An image that exposes no port, with no host probe, runs to completion. Each --run is
one more run with other arguments. The containers are always removed, also on Ctrl-C.`,
		Example: `  pare trace docker-daemon:myapp --http-probe /healthz:8080 --seccomp-out seccomp.json
  pare trace docker-archive:job.tar --run 'convert b.txt' --output json`,
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
			res, err := g.runTrace(cmd, img, &f, bo)
			if err != nil {
				return err
			}
			if obsOut != "" {
				if err := writeFileAtomic(obsOut, res.Observations); err != nil {
					return err
				}
			}
			if g.output == "json" {
				return g.printJSON(map[string]any{"command": res.Command, "exitCode": res.ExitCode, "runs": res.Runs, "probes": res.Probes,
					"observations": res.Observations, "writes": res.Writes, "warnings": res.Warnings})
			}
			paths, execs := map[string]bool{}, 0
			for _, fa := range res.Observations.Files {
				if fa.OK && !fa.Write && path.IsAbs(fa.Path) {
					paths[fa.Path] = true
				}
			}
			for _, e := range res.Observations.Execs {
				if e.OK {
					execs++
				}
			}
			fmt.Fprintf(g.stdout, "traced %s: %s (exit %d)\n", args[0], strings.Join(res.Command, " "), res.ExitCode)
			for _, r := range res.Runs[1:] {
				fmt.Fprintf(g.stdout, "  run      %s (exit %d)\n", strings.Join(r.Command, " "), r.ExitCode)
			}
			fmt.Fprintf(g.stdout, "  used     %d paths, %d programs executed, %d system calls\n", len(paths), execs, len(res.Observations.Syscalls))
			for _, p := range res.Probes {
				st := "ok"
				if !p.OK {
					st = "FAILED (" + p.Outcome + ") " + p.Err
				}
				fmt.Fprintf(g.stdout, "  probe    %s: %s\n", p.Name, st)
			}
			if res.Writes != nil {
				for _, m := range res.Writes.Mounts {
					fmt.Fprintf(g.stdout, "  writes   %s (%d paths): mount a tmpfs/emptyDir there for a read-only root filesystem\n", m.Path, len(m.Paths))
				}
			}
			for _, w := range res.Warnings {
				if w.Kind == pare.WarningTrace {
					fmt.Fprintf(g.stdout, "  warning  %s\n", w.Message)
				}
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

// writeBytesAtomic writes data to a temporary name beside file, then renames it.
func writeBytesAtomic(file string, data []byte) error {
	return writeAtomic(file, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes file with write, to a temporary name beside it that
// is renamed into place once write succeeded.
func writeAtomic(file string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(path.Dir(file), "."+path.Base(file)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := write(tmp); err != nil {
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
