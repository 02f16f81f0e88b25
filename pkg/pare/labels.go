package pare

import (
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
)

// Labels Build sets on the pared image, naming the image it was pared from,
// so that pare debug can start that image as a toolbox beside a running
// pared container. Both depend only on the source, so builds stay
// reproducible.
const (
	// SourceImageLabel is the source reference as given to Build
	// ("docker-daemon:nginx:latest").
	SourceImageLabel = assemble.SourceImageLabel
	// SourceIDLabel is the source image's id: the digest of its config
	// ("sha256:..."), which is how Docker names a local image whatever
	// its tags, and which survives docker save and load.
	SourceIDLabel = assemble.SourceIDLabel
)

// labelSource records src in cf's labels. A dir: source has no image id.
func labelSource(cf *v1.ConfigFile, src *Source) error {
	l := maps.Clone(cf.Config.Labels)
	if l == nil {
		l = map[string]string{}
	}
	delete(l, SourceIDLabel) // a pared image pared again names its own source
	l[SourceImageLabel] = src.Ref.String()
	if src.Image != nil {
		id, err := src.Image.ConfigName()
		if err != nil {
			return fmt.Errorf("config digest of %s: %w", src.Ref, err)
		}
		l[SourceIDLabel] = id.String()
	}
	cf.Config.Labels = l
	return nil
}
