//go:build !linux

package rootfs

import (
	"context"
	"fmt"
	"runtime"
)

// Export writes the filesystem of v into the new directory dir. It relies on
// Linux's openat2 and renameat2 to never write through a symlink, so on other
// systems it returns an error.
func Export(ctx context.Context, v *View, dir string, opts ...ExportOption) (ExportStats, error) {
	_ = makeExportOptions(opts)
	return ExportStats{}, fmt.Errorf("exporting to %s: needs Linux (openat2, renameat2), not %s", dir, runtime.GOOS)
}
