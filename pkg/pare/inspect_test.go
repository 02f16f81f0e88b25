package pare

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

// tarLayer makes a layer of files (name → content; a name ending in / is a
// directory).
func tarLayer(t *testing.T, files ...any) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		name := files[i].(string)
		data, _ := files[i+1].([]byte)
		h := &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeReg, Size: int64(len(data))}
		if name[len(name)-1] == '/' {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestInspectInMemory(t *testing.T) {
	app0 := elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true})
	app1 := append(elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}), make([]byte, 64)...)
	doc := bytes.Repeat([]byte("d"), 1000)
	junk := bytes.Repeat([]byte("j"), 500)
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\n")
	l0 := tarLayer(t, "bin/", nil, "bin/app", app0, "etc/", nil, "etc/passwd", passwd,
		"usr/", nil, "usr/share/", nil, "usr/share/doc/", nil, "usr/share/doc/pkg/", nil, "usr/share/doc/pkg/README", doc,
		"var/", nil, "var/cache/", nil, "var/cache/junk", junk)
	l1 := tarLayer(t, "bin/", nil, "bin/app", app1, "var/", nil, "var/cache/", nil, "var/cache/.wh.junk", []byte{})
	img, err := mutate.AppendLayers(empty.Image, l0, l1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/bin/app"}
	at := v1.Time{Time: time.Unix(1700000000, 0)}
	cf.History = []v1.History{
		{CreatedBy: "ADD rootfs.tar /", Created: at},
		{CreatedBy: "/bin/sh -c rm /var/cache/junk && cp app /bin/app", Created: at},
		{CreatedBy: "ENV A=b", EmptyLayer: true, Created: at},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	v, err := rootfs.FromImage(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{Ref: transport.Reference{Kind: transport.OCI, Path: "/mem"}, Image: img, ConfigFile: cf, View: v}
	defer src.Close()
	var progressed int
	res, err := Inspect(t.Context(), src, InspectOptions{Progress: func(i, n int) {
		if n != 2 || i != progressed {
			t.Errorf("progress %d/%d after %d", i, n, progressed)
		}
		progressed++
	}})
	if err != nil {
		t.Fatal(err)
	}
	total := int64(len(app0) + len(passwd) + len(doc) + len(junk) + len(app1))
	wasted := int64(len(app0) + len(junk))
	if res.TotalBytes != total || res.WastedBytes != wasted || res.MergedBytes != total-wasted || res.LayerCount != 2 {
		t.Errorf("total %d wasted %d merged %d layers %d, want %d %d", res.TotalBytes, res.WastedBytes, res.MergedBytes, res.LayerCount, total, wasted)
	}
	if want := 1 - float64(wasted)/float64(total); res.Efficiency != want {
		t.Errorf("efficiency %v, want %v", res.Efficiency, want)
	}
	if len(res.Layers) != 3 || res.Layers[0].Index != 0 || res.Layers[1].Index != 1 || res.Layers[2].Index != -1 || !res.Layers[2].Empty ||
		res.Layers[1].Command != cf.History[1].CreatedBy || res.Layers[1].Hidden != wasted || res.Layers[0].Wasted != wasted {
		t.Errorf("layers %+v", res.Layers)
	}
	got := map[string]int64{}
	for _, f := range res.WastedFiles {
		got[f.Path] = f.Bytes
	}
	if res.WastedFileCount != 2 || len(got) != 2 || got["/bin/app"] != int64(len(app0)) || got["/var/cache/junk"] != int64(len(junk)) ||
		res.WastedFiles[0].Bytes < res.WastedFiles[1].Bytes {
		t.Errorf("wasted files %+v", res.WastedFiles)
	}
	p := res.Pared
	if p == nil {
		t.Fatalf("dry run failed: %s", res.ParedError)
	}
	if p.BeforeBytes != res.MergedBytes || p.BeforeFiles != 3 {
		t.Errorf("before %d files %d bytes, merged %d", p.BeforeFiles, p.BeforeBytes, res.MergedBytes)
	}
	// the program stays; the documentation goes (passwd is regenerated)
	if p.AfterBytes < int64(len(app1)) || p.DroppedFiles < 1 || p.DroppedBytes != p.BeforeBytes-p.AfterBytes {
		t.Errorf("dry run %+v", p)
	}
	if len(p.TopDropped) == 0 || p.TopDropped[0] != (DroppedDir{Path: "/usr/share/doc", Files: 1, Bytes: 1000}) {
		t.Errorf("top dropped %+v", p.TopDropped)
	}
	f := func(x float64) *float64 { return &x }
	n := func(x int64) *int64 { return &x }
	rules := res.Check(InspectLimits{LowestEfficiency: f(res.Efficiency), HighestWastedBytes: n(wasted - 1), LargestParedSize: n(p.AfterBytes)})
	if len(rules) != 3 || !rules[0].OK || rules[1].OK || rules[1].Rule != RuleHighestWastedBytes || !rules[2].OK {
		t.Errorf("rules %+v", rules)
	}
	if r := (&InspectResult{ParedError: "no command"}).Check(InspectLimits{LargestParedSize: n(1 << 30)}); r[0].OK {
		t.Errorf("a failed dry run passes: %+v", r)
	}
}

func TestDirKey(t *testing.T) {
	for p, want := range map[string]string{"/a": "/", "/a/b": "/a", "/usr/share/doc/x/y/z": "/usr/share/doc", "/usr/bin/ls": "/usr/bin"} {
		if got := dirKey(p, 3); got != want {
			t.Errorf("dirKey(%s) = %s, want %s", p, got, want)
		}
	}
}
