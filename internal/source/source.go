// Package source opens an image reference as the two things pare's analysis
// needs: its config and a read-only view of its merged filesystem.
package source

import (
	"context"
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

// Image is an opened source image.
type Image struct {
	Ref transport.Reference
	// Image is the image as read; nil for a dir: source, which is analysed
	// in place.
	Image      v1.Image
	ConfigFile *v1.ConfigFile
	View       *rootfs.View
}

// Options configure Open.
type Options struct {
	Transport []transport.Option
	Rootfs    []rootfs.Option
}

// Open reads the image named by ref (a transport reference such as
// "docker-archive:app.tar") and builds its filesystem view.
func Open(ctx context.Context, ref string, o Options) (*Image, error) {
	r, err := transport.Parse(ref)
	if err != nil {
		return nil, err
	}
	out := &Image{Ref: r}
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
func (i *Image) Close() error {
	if i.View == nil {
		return nil
	}
	return i.View.Close()
}
