package loader_test

import (
	"bufio"
	"debug/elf"
	"flag"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/loader"
	"github.com/pare-dev/pare/pkg/rootfs"
)

var lddLibs = flag.Bool("ldd-libs", false, "TestDifferentialLdd: also compare every x86-64 shared library")

// TestDifferentialLdd compares the closure of every dynamic ELF executable
// of a fixture image with what the image's own ldd prints inside a
// container (never on the host).
func TestDifferentialLdd(t *testing.T) {
	// cplugin and cmusl are the base image plus a RUNPATH and a musl program.
	fixtures := []string{"cplugin", "cmusl"}
	if s := os.Getenv("PARE_LDD_FIXTURES"); s != "" {
		fixtures = strings.Fields(s)
	}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) { differentialLdd(t, name) })
	}
}

func differentialLdd(t *testing.T, fixture string) {
	img := testimages.Require(t, fixture)
	archive := testimages.SaveArchive(t, img)
	image, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	v, err := rootfs.FromImage(t.Context(), image, rootfs.WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	// Every regular file with a PT_INTERP, outside pseudo filesystems.
	var exes []string
	interps := map[string]string{}
	libs := map[string]bool{}
	err = v.Walk("/", func(e *rootfs.Entry) error {
		switch e.Path {
		case "/proc", "/sys", "/dev":
			return fs.SkipDir
		}
		if e.Type != rootfs.TypeReg || e.Size < 64 {
			return nil
		}
		f, err := v.Open(e.Path)
		if err != nil {
			return nil
		}
		defer f.Close()
		h, err := elfread.Parse(f, f.Size())
		if err != nil || strings.ContainsAny(e.Path, " \t\n'\"\\$") {
			return nil
		}
		switch {
		case h.Kind == elfread.KindDynamic:
			exes = append(exes, e.Path)
			interps[e.Path] = h.Interp
		case h.Kind == elfread.KindShared && *lddLibs && h.Machine == elf.EM_X86_64 &&
			!strings.HasPrefix(h.Soname, "ld-") && !strings.Contains(e.Path, "-musl"):
			// ldd runs the library with the image's ld.so as the program
			exes = append(exes, e.Path)
			libs[e.Path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(exes) < 10 {
		t.Fatalf("only %d dynamic executables found in %s", len(exes), img)
	}
	sort.Strings(exes)

	// One container runs ldd on all of them.
	// musl programs are listed by their own loader (ld-musl --list).
	script := `for a in "$@"; do i=${a%%|*}; f=${a#*|}; echo "### $f"; case "$i" in */ld-musl-*) "$i" --list "$f" 2>&1;; *) ldd "$f" 2>&1;; esac; done`
	var args []string
	for _, e := range exes {
		args = append(args, interps[e]+"|"+e)
	}
	out := testimages.Docker(t, append([]string{"run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "/bin/sh", img, "-c", script, "sh"}, args...)...)
	ldd := parseLdd(out)

	opts := loader.Options{Env: cfg.Config.Env, WorkingDir: cfg.Config.WorkingDir}
	agree, differ, lines := 0, 0, 0
	t.Logf("%d executables, %d libraries", len(exes)-len(libs), len(libs))
	for _, exe := range exes {
		want, ok := ldd[exe]
		if !ok {
			t.Errorf("%s: no ldd output", exe)
			continue
		}
		o := opts
		if libs[exe] {
			o.Interp = "/lib64/ld-linux-x86-64.so.2"
		}
		res, err := loader.Resolve(v, exe, o)
		if err != nil {
			t.Errorf("%s: %v", exe, err)
			continue
		}
		got := closureLines(res)
		if res.Musl && res.Interp != nil {
			// musl reports names it answers itself ("libc.so => /lib/ld-musl-x86_64.so.1").
			want = dropPath(want, res.Interp.OpenedAs)
		}
		lines += len(want)
		if exe == "/usr/bin/ls" || exe == "/usr/local/bin/app-musl" || exe == "/opt/cplugin/bin/app" {
			t.Logf("ldd %s: %q", exe, want)
		}
		if d := cmp.Diff(normalise(want), normalise(got)); d != "" {
			differ++
			t.Errorf("%s: closure differs from ldd (-ldd +pare):\n%s", exe, d)
			continue
		}
		if d := cmp.Diff(foundOrder(want), foundOrder(got)); d != "" {
			differ++
			t.Errorf("%s: load order differs from ldd (-ldd +pare):\n%s", exe, d)
			continue
		}
		agree++
	}
	t.Logf("%s: %d files agree with ldd, %d differ (%d ldd lines)", img, agree, differ, lines)
	if lines < 2*len(exes) {
		t.Errorf("only %d ldd lines for %d executables: is ldd output parsed?", lines, len(exes))
	}
}

// lddLine matches "name => path (0x...)", "name => not found" and
// "path (0x...)".
var (
	muslError = regexp.MustCompile(`^Error loading shared library (\S+): .*\(needed by `)
	lddArrow  = regexp.MustCompile(`^\t(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$`)
	lddPlain  = regexp.MustCompile(`^\t(\S+) \(0x[0-9a-f]+\)$`)
)

// parseLdd returns, per file, the lines "name => path" in ldd order, the
// interpreter as "interp path", missing names as "name => not found"; the
// vDSO is dropped.
func parseLdd(out string) map[string][]string {
	res := map[string][]string{}
	var cur string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "### "); ok {
			cur = f
			res[cur] = []string{}
			continue
		}
		if m := muslError.FindStringSubmatch(line); m != nil {
			res[cur] = append(res[cur], m[1]+" => not found")
			continue
		}
		if m := lddArrow.FindStringSubmatch(line); m != nil {
			res[cur] = append(res[cur], m[1]+" => "+m[2])
			continue
		}
		if m := lddPlain.FindStringSubmatch(line); m != nil {
			if strings.HasPrefix(m[1], "linux-vdso") || strings.HasPrefix(m[1], "linux-gate") {
				continue
			}
			if strings.Contains(m[1], "/") {
				res[cur] = append(res[cur], "interp-or-direct "+m[1])
			}
			continue
		}
	}
	return res
}

// closureLines renders a result like parseLdd.
func closureLines(res *loader.Result) []string {
	var out []string
	for _, o := range res.Objects {
		if o.How == loader.HowHWCapsVariant {
			continue
		}
		if o.How == loader.HowDirect {
			out = append(out, "interp-or-direct "+o.OpenedAs)
			continue
		}
		out = append(out, o.Name+" => "+o.OpenedAs)
	}
	for _, m := range res.Missing {
		if res.Interp == nil && m.By == res.Exe.Path {
			continue
		}
		out = append(out, m.Name+" => not found")
	}
	// ld.so lists itself only when some object needs it by name (libc.so.6
	// needs ld-linux-x86-64.so.2); it is loaded in any case.
	if res.Interp != nil && (res.Musl || needsInterp(res)) {
		out = append(out, "interp-or-direct "+res.Interp.OpenedAs)
	}
	return out
}

// normalise sorts the lines: ldd's order and ours agree on found objects,
// but missing ones are listed where they were requested.
func normalise(lines []string) []string {
	out := append([]string{}, lines...)
	sort.Strings(out)
	return out
}

// foundOrder keeps the "name => /path" lines, in order.
func foundOrder(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, " => /") {
			out = append(out, l)
		}
	}
	return out
}

// dropPath removes "name => p" lines.
func dropPath(lines []string, p string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasSuffix(l, " => "+p) {
			out = append(out, l)
		}
	}
	return out
}

func needsInterp(res *loader.Result) bool {
	objs := append([]loader.Object{res.Exe}, res.Objects...)
	for _, o := range objs {
		for _, n := range o.Needed {
			if n == res.Interp.Soname || n == res.Interp.OpenedAs {
				return true
			}
		}
	}
	return false
}
