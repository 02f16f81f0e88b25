package importgraph

import (
	"encoding/json"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Node resolves module references as Node.js does: relative and absolute
// paths with extension and index resolution, bare names through the
// node_modules directories of the file's directory and its parents and then
// the global folders, package.json "main", "exports" (with every condition
// node can match: require, import, node, default, so both forms are kept)
// and "imports" ('#x'). A bare name found nowhere is a built-in module
// (fs, node:fs) or a missing optional one, and is skipped.
type Node struct {
	V *rootfs.View
	// Globals are the global folders searched after node_modules
	// (NODE_PATH, the distribution's module directories).
	Globals []string
	Quiet   func(string) bool
}

// Graph returns the closure of the source files roots.
func (n *Node) Graph(roots []string) *Result {
	r := &nodeResolver{n: n, f: newFS(n.V), pkgs: map[string]*pkgJSON{}}
	var edges []Edge
	for _, root := range roots {
		edges = append(edges, Edge{Path: root, Detail: "script", Script: true})
		edges = append(edges, r.scope(root)...)
	}
	return walk(n.V, r, edges, n.Quiet)
}

type nodeResolver struct {
	n    *Node
	f    fsys
	pkgs map[string]*pkgJSON
}

type pkgJSON struct {
	Main    string          `json:"main"`
	Exports json.RawMessage `json:"exports"`
	Imports json.RawMessage `json:"imports"`
	Name    string          `json:"name"`
}

var jsExts = []string{".js", ".json", ".node", ".mjs", ".cjs"}

func (r *nodeResolver) parse(src []byte) []Import { return ParseJS(src) }

func (r *nodeResolver) source(p string) bool {
	return strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs") || strings.HasSuffix(p, ".cjs")
}

func (r *nodeResolver) pkg(dir string) *pkgJSON {
	if p, ok := r.pkgs[dir]; ok {
		return p
	}
	var p *pkgJSON
	if data, err := r.n.V.ReadFile(path.Join(dir, "package.json"), maxSource); err == nil {
		p = &pkgJSON{}
		if json.Unmarshal(data, p) != nil {
			p = &pkgJSON{}
		}
	}
	r.pkgs[dir] = p
	return p
}

// scope keeps the nearest package.json above file: node reads it for the
// module type of the file ("type": "module").
func (r *nodeResolver) scope(file string) []Edge {
	for d := path.Dir(file); ; d = path.Dir(d) {
		if path.Base(d) == "node_modules" {
			return nil
		}
		if r.pkg(d) != nil {
			return []Edge{{Path: path.Join(d, "package.json"), From: file, Detail: "package scope of " + path.Base(file)}}
		}
		if d == "/" {
			return nil
		}
	}
}

func (r *nodeResolver) resolve(file string, im Import) []Edge {
	detail := im.Kind + " '" + im.Name + "'"
	var files []string
	name := strings.TrimPrefix(im.Name, "file://")
	if im.Dynamic {
		dir, _ := path.Split(name)
		if !strings.HasPrefix(dir, "./") && !strings.HasPrefix(dir, "../") && !strings.HasPrefix(dir, "/") {
			return nil
		}
		d := dir
		if !strings.HasPrefix(d, "/") {
			d = path.Join(path.Dir(file), d)
		}
		if r.f.isDir(d) && d != "/" {
			return []Edge{{Path: d, From: file, Tree: true, Detail: im.Kind + " of '" + name + "...' (a computed name)"}}
		}
		return nil
	}
	switch {
	case strings.HasPrefix(name, "node:"):
		return nil
	case name == "." || name == ".." || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/"):
		p := name
		if !strings.HasPrefix(p, "/") {
			p = path.Join(path.Dir(file), p)
		}
		files = r.fileOrDir(p)
	case strings.HasPrefix(name, "#"):
		files = r.imports(file, name)
	default:
		files = r.bare(file, name)
	}
	var out []Edge
	for _, f := range uniq(files) {
		out = append(out, Edge{Path: f, From: file, Detail: detail, ELF: strings.HasSuffix(f, ".node")})
		if strings.HasSuffix(f, "/package.json") {
			continue
		}
		out = append(out, r.scope(f)...)
		out = append(out, r.data(f)...)
	}
	return out
}

// data returns the data of the package that module f belongs to, as
// Python's packages have theirs: the files beside f that are not
// JavaScript nor type declarations (templates and JSON read with fs,
// WebAssembly, a native addon found by a computed name) and the subdirectories of f's directory that
// hold no JavaScript. Only inside a package (below a node_modules or a
// global folder): the application's own tree is kept whole already.
func (r *nodeResolver) data(f string) []Edge {
	dir := path.Dir(f)
	if !r.inPackage(dir) {
		return nil
	}
	var out []Edge
	for _, n := range r.f.names(dir) {
		p := path.Join(dir, n)
		switch {
		case n == "node_modules":
		case r.f.isFile(p):
			if !r.source(p) && !typeDeclaration(n) {
				out = append(out, Edge{Path: p, From: f, ELF: strings.HasSuffix(n, ".node"), Detail: "data of package " + path.Base(dir)})
			}
		case r.f.isDir(p) && !r.f.holds(p, "js", r.source):
			out = append(out, Edge{Path: p, From: f, Tree: true, Detail: "data of package " + path.Base(dir)})
		}
	}
	return out
}

// typeDeclaration reports whether name is a TypeScript declaration file
// (index.d.ts): read by compilers, never by node.
func typeDeclaration(name string) bool {
	for _, x := range []string{".d.ts", ".d.mts", ".d.cts"} {
		if strings.HasSuffix(name, x) {
			return true
		}
	}
	return false
}

// inPackage reports whether dir lies inside a package: below a node_modules
// or a global folder, not the folder itself (whose files are single-file
// modules) nor a scope (@types).
func (r *nodeResolver) inPackage(dir string) bool {
	base := path.Base(dir)
	if base == "node_modules" || strings.HasPrefix(base, "@") && path.Base(path.Dir(dir)) == "node_modules" {
		return false
	}
	if strings.Contains(dir+"/", "/node_modules/") {
		return true
	}
	for _, g := range r.n.Globals {
		if strings.HasPrefix(dir, g+"/") {
			return true
		}
	}
	return false
}

// fileOrDir is LOAD_AS_FILE then LOAD_AS_DIRECTORY; the package.json read
// on the way is included.
func (r *nodeResolver) fileOrDir(p string) []string {
	if r.f.isFile(p) {
		return []string{p}
	}
	for _, x := range jsExts {
		if r.f.isFile(p + x) {
			return []string{p + x}
		}
	}
	if !r.f.isDir(p) {
		return nil
	}
	var out []string
	if pj := r.pkg(p); pj != nil {
		out = append(out, path.Join(p, "package.json"))
		if pj.Main != "" {
			m := path.Join(p, pj.Main)
			if f := r.fileOrIndex(m); f != "" {
				return append(out, f)
			}
		}
	}
	if f := r.index(p); f != "" {
		out = append(out, f)
	}
	return out
}

func (r *nodeResolver) fileOrIndex(m string) string {
	if r.f.isFile(m) {
		return m
	}
	for _, x := range jsExts {
		if r.f.isFile(m + x) {
			return m + x
		}
	}
	return r.index(m)
}

func (r *nodeResolver) index(dir string) string {
	for _, x := range jsExts {
		if p := path.Join(dir, "index"+x); r.f.isFile(p) {
			return p
		}
	}
	return ""
}

// bare resolves a package name with an optional subpath.
func (r *nodeResolver) bare(file, name string) []string {
	parts := strings.SplitN(name, "/", 3)
	pkgName, sub := parts[0], ""
	if strings.HasPrefix(name, "@") && len(parts) >= 2 {
		pkgName = parts[0] + "/" + parts[1]
		if len(parts) == 3 {
			sub = parts[2]
		}
	} else if len(parts) > 1 {
		sub = strings.Join(parts[1:], "/")
	}
	var dirs []string
	for d := path.Dir(file); ; d = path.Dir(d) {
		if path.Base(d) != "node_modules" {
			dirs = append(dirs, path.Join(d, "node_modules"))
		}
		if d == "/" {
			break
		}
	}
	dirs = append(dirs, r.n.Globals...)
	for _, d := range dirs {
		pd := path.Join(d, pkgName)
		if !r.f.isDir(pd) {
			if sub == "" {
				for _, x := range jsExts {
					if p := pd + x; r.f.isFile(p) {
						return []string{p}
					}
				}
			}
			continue
		}
		pj := r.pkg(pd)
		if pj != nil && len(pj.Exports) > 0 {
			out := []string{path.Join(pd, "package.json")}
			return append(out, r.exports(pd, pj.Exports, "."+strings.TrimSuffix("/"+sub, "/"))...)
		}
		if sub == "" {
			return r.fileOrDir(pd)
		}
		out := r.fileOrDir(path.Join(pd, sub))
		if pj != nil {
			out = append(out, path.Join(pd, "package.json"))
		}
		return out
	}
	return nil
}

// imports resolves '#x' through the "imports" of the nearest package.json.
func (r *nodeResolver) imports(file, name string) []string {
	for d := path.Dir(file); d != "/"; d = path.Dir(d) {
		if pj := r.pkg(d); pj != nil {
			if len(pj.Imports) == 0 {
				return nil
			}
			return r.exports(d, pj.Imports, name)
		}
	}
	return nil
}

// exports resolves subpath ("." or "./x", or "#x") in an exports (or
// imports) map of the package in dir, keeping the targets of every
// condition.
func (r *nodeResolver) exports(dir string, raw json.RawMessage, sub string) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || !subpathKeys(m) {
		if sub != "." {
			return nil
		}
		return r.targets(dir, raw, "")
	}
	if t, ok := m[sub]; ok {
		return r.targets(dir, t, "")
	}
	// patterns: "./x/*" and the longest prefix
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if star := strings.IndexByte(k, '*'); star >= 0 {
			pre, post := k[:star], k[star+1:]
			if strings.HasPrefix(sub, pre) && strings.HasSuffix(sub, post) && len(sub) >= len(pre)+len(post) {
				return r.targets(dir, m[k], sub[len(pre):len(sub)-len(post)])
			}
		} else if strings.HasSuffix(k, "/") && strings.HasPrefix(sub, k) {
			return r.targets(dir, m[k], "")
		}
	}
	return nil
}

// subpathKeys reports whether an exports object maps subpaths (its keys
// start with '.' or '#') rather than conditions.
func subpathKeys(m map[string]json.RawMessage) bool {
	for k := range m {
		return strings.HasPrefix(k, ".") || strings.HasPrefix(k, "#")
	}
	return false
}

// targets returns the files of a target: a string (with * replaced by
// star), an array of fallbacks, or an object of conditions (all kept).
func (r *nodeResolver) targets(dir string, raw json.RawMessage, star string) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if !strings.HasPrefix(s, "./") {
			return nil
		}
		p := path.Join(dir, strings.ReplaceAll(s, "*", star))
		if r.f.isFile(p) {
			return []string{p}
		}
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		for _, a := range arr {
			if out := r.targets(dir, a, star); len(out) > 0 {
				return out
			}
		}
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "require", "import", "node", "default", "module-sync", "node-addons":
			out = append(out, r.targets(dir, m[k], star)...)
		}
	}
	return out
}
