package tarlayer

import (
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageConfig holds what NewImage carries into the new image's config.
type ImageConfig struct {
	OS           string
	Architecture string
	Variant      string
	OSVersion    string
	// Config: Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Volumes,
	// Labels, StopSignal and Healthcheck are carried over; other fields are
	// dropped.
	Config v1.Config
	// CreatedBy is the created_by text of the single history entry.
	CreatedBy string
}

// ConfigFrom returns the ImageConfig fields of an existing image config.
func ConfigFrom(cf *v1.ConfigFile) ImageConfig {
	if cf == nil {
		return ImageConfig{}
	}
	return ImageConfig{
		OS:           cf.OS,
		Architecture: cf.Architecture,
		Variant:      cf.Variant,
		OSVersion:    cf.OSVersion,
		Config:       cf.Config,
	}
}

// NewImage returns a single-layer OCI image of layer with the given config.
// The creation time of the config and of its one history entry is the epoch
// (WithEpoch or the default); other options are ignored. The same layer and
// config give the same image digest.
func NewImage(layer v1.Layer, ic ImageConfig, opts ...Option) (v1.Image, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if ic.OS == "" || ic.Architecture == "" {
		return nil, fmt.Errorf("image config needs os and architecture (got %q/%q)", ic.OS, ic.Architecture)
	}
	mt, err := layer.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading layer media type: %w", err)
	}
	switch mt {
	case types.DockerLayer:
		mt = types.OCILayer
	case types.DockerUncompressedLayer:
		mt = types.OCIUncompressedLayer
	}
	created := v1.Time{Time: o.epoch}
	c := ic.Config
	cf := &v1.ConfigFile{
		Created:      created,
		OS:           ic.OS,
		Architecture: ic.Architecture,
		Variant:      ic.Variant,
		OSVersion:    ic.OSVersion,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint:   clone(c.Entrypoint),
			Cmd:          clone(c.Cmd),
			Env:          clone(c.Env),
			WorkingDir:   c.WorkingDir,
			User:         c.User,
			ExposedPorts: maps.Clone(c.ExposedPorts),
			Volumes:      maps.Clone(c.Volumes),
			Labels:       maps.Clone(c.Labels),
			StopSignal:   c.StopSignal,
			Healthcheck:  c.Healthcheck,
		},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting image config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: mt,
		History:   v1.History{Created: created, CreatedBy: ic.CreatedBy},
	})
	if err != nil {
		return nil, fmt.Errorf("appending layer: %w", err)
	}
	return img, nil
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}
