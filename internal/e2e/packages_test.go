package e2e

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
)

// Acceptance tests of the package-aware closure (issue 7) on programs whose
// runtime files no ELF header names: git runs git-upload-pack from its
// private exec dir /usr/lib/git-core; ImageMagick loads its coders from a
// directory compiled into libMagickCore and reads /etc/ImageMagick-6. Each
// is pared statically with no flags and must behave like the original;
// paring again without those files must break it, so the test shows that
// the rule, not luck, keeps them.

// keptBy returns the primary reason of path in the report, or nil.
func keptBy(r report.Report, path string) *keptset.Reason {
	if rs := reasonsOf(r, path); len(rs) > 0 {
		return &rs[0]
	}
	return nil
}

// reasonsOf returns the reasons of path in the report.
func reasonsOf(r report.Report, path string) []keptset.Reason {
	for _, k := range r.Kept {
		if k.Path == path {
			return k.Reasons
		}
	}
	return nil
}

// runWith runs image with --network none and the command args.
func runWith(t *testing.T, image string, args ...string) batchRun {
	t.Helper()
	return dockerRun(t, append([]string{"run", "--rm", "--network", "none", image}, args...)...)
}

func TestBuildPkgGit(t *testing.T) {
	p := buildPared(t, "pkg-git", "pared")
	checkPared(t, p, checks{shells: []string{"sh", "dash"}})
	want, _ := compareBatch(t, p)
	if !strings.Contains(want.Stdout, "hello from a cloned repository") {
		t.Fatalf("original output %q", want.Stdout)
	}
	for path, kinds := range map[string][]keptset.Kind{
		"/usr/lib/git-core/git-upload-pack": {keptset.KindCompiled, keptset.KindPackage},
		"/usr/share/git-core/templates":     {keptset.KindPackage},
		"/home/dev/repo.git/HEAD":           {keptset.KindApp},
		"/usr/lib/git-core/git-remote-http": {keptset.KindCompiled, keptset.KindPackage},
	} {
		rs := reasonsOf(p.report, path)
		if rs == nil {
			t.Errorf("%s not kept", path)
			continue
		}
		ok := false
		for _, r := range rs {
			for _, k := range kinds {
				ok = ok || r.Kind == k
			}
		}
		if !ok {
			t.Errorf("%s kept as %+v, want a reason of kind %v", path, rs, kinds)
		}
	}
	// the same build without git's private exec dir cannot clone
	q := buildPared(t, "pkg-git", "no-git-core", "--exclude", "/usr/lib/git-core/**")
	if got := runBatch(t, q.tag); got.Code == 0 || strings.Contains(got.Stdout, "hello from a cloned repository") {
		t.Errorf("without /usr/lib/git-core the clone still works (exit %d): the fixture does not exercise the helpers", got.Code)
	}
}

func TestBuildPkgImageMagick(t *testing.T) {
	p := buildPared(t, "pkg-imagemagick", "pared")
	checkPared(t, p, checks{})
	want, _ := compareBatch(t, p)
	if !strings.HasPrefix(want.Stdout, "70x46 PNG ") {
		t.Fatalf("original output %q", want.Stdout)
	}
	// every coder and delegate is there, not only those of the default command
	for _, args := range [][]string{
		{"convert", "-list", "format"},
		{"convert", "-list", "delegate"},
		{"convert", "rose.png", "-rotate", "90", "-format", "%wx%h %#\n", "info:"},
		{"convert", "rose.png", "-quality", "90", "jpg:/tmp/r.jpg"},
	} {
		o, g := runWith(t, p.orig, args...), runWith(t, p.tag, args...)
		if o.Code != 0 {
			t.Fatalf("original %v: exit %d: %s", args, o.Code, o.Stderr)
		}
		if o.Stdout != g.Stdout || o.Code != g.Code {
			t.Errorf("%v differs:\noriginal exit %d:\n%s\npared exit %d:\n%s\n%s", args, o.Code, o.Stdout, g.Code, g.Stdout, g.Stderr)
		}
	}
	coder := "/usr/lib/x86_64-linux-gnu/ImageMagick-6.9.11/modules-Q16/coders/png.so"
	if r := keptBy(p.report, coder); r == nil || r.Kind != keptset.KindCompiled || !strings.Contains(r.From, "libMagickCore") {
		t.Errorf("%s kept as %+v, want a path compiled into libMagickCore", coder, r)
	}
	if r := keptBy(p.report, "/work/rose.png"); r == nil {
		t.Error("the image's input file in its WorkingDir is not kept")
	}
	// the same build without the compiled-in coders dir cannot read PNG
	q := buildPared(t, "pkg-imagemagick", "no-coders", "--exclude", "/usr/lib/x86_64-linux-gnu/ImageMagick-*/**")
	if got := runBatch(t, q.tag); got.Code == 0 {
		t.Errorf("without the coders directory convert still works: %q", got.Stdout)
	}
}
