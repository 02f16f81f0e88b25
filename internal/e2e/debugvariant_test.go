package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/testimages"
)

// variantDigest is the digest in the debug variant note of a report.
var variantDigest = regexp.MustCompile(`debug variant: .* written to \S+ \((sha256:[0-9a-f]{64})\)`)

// TestDebugVariant pares nginx with --debug-variant: the variant has
// busybox's shell and applets in /busybox on PATH, runs as the pared user
// over the pared files, serves like the pared image, shares its layer, and
// is reproducible; the pared image itself has no busybox.
func TestDebugVariant(t *testing.T) {
	variant := testimages.TagPrefix + "pare-e2e/nginx:debug"
	mu.Lock()
	created = append(created, variant)
	mu.Unlock()
	p := buildPared(t, "nginx", "debugvariant", "--debug-variant", "docker-daemon:"+variant)
	var note string
	for _, n := range p.report.Notes {
		if m := variantDigest.FindStringSubmatch(n); m != nil {
			note = m[1]
		}
	}
	if note == "" {
		t.Fatalf("report notes %q name no debug variant digest", p.report.Notes)
	}

	// the pared image has no busybox
	ls := p.listing(t)
	for pth := range ls {
		if strings.HasPrefix(pth, "/busybox") {
			t.Errorf("the pared image holds %s", pth)
		}
	}
	if r := dockerRun(t, "run", "--rm", "--network", "none", "--entrypoint", "/busybox/sh", p.tag, "-c", "true"); r.Code == 0 {
		t.Errorf("the pared image runs /busybox/sh")
	}

	// the variant: a shell over the pared files, as the pared user
	r := dockerRun(t, "run", "--rm", "--network", "none", "--entrypoint", "/busybox/sh", variant, "-c", "ls /etc/nginx && id")
	if r.Code != 0 {
		t.Fatalf("/busybox/sh -c 'ls /etc/nginx && id' in %s: exit %d\n%s", variant, r.Code, r.Stderr)
	}
	var wantLs []string
	for pth := range ls {
		if filepath.Dir(pth) == "/etc/nginx" {
			wantLs = append(wantLs, filepath.Base(pth))
		}
	}
	slices.Sort(wantLs)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != len(wantLs)+1 || !slices.Equal(lines[:len(wantLs)], wantLs) {
		t.Errorf("ls /etc/nginx in the variant:\n%s\nthe pared image has %q", r.Stdout, wantLs)
	}
	user := inspect(t, p.tag).Config.User
	uid, _, _ := strings.Cut(user, ":")
	if id := lines[len(lines)-1]; !strings.HasPrefix(id, "uid="+uid+"(") {
		t.Errorf("id in the variant: %q, want the pared user %s", id, user)
	}

	// every applet busybox has is linked in /busybox, and PATH finds them
	r = dockerRun(t, "run", "--rm", "--network", "none", "--entrypoint", "/busybox/busybox", variant, "--list")
	applets := strings.Fields(r.Stdout)
	vls := listing(t, "docker-daemon:"+variant)
	var links []string
	for pth, e := range vls {
		if filepath.Dir(pth) == "/busybox" {
			links = append(links, filepath.Base(pth))
			if base := filepath.Base(pth); base != "busybox" && (e.Type != "symlink" || e.Link != "busybox") {
				t.Errorf("%s: %+v, want a link to busybox", pth, e)
			}
		}
	}
	slices.Sort(applets)
	slices.Sort(links)
	if r.Code != 0 || len(applets) < 100 || !slices.Equal(applets, links) {
		t.Errorf("busybox --list (exit %d, %d applets) and the links in /busybox (%d) differ:\n%q\n%q", r.Code, len(applets), len(links), applets, links)
	}
	if r := dockerRun(t, "run", "--rm", "--network", "none", "--entrypoint", "/busybox/sh", variant, "-c", "which wget; echo $PATH"); r.Stdout != "/busybox/wget\n"+pathOf(inspect(t, p.tag).Config.Env)+":/busybox\n" {
		t.Errorf("PATH in the variant: %q", r.Stdout)
	}

	// the variant shares the pared layer and serves the same
	var layers [2][]string
	for i, ref := range []string{p.tag, variant} {
		if err := json.Unmarshal([]byte(testimages.Docker(t, "image", "inspect", "-f", "{{json .RootFS.Layers}}", ref)), &layers[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(layers[0]) != 1 || len(layers[1]) != 2 || layers[1][0] != layers[0][0] {
		t.Errorf("layers: pared %q, variant %q", layers[0], layers[1])
	}
	port := testimages.Ports["nginx"]
	probes := []httpProbe{{"/healthz", ""}, {"/large.txt", "gzip"}}
	want := serve(t, "pared", p.tag, port, func(t *testing.T, _ string) []string { return httpObserve(t, port, probes) })
	got := serve(t, "variant", variant, port, func(t *testing.T, _ string) []string { return httpObserve(t, port, probes) })
	compareObservations(t, p, want, got)

	ps, vs := inspect(t, p.tag).Size, inspect(t, variant).Size
	t.Logf("size of nginx: pared %d bytes, debug variant %d bytes (+%d)", ps, vs, vs-ps)
	fmt.Printf("SIZE nginx pared=%d debug-variant=%d\n", ps, vs)

	// reproducible (into docker-archives: like the daemon, sinks that get
	// the layer uncompressed)
	dir := t.TempDir()
	var again report.Report
	out := mustPare(t, "build", "docker-daemon:"+p.orig, "docker-archive:"+filepath.Join(dir, "p.tar"),
		"--debug-variant", "docker-archive:"+filepath.Join(dir, "v.tar"), "--output", "json")
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatal(err)
	}
	var digest string
	for _, n := range again.Notes {
		if m := variantDigest.FindStringSubmatch(n); m != nil {
			digest = m[1]
		}
	}
	if digest != note {
		t.Errorf("debug variant built twice: digests %s and %s", note, digest)
	}
}

// pathOf returns the PATH of env.
func pathOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}
