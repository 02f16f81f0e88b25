package assemble_test

import (
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// TestExtras: added files land root-owned with their mode and parent
// directories, replace a source file of the same path, and the same input
// gives the same layer; a parent that is not a directory is an error.
func TestExtras(t *testing.T) {
	m := rootfs.NewMem()
	m.Add(rootfs.Entry{Path: "/etc", Type: rootfs.TypeDir, Mode: 0o755}, nil)
	m.Add(rootfs.Entry{Path: "/etc/passwd", Type: rootfs.TypeReg, Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	m.Add(rootfs.Entry{Path: "/bin", Type: rootfs.TypeDir, Mode: 0o755}, nil)
	m.Add(rootfs.Entry{Path: "/bin/app", Type: rootfs.TypeReg, Mode: 0o755, UID: 7}, []byte("app"))
	v := m.View()
	set := keptset.NewSet(v)
	if _, err := set.Keep("/bin/app", keptset.Reason{Kind: keptset.KindInclude}); err != nil {
		t.Fatal(err)
	}
	cf := func() *v1.ConfigFile { return &v1.ConfigFile{OS: "linux", Architecture: "amd64"} }
	opts := assemble.Options{Extras: []assemble.Extra{
		{Path: assemble.InitPath, Mode: 0o755, Data: []byte("init")},
		{Path: "/bin/app", Mode: 0o700, Data: []byte("replaced")},
	}}
	img, _, err := assemble.Image(v, cf(), set, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := layer(t, img)
	for p, want := range map[string]header{
		assemble.AddonDir: {mode: 0o755},
		assemble.InitPath: {mode: 0o755, body: "init"},
		"/bin/app":        {mode: 0o700, body: "replaced"},
	} {
		h, ok := got[p]
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		if h.mode&0o7777 != want.mode || h.uid != 0 || h.gid != 0 || h.body != want.body {
			t.Errorf("%s: mode %o %d:%d %q; want %o 0:0 %q", p, h.mode&0o7777, h.uid, h.gid, h.body, want.mode, want.body)
		}
	}
	img2, _, err := assemble.Image(v, cf(), set, opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s, %s", d1, d2)
	}
	_, _, err = assemble.Image(v, cf(), set, assemble.Options{Extras: []assemble.Extra{{Path: "/bin/app/x", Mode: 0o755, Data: []byte("x")}}})
	if err == nil {
		t.Error("a file under a regular file was added")
	}
}

// TestWithInitAndHealthcheck: init goes in front of the Entrypoint and Cmd
// stays; the HEALTHCHECK runs the health-check program with the defaults
// or the given values.
func TestWithInitAndHealthcheck(t *testing.T) {
	cf := &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}}}
	assemble.WithInit(cf, assemble.InitPath)
	if want := []string{assemble.InitPath, "--", "/docker-entrypoint.sh"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("Entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	if want := []string{"nginx", "-g", "daemon off;"}; !slices.Equal(cf.Config.Cmd, want) {
		t.Errorf("Cmd %q, want %q", cf.Config.Cmd, want)
	}
	assemble.WithInit(cf, assemble.InitPath) // pared again: one init
	if want := []string{assemble.InitPath, "--", "/docker-entrypoint.sh"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("twice: Entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	if err := assemble.WithHealthcheck(cf, assemble.HealthcheckPath, assemble.Healthcheck{URL: "http://127.0.0.1:8080/healthz"}); err != nil {
		t.Fatal(err)
	}
	h := cf.Config.Healthcheck
	if want := []string{"CMD", assemble.HealthcheckPath, "-timeout", "5s", "http://127.0.0.1:8080/healthz"}; !slices.Equal(h.Test, want) {
		t.Errorf("Test %q, want %q", h.Test, want)
	}
	if h.Interval != assemble.DefaultHealthInterval || h.Timeout != assemble.DefaultHealthTimeout || h.Retries != assemble.DefaultHealthRetries {
		t.Errorf("defaults: %+v", h)
	}
	if err := assemble.WithHealthcheck(cf, "/hc", assemble.Healthcheck{Command: []string{"pg_isready", "-q"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, Retries: 9}); err != nil {
		t.Fatal(err)
	}
	h = cf.Config.Healthcheck
	if want := []string{"CMD", "/hc", "-timeout", "2s", "--", "pg_isready", "-q"}; !slices.Equal(h.Test, want) {
		t.Errorf("Test %q, want %q", h.Test, want)
	}
	if h.Interval != time.Second || h.Timeout != 2*time.Second || h.StartPeriod != 3*time.Second || h.Retries != 9 {
		t.Errorf("given values: %+v", h)
	}
	for _, bad := range []assemble.Healthcheck{{}, {URL: "http://x/", Command: []string{"x"}}, {URL: "http://x/", Interval: -1}} {
		if err := assemble.WithHealthcheck(cf, "/hc", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
