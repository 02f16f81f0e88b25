package report

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// TestDescribeDropped: the dropped files are totalled by directory, each
// inode once and none kept under another name, and add up to what the
// kept files leave of the source's size; a second kept name of an inode
// says which name counts it.
func TestDescribeDropped(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/app", 0o755, make([]byte, 100))
	m.AddFile("/lib/libkept.so", 0o644, make([]byte, 40))
	m.AddFile("/lib/libgone.so", 0o644, make([]byte, 7))
	m.AddFile("/usr/share/doc/a/README", 0o644, make([]byte, 3))
	m.AddFile("/usr/share/doc/a/NEWS", 0o644, make([]byte, 5))
	m.AddFile("/usr/share/doc/b/README", 0o644, make([]byte, 11))
	m.AddFile("/usr/bin/big", 0o755, make([]byte, 1000))
	m.AddFile("/usr/bin/twin", 0o755, make([]byte, 20))
	m.AddFile("/usr/bin/gone", 0o755, make([]byte, 13))
	for _, l := range [][2]string{{"/usr/bin/big2", "/usr/bin/big"}, {"/usr/bin/twin2", "/usr/bin/twin"}, {"/lib/gone2", "/usr/bin/gone"}} {
		if err := m.AddHardlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	v := m.View()
	kept := keptset.NewSet(v)
	for _, p := range []string{"/app", "/lib/libkept.so", "/usr/bin/twin2", "/usr/bin/big", "/usr/bin/big2"} {
		if _, err := kept.Keep(p, keptset.Reason{Kind: keptset.KindInclude}); err != nil {
			t.Fatal(err)
		}
	}
	var r Report
	if err := Describe(&r, v, kept, false); err != nil {
		t.Fatal(err)
	}
	want := []DirSize{
		{Dir: "/lib", Files: 2, Bytes: 20}, // libgone, and gone2 (the inode of /usr/bin/gone, counted under the first name walked)
		{Dir: "/usr/share/doc/a", Files: 2, Bytes: 8},
		{Dir: "/usr/share/doc/b", Files: 1, Bytes: 11},
	}
	if d := cmp.Diff(want, r.DroppedDirs); d != "" {
		t.Errorf("dropped dirs (-want +got):\n%s", d)
	}
	if r.Before != (Size{Files: 9, Bytes: 1199}) || r.After != (Size{Files: 4, Bytes: 1160}) {
		t.Errorf("before %+v, after %+v", r.Before, r.After)
	}
	if r.Dropped != 5 || r.DroppedBytes != 39 || r.Before.Bytes-r.After.Bytes != r.DroppedBytes {
		t.Errorf("dropped %d files, %d bytes", r.Dropped, r.DroppedBytes)
	}
	sameAs := map[string]string{}
	var keptBytes int64
	for _, k := range r.Kept {
		if k.SameAs != "" {
			sameAs[k.Path] = k.SameAs
		} else {
			keptBytes += k.Size
		}
	}
	if d := cmp.Diff(map[string]string{"/usr/bin/big2": "/usr/bin/big"}, sameAs); d != "" {
		t.Errorf("same_as (-want +got):\n%s", d)
	}
	if keptBytes != r.After.Bytes {
		t.Errorf("kept sizes without same_as add up to %d, after is %d", keptBytes, r.After.Bytes)
	}
}
