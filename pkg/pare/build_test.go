package pare

import (
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/internal/trace"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

func memSource(m *rootfs.Mem, entrypoint ...string) *Source {
	return &Source{
		Ref: transport.Reference{Kind: transport.Dir, Path: "/mem"},
		ConfigFile: &v1.ConfigFile{OS: "linux", Architecture: "amd64",
			Config: v1.Config{Entrypoint: entrypoint, Env: []string{"PATH=/usr/bin"}}},
		View: m.View(),
	}
}

// TestBuildTracedAndMissing: Build on an in-memory tree keeps what a trace
// used and the directory it wrote into (owner and mode), and returns a
// library no search found as a record.
func TestBuildTracedAndMissing(t *testing.T) {
	const interp = "/lib64/ld-linux-x86-64.so.2"
	lib := "/usr/lib/x86_64-linux-gnu/"
	m := rootfs.NewMem()
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddFile(lib+"ld-linux-x86-64.so.2", 0o755, elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", lib+"ld-linux-x86-64.so.2")
	m.AddFile(lib+"libc.so.6", 0o755, elftest.Build(elftest.Spec{Soname: "libc.so.6", Needed: []string{"ld-linux-x86-64.so.2"}}))
	m.AddFile("/usr/bin/app", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libgone.so.3", "libc.so.6"}, Flags1: 0x08000000}))
	m.AddFile("/usr/share/app/templates/page.tmpl", 0o644, []byte("x"))
	m.AddFile("/usr/share/app/unused.txt", 0o644, []byte("x")) // (files under /srv, an application root, are kept in any mode)
	m.Add(rootfs.Entry{Path: "/var/lib/app", Type: rootfs.TypeDir, Mode: 0o750, UID: 101, GID: 102}, nil)
	src := memSource(m, "app")

	if _, err := Build(src, BuildOptions{}); err == nil {
		t.Fatal("a missing library must fail the build without AllowMissing")
	}
	tr := &TraceResult{raw: &trace.Result{Observations: &sensor.Observations{Files: []sensor.FileAccess{
		{Path: "/usr/share/app/templates/page.tmpl", Op: sensor.OpOpen, OK: true, PID: 1, Exe: "/usr/bin/app"},
		{Path: "/var/lib/app/state.db", Op: sensor.OpOpen, OK: true, Write: true, PID: 1, Exe: "/usr/bin/app"},
	}}}}
	res, err := Build(src, BuildOptions{AllowMissing: true, Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Missing, []MissingLibrary{{Name: "libgone.so.3", NeededBy: "/usr/bin/app"}}) {
		t.Errorf("missing = %+v", res.Missing)
	}
	if len(res.Report.Missing) != 1 || res.Report.Missing[0] != "libgone.so.3 (needed by /usr/bin/app)" {
		t.Errorf("report missing = %q", res.Report.Missing)
	}
	kept := map[string]bool{}
	for k := range res.Report.KeptPaths() {
		kept[k.Path] = true
	}
	for _, p := range []string{"/usr/bin/app", lib + "libc.so.6", "/usr/share/app/templates/page.tmpl", "/var/lib/app"} {
		if !kept[p] {
			t.Errorf("%s not kept", p)
		}
	}
	if kept["/usr/share/app/unused.txt"] {
		t.Error("a file nothing used is kept")
	}
	if res.Report.Trace == nil {
		t.Error("no trace section in the report")
	}
	// the written-into directory is in the image with its owner and mode
	layers, err := res.Image.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v %v", len(layers), err)
	}
	v, err := rootfs.FromImage(t.Context(), res.Image)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e, err := v.Lstat("/var/lib/app")
	if err != nil || e.UID != 101 || e.GID != 102 || e.Mode.Perm() != 0o750 {
		t.Errorf("/var/lib/app in the image: %+v, %v", e, err)
	}
}
