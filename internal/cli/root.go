// Package cli is pare's command line: flags, wiring and output formatting
// over the library packages. It is internal so that it is not public API.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

// Exit codes.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command failed (bad image, missing library, I/O error...)
	ExitUsage   = 2 // wrong flags or arguments
)

// Version is stamped with -ldflags "-X github.com/pare-dev/pare/internal/cli.Version=...".
var Version = "dev"

// usageError marks errors in how the command was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// globals are the flags every command shares.
type globals struct {
	quiet    bool
	output   string
	platform string
	insecure bool
	tempDir  string
	limits   limitFlags
	stdout   io.Writer
	stderr   io.Writer
}

// Execute runs pare with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := NewRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	err = limitHint(err)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// "context canceled" alone does not say a signal stopped pare.
		err = fmt.Errorf("interrupted (%v): %w", context.Cause(ctx), err)
	}
	fmt.Fprintf(stderr, "pare: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

// NewRootCmd returns the pare command with all subcommands.
func NewRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "pare",
		Short: "Pare a container image down to a minimal FROM-scratch image that still works",
		Long: `pare turns an ordinary container image into a minimal FROM-scratch image holding
only what its program needs: the ELF closure found by a pure-Go emulation of the
dynamic loader, scripts' interpreters, and the files runtimes load without saying so
(NSS, CA certificates, zoneinfo, gconv, OpenSSL providers, interpreter trees).
It never runs a binary from the image on the host.

Images are named with skopeo-style transports:
  docker-archive:PATH       a docker save tarball
  oci:DIR[:TAG]             an OCI image layout
  docker-daemon:NAME[:TAG]  the local Docker engine
  docker://REF              a registry
  dir:PATH                  a root filesystem directory (read only; dir:/ is this machine)

Memory: pare keeps its Go heap under a soft limit of 200 MiB (raised to 1.5x the live
heap when that is larger); GOMEMLIMIT=SIZE (e.g. 1GiB) or GOMEMLIMIT=off replaces it.

Exit codes: 0 success, 1 failure, 2 usage error.`,
		Example: `  pare build docker-daemon:nginx:latest docker-daemon:nginx:pared
  pare why docker-daemon:nginx:latest /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0
  pare ls docker-archive:app.tar /etc --output json
  pare flatten oci:layout:v1 docker-archive:flat.tar`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print no progress")
	pf.StringVarP(&g.output, "output", "o", "text", "result format: text or json")
	pf.StringVar(&g.platform, "platform", "", "platform to pick from an image index (default linux/<host arch>)")
	pf.BoolVar(&g.insecure, "insecure", false, "allow plain-http registries (docker:// on loopback)")
	pf.StringVar(&g.tempDir, "temp-dir", "", "directory for temporary files (default $TMPDIR)")
	g.limits.register(pf)
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.output != "text" && g.output != "json" {
			return usageError{fmt.Errorf("--output must be text or json, not %q", g.output)}
		}
		_, err := g.limits.limits()
		return err
	}
	root.AddCommand(
		newVersionCmd(g),
		newLsCmd(g),
		newExportCmd(g),
		newFlattenCmd(g),
		newBuildCmd(g),
		newDockerfileCmd(g),
		newWhyCmd(g),
		newTraceCmd(g),
		newVerifyCmd(g),
		newInspectCmd(g),
		newSBOMCmd(g),
		newDebugCmd(g),
		newPruneCmd(g),
	)
	return root
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d arguments, got %d (see pare %s --help)", cmd.Name(), n, len(args), cmd.Name())}
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%s takes at least %d arguments, got %d (see pare %s --help)", cmd.Name(), n, len(args), cmd.Name())}
		}
		return nil
	}
}

func (g *globals) transportOptions(p *progress) ([]transport.Option, error) {
	var opts []transport.Option
	if g.platform != "" {
		plat, err := v1.ParsePlatform(g.platform)
		if err != nil {
			return nil, usageError{fmt.Errorf("--platform %q: %w", g.platform, err)}
		}
		opts = append(opts, transport.WithPlatform(*plat))
	}
	if g.insecure {
		opts = append(opts, transport.WithInsecure(true))
	}
	if g.tempDir != "" {
		opts = append(opts, transport.WithTempDir(g.tempDir))
	}
	if ch := p.updates(); ch != nil {
		opts = append(opts, transport.WithProgress(ch))
	}
	return opts, nil
}

// open opens a source image with progress reporting.
func (g *globals) open(ctx context.Context, ref string) (*pare.Source, error) {
	if _, err := transport.Parse(ref); err != nil {
		return nil, usageError{err}
	}
	if _, err := g.transportOptions(nil); err != nil {
		return nil, err
	}
	p := g.progress()
	defer p.wait()
	o := g.openOptions()
	o.Rootfs = append(o.Rootfs, rootfs.WithProgress(p.layer))
	return pare.Open(ctx, ref, o)
}

// openOptions are the transport and rootfs options of the global flags
// (an invalid --platform is ignored here; open reports it).
func (g *globals) openOptions() pare.OpenOptions {
	topts, _ := g.transportOptions(nil)
	lim, _ := g.limits.limits() // checked before any command runs
	ropts := []rootfs.Option{rootfs.WithLimits(lim)}
	if g.tempDir != "" {
		ropts = append(ropts, rootfs.WithTempDir(g.tempDir))
	}
	return pare.OpenOptions{Transport: topts, Rootfs: ropts}
}

// write writes img to the sink dst with progress reporting.
func (g *globals) write(ctx context.Context, dst string, img v1.Image) error {
	ref, err := transport.Parse(dst)
	if err != nil {
		return usageError{err}
	}
	if ref.Kind == transport.Dir {
		return usageError{fmt.Errorf("%s: dir: is a source only; use pare export to write a root filesystem", dst)}
	}
	p := g.progress()
	opts, err := g.transportOptions(p)
	if err != nil {
		return err
	}
	err = transport.Write(ctx, ref, img, opts...)
	p.wait()
	return err
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (g *globals) warnf(format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stderr, "pare: warning: "+format+"\n", args...)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
