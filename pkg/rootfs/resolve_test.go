package rootfs

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomLinkTree builds a tree of a few directories, files and symlinks
// whose targets are relative, absolute, dotted, empty, dangling, looping
// or through files.
func randomLinkTree(rng *rand.Rand) *Mem {
	m := NewMem()
	parts := []string{"a", "b", "c", "lib", "x"}
	rel := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString([]string{"/", "/", "//", "/./", "/../"}[rng.IntN(5)])
			}
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}
	for range 3 + rng.IntN(12) {
		p := "/" + rel(1+rng.IntN(3))
		switch rng.IntN(4) {
		case 0:
			m.AddDir(p, 0o755)
		case 1:
			m.AddFile(p, 0o644, []byte(p))
		default:
			target := []string{"", "/", ".", "..", "../..", "/" + rel(1+rng.IntN(3)), rel(1 + rng.IntN(3)), rel(1+rng.IntN(2)) + "/", "../" + rel(1)}[rng.IntN(9)]
			m.AddSymlink(p, target)
		}
	}
	return m
}

func randomName(rng *rand.Rand) string {
	parts := []string{"a", "b", "c", "lib", "x", ".", "..", ""}
	var b strings.Builder
	if rng.IntN(4) != 0 {
		b.WriteByte('/')
	}
	for i := range rng.IntN(6) {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(parts[rng.IntN(len(parts))])
	}
	if rng.IntN(5) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// The tree's one-walk resolution gives what the generic, lookup-per-prefix
// resolution gives: the same path, links and errors, on random trees full of
// symlinks (loops, escapes, dangling and empty targets, links to files).
func TestResolveTreeMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 3000
	if testing.Short() {
		n = 500
	}
	links, errs := 0, 0
	for i := range n {
		v := randomLinkTree(rng).View()
		tr := v.b.(*tree)
		if i%2 == 1 {
			freeze(tr.root) // as FromImage leaves it: sorted slices, no maps
		}
		checkPaths(t, tr.root)
		for range 20 {
			name := randomName(rng)
			for _, follow := range []bool{false, true} {
				want, werr := v.resolveGeneric(name, follow)
				got, nd, gerr := tr.resolve(name, follow)
				if !reflect.DeepEqual(got, want) || !sameErr(gerr, werr) {
					t.Fatalf("resolve(%q, %v) = %+v, %v; generic %+v, %v", name, follow, got, gerr, want, werr)
				}
				if gerr == nil && (nd == nil) != (tr.find(want.Path) == nil) {
					t.Fatalf("resolve(%q, %v): node %v for %q", name, follow, nd, want.Path)
				}
				links += len(got.Links)
				if gerr != nil {
					errs++
				}
				// Lstat/Stat agree with the generic resolution and lookup.
				e, err := v.entry("stat", name, follow)
				var we *Entry
				if werr == nil {
					we, werr = tr.lookup(want.Path)
					if werr != nil {
						werr = &fs.PathError{Op: "stat", Path: name, Err: werr}
					}
				}
				if !reflect.DeepEqual(e, we) || !sameErr(err, werr) {
					t.Fatalf("entry(%q, %v) = %+v, %v; want %+v, %v", name, follow, e, err, we, werr)
				}
			}
		}
	}
	if links < n || errs < n {
		t.Errorf("only %d links followed and %d errors in %d trees: the trees test too little", links, errs, n)
	}
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var pa, pb *fs.PathError
	if !errors.As(a, &pa) || !errors.As(b, &pb) {
		return a.Error() == b.Error()
	}
	return pa.Op == pb.Op && pa.Path == pb.Path && errors.Is(pa.Err, pb.Err) && errors.Is(pb.Err, pa.Err)
}

// checkPaths checks what the one-walk resolution relies on: every node's
// Path is its parent's path joined with its name.
func checkPaths(t *testing.T, n *node) {
	t.Helper()
	if n.dir == nil {
		return
	}
	for name, k := range n.dir.byName {
		if want := joinPath(n.entry.Path, name); k.entry.Path != want {
			t.Fatalf("node %q below %q has path %q", name, n.entry.Path, k.entry.Path)
		}
		checkPaths(t, k)
	}
	prefix := strings.TrimSuffix(n.entry.Path, "/") + "/"
	for i, k := range n.dir.kids {
		if name, ok := strings.CutPrefix(k.entry.Path, prefix); !ok || name == "" || strings.Contains(name, "/") {
			t.Fatalf("node below %q has path %q", n.entry.Path, k.entry.Path)
		}
		if i > 0 && n.dir.kids[i-1].entry.Path >= k.entry.Path {
			t.Fatalf("children of %q out of order: %q before %q", n.entry.Path, n.dir.kids[i-1].entry.Path, k.entry.Path)
		}
		checkPaths(t, k)
	}
}

// Resolving and stating a path without symlinks allocates nothing: Stat
// hands out the view's own Entry.
func TestResolveAllocations(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		v := usrMergedMem().View()
		if frozen {
			freeze(v.b.(*tree).root)
		}
		if n := testing.AllocsPerRun(100, func() { v.Resolve("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", true) }); n != 0 {
			t.Errorf("frozen %v: Resolve allocates %v times", frozen, n)
		}
		if n := testing.AllocsPerRun(100, func() { v.Stat("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2") }); n != 0 {
			t.Errorf("frozen %v: Stat allocates %v times", frozen, n)
		}
	}
}
