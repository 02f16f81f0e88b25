package importgraph

import (
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Tcl resolves package require and the encodings a script names as tclsh
// does. At start-up Tcl_Init sources init.tcl from the library directory
// ($tcl_library), which sources tm.tcl and sets up the auto-loading of the
// library's own scripts through tclIndex; the clock command sources
// clock.tcl and reads the message catalogs of msgs/. A package require
// first looks for Tcl modules (NAME-VERSION.tm, "::" as "/") in the module
// paths, then sources every pkgIndex.tcl in the auto_path directories and
// their subdirectories, whose "package ifneeded NAME" scripts say what to
// load. Encodings are files NAME.enc in the library's encoding/ directory,
// loaded on first use; utf-8, iso8859-1 and unicode are built in.
type Tcl struct {
	V *rootfs.View
	// Library is $tcl_library (the directory holding init.tcl).
	Library string
	// AutoPath is auto_path after the library (TCLLIBPATH, the compiled-in
	// package path).
	AutoPath []string
	// ModulePaths are the Tcl module paths (::tcl::tm::path list).
	ModulePaths []string
	Quiet       func(string) bool
}

type tclResolver struct {
	t *Tcl
	f fsys
	// provides maps a package name to the pkgIndex.tcl files declaring it
	provides map[string][]string
	indexes  []string
}

// Graph returns the closure of the source files roots and of the library's
// start-up scripts, with the encodings named by encodings (the system
// encoding; "*" keeps them all).
func (t *Tcl) Graph(roots, encodings []string) *Result {
	r := &tclResolver{t: t, f: newFS(t.V)}
	r.index()
	var edges []Edge
	for _, root := range roots {
		edges = append(edges, Edge{Path: root, Detail: "script", Script: true})
	}
	if t.Library != "" {
		for _, n := range r.f.names(t.Library) {
			p := path.Join(t.Library, n)
			switch {
			case r.f.isFile(p) && !strings.HasSuffix(n, ".c"):
				edges = append(edges, Edge{Path: p, Detail: "library script (init.tcl, tclIndex, clock.tcl, what they source)"})
			case n == "encoding" && r.f.isDir(p):
				edges = append(edges, Edge{Path: p, Detail: "encoding directory (encoding names lists it)"})
			case n == "msgs" && r.f.isDir(p):
				edges = append(edges, Edge{Path: p, Tree: true, Detail: "message catalogs of clock (loaded by locale)"})
			}
		}
	}
	for _, x := range r.indexes {
		edges = append(edges, Edge{Path: x, Detail: "package index sourced by package unknown"})
	}
	for _, e := range encodings {
		im := Import{Kind: "encoding", Name: e}
		if e == "*" {
			im = Import{Kind: "encoding", Dynamic: true, Name: "*"}
		}
		edges = append(edges, r.resolve("", im)...)
	}
	return walk(t.V, r, edges, t.Quiet)
}

var reTclIfneeded = regexp.MustCompile(`package\s+ifneeded\s+([^\s\[\]$"{}]+)`)

// index finds every pkgIndex.tcl in the auto_path directories and their
// subdirectories (tclPkgUnknown's search) and the packages they declare.
func (r *tclResolver) index() {
	r.provides = map[string][]string{}
	seen := map[string]bool{}
	add := func(p string) {
		if seen[p] || !r.f.isFile(p) {
			return
		}
		seen[p] = true
		r.indexes = append(r.indexes, p)
		if data, err := r.t.V.ReadFile(p, maxSource); err == nil {
			for _, m := range reTclIfneeded.FindAllSubmatch(data, -1) {
				name := strings.TrimPrefix(string(m[1]), "::")
				r.provides[name] = append(r.provides[name], p)
			}
		}
	}
	dirs := append([]string{r.t.Library}, r.t.AutoPath...)
	if r.t.Library != "" {
		dirs = append(dirs, path.Dir(r.t.Library))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		add(path.Join(d, "pkgIndex.tcl"))
		r.subIndexes(d, 0, add)
	}
}

// subIndexes adds the pkgIndex.tcl of the subdirectories of dir, and below
// a subdirectory holding one, its own subdirectories' (tcllib's index
// sources the indexes of its modules' directories).
func (r *tclResolver) subIndexes(dir string, depth int, add func(string)) {
	if depth > 2 {
		return
	}
	for _, n := range r.f.names(dir) {
		sub := path.Join(dir, n)
		if x := path.Join(sub, "pkgIndex.tcl"); r.f.isFile(x) {
			add(x)
			r.subIndexes(sub, depth+1, add)
		}
	}
}

func (r *tclResolver) parse(src []byte) []Import { return ParseTcl(src) }

func (r *tclResolver) source(p string) bool {
	return strings.HasSuffix(p, ".tcl") || strings.HasSuffix(p, ".tm") || path.Base(p) == "tclIndex"
}

// resolve implements resolver.
func (r *tclResolver) resolve(file string, im Import) []Edge {
	detail := im.Kind + " " + im.Name
	switch im.Kind {
	case "encoding":
		dir := path.Join(r.t.Library, "encoding")
		if r.t.Library == "" {
			return nil
		}
		if im.Dynamic {
			return []Edge{{Path: dir, From: file, Tree: true, Detail: "encoding named by a computed name or the locale"}}
		}
		if p := path.Join(dir, strings.ToLower(im.Name)+".enc"); r.f.isFile(p) {
			return []Edge{{Path: p, From: file, Detail: detail}}
		}
		return nil
	case "package":
	default:
		return nil
	}
	name := strings.TrimPrefix(im.Name, "::")
	var out []Edge
	// Tcl modules: a/b-1.0.tm for a::b
	rel := strings.ReplaceAll(name, "::", "/")
	for _, mp := range r.t.ModulePaths {
		dir := path.Join(mp, path.Dir(rel))
		for _, n := range r.f.names(dir) {
			if strings.HasPrefix(n, path.Base(rel)+"-") && strings.HasSuffix(n, ".tm") {
				out = append(out, Edge{Path: path.Join(dir, n), From: file, Detail: "package require " + name + " (Tcl module)"})
			}
		}
	}
	for _, x := range r.provides[name] {
		dir := path.Dir(x)
		if r.onAutoPath(dir) {
			continue // a shared index: its scripts name their files through $dir
		}
		// the package's directory: every file, so its scripts are parsed
		_ = r.t.V.Walk(dir, func(e *rootfs.Entry) error {
			if e.Type == rootfs.TypeReg || e.Type == rootfs.TypeSymlink {
				out = append(out, Edge{Path: e.Path, From: file, ELF: strings.HasSuffix(e.Path, ".so"),
					Detail: "package require " + name + " (package directory " + dir + ")"})
			}
			return nil
		})
	}
	return out
}

func (r *tclResolver) onAutoPath(dir string) bool {
	if dir == r.t.Library {
		return true
	}
	for _, d := range r.t.AutoPath {
		if d == dir {
			return true
		}
	}
	return false
}
