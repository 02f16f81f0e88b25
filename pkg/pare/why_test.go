package pare

import (
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

// TestWhyListsEveryRequester: a library needed by more programs than the
// kept set records reasons for lists every one of them.
func TestWhyListsEveryRequester(t *testing.T) {
	const interp = "/lib64/ld-linux-x86-64.so.2"
	lib := "/usr/lib/x86_64-linux-gnu/"
	m := rootfs.NewMem()
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddFile(lib+"ld-linux-x86-64.so.2", 0o755, elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", lib+"ld-linux-x86-64.so.2")
	m.AddFile(lib+"libc.so.6", 0o755, elftest.Build(elftest.Spec{Soname: "libc.so.6", Needed: []string{"ld-linux-x86-64.so.2"}}))
	m.AddFile(lib+"libz.so.1.3", 0o644, elftest.Build(elftest.Spec{Soname: "libz.so.1", Needed: []string{"libc.so.6"}}))
	m.AddSymlink(lib+"libz.so.1", "libz.so.1.3")
	var exes []string
	for i := range 12 {
		name := fmt.Sprintf("tool%02d", i)
		m.AddFile("/usr/bin/"+name, 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libz.so.1", "libc.so.6"}, Flags1: 0x08000000}))
		exes = append(exes, name)
	}
	src := &Source{
		Ref:        transport.Reference{Kind: transport.Dir, Path: "/mem"},
		ConfigFile: &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"tool00"}, Env: []string{"PATH=/usr/bin"}}},
		View:       m.View(),
	}
	ans, err := Why(src, lib+"libz.so.1", BuildOptions{IncludeExes: exes[1:]})
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Kept {
		t.Fatalf("not kept: %s", ans.Text)
	}
	by := map[string]bool{}
	for _, r := range ans.Reasons {
		if r.Kind == keptset.KindNeeded {
			by[r.From] = true
		}
	}
	for _, e := range exes {
		if !by["/usr/bin/"+e] {
			t.Errorf("requester /usr/bin/%s missing from %v", e, ans.Reasons)
		}
	}
	if len(by) != len(exes) {
		t.Errorf("%d requesters, want %d: %v", len(by), len(exes), ans.Reasons)
	}
	// a library that nothing needs is dropped, a missing path says so
	if ans, _ := Why(src, "/nope", BuildOptions{}); ans.Kept || ans.Text != "/nope does not exist in dir:/mem" {
		t.Errorf("missing: %+v", ans)
	}
}
