// Package importgraph reads the import statements of interpreted programs
// (Python, Ruby, JavaScript, Perl, Tcl) and the calls of compiled Erlang
// modules, and resolves them against an image the way
// the runtime would, so that only the modules reachable from the
// application's scripts are kept instead of whole interpreter trees.
//
// Each language has a parser (source → Imports) and a resolver (an
// import → the files that satisfy it). Graph walks from roots to a closure
// and reports what it could not know: imports whose argument is not a
// literal. A dynamic import whose argument starts with a literal directory
// or package prefix ('encodings.' + name, "./locale/" + lang) keeps that
// whole directory, which is what the runtime could load; any other one is a
// warning naming the file and line.
package importgraph

import (
	"fmt"
	"path"
	"sort"
	"sync"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// maxSource bounds the size of a source file that is parsed.
const maxSource = 8 << 20

// Import is one import statement or call found in a source file.
type Import struct {
	// Name is the module named: "a.b" (Python), "json" or "./x"
	// (Ruby, Node). For a dynamic import it is the literal prefix, if any.
	Name string
	// Line is the 1-based line of the statement.
	Line int
	// Level is the number of leading dots of a Python relative import.
	Level int
	// From lists the names after "from X import" (Python): each may be a
	// submodule.
	From []string
	// Kind says which form it was ("require_relative", "load", "import").
	Kind string
	// Dynamic marks an argument that is not a literal; Name then holds
	// its literal prefix ("" when none).
	Dynamic bool
	// Lazy marks an import inside a method body (Ruby: below a def by
	// indentation), run only when the method is called.
	Lazy bool
}

// Edge is one file kept because another needs it.
type Edge struct {
	Path   string // the file (or directory, for Tree) to keep
	From   string // the file whose import it satisfies; "" for a root or start-up module
	Detail string // what import it satisfies
	Tree   bool   // keep Path as a whole directory
	ELF    bool   // a native module: keep it with its loader closure
	// Script marks a root script: parsed whatever its name (a program
	// whose #! names the runtime: bin/gunicorn, node_modules/.bin's).
	Script bool
}

// Warning is an import that could not be resolved statically.
type Warning struct {
	File string
	Line int
	What string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.What) }

// Result is the closure of a graph walk.
type Result struct {
	Edges    []Edge
	Warnings []Warning
}

// resolver is one language's resolution.
type resolver interface {
	// parse returns the imports of file (already read).
	parse(src []byte) []Import
	// resolve returns what satisfies im in file.
	resolve(file string, im Import) []Edge
	// source reports whether p is a source file to parse.
	source(p string) bool
}

// eagerOnly is a resolver that follows only the imports run when a file is
// loaded, not those inside method bodies (see Ruby.Graph).
type eagerOnly interface{ eagerOnly() bool }

// walk computes the closure of roots (edges with From "") under r.
func walk(v *rootfs.View, r resolver, roots []Edge, quiet func(string) bool) *Result {
	res := &Result{}
	seen := map[string]bool{}
	queue := append([]Edge(nil), roots...)
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		key := e.Path
		if e.Tree {
			key += "/"
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		res.Edges = append(res.Edges, e)
		if e.Tree || e.ELF || !e.Script && !r.source(e.Path) {
			continue
		}
		for _, im := range newFS(v).imports(e.Path, r.parse) {
			if f, ok := r.(eagerOnly); ok && f.eagerOnly() && im.Lazy {
				continue
			}
			if im.Dynamic && im.Name == "" {
				if quiet == nil || !quiet(e.Path) {
					res.Warnings = append(res.Warnings, Warning{File: e.Path, Line: im.Line,
						What: im.Kind + " with an argument that is not a literal"})
				}
				continue
			}
			queue = append(queue, r.resolve(e.Path, im)...)
		}
	}
	sort.Slice(res.Warnings, func(i, j int) bool {
		a, b := res.Warnings[i], res.Warnings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res
}

// fsys is what resolvers read of an image, through a cache: a rule's
// graph is recomputed every round of the rules' fixpoint over the same view.
type fsys struct {
	v *rootfs.View
	c *cache
}

// cache holds what was read of one view: directory listings, file types
// and parsed imports.
type cache struct {
	v      *rootfs.View
	names  map[string][]string
	types  map[string]rootfs.Type // 0xff: missing
	parsed map[string][]Import
	holds  map[string]bool // by kind and directory, see fsys.holds
	beams  map[string]*Beam
}

var (
	cacheMu sync.Mutex
	last    *cache // the cache of the last view walked
)

// cacheFor returns the cache of v; only the last view's is held, so a
// process building many images keeps one.
func cacheFor(v *rootfs.View) *cache {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if last == nil || last.v != v {
		last = &cache{v: v, names: map[string][]string{}, types: map[string]rootfs.Type{}, parsed: map[string][]Import{}, holds: map[string]bool{}, beams: map[string]*Beam{}}
	}
	return last
}

func newFS(v *rootfs.View) fsys { return fsys{v: v, c: cacheFor(v)} }

const missing rootfs.Type = 0xff

func (f fsys) typ(p string) rootfs.Type {
	cacheMu.Lock()
	t, ok := f.c.types[p]
	cacheMu.Unlock()
	if ok {
		return t
	}
	t = missing
	if e, err := f.v.Stat(p); err == nil {
		t = e.Type
	}
	cacheMu.Lock()
	f.c.types[p] = t
	cacheMu.Unlock()
	return t
}

func (f fsys) isFile(p string) bool { return f.typ(p) == rootfs.TypeReg }

// holds reports whether dir holds a regular file that code matches
// anywhere below it; kind names code in the cache ("py", "js").
func (f fsys) holds(dir, kind string, code func(string) bool) bool {
	key := kind + ":" + dir
	cacheMu.Lock()
	found, ok := f.c.holds[key]
	cacheMu.Unlock()
	if ok {
		return found
	}
	_ = f.v.Walk(dir, func(e *rootfs.Entry) error {
		if !found && e.Type == rootfs.TypeReg && code(e.Path) {
			found = true
		}
		return nil
	})
	cacheMu.Lock()
	f.c.holds[key] = found
	cacheMu.Unlock()
	return found
}

func (f fsys) isDir(p string) bool { return f.typ(p) == rootfs.TypeDir }

// names returns the names in dir, sorted; none for a missing dir.
func (f fsys) names(dir string) []string {
	cacheMu.Lock()
	out, ok := f.c.names[dir]
	cacheMu.Unlock()
	if ok {
		return out
	}
	ents, err := f.v.ReadDir(dir)
	if err == nil {
		out = make([]string, 0, len(ents))
		for _, e := range ents {
			out = append(out, path.Base(e.Path))
		}
		sort.Strings(out)
	}
	cacheMu.Lock()
	f.c.names[dir] = out
	cacheMu.Unlock()
	return out
}

// imports returns the parsed imports of file, reading it once.
func (f fsys) imports(file string, parse func([]byte) []Import) []Import {
	cacheMu.Lock()
	out, ok := f.c.parsed[file]
	cacheMu.Unlock()
	if ok {
		return out
	}
	if src, err := f.v.ReadFile(file, maxSource); err == nil {
		out = parse(src)
	}
	cacheMu.Lock()
	f.c.parsed[file] = out
	cacheMu.Unlock()
	return out
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
