package knowledge_test

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/pkg/rootfs"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// A golden case is testdata/golden/<entry>/<case>.txt: an image described
// line by line on top of testdata/golden/base.txt, then the files' contents
// in sections "-- /path --". The kept set every default rule computes for
// its roots is compared with <case>.golden next to it. Lines:
//
//	env KEY=VALUE         config Env
//	workdir DIR           config WorkingDir
//	trace                 a traced run (Tracer reports true)
//	root PATH [go|cgo|iconv]...  a root program (its ELF closure, flags added)
//	elf PATH [exec|static] [soname=S] [needed=A,B] [runpath=R] [interp=P] [mode=0755]
//	file PATH [MODE]      a regular file (content from its section, if any)
//	link PATH TARGET      a symbolic link
//	dir PATH [MODE]       a directory
//
// Blank lines and lines starting with # are comments. Run with -update to
// rewrite the golden files.
func TestGolden(t *testing.T) {
	base, err := os.ReadFile("testdata/golden/base.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob("testdata/golden/*/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string]bool{}
	for _, f := range cases {
		folders[filepath.Base(filepath.Dir(f))] = true
		name := strings.TrimSuffix(strings.TrimPrefix(f, "testdata/golden/"), ".txt")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := runGolden(t, string(base), string(src))
			want := strings.TrimSuffix(f, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if d := cmp.Diff(string(b), got); d != "" {
				t.Errorf("kept set of %s (-want +got):\n%s", f, d)
			}
		})
	}
	// every runtime entry and server has its golden folder
	for _, r := range knowledge.Runtimes {
		if !folders[r.Name()] {
			t.Errorf("runtime %s has no golden folder testdata/golden/%s", r.Name(), r.Name())
		}
	}
}

// goldenImage is an image read from a golden case.
type goldenImage struct {
	mem     *rootfs.Mem
	env     []string
	workdir string
	trace   bool
	roots   []keptset.Object
}

// parseGolden builds the image the text describes.
func parseGolden(t *testing.T, g *goldenImage, text string) {
	t.Helper()
	head, sections := splitSections(text)
	files := map[string]fs.FileMode{}
	sc := bufio.NewScanner(strings.NewReader(head))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		w := strings.Fields(line)
		fail := func(format string, args ...any) {
			t.Fatalf("line %d %q: %s", n, line, fmt.Sprintf(format, args...))
		}
		switch w[0] {
		case "env":
			g.env = append(g.env, strings.TrimSpace(strings.TrimPrefix(line, "env")))
		case "workdir":
			g.workdir = w[1]
		case "trace":
			g.trace = true
		case "root":
			o := keptset.Object{Path: w[1]}
			for _, f := range w[2:] {
				switch f {
				case "go":
					o.Go = true
				case "cgo":
					o.Go, o.CGO = true, true
				case "iconv":
					o.Iconv = true
				default:
					fail("unknown flag %s", f)
				}
			}
			g.roots = append(g.roots, o)
		case "elf":
			s := elftest.Spec{}
			mode := fs.FileMode(0o644)
			for _, a := range w[2:] {
				k, v, _ := strings.Cut(a, "=")
				switch k {
				case "exec":
					s.Interp, mode = "/lib64/ld-linux-x86-64.so.2", 0o755
				case "static":
					s.Type, s.NoDynamic, mode = elf.ET_EXEC, true, 0o755
				case "interp":
					s.Interp = v
				case "soname":
					s.Soname = v
				case "needed":
					s.Needed = strings.Split(v, ",")
				case "runpath":
					s.Runpath = v
				case "strings":
					s.Strings = strings.Split(v, ",")
				case "mode":
					m, err := strconv.ParseUint(v, 8, 32)
					if err != nil {
						fail("mode: %v", err)
					}
					mode = fs.FileMode(m)
				default:
					fail("unknown elf attribute %s", k)
				}
			}
			g.mem.AddFile(w[1], mode, elftest.Build(s))
		case "file":
			mode := fs.FileMode(0o644)
			if len(w) > 2 {
				m, err := strconv.ParseUint(w[2], 8, 32)
				if err != nil {
					fail("mode: %v", err)
				}
				mode = fs.FileMode(m)
			}
			files[w[1]] = mode
		case "link":
			if len(w) != 3 {
				fail("want link PATH TARGET")
			}
			g.mem.AddSymlink(w[1], w[2])
		case "dir":
			mode := fs.FileMode(0o755)
			if len(w) > 2 {
				m, err := strconv.ParseUint(w[2], 8, 32)
				if err != nil {
					fail("mode: %v", err)
				}
				mode = fs.FileMode(m)
			}
			g.mem.AddDir(w[1], mode)
		default:
			fail("unknown directive %s", w[0])
		}
	}
	for p := range sections {
		if _, ok := files[p]; !ok {
			files[p] = 0o644
		}
	}
	var names []string
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		g.mem.AddFile(p, files[p], []byte(sections[p]))
	}
}

// splitSections splits text into its head and its "-- /path --" sections.
func splitSections(text string) (string, map[string]string) {
	sections := map[string]string{}
	var head strings.Builder
	cur := ""
	var body strings.Builder
	flush := func() {
		if cur != "" {
			sections[cur] = body.String()
		}
		body.Reset()
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		l := strings.TrimRight(line, "\n")
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") && len(l) > 6 {
			flush()
			cur = strings.TrimSpace(l[3 : len(l)-3])
			continue
		}
		if cur == "" {
			head.WriteString(line)
		} else {
			body.WriteString(line)
		}
	}
	flush()
	return head.String(), sections
}

// runGolden applies every default rule to the roots of the image base+src
// describes and renders the result.
func runGolden(t *testing.T, base, src string) string {
	t.Helper()
	g := &goldenImage{mem: rootfs.NewMem()}
	parseGolden(t, g, base)
	parseGolden(t, g, src)
	c := knowledgetest.New(g.mem.View(), g.env...)
	c.WorkDir, c.Trace = g.workdir, g.trace
	for _, o := range g.roots {
		c.AddObject(o)
	}
	if err := c.Run(knowledge.Default()...); err != nil {
		t.Fatal(err)
	}
	return renderKept(c)
}

// renderKept lists every kept path with its reasons, then the notes.
func renderKept(c *knowledgetest.Keeper) string {
	var b strings.Builder
	for _, it := range c.Set.Items() {
		var rs []string
		for _, r := range it.Reasons {
			rs = append(rs, r.String())
		}
		fmt.Fprintf(&b, "%s\t%s\n", it.Path, strings.Join(rs, "; "))
	}
	for _, p := range c.Configs() {
		fmt.Fprintf(&b, "config: %s\n", p)
	}
	for _, a := range c.Accounts {
		fmt.Fprintf(&b, "account: %s\n", a)
	}
	for _, m := range c.Missing {
		fmt.Fprintf(&b, "missing: %s\n", m)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}
