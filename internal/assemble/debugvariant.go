package assemble

import (
	"fmt"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// BusyboxDir is where a debug variant holds busybox and its applet links,
// as distroless :debug images do.
const BusyboxDir = "/busybox"

// DebugVariant returns img with one more layer: the static busybox at
// BusyboxDir/busybox, a symlink BusyboxDir/<applet> -> busybox for each
// applet, and BusyboxDir appended to the config's PATH. The pared layer is
// shared with img; the command, user and labels are unchanged, so the
// variant runs like img and has a shell for docker exec. The same inputs
// give the same digest.
func DebugVariant(img v1.Image, busybox []byte, applets []string, opts ...tarlayer.Option) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the pared image's config: %w", err)
	}
	bin := BusyboxDir + "/busybox"
	items := []tarlayer.Item{
		{Entry: rootfs.Entry{Path: BusyboxDir, Type: rootfs.TypeDir, Mode: 0o755}},
		bytesItem(rootfs.Entry{Path: bin, Type: rootfs.TypeReg, Mode: 0o755, Size: int64(len(busybox))}, busybox),
	}
	seen := map[string]bool{"busybox": true}
	for _, a := range applets {
		if a == "" || a == "." || a == ".." || strings.Contains(a, "/") {
			return nil, fmt.Errorf("applet name %q is not a file name", a)
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		items = append(items, tarlayer.Item{Entry: rootfs.Entry{Path: path.Join(BusyboxDir, a), Type: rootfs.TypeSymlink, Mode: 0o777, Linkname: "busybox"}})
	}
	layer, err := tarlayer.Layer(items, opts...)
	if err != nil {
		return nil, fmt.Errorf("writing the busybox layer: %w", err)
	}
	out, err := mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: cf.Created, CreatedBy: fmt.Sprintf("pare build --debug-variant: busybox with %d applets in %s", len(seen)-1, BusyboxDir)},
	})
	if err != nil {
		return nil, fmt.Errorf("adding the busybox layer: %w", err)
	}
	ncf, err := out.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the debug variant's config: %w", err)
	}
	ncf = ncf.DeepCopy()
	ncf.Config.Env = withPathDir(ncf.Config.Env, BusyboxDir)
	out, err = mutate.ConfigFile(out, ncf)
	if err != nil {
		return nil, fmt.Errorf("setting the debug variant's PATH: %w", err)
	}
	return out, nil
}

// withPathDir returns env with dir appended to its PATH (Docker's default
// PATH when env sets none), unless PATH already holds dir.
func withPathDir(env []string, dir string) []string {
	env = slices.Clone(env)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			if slices.Contains(strings.Split(v, ":"), dir) {
				return env
			}
			if v == "" {
				env[i] = "PATH=" + dir
			} else {
				env[i] = "PATH=" + v + ":" + dir
			}
			return env
		}
	}
	return append(env, "PATH="+imagecfg.DefaultPath+":"+dir)
}
