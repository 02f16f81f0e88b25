package pare

import (
	"context"
	"fmt"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/dockerfile"
	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/transport"
)

// DockerfileOptions configure Dockerfile.
type DockerfileOptions struct {
	// SourceImage is the name the Dockerfile starts FROM; "" takes it from
	// a docker-daemon: or docker:// reference (other transports need it).
	SourceImage string
	// Context is the build context directory as the Dockerfile's header
	// names it in the docker build command.
	Context string
	// File is the Dockerfile's name in that command ("" is Dockerfile).
	File string
}

// DockerfileResult is a multi-stage Dockerfile that rebuilds what Build
// writes from the source image, and the build context it needs.
type DockerfileResult struct {
	Dockerfile []byte
	// Copies is the number of COPY instructions (each one a layer).
	Copies int
	// Warnings are the closure's and the assembly's, and entries the
	// Dockerfile cannot reproduce.
	Warnings []Warning
	Missing  []MissingLibrary
	context  []tarlayer.Item
}

// WriteContext writes the build context into dir (written beside it, then
// renamed into place). An existing dir is replaced only when empty or
// written by an earlier WriteContext.
func (r *DockerfileResult) WriteContext(dir string) error {
	return dockerfile.WriteContext(dir, r.context)
}

// Dockerfile computes what Build would keep of src under o and writes it
// as a Dockerfile: FROM the source AS source, FROM scratch, COPY --from
// lines for the source's files and COPY lines for the context holding
// what pare generates, then the pared config. The Dockerfile builds with
// Docker's classic builder (no BuildKit needed). Keep src open until
// WriteContext is done: the context holds a few of its files.
func Dockerfile(src *Source, o BuildOptions, d DockerfileOptions) (*DockerfileResult, error) {
	name := d.SourceImage
	if name == "" {
		switch src.Ref.Kind {
		case transport.DockerDaemon, transport.Docker:
			name = src.Ref.Name
		default:
			return nil, fmt.Errorf("%s: a Dockerfile names its source image: give its name (the image loaded into the builder's engine)", src.Ref)
		}
	}
	pl, err := newPlan(context.Background(), src, &o)
	if err != nil {
		return nil, err
	}
	l, err := assemble.Plan(src.View, pl.cf, pl.res.Set, pl.asm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	var comment []string
	if o.AddInit || o.Healthcheck != nil {
		comment = append(comment, "The context holds pare's own static programs under "+assemble.AddonDir+".")
	}
	out, err := dockerfile.Generate(dockerfile.Input{
		Source: name, View: src.View, Items: tarlayer.Copies(l.Items), Generated: l.Generated, Config: l.Config.Config,
		Context: d.Context, File: d.File, Comment: comment,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	r := &DockerfileResult{Dockerfile: out.Dockerfile, Copies: out.Copies, context: out.Context}
	for _, w := range pl.res.Warnings {
		r.Warnings = append(r.Warnings, Warning{Kind: WarningClosure, Message: w})
	}
	for _, w := range l.Info.Warnings {
		r.Warnings = append(r.Warnings, Warning{Kind: WarningImage, Message: w})
	}
	for _, w := range out.Warnings {
		r.Warnings = append(r.Warnings, Warning{Kind: WarningImage, Message: w})
	}
	for _, m := range pl.res.Missing {
		r.Missing = append(r.Missing, MissingLibrary{Name: m.Name, NeededBy: m.By})
	}
	return r, nil
}
