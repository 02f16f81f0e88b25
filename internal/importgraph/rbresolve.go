package importgraph

import (
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Ruby resolves require, require_relative, load and autoload as Ruby with
// RubyGems does: the $LOAD_PATH first, then the require_paths of the
// installed gems' specifications.
type Ruby struct {
	V *rootfs.View
	// LoadPath is $LOAD_PATH in order (RUBYLIB, site, vendor, rubylibdir,
	// archdir).
	LoadPath []string
	// SpecDirs are RubyGems' specification directories (each
	// <gemdir>/specifications, and its default/).
	SpecDirs []string
	// WorkDir is the directory load resolves relative names against.
	WorkDir string
	Quiet   func(string) bool

	gems []rbGem
}

type rbGem struct {
	spec string   // the .gemspec file
	dirs []string // the gem's require directories
}

var reRequirePaths = regexp.MustCompile(`require_paths\s*=\s*\[([^\]]*)\]`)
var reQuoted = regexp.MustCompile(`"([^"]*)"|'([^']*)'`)

// loadGems reads the require_paths of every specification.
func (r *Ruby) loadGems() {
	f := newFS(r.V)
	for _, sd := range r.SpecDirs {
		gemDir := path.Dir(sd)
		if path.Base(sd) == "default" {
			continue // default gems' files are in the standard library
		}
		for _, n := range f.names(sd) {
			stem, ok := strings.CutSuffix(n, ".gemspec")
			if !ok {
				continue
			}
			spec := path.Join(sd, n)
			data, err := r.V.ReadFile(spec, maxSource)
			if err != nil {
				continue
			}
			paths := []string{"lib"}
			if m := reRequirePaths.FindSubmatch(data); m != nil {
				paths = nil
				for _, q := range reQuoted.FindAllSubmatch(m[1], -1) {
					paths = append(paths, string(q[1])+string(q[2]))
				}
			}
			g := rbGem{spec: spec}
			root := path.Join(gemDir, "gems", stem)
			for _, p := range paths {
				if !strings.HasPrefix(p, "/") {
					p = path.Join(root, p)
				}
				g.dirs = append(g.dirs, p)
			}
			// compiled extensions: <gemdir>/extensions/<platform>/<api>/<name>
			for _, plat := range f.names(path.Join(gemDir, "extensions")) {
				for _, api := range f.names(path.Join(gemDir, "extensions", plat)) {
					if d := path.Join(gemDir, "extensions", plat, api, stem); f.isDir(d) {
						g.dirs = append(g.dirs, d)
					}
				}
			}
			r.gems = append(r.gems, g)
		}
	}
}

// Graph returns the closure of the source files roots and the features
// startup (required at start-up by the interpreter: "rubygems"; a name
// ending in '/' is a directory of the load path kept whole, one ending in
// "/*" the files directly in it, "enc/*").
func (r *Ruby) Graph(roots, startup []string) *Result {
	r.loadGems()
	rr := &rbResolver{r: r, f: newFS(r.V)}
	var edges []Edge
	for _, sd := range r.SpecDirs {
		for _, n := range rr.f.names(sd) {
			if strings.HasSuffix(n, ".gemspec") {
				edges = append(edges, Edge{Path: path.Join(sd, n), Detail: "gem specification read by RubyGems"})
			}
		}
	}
	// RubyGems ignores a gem with extensions whose gem.build_complete is
	// missing (missing_extensions?), with a warning
	for _, g := range r.gems {
		for _, d := range g.dirs {
			if p := path.Join(d, "gem.build_complete"); strings.Contains(d, "/extensions/") && rr.f.isFile(p) {
				edges = append(edges, Edge{Path: p, From: g.spec, Detail: "marker of the gem's built extensions"})
			}
		}
	}
	for _, m := range startup {
		if dir, ok := strings.CutSuffix(m, "/*"); ok {
			for _, d := range r.LoadPath {
				for _, n := range rr.f.names(path.Join(d, dir)) {
					if p := path.Join(d, dir, n); rr.f.isFile(p) {
						edges = append(edges, Edge{Path: p, ELF: strings.HasSuffix(n, ".so"), Detail: "loaded at start-up or by a computed name"})
					}
				}
			}
			continue
		}
		if strings.HasSuffix(m, "/") {
			edges = append(edges, rr.resolve("", Import{Name: m, Kind: "require", Dynamic: true})...)
			continue
		}
		edges = append(edges, rr.resolve("", Import{Name: m, Kind: "require"})...)
	}
	// What the interpreter loads at start-up runs its files' top-level
	// code only: a require inside a method of rubygems (bundler for
	// Gem.use_gemdeps, psych for Gem.load_yaml) runs when the method is
	// called, and the application's own graph follows every require of
	// what it requires itself.
	// The roots are every kept Ruby file, so the start-up files kept in
	// an earlier round are not roots of the application's graph: it
	// reaches them itself when it requires them.
	boot := walk(r.V, eagerRb{rr}, edges, r.Quiet)
	inBoot := map[string]bool{}
	for _, e := range boot.Edges {
		inBoot[e.Path] = true
	}
	var app []Edge
	for _, root := range roots {
		if !inBoot[root] {
			app = append(app, Edge{Path: root, Detail: "script", Script: true})
		}
	}
	res := walk(r.V, rr, app, r.Quiet)
	res.Edges = append(res.Edges, boot.Edges...)
	res.Warnings = append(res.Warnings, boot.Warnings...)
	return res
}

// eagerRb follows only the requires run when a file is loaded.
type eagerRb struct{ *rbResolver }

func (eagerRb) eagerOnly() bool { return true }

type rbResolver struct {
	r *Ruby
	f fsys
}

func (rr *rbResolver) parse(src []byte) []Import { return ParseRuby(src) }

func (rr *rbResolver) source(p string) bool { return strings.HasSuffix(p, ".rb") }

func (rr *rbResolver) resolve(file string, im Import) []Edge {
	detail := im.Kind + " '" + im.Name + "'"
	edge := func(p string) []Edge {
		return []Edge{{Path: p, From: file, Detail: detail, ELF: strings.HasSuffix(p, ".so")}}
	}
	name := im.Name
	if im.Dynamic {
		// a literal prefix: "rubygems/defaults/#{RUBY_ENGINE}"
		dir, pre := path.Split(name)
		if dir == "" && pre == "" {
			return nil
		}
		var bases []string
		if im.Kind == "require_relative" && file != "" {
			bases = []string{path.Dir(file)}
		} else {
			bases = rr.r.LoadPath
			for _, g := range rr.r.gems {
				bases = append(bases, g.dirs...)
			}
		}
		var out []Edge
		for _, b := range bases {
			d := path.Join(b, dir)
			if !rr.f.isDir(d) {
				continue
			}
			if pre == "" {
				out = append(out, Edge{Path: d, From: file, Tree: true, Detail: im.Kind + " of '" + name + "...' (a computed name)"})
				continue
			}
			for _, n := range rr.f.names(d) {
				if strings.HasPrefix(n, pre) {
					p := path.Join(d, n)
					out = append(out, Edge{Path: p, From: file, Tree: rr.f.isDir(p), ELF: strings.HasSuffix(n, ".so"), Detail: im.Kind + " of '" + name + "...' (a computed name)"})
				}
			}
		}
		return out
	}
	exts := []string{".rb", ".so"}
	if x := path.Ext(name); x == ".rb" || x == ".so" || x == ".o" || x == ".dll" || x == ".bundle" {
		exts = []string{""}
	}
	switch im.Kind {
	case "require_relative":
		if file == "" {
			return nil
		}
		p := path.Join(path.Dir(file), name)
		for _, x := range exts {
			if rr.f.isFile(p + x) {
				return edge(p + x)
			}
		}
		return nil
	case "load":
		exts = []string{""}
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "~") {
		p := name
		if !strings.HasPrefix(p, "/") && rr.r.WorkDir != "" {
			p = path.Join(rr.r.WorkDir, p)
		}
		for _, x := range exts {
			if rr.f.isFile(p + x) {
				return edge(p + x)
			}
		}
		return nil
	}
	if im.Kind == "load" && rr.r.WorkDir != "" {
		if p := path.Join(rr.r.WorkDir, name); rr.f.isFile(p) {
			return edge(p)
		}
	}
	for _, d := range rr.r.LoadPath {
		for _, x := range exts {
			if p := path.Join(d, name+x); rr.f.isFile(p) {
				return edge(p)
			}
		}
	}
	for _, g := range rr.r.gems {
		for _, d := range g.dirs {
			for _, x := range exts {
				if p := path.Join(d, name+x); rr.f.isFile(p) {
					return append(edge(p), Edge{Path: g.spec, From: p, Detail: "specification of the gem"})
				}
			}
		}
	}
	return nil
}
