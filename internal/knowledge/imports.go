package knowledge

import (
	"bytes"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pare-dev/pare/internal/importgraph"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// ImportGraph says how a runtime's import graph replaces the whole-tree
// keep of its library trees: the modules reachable from the application's
// scripts (every kept source file of the language, and every kept script
// whose #! names the runtime) and from what the interpreter loads at
// start-up are kept; the trees are only searched. Paths are templates (see
// Runtime), expanded in order.
type ImportGraph struct {
	// Lang is "python", "ruby", "node", "perl", "tcl" or "erlang".
	Lang string
	// Library are the candidates for Tcl's library directory
	// ($tcl_library), the first holding init.tcl.
	Library []string
	// Startup are the modules the interpreter itself loads before the
	// script (Python's C start-up: encodings, site; Ruby's gem_prelude:
	// rubygems, did_you_mean, ...). What they import is derived by parsing.
	Startup []string
	// Path is the search path in order: Python's standard library and
	// lib-dynload, Ruby's $LOAD_PATH, Node's global folders.
	Path []string
	// Sites are Python's site directories (their .pth files are read and
	// their metadata kept), or Ruby's RubyGems specification directories.
	Sites []string
	// Quiet are the runtime's own trees: their dynamic imports are the
	// interpreter's machinery (encodings' codec search), not warnings.
	Quiet []string
	// Sources matches the names of source files.
	Sources *regexp.Regexp
	// Only, when set, says whether the graph can be built for the image
	// (Erlang's needs the command to run erl, whose flags name the entry
	// module and the code path); without it the trees are kept whole.
	Only func(c Keeper) bool
	// Note is said once when a static graph leaves out what only a
	// computed name loads (Ruby's transcoders).
	Note string
}

// WholeTrees is implemented by a Keeper that was asked to keep interpreter
// trees whole (--keep-interpreter-trees) instead of their import graphs.
type WholeTrees interface {
	// KeepInterpreterTrees reports whether import graphs are off.
	KeepInterpreterTrees() bool
}

// graphs reports whether r keeps an import graph in c.
func (r *Runtime) graphs(c Keeper) bool {
	if r.Imports == nil {
		return false
	}
	if w, ok := c.(WholeTrees); ok && w.KeepInterpreterTrees() {
		return false
	}
	return r.Imports.Only == nil || r.Imports.Only(c)
}

// importGraph keeps the modules reachable from the kept scripts of the
// runtime, for every object's vars.
func (a *applier) importGraph(objs []Object) error {
	c, r, g := a.c, a.r, a.r.Imports
	roots := a.scripts(g)
	if len(roots) == 0 && len(g.Startup) == 0 && g.Lang != "erlang" {
		return nil
	}
	var res *importgraph.Result
	var quiet []string
	for _, o := range objs {
		for _, vars := range r.vars(c, o) {
			x := func(ts []string) []string {
				var out []string
				for _, t := range ts {
					out = append(out, expand(c, t, vars)...)
				}
				return existing(a.v, out)
			}
			quiet = append(quiet, x(g.Quiet)...)
			q := func(p string) bool { return under(p, quiet) }
			var rs *importgraph.Result
			switch g.Lang {
			case "python":
				var err error
				if rs, err = a.python(roots, x(g.Path), x(g.Sites), vars, q); err != nil {
					return err
				}
			case "ruby":
				wd := ""
				if w, ok := c.(WorkingDirer); ok {
					wd = w.WorkingDir()
				}
				lp := append(a.envDirs(), x(g.Path)...)
				rb := &importgraph.Ruby{V: a.v, LoadPath: lp, SpecDirs: x(g.Sites), WorkDir: wd, Quiet: q}
				rs = rb.Graph(roots, g.Startup)
			case "tcl":
				rs = a.tcl(roots, x(g.Library), x(g.Path), x(g.Sites), q)
			case "perl":
				rs = a.perl(roots, x(g.Path), g.Startup, q)
			case "erlang":
				rs = a.erlang(uniqStrings(roots), vars["prefix"], q)
			case "node":
				nd := &importgraph.Node{V: a.v, Globals: append(a.envDirs(), x(g.Path)...), Quiet: q}
				rs = nd.Graph(roots)
			}
			if res == nil {
				res = rs
			} else if rs != nil {
				res.Edges = append(res.Edges, rs.Edges...)
				res.Warnings = append(res.Warnings, rs.Warnings...)
			}
		}
	}
	if res == nil {
		return nil
	}
	from := objs[0].Path
	// With a trace, the runtime's own trees are left to what the run used
	// (as without a graph); the graph still keeps the dependencies.
	var trees []string
	traced := false
	if t, ok := c.(Tracer); ok && r.TraceReplaceable && t.Traced() {
		traced = true
		for _, o := range objs {
			for _, vars := range r.vars(c, o) {
				for _, t := range r.Trees {
					trees = append(trees, expand(c, t, vars)...)
				}
			}
		}
	}
	for _, e := range res.Edges {
		if under(e.Path, trees) {
			continue
		}
		src := e.From
		if src == "" {
			src = from
		}
		why := because(r.ID, src, e.Detail)
		var err error
		switch {
		case e.Tree:
			err = a.tree(e.Path, why)
		case e.ELF:
			_, err = c.AddExecutable(e.Path, why)
		default:
			_, err = c.AddPath(e.Path, why)
		}
		if err != nil {
			return err
		}
	}
	if g.Note != "" && len(trees) == 0 {
		c.Warn("%s: %s", r.ID, g.Note)
	}
	seen := map[string]bool{}
	for _, w := range res.Warnings {
		if seen[w.String()] {
			continue
		}
		seen[w.String()] = true
		fbs := a.fallbacks(w.File)
		note := "not followed"
		switch {
		case len(fbs) > 0 && traced:
			// the trace saw what the computed import loaded, as it
			// stands for the runtime's trees
			note = "left " + strings.Join(fbs, ", ") + " to the trace"
			fbs = nil
		case len(fbs) > 0:
			note = "kept " + strings.Join(fbs, ", ") + " whole"
		}
		for _, fb := range fbs {
			if err := a.tree(fb, because(r.ID, w.File, "package with an import pare cannot follow (line "+strconv.Itoa(w.Line)+")")); err != nil {
				return err
			}
		}
		hint := "--trace adds what a run loads"
		if traced {
			hint = "a path the trace did not take may load more"
		}
		c.Warn("%s: %s: %s (%s; %s)", r.ID, w.String(), "dynamic import", note, hint)
	}
	return nil
}

// fallbacks returns the directories kept whole for a file with an import
// pare cannot follow (see fallback and perlFallback).
func (a *applier) fallbacks(file string) []string {
	if a.r.Imports != nil && a.r.Imports.Lang == "perl" {
		return a.perlFallback(file)
	}
	if a.r.Imports != nil && a.r.Imports.Lang == "erlang" {
		if fb := erlangFallback(file); fb != "" {
			return []string{fb}
		}
		return nil
	}
	if fb := a.fallback(file); fb != "" {
		return []string{fb}
	}
	return nil
}

// fallback returns the package directory kept whole for a file with an
// import pare cannot follow: the top-level directory of its package below a
// site-packages, dist-packages, node_modules or gems directory; "" for the
// application's own files (kept whole already) and single-file modules.
func (a *applier) fallback(file string) string {
	parts := strings.Split(strings.Trim(file, "/"), "/")
	for i := len(parts) - 2; i >= 0; i-- {
		switch parts[i] {
		case "site-packages", "dist-packages", "node_modules", "gems", "vendor_ruby":
			if i+2 < len(parts) {
				top := "/" + strings.Join(parts[:i+2], "/")
				if strings.HasPrefix(parts[i+1], "@") && i+3 < len(parts) {
					top = "/" + strings.Join(parts[:i+3], "/")
				}
				if isDir(a.v, top) {
					return top
				}
			}
			return ""
		}
	}
	return ""
}

// leaveToGraph tells a GraphTrees Keeper which trees the import graph
// searches instead of keeping them whole: the runtime's Trees and its
// Resolved Deps (a Path, a Beside directory of an application directory,
// the Searched directory of a marked environment), as found for every
// object. The Env directories are not among them: PYTHONPATH, RUBYLIB and
// NODE_PATH usually name the application's own code, which stays.
func (a *applier) leaveToGraph(objs []Object) {
	g, ok := a.c.(GraphTrees)
	if !ok {
		return
	}
	seen := map[string]bool{}
	leave := func(dirs ...string) {
		for _, d := range dirs {
			if !seen[d] && isDir(a.v, d) {
				seen[d] = true
				g.LeaveToGraph(d, a.r.ID)
			}
		}
	}
	var apps []string
	for _, d := range a.r.Deps {
		if d.Beside != "" && d.Resolved {
			if apps == nil {
				apps = applicationDirs(a.c, a.r.AppFiles)
			}
			for _, app := range apps {
				leave(path.Join(app, d.Beside))
			}
		}
	}
	for _, o := range objs {
		for _, vars := range a.r.vars(a.c, o) {
			for _, t := range a.r.Trees {
				leave(expand(a.c, t, vars)...)
			}
			for _, d := range a.r.Deps {
				switch {
				case !d.Resolved:
				case d.Path != "":
					leave(expand(a.c, d.Path, vars)...)
				case d.Marker != "" && d.Searched != "":
					for _, root := range markedRoots(a.c, d.Marker, d.MarkerEnv) {
						leave(a.searched(root, d.Marker, vars)...)
					}
				}
			}
		}
	}
}

// searched returns the existing directories the import graph searches in
// the environment at root marked by marker (the Searched of its Dep).
func (a *applier) searched(root, marker string, vars map[string]string) []string {
	var out []string
	for _, d := range a.r.Deps {
		if d.Marker == marker && d.Searched != "" {
			out = append(out, existing(a.v, expand(a.c, path.Join(root, d.Searched), vars))...)
		}
	}
	return out
}

// python builds the sys.path variants: the system interpreter's and one per
// virtual environment (a pyvenv.cfg found like Dep Marker does).
func (a *applier) python(roots, stdlib, sites []string, vars map[string]string, quiet func(string) bool) (*importgraph.Result, error) {
	type venv struct {
		root, cfg string
		sites     []string
	}
	var venvs []venv
	lib := append(append([]string(nil), stdlib...), sites...)
	for _, root := range markedRoots(a.c, "pyvenv.cfg", "VIRTUAL_ENV") {
		v := venv{root: root, cfg: path.Join(root, "pyvenv.cfg"), sites: a.searched(root, "pyvenv.cfg", vars)}
		lib = append(lib, v.sites...)
		if bytes.Contains(readConfig(a.v, v.cfg), []byte("include-system-site-packages = true")) {
			v.sites = append(v.sites, sites...)
		}
		venvs = append(venvs, v)
	}
	// The directory of the script run is the front of sys.path; a module
	// found on the search path (a package's file in site-packages, kept
	// and so a root) is not that script: its directory is not searched.
	var front []string
	for _, r := range roots {
		if d := path.Dir(r); appDir(d) && !inOrUnder(d, lib) {
			front = append(front, d)
		}
	}
	if w, ok := a.c.(WorkingDirer); ok && w.WorkingDir() != "" {
		front = append(front, w.WorkingDir())
	}
	front = append(front, a.envDirs()...)
	// Bytecode caches are left out: the interpreter compiles a source
	// without its cache in memory (a slower start, not a different run),
	// and a trace keeps the caches the run read.
	tag := ""
	variant := func(sites []string) importgraph.PythonPaths {
		p := importgraph.PythonPaths{CacheTag: tag, Sites: sites}
		p.Path = append(append(p.Path, front...), stdlib...)
		for _, s := range sites {
			p.Path = append(p.Path, s)
			dirs, _, _ := importgraph.SitePaths(a.v, s)
			p.Path = append(p.Path, dirs...)
		}
		return p
	}
	py := &importgraph.Python{V: a.v, Quiet: quiet, Variants: []importgraph.PythonPaths{variant(sites)}}
	if t, ok := a.c.(Tracer); ok && a.r.TraceReplaceable && t.Traced() {
		py.HooksEager = true // the trace has the start-up
	}
	for _, v := range venvs {
		// the interpreter reads pyvenv.cfg to become the environment's
		if _, err := a.c.AddPath(v.cfg, because(a.r.ID, "", "virtual environment configuration")); err != nil {
			return nil, err
		}
		py.Variants = append(py.Variants, variant(v.sites))
	}
	return py.Graph(uniqStrings(roots), a.r.Imports.Startup), nil
}

// inOrUnder reports whether p is one of dirs or lies below one.
func inOrUnder(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// envDirs returns the absolute directories of the runtime's Env variables.
func (a *applier) envDirs() []string {
	var out []string
	for _, e := range a.r.Env {
		val, ok := a.c.Getenv(e.Name)
		if !ok || val == "" || e.Pattern != "" {
			continue
		}
		sep := e.Sep
		if sep == "" {
			sep = ":"
		}
		for _, el := range strings.Split(val, sep) {
			if el = a.abs(el); el != "" {
				out = append(out, path.Clean(el))
			}
		}
	}
	return out
}

// scripts returns the kept source files of the language and the kept
// scripts whose #! line names the runtime's program.
func (a *applier) scripts(g *ImportGraph) []string {
	l, ok := a.c.(PathLister)
	if !ok {
		return nil
	}
	var out []string
	for _, p := range l.Paths() {
		e, err := a.v.Lstat(p)
		if err != nil || e.Type != rootfs.TypeReg {
			continue
		}
		if g.Sources.MatchString(path.Base(p)) {
			out = append(out, p)
			continue
		}
		if e.Mode&0o111 != 0 && e.Size > 2 && a.shebangRuns(p) {
			out = append(out, p)
		}
	}
	return out
}

// shebangRuns reports whether the #! line of p names the runtime.
func (a *applier) shebangRuns(p string) bool {
	line, _, _ := bytes.Cut(fileHead(a.v, p, 256), []byte("\n"))
	if !bytes.HasPrefix(line, []byte("#!")) {
		return false
	}
	for _, w := range strings.Fields(string(line[2:])) {
		if a.r.Programs != nil && a.r.Programs.MatchString(path.Base(w)) {
			return true
		}
	}
	return false
}

// keepAppFiles keeps the application directories like keepAppTrees but
// without the dependency directories in them (node_modules, a virtual
// environment), which the import graph resolves into.
func (a *applier) keepAppFiles() error {
	c := a.c
	var dirs []string
	if w, ok := c.(WorkingDirer); ok {
		if wd := w.WorkingDir(); wd != "" && appDir(wd) {
			dirs = append(dirs, wd)
		}
	}
	if l, ok := c.(PathLister); ok {
		for _, p := range l.Paths() {
			for _, x := range a.r.AppFiles {
				if strings.HasSuffix(p, x) && appDir(path.Dir(p)) && !a.inDeps(p) {
					dirs = append(dirs, path.Dir(p))
					break
				}
			}
		}
	}
	sort.Strings(dirs)
	var last string
	why := because(a.r.ID, "", "application directory")
	for _, d := range dirs {
		if last != "" && (d == last || strings.HasPrefix(d, last+"/")) {
			continue
		}
		last = d
		res, err := a.v.Resolve(d, true)
		if err != nil {
			continue
		}
		var files, elfs []string
		_ = a.v.Walk(res.Path, func(e *rootfs.Entry) error {
			if a.inDeps(e.Path) {
				return nil
			}
			files = append(files, e.Path)
			if mayBeELF(e) && isELF(a.v, e) {
				elfs = append(elfs, e.Path)
			}
			return nil
		})
		for _, f := range files {
			if _, err := c.AddPath(f, why); err != nil {
				return err
			}
		}
		for _, f := range elfs {
			if _, err := c.AddExecutable(f, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// inDeps reports whether p lies in a dependency directory the graph
// resolves into: a Beside directory marked Resolved, or below a pyvenv.cfg.
func (a *applier) inDeps(p string) bool {
	for _, d := range a.r.Deps {
		if d.Beside != "" && d.Resolved && strings.Contains("/"+p+"/", "/"+d.Beside+"/") {
			return true
		}
		if d.Marker != "" && d.Resolved {
			for q := path.Dir(p); q != "/" && q != "."; q = path.Dir(q) {
				if e, err := a.v.Lstat(path.Join(q, d.Marker)); err == nil && e.Type == rootfs.TypeReg {
					return true
				}
			}
		}
	}
	return false
}

func existing(v *rootfs.View, ps []string) []string {
	var out []string
	for _, p := range uniqStrings(ps) {
		if exists(v, p) {
			out = append(out, p)
		}
	}
	return out
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func uniqStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
