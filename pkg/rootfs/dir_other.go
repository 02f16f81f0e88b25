//go:build !linux

package rootfs

import (
	"fmt"
	"runtime"
)

// FromDir returns a view of a host directory. It needs Linux's openat2 to
// stay inside root, so on other systems it returns an error; images from any
// other transport are analysed everywhere.
func FromDir(root string, opts ...Option) (*View, error) {
	return nil, fmt.Errorf("dir:%s: reading a directory as an image needs Linux (openat2), not %s", root, runtime.GOOS)
}
