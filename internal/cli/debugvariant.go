package cli

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
	"github.com/pare-dev/pare/pkg/transport"
)

// variantFlags are the flags of pare build that write a debug variant.
type variantFlags struct {
	dst     string
	busybox string
}

func (f *variantFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dst, "debug-variant", "", "also write DST: the pared image plus a static busybox in "+pare.BusyboxDir+" with its applets, PATH extended (like distroless :debug)")
	fl.StringVar(&f.busybox, "busybox", "", "static busybox for --debug-variant (default "+pare.DefaultBusybox+", from Debian's busybox-static)")
}

// check reports usage errors before any work.
func (f *variantFlags) check(cmd *cobra.Command, dst string) error {
	if f.dst == "" {
		if cmd.Flags().Changed("busybox") {
			return usageError{errors.New("--busybox needs --debug-variant")}
		}
		return nil
	}
	ref, err := transport.Parse(f.dst)
	if err != nil {
		return usageError{fmt.Errorf("--debug-variant: %w", err)}
	}
	if ref.Kind == transport.Dir {
		return usageError{fmt.Errorf("--debug-variant %s: dir: is a source only", f.dst)}
	}
	if f.dst == dst {
		return usageError{errors.New("--debug-variant must differ from DST")}
	}
	return nil
}

// write writes the debug variant of img, when asked, and returns its note.
func (f *variantFlags) write(ctx context.Context, g *globals, img v1.Image) (string, error) {
	if f.dst == "" {
		return "", nil
	}
	variant, note, err := pare.DebugVariant(img, pare.DebugVariantOptions{Busybox: f.busybox})
	if err != nil {
		return "", err
	}
	if err := g.write(ctx, f.dst, variant); err != nil {
		return "", err
	}
	dg, err := variant.Digest()
	if err != nil {
		return "", fmt.Errorf("digest of the debug variant: %w", err)
	}
	return fmt.Sprintf("%s, written to %s (%s)", note, f.dst, dg), nil
}
