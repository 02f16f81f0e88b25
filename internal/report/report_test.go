package report

import (
	"bytes"
	"encoding/json"
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
	for k := range r.KeptPaths() {
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

// TestWriteJSON: the streamed report is byte for byte the indented
// encoding of the same report with its kept list materialized, for a
// described report (the kept paths read from the set), an empty one and
// one decoded from JSON; and decoding it gives the kept list back.
func TestWriteJSON(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/usr/bin/app", 0o755, make([]byte, 10))
	m.AddFile("/usr/lib/libx.so", 0o644, make([]byte, 4))
	m.AddSymlink("/lib", "usr/lib")
	m.AddFile("/etc/a<b>&c", 0o644, []byte("x"))
	v := m.View()
	kept := keptset.NewSet(v)
	if _, err := kept.Keep("/usr/bin/app", keptset.Reason{Kind: keptset.KindEntrypoint}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/lib/libx.so", "/etc/a<b>&c"} {
		if _, err := kept.Keep(p, keptset.Reason{Kind: keptset.KindNeeded, From: "/usr/bin/app"}); err != nil {
			t.Fatal(err)
		}
	}
	var described Report
	if err := Describe(&described, v, kept, false); err != nil {
		t.Fatal(err)
	}
	described.Notes = []string{"a note"}
	var empty Report
	if err := Describe(&empty, v, keptset.NewSet(v), false); err != nil {
		t.Fatal(err)
	}
	var decoded Report
	if err := json.Unmarshal([]byte(`{"source":"x","kept":[{"path":"/a","type":"file","reasons":[{"kind":"include"}],"chain":"/a ← --include"}]}`), &decoded); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Report{"described": &described, "empty": &empty, "decoded": &decoded, "zero": {}, "decoded empty": {Kept: []Kept{}}} {
		var got bytes.Buffer
		if err := r.WriteJSON(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		list := *r
		list.Kept = r.KeptList()
		want, err := json.MarshalIndent(plainReport(list), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want)+"\n", got.String()); d != "" {
			t.Errorf("%s: WriteJSON differs from MarshalIndent (-want +got):\n%s", name, d)
		}
		var back Report
		if err := json.Unmarshal(got.Bytes(), &back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(list.Kept, back.Kept); d != "" {
			t.Errorf("%s: kept list read back (-want +got):\n%s", name, d)
		}
		compact, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, compact, "", "  "); err != nil {
			t.Fatal(err)
		}
		if indented.String()+"\n" != got.String() {
			t.Errorf("%s: json.Marshal differs from WriteJSON", name)
		}
	}
	if n := len(described.KeptList()); n != kept.Len() || described.Kept != nil {
		t.Errorf("described report lists %d kept paths (Kept %v), the set %d", n, described.Kept, kept.Len())
	}
}
