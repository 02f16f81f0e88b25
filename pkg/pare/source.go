package pare

import (
	"context"
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

// Source is an opened source image: its config and a read-only view of its
// merged filesystem, which is all pare's analysis reads.
//
// Source lives here rather than in a package of its own so that every
// signature of the facade (Open, Build, Trace, Why) uses only pare's own
// types and those of the public packages it builds on (transport, rootfs,
// go-containerregistry's v1): a caller needs no internal type to drive pare.
type Source struct {
	Ref transport.Reference
	// Image is the image as read; nil for a dir: source, which is analysed
	// in place.
	Image      v1.Image
	ConfigFile *v1.ConfigFile
	View       *rootfs.View
}

// OpenOptions configure Open.
type OpenOptions struct {
	Transport []transport.Option
	Rootfs    []rootfs.Option
}

// Open reads the image named by ref (a transport reference such as
// "docker-archive:app.tar") and builds its filesystem view. Close the
// Source when done.
func Open(ctx context.Context, ref string, o OpenOptions) (*Source, error) {
	r, err := transport.Parse(ref)
	if err != nil {
		return nil, err
	}
	out := &Source{Ref: r}
	if r.Kind == transport.Dir {
		v, err := rootfs.FromDir(r.Path, o.Rootfs...)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", ref, err)
		}
		out.View = v
		out.ConfigFile = &v1.ConfigFile{
			OS: "linux", Architecture: runtime.GOARCH,
			Config: v1.Config{Env: []string{"PATH=" + imagecfg.DefaultPath}},
		}
		return out, nil
	}
	img, err := transport.Read(ctx, r, o.Transport...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of %s: %w", ref, err)
	}
	v, err := rootfs.FromImage(ctx, img, o.Rootfs...)
	if err != nil {
		return nil, fmt.Errorf("reading layers of %s: %w", ref, err)
	}
	out.Image, out.ConfigFile, out.View = img, cf, v
	return out, nil
}

// Close releases the view's temporary files.
func (s *Source) Close() error {
	if s.View == nil {
		return nil
	}
	return s.View.Close()
}
