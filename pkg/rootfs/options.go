package rootfs

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Limits caps what a view will accept from an image, so that a hostile
// image (a tar or gzip bomb) fails with an error instead of exhausting disk
// or memory. A zero field means the default of DefaultLimits.
type Limits struct {
	// TotalBytes caps the sum of regular file sizes over all layers.
	TotalBytes int64
	// FileSize caps the size of one regular file.
	FileSize int64
	// Entries caps the number of tar headers over all layers.
	Entries int
	// Depth caps the number of path components of an entry.
	Depth int
	// Hardlinks caps the number of hardlink entries over all layers.
	Hardlinks int
}

// DefaultLimits are generous caps that real images stay far below.
var DefaultLimits = Limits{
	TotalBytes: 64 << 30,
	FileSize:   16 << 30,
	Entries:    4 << 20,
	Depth:      256,
	Hardlinks:  1 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.TotalBytes <= 0 {
		l.TotalBytes = DefaultLimits.TotalBytes
	}
	if l.FileSize <= 0 {
		l.FileSize = DefaultLimits.FileSize
	}
	if l.Entries <= 0 {
		l.Entries = DefaultLimits.Entries
	}
	if l.Depth <= 0 {
		l.Depth = DefaultLimits.Depth
	}
	if l.Hardlinks <= 0 {
		l.Hardlinks = DefaultLimits.Hardlinks
	}
	return l
}

// Progress reports how far FromImage has read. Bytes count the uncompressed
// layer stream.
type Progress struct {
	Layer  int     // index of the layer being applied, from 0
	Layers int     // number of layers
	DiffID v1.Hash // the layer's diff_id from the image config
	Bytes  int64   // uncompressed bytes of this layer read so far
	Done   bool    // the layer is fully applied and verified
}

type options struct {
	tempDir  string
	limits   Limits
	progress func(Progress)
}

// Option configures FromImage and FromDir.
type Option func(*options) error

// WithTempDir puts the content spool in dir instead of os.TempDir().
func WithTempDir(dir string) Option {
	return func(o *options) error { o.tempDir = dir; return nil }
}

// WithLimits sets the caps against tar and gzip bombs.
func WithLimits(l Limits) Option {
	return func(o *options) error {
		if l.TotalBytes < 0 || l.FileSize < 0 || l.Entries < 0 || l.Depth < 0 || l.Hardlinks < 0 {
			return fmt.Errorf("negative limit in %+v", l)
		}
		o.limits = l
		return nil
	}
}

// WithProgress calls fn as layers are read (every few MiB and at the end of
// each layer), from the goroutine calling FromImage.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) error { o.progress = fn; return nil }
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	o.limits = o.limits.withDefaults()
	return o, nil
}
