package transport

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrNoPlatform is returned when an image index has no image for the
// requested platform. The message lists the platforms it has.
var ErrNoPlatform = errors.New("no image for platform")

// maxIndexDepth bounds nested indexes.
const maxIndexDepth = 4

// index is the part of v1.ImageIndex that platform selection uses.
type index interface {
	IndexManifest() (*v1.IndexManifest, error)
	Image(v1.Hash) (v1.Image, error)
	ImageIndex(v1.Hash) (v1.ImageIndex, error)
}

// imageForPlatform picks the first image of idx (searched depth first, in
// index order) whose platform satisfies want.
func imageForPlatform(idx index, want v1.Platform) (v1.Image, error) {
	var avail []string
	img, err := searchIndex(idx, want, &avail, 0)
	if err != nil {
		return nil, err
	}
	if img == nil {
		slices.Sort(avail)
		avail = slices.Compact(avail)
		list := "none"
		if len(avail) > 0 {
			list = strings.Join(avail, ", ")
		}
		return nil, fmt.Errorf("%w %s in index (available: %s)", ErrNoPlatform, want.String(), list)
	}
	return img, nil
}

func searchIndex(idx index, want v1.Platform, avail *[]string, depth int) (v1.Image, error) {
	if depth > maxIndexDepth {
		return nil, fmt.Errorf("image indexes nested deeper than %d", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			if d.Platform != nil && !d.Platform.Satisfies(want) {
				continue
			}
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			img, err := searchIndex(child, want, avail, depth+1)
			if img != nil || err != nil {
				return img, err
			}
		case d.MediaType.IsImage():
			p := d.Platform
			if p == nil {
				// No platform in the descriptor: ask the image config.
				img, err := idx.Image(d.Digest)
				if err != nil {
					return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					return nil, fmt.Errorf("reading config of image %s: %w", d.Digest, err)
				}
				p = cf.Platform()
				if p == nil {
					continue
				}
			}
			if p.OS == "unknown" {
				continue // attestation manifests
			}
			*avail = append(*avail, p.String())
			if p.Satisfies(want) {
				img, err := idx.Image(d.Digest)
				if err != nil {
					return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
				}
				return img, nil
			}
		}
	}
	return nil, nil
}
