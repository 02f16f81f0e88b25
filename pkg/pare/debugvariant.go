package pare

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/busybox"
	"github.com/pare-dev/pare/internal/toolbin"
)

// BusyboxDir is where a debug variant holds busybox and its applet links.
const BusyboxDir = assemble.BusyboxDir

// DefaultBusybox is the static busybox DebugVariant takes by default:
// Debian's busybox-static package installs it there.
const DefaultBusybox = busybox.DefaultPath

// DebugVariantOptions configure DebugVariant.
type DebugVariantOptions struct {
	// Busybox is the path of a static busybox for the image's machine; ""
	// is DefaultBusybox.
	Busybox string
}

// DebugVariant returns the pared image img plus a static busybox at
// /busybox/busybox with a link for each of its applets and /busybox at the
// end of PATH, like distroless :debug images: the pared layer is shared,
// the command is the same, and `docker exec CONTAINER /busybox/sh` gives a
// shell. The busybox binary is never run: it is parsed to check that it is
// static and built for the image's machine, and its applets are read from
// its applet name table. The note says what was added.
func DebugVariant(img v1.Image, o DebugVariantOptions) (v1.Image, string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, "", fmt.Errorf("reading the pared image's config: %w", err)
	}
	bb, err := busybox.Load(o.Busybox, toolbin.GOARCH(cf.Architecture))
	if err != nil {
		return nil, "", err
	}
	out, err := assemble.DebugVariant(img, bb.Data, bb.Applets)
	if err != nil {
		return nil, "", err
	}
	note := fmt.Sprintf("debug variant: %s (%d bytes) at %s/busybox with %d applet links, PATH ends in %s", bb.Path, len(bb.Data), BusyboxDir, len(bb.Applets), BusyboxDir)
	return out, note, nil
}
