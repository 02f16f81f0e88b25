package rootfs

import (
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/internal/testimages"
)

// summary describes an entry for comparing two views.
func summary(t *testing.T, v *View, e *Entry) string {
	s := fmt.Sprintf("%s %v %d:%d %s", e.Type, e.Mode, e.UID, e.GID, e.ModTime.UTC().Format("2006-01-02T15:04:05.999999999"))
	switch e.Type {
	case TypeReg:
		f, err := v.Open(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		s += fmt.Sprintf(" %d %x", e.Size, h.Sum(nil)[:8])
	case TypeSymlink:
		s += " -> " + e.Linkname
	}
	if len(e.Xattrs) > 0 {
		s += fmt.Sprint(" ", e.Xattrs)
	}
	return s
}

// TestExportRoundTripRealImage applies a real multi-layer image (deletions,
// replaced directories, hardlinks, odd modes), exports it, reads the export
// back with FromDir and expects the same tree, hardlinks included.
func TestExportRoundTripRealImage(t *testing.T) {
	if testing.Short() {
		t.Skip("docker test")
	}
	img := testimages.Require(t, "layers")
	image, err := tarball.ImageFromPath(testimages.SaveArchive(t, img), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := FromImage(t.Context(), image, WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	out := filepath.Join(t.TempDir(), "root")
	st, err := Export(t.Context(), v, out)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()

	want, got := map[string]string{}, map[string]string{}
	groups := map[uint64][]string{}
	v.Walk("/", func(e *Entry) error {
		if e.Type == TypeReg || e.Type == TypeDir || e.Type == TypeSymlink {
			want[e.Path] = summary(t, v, e)
		}
		if e.HardlinkID != 0 {
			groups[e.HardlinkID] = append(groups[e.HardlinkID], e.Path)
		}
		return nil
	})
	back.Walk("/", func(e *Entry) error { got[e.Path] = summary(t, back, e); return nil })
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("export differs from the view (-view +export):\n%s", d)
	}
	for _, paths := range groups {
		first, _ := back.Lstat(paths[0])
		for _, p := range paths[1:] {
			if e, _ := back.Lstat(p); e == nil || first == nil || e.HardlinkID == 0 || e.HardlinkID != first.HardlinkID {
				t.Errorf("%s and %s are not one inode in the export", paths[0], p)
			}
		}
	}
	if len(want) < 100 || len(groups) == 0 {
		t.Errorf("fixture too small: %d entries, %d hardlink groups", len(want), len(groups))
	}
	t.Logf("%d entries, %d hardlink groups, stats %+v", len(want), len(groups), st)
}
