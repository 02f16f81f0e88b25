package loader_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/loader"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// hwcapsDockerfile puts copies of real libraries into glibc-hwcaps and
// legacy hwcap subdirectories, and registers one directory with ldconfig so
// that the cache holds glibc-hwcaps entries.
const hwcapsDockerfile = `FROM %s
RUN set -e; d=/usr/lib/x86_64-linux-gnu; \
 mkdir -p /opt/a/glibc-hwcaps/x86-64-v3 /opt/b/tls /opt/c/haswell /opt/c/x86_64 /opt/h/glibc-hwcaps/x86-64-v3 /opt/h/glibc-hwcaps/x86-64-v2; \
 cp $d/libacl.so.1.1.2301 /opt/a/libfoo.so; cp $d/libacl.so.1.1.2301 /opt/a/glibc-hwcaps/x86-64-v3/libfoo.so; \
 cp $d/libattr.so.1.1.2501 /opt/b/libbar.so; cp $d/libattr.so.1.1.2501 /opt/b/tls/libbar.so; \
 cp $d/libbz2.so.1.0.4 /opt/c/libbaz.so; cp $d/libbz2.so.1.0.4 /opt/c/haswell/libbaz.so; cp $d/libbz2.so.1.0.4 /opt/c/x86_64/libbaz.so; \
 cp $d/libgmp.so.10.4.1 /opt/h/glibc-hwcaps/x86-64-v3/; cp $d/libgmp.so.10.4.1 /opt/h/glibc-hwcaps/x86-64-v2/; \
 rm $d/libgmp.so.10 $d/libgmp.so.10.4.1; cp /opt/h/glibc-hwcaps/x86-64-v3/libgmp.so.10.4.1 /opt/h/; \
 echo /opt/h > /etc/ld.so.conf.d/zz-opt-h.conf; ldconfig; ldconfig -p | grep libgmp
`

// TestDifferentialHWCaps checks the hwcaps subdirectories and glibc-hwcaps
// cache entries against ldd in a container: ldd (on this CPU) must pick a
// file pare kept, and when the pick is one every CPU makes, the same file.
func TestDifferentialHWCaps(t *testing.T) {
	base := testimages.Require(t, "base")
	dir := t.TempDir()
	df := strings.Replace(hwcapsDockerfile, "%s", base, 1)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := testimages.TagPrefix + "pare-test/loader-hwcaps:latest"
	cmd := exec.CommandContext(t.Context(), "docker", "build", "--network", "none", "-q", "-t", tag, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })

	env := []string{
		"LD_LIBRARY_PATH=/opt/a:/opt/b:/opt/c",
		"LD_PRELOAD=libfoo.so libbar.so libbaz.so libgmp.so.10",
	}
	args := []string{"run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "/bin/sh"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, tag, "-c", `echo "### /usr/bin/true"; ldd /usr/bin/true 2>&1`)
	ldd := parseLdd(testimages.Docker(t, args...))["/usr/bin/true"]

	archive := testimages.SaveArchive(t, tag)
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := rootfs.FromImage(t.Context(), img, rootfs.WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	res, err := loader.Resolve(v, "/usr/bin/true", loader.Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string][]string{} // name → primary first, then variants
	for _, o := range res.Objects {
		kept[o.Name] = append(kept[o.Name], o.OpenedAs)
	}
	t.Logf("ldd: %q", ldd)
	t.Logf("pare: %v", kept)
	want := map[string]struct {
		primary  string
		variants []string
	}{
		"libfoo.so":    {"/opt/a/libfoo.so", []string{"/opt/a/glibc-hwcaps/x86-64-v3/libfoo.so"}},
		"libbar.so":    {"/opt/b/tls/libbar.so", nil},
		"libbaz.so":    {"/opt/c/x86_64/libbaz.so", []string{"/opt/c/haswell/libbaz.so"}},
		"libgmp.so.10": {"/opt/h/libgmp.so.10", []string{"/opt/h/glibc-hwcaps/x86-64-v3/libgmp.so.10.4.1", "/opt/h/glibc-hwcaps/x86-64-v2/libgmp.so.10.4.1"}},
	}
	for name, w := range want {
		got := kept[name]
		if len(got) == 0 || got[0] != w.primary {
			t.Errorf("%s: pare kept %v, want primary %s", name, got, w.primary)
			continue
		}
		for _, v := range w.variants {
			if !contains(got[1:], v) {
				t.Errorf("%s: variant %s not kept (%v)", name, v, got)
			}
		}
		var pick string
		for _, l := range ldd {
			if p, ok := strings.CutPrefix(l, name+" => "); ok {
				pick = p
			}
		}
		if !contains(got, pick) {
			t.Errorf("%s: ldd loads %q, which pare did not keep (%v)", name, pick, got)
		}
	}
}

// TestDifferentialDlopen runs the cplugin fixture, which dlopens a plugin,
// with LD_DEBUG=files in a container and compares the objects ld.so
// initialised with pare's closure plus Dlopen of the same plugin.
func TestDifferentialDlopen(t *testing.T) {
	img := testimages.Require(t, "cplugin")
	out, _ := testimages.DockerErr(t.Context(), "run", "--rm", "--network", "none", "-e", "LD_DEBUG=files", "--entrypoint", "/bin/sh", img, "-c", "/opt/cplugin/bin/app 2>&1")
	var want []string
	for _, line := range strings.Split(out, "\n") {
		if _, p, ok := strings.Cut(line, "calling init: "); ok && p != "/lib64/ld-linux-x86-64.so.2" {
			want = append(want, strings.TrimSpace(p))
		}
	}
	if len(want) < 3 {
		t.Fatalf("LD_DEBUG output without init calls:\n%s", out)
	}
	archive := testimages.SaveArchive(t, img)
	image, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := rootfs.FromImage(t.Context(), image, rootfs.WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	r, err := loader.NewResolver(v, "/opt/cplugin/bin/app", loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Dlopen("/opt/cplugin/plugins/hello.so", ""); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range r.Result().Objects {
		got = append(got, o.OpenedAs)
	}
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("objects (-ld.so +pare):\n%s", d)
	}
}
