package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/testimages"
	parelib "github.com/pare-dev/pare/pkg/pare"
)

// Issue 9 item 1, pare dockerfile: the Dockerfile and context written for a
// fixture build with `docker build --network host` (the classic builder of
// docker 20.10: no BuildKit here), the result behaves like the original
// under the probes the generality table gives the fixture (parelib.Verify,
// expected "same"), and it holds exactly the paths `pare build` writes,
// with their types, modes, owners, sizes and link targets.

// libraryProbes turns pare verify flags of the generality table into run
// options for parelib.Verify.
func libraryProbes(t *testing.T, f genFixture) parelib.RunOptions {
	t.Helper()
	ro := parelib.RunOptions{RunToExit: f.batch}
	parse := map[string]func(string) (parelib.Probe, error){
		"--http-probe": parelib.HTTPProbe, "--tcp-probe": parelib.TCPProbe,
		"--probe-script": parelib.ScriptProbe, "--exec": parelib.ExecProbe,
	}
	for _, fl := range f.probes {
		name, spec, _ := strings.Cut(fl, "=")
		p, err := parse[name](spec)
		if err != nil {
			t.Fatalf("probe %s: %v", fl, err)
		}
		ro.Probes = append(ro.Probes, p)
	}
	for _, r := range f.runs {
		ro.Runs = append(ro.Runs, strings.Fields(r))
	}
	return ro
}

func TestDockerfile(t *testing.T) {
	for _, c := range []struct {
		name, variant string
		flags         []string
	}{
		{"nginx", "pared", nil},
		// pare's init and health check come from the context
		{"lighttpd", "addons", []string{"--add-init", "--add-healthcheck", "http://127.0.0.1:8093/"}},
	} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(genFixtures, func(f genFixture) bool { return f.name == name })
			f := genFixtures[i]
			orig := testimages.Require(t, name)
			start := time.Now()
			dir := t.TempDir()
			file, ctxDir := filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "ctx")
			mustPare(t, append([]string{"dockerfile", "docker-daemon:" + orig, "--file", file, "--context", ctxDir}, c.flags...)...)
			df, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("pare dockerfile %s:\n%s", name, df)
			if !strings.HasPrefix(string(df), "# ") || !strings.Contains(string(df), "FROM "+orig+" AS source\n") || !strings.Contains(string(df), "\nFROM scratch\n") {
				t.Fatalf("not a multi-stage Dockerfile FROM %s:\n%s", orig, df)
			}
			tag := testimages.TagPrefix + "pare-e2e/" + name + ":dockerfile"
			mu.Lock()
			created = append(created, tag)
			mu.Unlock()
			// The image carries the fixture's label, and scripts/fixtures.sh
			// prunes untagged images with it: one run elsewhere can remove
			// the image between its commit and its tag. Built again (from
			// the cache), it is tagged.
			var out string
			for try := 0; ; try++ {
				if out, err = testimages.DockerErr(t.Context(), "build", "--network", "host", "--force-rm", "-t", tag, "-f", file, ctxDir); err == nil {
					break
				}
				if try == 2 || !strings.Contains(out, "Successfully built") {
					t.Fatalf("docker build: %v\n%s", err, out)
				}
			}
			t.Logf("generated and built in %s", time.Since(start).Round(time.Millisecond))

			// the same files as pare build writes
			p := buildPared(t, name, c.variant, c.flags...)
			want, got := p.listing(t), listing(t, "docker-daemon:"+tag)
			var diffs []string
			for path, w := range want {
				g, ok := got[path]
				switch {
				case !ok:
					diffs = append(diffs, "missing "+path)
				case g != w:
					diffs = append(diffs, fmt.Sprintf("%s: %+v, pare build: %+v", path, g, w))
				}
			}
			for path := range got {
				if _, ok := want[path]; !ok {
					diffs = append(diffs, "extra "+path)
				}
			}
			slices.Sort(diffs)
			if len(diffs) > 0 {
				t.Errorf("the Dockerfile-built image differs from pare build's in %d of %d paths:\n%s", len(diffs), len(want), strings.Join(diffs, "\n"))
			}
			if w, g := inspect(t, p.tag).Config, inspect(t, tag).Config; fmt.Sprint(w) != fmt.Sprint(g) {
				t.Errorf("config of the Dockerfile-built image:\n%+v\npare build's:\n%+v", g, w)
			}
			hc := func(tag string) string {
				return testimages.Docker(t, "image", "inspect", "-f", "{{json .Config.Healthcheck}} {{json .Config.StopSignal}} {{json .Config.ExposedPorts}} {{json .Config.Labels}}", tag)
			}
			if w, g := hc(p.tag), hc(tag); w != g {
				t.Errorf("health check, stop signal, ports, labels of the Dockerfile-built image: %s, pare build's: %s", g, w)
			}

			// the same behaviour as the original
			lockPorts(t, name)
			vr, err := parelib.Verify(t.Context(), "docker-daemon:"+orig, "docker-daemon:"+tag, parelib.VerifyOptions{RunOptions: libraryProbes(t, f)})
			if err != nil {
				t.Fatal(err)
			}
			if len(vr.Original) == 0 {
				t.Fatalf("verify ran no probes")
			}
			for _, o := range vr.Original {
				if !o.OK {
					t.Errorf("probe %s fails on the original: %s", o.Name, o.Err)
				}
			}
			if !vr.Same {
				t.Errorf("the Dockerfile-built image behaves differently from the original: %v", vr.Differences)
			}
			t.Logf("%s: %d probes, same=%v, %d COPY lines, %s in all", name, len(vr.Pared), vr.Same, strings.Count(string(df), "\nCOPY "), time.Since(start).Round(time.Millisecond))
		})
	}
}
