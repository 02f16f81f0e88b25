// Package pare is the library behind the pare command: it turns an opened
// source image into a minimal FROM-scratch image and the report that
// explains it. The command line is a thin layer over this package.
package pare

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/keep"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/source"
	"github.com/pare-dev/pare/internal/trace"
)

// Options configure Build.
type Options struct {
	// Closure says what to keep beyond what the config names.
	Closure keep.Options
	// KeepSetuid keeps setuid/setgid bits (dropped by default).
	KeepSetuid bool
	// User is the output user (name or uid[:gid] of the source image); ""
	// keeps a non-root source user, else 65532.
	User string
	// Trace, when set, is a traced run of the source image: what it used
	// joins the closure and replaces the whole-tree keep of interpreters.
	Trace *trace.Result
}

// Result is a pared image and what is known about it.
type Result struct {
	Image   v1.Image
	Closure *keep.Result
	Report  *report.Report
}

// Build computes the closure of src and assembles the pared image. The
// report's Destination and Digest are left for the caller, who knows where
// the image is written.
func Build(src *source.Image, o Options) (*Result, error) {
	opts := o.Closure
	if o.Trace != nil {
		opts.Observed = append(opts.Observed, keep.FromObservations(o.Trace.Observations)...)
		opts.Traced = true
	}
	res, err := keep.Compute(src.View, src.ConfigFile.Config, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	cf := src.ConfigFile.DeepCopy()
	cf.Config.Entrypoint, cf.Config.Cmd = imagecfg.Command(cf.Config.Entrypoint, cf.Config.Cmd, opts.Override())
	img, info, err := assemble.Image(src.View, cf, res.Set, assemble.Options{
		KeepSetuid: o.KeepSetuid, User: o.User, CreatedBy: "pare build " + src.Ref.String(),
		Users: res.Users, Groups: res.Groups,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	rep := &report.Report{
		Source: src.Ref.String(), Command: res.Args, Warnings: res.Warnings, Notes: res.Notes,
		User: info.User, OS: info.OS, Packages: info.Packages,
	}
	rep.Warnings = append(rep.Warnings, info.Warnings...)
	for _, m := range res.Missing {
		rep.Missing = append(rep.Missing, fmt.Sprintf("%s (needed by %s)", m.Name, m.By))
	}
	if err := report.Describe(rep, src.View, res.Set, o.KeepSetuid); err != nil {
		return nil, err
	}
	if o.Trace != nil {
		rep.Trace = traceSummary(o.Trace)
	}
	return &Result{Image: img, Closure: res, Report: rep}, nil
}

func traceSummary(t *trace.Result) *report.Trace {
	rt := &report.Trace{Command: t.Command, ExitCode: t.ExitCode, Warnings: t.Warnings}
	for _, p := range t.Probes {
		rt.Probes = append(rt.Probes, report.ProbeResult{Name: p.Name, OK: p.OK, Err: p.Err})
	}
	if w := trace.WrittenPaths(t.Observations); w != nil {
		rt.Written = w.Paths
		for _, m := range w.Mounts {
			rt.TmpfsMounts = append(rt.TmpfsMounts, m.Path)
		}
	}
	return rt
}
