package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/internal/testimages"
)

// Issue 9 item 8, pare as a FROM-scratch image: scripts/pare-image.sh
// builds it (pare pared by pare), and the image pares a fixture given as a
// mounted docker-archive and through the Docker socket. Its outputs are
// pare's: the same image as the host's pare writes for the same source
// reference, and they run like the original.

// configDigest is the config digest of the image in a docker-archive.
func configDigest(t *testing.T, file string) string {
	t.Helper()
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	d, err := img.ConfigName()
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	return d.String()
}

func TestPareImage(t *testing.T) {
	testimages.RequireDocker(t)
	orig := testimages.Require(t, "bashscript")
	root, err := testimages.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	image := testimages.TagPrefix + "pare-e2e/pare:image"
	mu.Lock()
	created = append(created, image, testimages.TagPrefix+"pare-e2e/bashscript:from-archive", testimages.TagPrefix+"pare-e2e/bashscript:from-socket")
	mu.Unlock()
	start := time.Now()
	out := filepath.Join(t.TempDir(), "pare-image.tar")
	cmd := exec.CommandContext(t.Context(), "bash", filepath.Join(root, "scripts", "pare-image.sh"), "--out", out, "--tag", image, "--load")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/pare-image.sh: %v\n%s", err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pare image: %d bytes as a docker-archive, %d in the engine, built in %s",
		st.Size(), inspect(t, image).Size, time.Since(start).Round(time.Second))
	ls := listing(t, "docker-daemon:"+image)
	for _, p := range []string{"/usr/local/bin/pare", "/usr/local/bin/pare-sensor", "/usr/local/bin/pare-init", "/usr/local/bin/pare-healthcheck", "/etc/ssl/certs/ca-certificates.crt"} {
		if _, ok := ls[p]; !ok {
			t.Errorf("the pare image lacks %s", p)
		}
	}
	if e := ls["/tmp"]; e.Mode != "1777" {
		t.Errorf("/tmp of the pare image: %+v, want mode 1777", e)
	}
	if u := inspect(t, image).Config.User; u == "" || u == "0" {
		t.Errorf("the pare image runs as %q, want a non-root user", u)
	}
	want := runBatch(t, orig)
	if want.Code != 0 || want.Stdout == "" {
		t.Fatalf("original %s: exit %d, stdout %q", orig, want.Code, want.Stdout)
	}
	check := func(t *testing.T, tag string) {
		t.Helper()
		if got := runBatch(t, tag); got.Stdout != want.Stdout || got.Code != want.Code {
			t.Errorf("%s: exit %d, stdout:\n%s\nwant (original) exit %d:\n%s\nstderr:\n%s", tag, got.Code, got.Stdout, want.Code, want.Stdout, got.Stderr)
		}
	}

	t.Run("archive", func(t *testing.T) {
		// a directory the image's non-root user may write into
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(testimages.SaveArchive(t, orig)); err != nil {
			t.Fatal(err)
		} else if err := os.WriteFile(filepath.Join(dir, "in.tar"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		r := dockerRun(t, "run", "--pull", "never", "--rm", "--network", "none", "-v", dir+":/work", image,
			"build", "docker-archive:in.tar", "docker-archive:out.tar:pare-e2e/bashscript:from-archive", "--quiet")
		if r.Code != 0 {
			t.Fatalf("pare in its image: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		// the host's pare, given the same reference, writes the same image
		t.Chdir(dir)
		mustPare(t, "build", "docker-archive:in.tar", "docker-archive:host.tar")
		if a, b := configDigest(t, filepath.Join(dir, "out.tar")), configDigest(t, filepath.Join(dir, "host.tar")); a != b {
			t.Errorf("the pare image wrote config %s, the host's pare %s", a, b)
		}
		testimages.Docker(t, "load", "-q", "-i", filepath.Join(dir, "out.tar"))
		check(t, testimages.TagPrefix+"pare-e2e/bashscript:from-archive")
	})

	t.Run("socket", func(t *testing.T) {
		sock := "/var/run/docker.sock"
		var sst syscall.Stat_t
		if err := syscall.Stat(sock, &sst); err != nil {
			t.Skipf("no Docker socket at %s: %v", sock, err)
		}
		// the image's user reaches the socket through its group
		r := dockerRun(t, "run", "--pull", "never", "--rm", "--network", "none", "-v", sock+":"+sock, "--group-add", strconv.Itoa(int(sst.Gid)), image,
			"build", "docker-daemon:"+orig, "docker-daemon:pare-e2e/bashscript:from-socket", "--quiet")
		if r.Code != 0 {
			t.Fatalf("pare in its image, on the socket: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		p := buildPared(t, "bashscript", "pared")
		id := func(tag string) string {
			return strings.TrimSpace(testimages.Docker(t, "image", "inspect", "-f", "{{.Id}}", tag))
		}
		if a, b := id(testimages.TagPrefix+"pare-e2e/bashscript:from-socket"), id(p.tag); a != b {
			t.Errorf("the pare image wrote %s, the host's pare %s", a, b)
		}
		check(t, testimages.TagPrefix+"pare-e2e/bashscript:from-socket")
	})
}
