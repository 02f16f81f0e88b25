package importgraph

import (
	"path"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// PythonPaths is one sys.path of a Python interpreter, in search order.
type PythonPaths struct {
	// Path is sys.path: the script directories, PYTHONPATH, the standard
	// library, lib-dynload and the site directories with what their .pth
	// files add (see SitePaths).
	Path []string
	// Sites are the site directories whose .pth files site.py reads at
	// start-up (a subset of Path).
	Sites []string
	// CacheTag is sys.implementation.cache_tag ("cpython-311"): the
	// __pycache__ files kept beside a kept source. "" keeps none.
	CacheTag string
}

// SitePaths returns the directories the .pth files of site add (relative
// lines are relative to site, existing directories only, in file order) and
// the import lines they execute, as Python source.
func SitePaths(v *rootfs.View, site string) (dirs []string, code []byte, pths []string) {
	f := newFS(v)
	for _, n := range f.names(site) {
		if !strings.HasSuffix(n, ".pth") || strings.HasPrefix(n, ".") {
			continue
		}
		p := path.Join(site, n)
		data, err := v.ReadFile(p, maxSource)
		if err != nil {
			continue
		}
		pths = append(pths, p)
		for line := range strings.Lines(string(data)) {
			line = strings.TrimRight(line, " \t\r\n")
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "import ") || strings.HasPrefix(line, "import\t"):
				code = append(append(code, line...), '\n')
			default:
				d := line
				if !strings.HasPrefix(d, "/") {
					d = path.Join(site, d)
				}
				if f.isDir(d) {
					dirs = append(dirs, path.Clean(d))
				}
			}
		}
	}
	return dirs, code, pths
}

// Python resolves Python imports over one or more sys.path variants (a
// system interpreter and a virtual environment see different site
// directories): an import is resolved in each, and all results are kept.
type Python struct {
	V        *rootfs.View
	Variants []PythonPaths
	// Quiet reports files whose dynamic imports are not warnings (the
	// standard library's own machinery).
	Quiet func(string) bool
	// HooksEager follows only the top-level imports of the modules that
	// .pth files import at start-up (set after a traced run, whose
	// start-up is in the trace): what such a hook's functions import runs
	// when something calls them (setuptools' distutils shim imports
	// setuptools when distutils is imported), and the application's own
	// graph follows every import of what it imports itself.
	HooksEager bool
}

// eagerPy follows only the imports run when a module is loaded.
type eagerPy struct{ *pyResolver }

func (eagerPy) eagerOnly() bool { return true }

type pyResolver struct {
	p *Python
	f fsys
}

// Graph returns the closure of the source files roots and the modules
// startup (dotted names; a name ending in '*' is a prefix of top-level
// module names, for modules the interpreter names by computation such as
// _sysconfigdata_*).
func (p *Python) Graph(roots, startup []string) *Result {
	r := &pyResolver{p: p, f: newFS(p.V)}
	var edges, hooks []Edge
	for _, root := range roots {
		edges = append(edges, Edge{Path: root, Detail: "script", Script: true})
	}
	for _, m := range startup {
		if strings.HasSuffix(m, "*") {
			for _, vr := range p.Variants {
				for _, d := range vr.Path {
					for _, n := range r.f.names(d) {
						if strings.HasPrefix(n, strings.TrimSuffix(m, "*")) && (strings.HasSuffix(n, ".py") || strings.HasSuffix(n, ".so")) {
							edges = append(edges, r.file(path.Join(d, n), "", "loaded at start-up")...)
						}
					}
				}
			}
			continue
		}
		edges = append(edges, r.resolve("", Import{Name: m, Kind: "import"})...)
	}
	for _, vr := range p.Variants {
		for _, s := range vr.Sites {
			_, code, pths := SitePaths(p.V, s)
			for _, pth := range pths {
				edges = append(edges, Edge{Path: pth, Detail: ".pth file read by site"})
				_ = code
			}
			for _, im := range ParsePython(code) {
				hooks = append(hooks, r.resolve("", im)...)
			}
			for _, n := range r.f.names(s) {
				if strings.HasSuffix(n, ".dist-info") || strings.HasSuffix(n, ".egg-info") {
					edges = append(edges, Edge{Path: path.Join(s, n), Tree: true, Detail: "distribution metadata (importlib.metadata)"})
				}
			}
		}
	}
	if !p.HooksEager {
		return walk(p.V, r, append(edges, hooks...), p.Quiet)
	}
	// The roots are every kept Python file, so the hooks kept in an
	// earlier round (or by the trace) are not roots of the application's
	// graph: it reaches them itself when it imports them.
	boot := walk(p.V, eagerPy{r}, hooks, p.Quiet)
	inBoot := map[string]bool{}
	for _, e := range boot.Edges {
		inBoot[e.Path] = true
	}
	var app []Edge
	for _, e := range edges {
		if !e.Script || !inBoot[e.Path] {
			app = append(app, e)
		}
	}
	res := walk(p.V, r, app, p.Quiet)
	res.Edges = append(res.Edges, boot.Edges...)
	res.Warnings = append(res.Warnings, boot.Warnings...)
	return res
}

func (r *pyResolver) parse(src []byte) []Import { return ParsePython(src) }

func (r *pyResolver) source(p string) bool { return strings.HasSuffix(p, ".py") }

// resolve implements resolver.
func (r *pyResolver) resolve(file string, im Import) []Edge {
	name := im.Name
	if im.Level == 0 && im.Kind != "from" && strings.HasPrefix(name, ".") {
		// import_module('.x', __package__)
		for strings.HasPrefix(name, ".") {
			im.Level++
			name = name[1:]
		}
	}
	var out []Edge
	for _, vr := range r.p.Variants {
		base := name
		var search []string // the __path__ the first component is searched in
		if im.Level > 0 {
			if file == "" {
				continue
			}
			pkg := path.Dir(file)
			for i := 1; i < im.Level; i++ {
				pkg = path.Dir(pkg)
			}
			search = []string{pkg}
		} else {
			search = vr.Path
		}
		if im.Dynamic {
			// a literal prefix: 'encodings.' + name keeps the package
			pre := strings.TrimSuffix(base, ".")
			if pre == "" || !strings.HasSuffix(base, ".") {
				if pre != "" {
					out = append(out, r.module(vr, search, strings.Split(pre, "."), file, im)...)
				}
				continue
			}
			for _, d := range r.packageDirs(search, strings.Split(pre, ".")) {
				out = append(out, Edge{Path: d, From: file, Tree: true, Detail: im.Kind + " of '" + base + "...' (a computed name)"})
			}
			continue
		}
		var parts []string
		if base != "" {
			parts = strings.Split(base, ".")
		}
		out = append(out, r.module(vr, search, parts, file, im)...)
		if im.Kind == "from" {
			// from a import b: b may be a submodule of package a.
			dirs := search
			if len(parts) > 0 {
				dirs = r.packageDirs(search, parts)
			}
			for _, n := range im.From {
				if n == "*" {
					continue
				}
				for _, d := range dirs {
					out = append(out, r.module(vr, []string{d}, []string{n}, file, Import{Name: n, Kind: "from"})...)
				}
			}
		}
	}
	return out
}

// module resolves the dotted parts in the directories search and returns
// the files of every package on the way and of the module.
func (r *pyResolver) module(vr PythonPaths, search, parts []string, file string, im Import) []Edge {
	var out []Edge
	detail := im.Kind + " " + strings.Repeat(".", im.Level) + im.Name
	for _, part := range parts {
		kind, found := r.find(search, part)
		if kind == "" {
			return out
		}
		for _, f := range found {
			if kind == "namespace" {
				out = append(out, Edge{Path: f, From: file, Detail: detail + " (namespace package)"})
				continue
			}
			out = append(out, r.file(f, file, detail)...)
		}
		if kind == "module" {
			return out
		}
		search = packageSearch(kind, found)
	}
	return out
}

// packageSearch returns where a package's submodules are looked up: a
// namespace package's directories, or the directories of a regular
// package's __init__ files.
func packageSearch(kind string, found []string) []string {
	var dirs []string
	for _, f := range found {
		if kind == "namespace" {
			dirs = append(dirs, f)
		} else {
			dirs = append(dirs, path.Dir(f))
		}
	}
	return dirs
}

// packageDirs returns the directories of the package named by parts.
func (r *pyResolver) packageDirs(search, parts []string) []string {
	for _, part := range parts {
		kind, found := r.find(search, part)
		if kind == "" || kind == "module" {
			return nil
		}
		search = packageSearch(kind, found)
	}
	return search
}

// find looks name up in dirs as CPython's path finder does: in each
// directory a package (a directory with __init__) or a module (extension
// module, source, bytecode) wins; directories without __init__ are portions
// of a namespace package used when no directory has the name. It returns
// "package" and the __init__ file, "module" and the file, "namespace" and
// the portions, or "".
func (r *pyResolver) find(dirs []string, name string) (string, []string) {
	var portions []string
	for _, d := range dirs {
		pd := path.Join(d, name)
		if r.f.isDir(pd) {
			if init := r.moduleFile(pd, "__init__"); init != "" {
				return "package", []string{init}
			}
			portions = append(portions, pd)
		}
		if m := r.moduleFile(d, name); m != "" {
			return "module", []string{m}
		}
	}
	if len(portions) > 0 {
		return "namespace", portions
	}
	return "", nil
}

// moduleFile returns the file of module name in dir, in the order of
// importlib's FileFinder: extension modules, source, bytecode.
func (r *pyResolver) moduleFile(dir, name string) string {
	names := r.f.names(dir)
	for _, n := range names {
		if strings.HasPrefix(n, name+".") && strings.HasSuffix(n, ".so") {
			mid := strings.TrimSuffix(strings.TrimPrefix(n, name), ".so")
			if mid == "" || mid == ".abi3" || strings.HasPrefix(mid, ".cpython-") && !strings.Contains(mid[1:], ".") {
				if r.f.isFile(path.Join(dir, n)) {
					return path.Join(dir, n)
				}
			}
		}
	}
	for _, x := range []string{".py", ".pyc"} {
		if p := path.Join(dir, name+x); r.f.isFile(p) {
			return p
		}
	}
	return ""
}

// file returns the edges of keeping module file f: itself, its cached
// bytecode, and the data files of its package directory.
func (r *pyResolver) file(f, from, detail string) []Edge {
	out := []Edge{{Path: f, From: from, Detail: detail, ELF: strings.HasSuffix(f, ".so")}}
	dir, base := path.Split(f)
	dir = path.Clean(dir)
	if stem, ok := strings.CutSuffix(base, ".py"); ok {
		for _, vr := range r.p.Variants {
			if vr.CacheTag == "" {
				continue
			}
			cache := path.Join(dir, "__pycache__")
			for _, n := range r.f.names(cache) {
				if strings.HasPrefix(n, stem+"."+vr.CacheTag+".") && strings.HasSuffix(n, ".pyc") {
					out = append(out, Edge{Path: path.Join(cache, n), From: f, Detail: "bytecode of " + base})
				}
			}
		}
	}
	if r.onPath(dir) {
		return out
	}
	// a package's data: non-code files beside its modules, and
	// subdirectories holding no Python code (templates, certificates)
	for _, n := range r.f.names(dir) {
		p := path.Join(dir, n)
		switch {
		case n == "__pycache__":
		case r.f.isFile(p):
			if !strings.HasSuffix(n, ".py") && !strings.HasSuffix(n, ".pyc") && !strings.HasSuffix(n, ".so") {
				out = append(out, Edge{Path: p, From: f, Detail: "data of package " + path.Base(dir)})
			}
		case r.f.isDir(p) && !r.hasPython(p):
			out = append(out, Edge{Path: p, From: f, Tree: true, Detail: "data of package " + path.Base(dir)})
		}
	}
	return out
}

func (r *pyResolver) onPath(dir string) bool {
	for _, vr := range r.p.Variants {
		for _, d := range vr.Path {
			if d == dir {
				return true
			}
		}
	}
	return false
}

// hasPython reports whether dir holds Python code anywhere below it.
func (r *pyResolver) hasPython(dir string) bool {
	return r.f.holds(dir, "py", func(p string) bool {
		return strings.HasSuffix(p, ".py") || strings.HasSuffix(p, ".so")
	})
}
