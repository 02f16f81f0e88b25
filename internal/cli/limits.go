package cli

import (
	"errors"
	"fmt"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// limitFlags are the caps on what pare accepts from an image (the
// defaults of rootfs.DefaultLimits): a hostile image fails with an error
// naming the limit instead of exhausting memory or disk.
type limitFlags struct {
	entries   int
	depth     int
	fileSize  string
	totalSize string
}

func (f *limitFlags) register(fs *pflag.FlagSet) {
	d := rootfs.DefaultLimits
	fs.IntVar(&f.entries, "max-entries", d.Entries, "refuse an image with more tar entries than this over all layers")
	fs.IntVar(&f.depth, "max-depth", d.Depth, "refuse an image with a path of more components than this")
	fs.StringVar(&f.fileSize, "max-file-size", humanize.IBytes(uint64(d.FileSize)), "refuse an image holding a file larger than this (e.g. 512MiB)")
	fs.StringVar(&f.totalSize, "max-image-size", humanize.IBytes(uint64(d.TotalBytes)), "refuse an image whose files add up to more than this, over all layers (e.g. 8GiB)")
}

// limits returns the flags as rootfs limits.
func (f *limitFlags) limits() (rootfs.Limits, error) {
	l := rootfs.Limits{Entries: f.entries, Depth: f.depth, Hardlinks: rootfs.DefaultLimits.Hardlinks}
	for _, s := range []struct {
		flag, v string
		dst     *int64
	}{{"max-file-size", f.fileSize, &l.FileSize}, {"max-image-size", f.totalSize, &l.TotalBytes}} {
		n, err := humanize.ParseBytes(s.v)
		if err != nil || n == 0 || n > 1<<62 {
			return l, usageError{fmt.Errorf("--%s %q: not a size (e.g. 512MiB)", s.flag, s.v)}
		}
		*s.dst = int64(n)
	}
	if f.entries <= 0 || f.depth <= 0 {
		return l, usageError{fmt.Errorf("--max-entries and --max-depth must be positive")}
	}
	return l, nil
}

// limitHint adds the flags that raise the limits to an error caused by one.
func limitHint(err error) error {
	if errors.Is(err, rootfs.ErrLimit) {
		return fmt.Errorf("%w (the caps are --max-entries, --max-depth, --max-file-size, --max-image-size)", err)
	}
	return err
}
