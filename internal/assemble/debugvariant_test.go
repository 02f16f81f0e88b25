package assemble_test

import (
	"archive/tar"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// TestDebugVariant: the variant is the pared image's layer plus one layer
// with busybox and its applet links, PATH gains /busybox, the rest of the
// config stays, and the same input gives the same digest.
func TestDebugVariant(t *testing.T) {
	m := rootfs.NewMem()
	m.Add(rootfs.Entry{Path: "/bin", Type: rootfs.TypeDir, Mode: 0o755}, nil)
	m.Add(rootfs.Entry{Path: "/bin/app", Type: rootfs.TypeReg, Mode: 0o755}, []byte("app"))
	v := m.View()
	set := keptset.NewSet(v)
	if _, err := set.Keep("/bin/app", keptset.Reason{Kind: keptset.KindInclude}); err != nil {
		t.Fatal(err)
	}
	cf := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
		Entrypoint: []string{"/bin/app"}, Env: []string{"A=1", "PATH=/bin"}, Labels: map[string]string{"l": "v"},
	}}
	pared, _, err := assemble.Image(v, cf, set, assemble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	variant := func() v1.Image {
		img, err := assemble.DebugVariant(pared, []byte("BUSYBOX"), []string{"[", "ls", "sh", "ls", "busybox"})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	img := variant()
	ls, err := img.Layers()
	if err != nil || len(ls) != 2 {
		t.Fatalf("layers %d, %v; want the pared one and busybox's", len(ls), err)
	}
	pl, _ := pared.Layers()
	d0, _ := ls[0].Digest()
	dp, _ := pl[0].Digest()
	if d0 != dp {
		t.Errorf("first layer %s is not the pared image's %s", d0, dp)
	}
	got := map[string]string{}
	rc, err := ls[1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[strings.TrimSuffix(h.Name, "/")] = string(h.Typeflag) + " " + h.Linkname + string(b)
		if h.Uid != 0 || h.Gid != 0 || (h.Typeflag == tar.TypeReg && h.Mode&0o777 != 0o755) {
			t.Errorf("%s: %d:%d mode %o", h.Name, h.Uid, h.Gid, h.Mode)
		}
	}
	want := map[string]string{
		"busybox":         "5 ",
		"busybox/busybox": "0 BUSYBOX",
		"busybox/[":       "2 busybox",
		"busybox/ls":      "2 busybox",
		"busybox/sh":      "2 busybox",
	}
	if len(got) != len(want) {
		t.Errorf("busybox layer %q, want %q", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	vcf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	pcf, _ := pared.ConfigFile()
	if !slices.Equal(vcf.Config.Env, []string{"A=1", "PATH=/bin:/busybox"}) || !slices.Equal(vcf.Config.Entrypoint, pcf.Config.Entrypoint) ||
		vcf.Config.User != pcf.Config.User || vcf.Config.Labels["l"] != "v" {
		t.Errorf("variant config %+v, pared %+v", vcf.Config, pcf.Config)
	}
	if len(vcf.History) != 2 || !strings.Contains(vcf.History[1].CreatedBy, "busybox with 3 applets") || !vcf.Created.Equal(pcf.Created.Time) {
		t.Errorf("history %+v, created %v", vcf.History, vcf.Created)
	}
	a, _ := img.Digest()
	b, _ := variant().Digest()
	if a != b {
		t.Errorf("digests differ: %s, %s", a, b)
	}

	// no PATH: Docker's default plus /busybox
	cf.Config.Env = nil
	pared2, _, err := assemble.Image(v, cf, set, assemble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img2, err := assemble.DebugVariant(pared2, []byte("B"), []string{"sh"})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := img2.ConfigFile()
	if !slices.Equal(c2.Config.Env, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox"}) {
		t.Errorf("env %q", c2.Config.Env)
	}
	if _, err := assemble.DebugVariant(pared2, []byte("B"), []string{"../sh"}); err == nil {
		t.Error("applet ../sh accepted")
	}
}
