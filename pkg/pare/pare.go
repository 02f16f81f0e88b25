// Package pare is pare as a library: open an image (Open), compute and
// write its minimal FROM-scratch image with the report that explains it
// (Build), run it under pare's tracer and probes (Trace), compare how the
// original and the pared image behave (Verify), and explain why a path is
// kept (Why). The pare command is a thin layer over this package: it
// parses flags, calls these functions and renders their results.
//
// The library is silent: warnings and missing libraries come back as data
// (Warning, MissingLibrary), progress as events given to a callback.
//
// Options are plain structs (BuildOptions, TraceOptions, VerifyOptions,
// sharing RunOptions); their zero values are pare's defaults. Records that
// a mechanism defines (Report, ProbeResult, Difference, Observations,
// Writes, Reason, Step) are type aliases: callers name them through this
// package, the mechanisms stay internal.
package pare

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/keep"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/internal/trace"
)

// Report is the description of a pared image that pare build writes as
// JSON, text, HTML and SBOM: every kept path with its reasons, sizes,
// packages, and the trace and verify summaries.
type Report = report.Report

// Warning kinds.
const (
	WarningClosure = "closure" // computing what is kept
	WarningImage   = "image"   // assembling the pared image
	WarningTrace   = "trace"   // the traced run (incomplete observations, a program that never started)
	WarningProbe   = "probe"   // a probe failed while tracing: the closure may miss what it would have used
)

// Warning is a non-fatal problem found while building or tracing.
type Warning struct {
	Kind string `json:"kind"`
	// Path is the path in the image the warning is about, when there is one.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Message }

// MissingLibrary is a shared library no search of the loader found.
type MissingLibrary struct {
	Name     string `json:"name"`     // the DT_NEEDED or dlopen name
	NeededBy string `json:"neededBy"` // the object that needs it
}

func (m MissingLibrary) String() string { return fmt.Sprintf("%s (needed by %s)", m.Name, m.NeededBy) }

// BuildOptions configure Build (and Why, which recomputes the same closure).
type BuildOptions struct {
	// Entrypoint, when not nil, replaces the image's Entrypoint and clears
	// its Cmd, like docker run --entrypoint; an empty non-nil slice clears it.
	Entrypoint []string
	// Cmd, when not nil, replaces the image's Cmd.
	Cmd []string
	// Includes are paths or globs kept with their whole trees.
	Includes []string
	// IncludeExes are programs (found through the image PATH) kept with
	// their closure.
	IncludeExes []string
	// Excludes are globs of paths dropped at the end.
	Excludes []string
	// AllowMissing turns a library that cannot be found into a warning.
	AllowMissing bool
	// SkipRules names runtime rules to leave out ("tzdata").
	SkipRules []string
	// KeepInterpreterTrees keeps the Python, Ruby and Node library trees
	// whole instead of the modules reachable from the application's scripts.
	KeepInterpreterTrees bool
	// KeepJimage keeps a JDK's lib/modules whole instead of a module image
	// of the modules the application needs; AddModules are JDK modules
	// kept in it beside those (what the application finds at run time).
	KeepJimage bool
	AddModules []string
	// WholeRules names precise rules that keep everything instead:
	// "gconv" (every iconv module), "tzdata" (the whole zoneinfo).
	WholeRules []string
	// KeepSetuid keeps setuid/setgid bits (dropped by default).
	KeepSetuid bool
	// TrimAccounts writes only the accounts the image uses into the output's
	// /etc/passwd and /etc/group; by default every source account is kept.
	TrimAccounts bool
	// User is the output user (name or uid[:gid] of the source image); ""
	// keeps a non-root source user, else 65532.
	User string
	// Trace, when set, is a traced run of the source (Trace): what it used
	// joins the closure and replaces the whole-tree keep of interpreters and servers.
	Trace *TraceResult
	// AddInit adds pare-init at InitPath as the Entrypoint in front of the
	// image's command: a PID 1 that forwards signals and reaps zombies.
	AddInit bool
	// Healthcheck, when set, adds pare-healthcheck at HealthcheckPath and a
	// HEALTHCHECK that runs it. A Command's program is kept with its
	// closure, as with IncludeExes.
	Healthcheck *Healthcheck
	// UncompressedLayer stores the pared layer as a plain tar, as docker
	// save does, instead of gzip-compressing it: for a docker-archive or
	// the Docker daemon, which keep layers uncompressed, compressing is
	// work thrown away. Registries and OCI layouts want it compressed.
	UncompressedLayer bool
	// ToolCacheDir is where pare-init and pare-healthcheck are built when
	// no copy sits next to the executable; "" is os.UserCacheDir()/pare.
	ToolCacheDir string
}

func (o *BuildOptions) keepOptions() keep.Options {
	k := keep.Options{
		Includes: o.Includes, IncludeExes: o.IncludeExes, Excludes: o.Excludes,
		AllowMissing: o.AllowMissing, SkipRules: append([]string(nil), o.SkipRules...),
		KeepInterpreterTrees: o.KeepInterpreterTrees,
		KeepJimage:           o.KeepJimage, AddModules: append([]string(nil), o.AddModules...),
		WholeRules: append([]string(nil), o.WholeRules...),
	}
	if o.Entrypoint != nil {
		k.EntrypointSet, k.Entrypoint = true, o.Entrypoint
	}
	if o.Cmd != nil {
		k.CmdSet, k.Cmd = true, o.Cmd
	}
	if o.Healthcheck != nil && len(o.Healthcheck.Command) > 0 {
		k.IncludeExes = append(append([]string(nil), k.IncludeExes...), o.Healthcheck.Command[0])
	}
	if o.Trace != nil && o.Trace.raw != nil {
		k.Observed = append(k.Observed, keep.FromObservations(o.Trace.raw.Observations)...)
		k.Traced = true
	}
	return k
}

// BuildResult is a pared image and what is known about it.
type BuildResult struct {
	Image v1.Image
	// Report describes the image; its Destination and Digest are left for
	// the caller, who knows where the image is written.
	Report *Report
	// Warnings and Missing are the report's warnings and missing libraries
	// as records.
	Warnings []Warning
	Missing  []MissingLibrary
	// Kept is the number of paths kept.
	Kept int
}

// plan is what Build and Dockerfile share: the kept set, the output
// config (command overrides and add-ons applied) and the options of the
// assembly.
type plan struct {
	res    *keep.Result
	cf     *v1.ConfigFile
	extras []assemble.Extra
	notes  []string
	asm    assemble.Options
}

// newPlan computes what src keeps under o.
func newPlan(ctx context.Context, src *Source, o *BuildOptions) (*plan, error) {
	opts := o.keepOptions()
	res, err := keep.ComputeContext(ctx, src.View, src.ConfigFile.Config, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	cf := src.ConfigFile.DeepCopy()
	cf.Config.Entrypoint, cf.Config.Cmd = imagecfg.Command(cf.Config.Entrypoint, cf.Config.Cmd, opts.Override())
	extras, notes, err := addons(cf, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	if err := labelSource(cf, src); err != nil {
		return nil, err
	}
	return &plan{res: res, cf: cf, extras: extras, notes: notes, asm: assemble.Options{
		KeepSetuid: o.KeepSetuid, TrimAccounts: o.TrimAccounts, User: o.User, CreatedBy: "pare build " + src.Ref.String(),
		Users: res.Users, Groups: res.Groups, Extras: extras, Packages: res.Packages,
	}}, nil
}

// Build computes what src keeps and assembles the pared image.
func Build(src *Source, o BuildOptions) (*BuildResult, error) {
	return BuildContext(context.Background(), src, o)
}

// BuildContext is Build that stops with ctx's error once ctx is done, while
// it computes the closure or writes the layer; the layer's temp file is gone
// then.
func BuildContext(ctx context.Context, src *Source, o BuildOptions) (*BuildResult, error) {
	pl, err := newPlan(ctx, src, &o)
	if err != nil {
		return nil, err
	}
	res, extras, notes := pl.res, pl.extras, pl.notes
	pl.asm.Layer = append(pl.asm.Layer, tarlayer.WithContext(ctx))
	if o.UncompressedLayer {
		pl.asm.Layer = append(pl.asm.Layer, tarlayer.WithoutCompression())
	}
	img, info, err := assemble.Image(src.View, pl.cf, res.Set, pl.asm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	out := &BuildResult{Image: img, Kept: res.Set.Len()}
	for _, w := range res.Warnings {
		out.Warnings = append(out.Warnings, Warning{Kind: WarningClosure, Message: w})
	}
	for _, w := range info.Warnings {
		out.Warnings = append(out.Warnings, Warning{Kind: WarningImage, Message: w})
	}
	for _, m := range res.Missing {
		out.Missing = append(out.Missing, MissingLibrary{Name: m.Name, NeededBy: m.By})
	}
	rep := &Report{
		Source: src.Ref.String(), Command: res.Args, Notes: append(res.Notes, notes...),
		User: info.User, OS: info.OS, Packages: info.Packages,
	}
	for _, w := range out.Warnings {
		rep.Warnings = append(rep.Warnings, w.Message)
	}
	for _, m := range out.Missing {
		rep.Missing = append(rep.Missing, m.String())
	}
	if err := report.Describe(rep, src.View, res.Set, o.KeepSetuid); err != nil {
		return nil, err
	}
	countExtras(rep, extras)
	if o.Trace != nil && o.Trace.raw != nil {
		rep.Trace = traceSummary(o.Trace)
	}
	out.Report = rep
	return out, nil
}

func traceSummary(t *TraceResult) *report.Trace {
	rt := &report.Trace{Command: t.Command, ExitCode: t.ExitCode}
	for _, w := range t.Warnings {
		if w.Kind == WarningTrace {
			rt.Warnings = append(rt.Warnings, w.Message)
		}
	}
	for _, p := range t.Probes {
		rt.Probes = append(rt.Probes, report.ProbeResult{Name: p.Name, OK: p.OK, Err: p.Err})
	}
	if w := trace.WrittenPaths(t.raw.Observations); w != nil {
		rt.Written = w.Paths
		for _, m := range w.Mounts {
			rt.TmpfsMounts = append(rt.TmpfsMounts, m.Path)
		}
	}
	return rt
}
