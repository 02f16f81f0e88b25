package knowledge

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Runtime describes one language runtime as data: how a kept
// object is recognised as it, the trees it reads, the environment variables
// that extend its search path, the application's own files and the
// directories where the language's package manager installs the
// application's dependencies. A *Runtime is a Rule; Runtimes lists them.
//
// Entries are Go literals, not embedded YAML: the compiler checks every
// field, a bad regular expression fails at init (in every test) rather than
// on a user's image, no schema or parser is needed, and each entry carries its
// doc comment.
//
// Paths are templates: {prefix} (see Prefix), {version} and {version_nodot}
// (see Version), {libdir} (the object's directory), {triplet} (each
// multiarch directory of /usr/lib), {env:NAME} (each ':'-separated element
// of NAME) and shell globs, expanded against the image. A template whose
// variable has no value is skipped.
type Runtime struct {
	// ID is the rule name, used in reasons and to skip the rule ("python").
	ID string
	// What says what the trees hold, for reasons; a template ("Python
	// {version} modules").
	What string
	// Programs matches the base name of a kept ELF object that is this
	// runtime: its program or the library that embeds it (libpython).
	Programs *regexp.Regexp
	// Launchers matches the base name of a kept script that starts this
	// runtime (erl, elixir, R): such scripts exec the runtime through
	// variables ("$BINDIR/erlexec") that static reading of the shell
	// cannot follow, so the script itself stands for the runtime.
	Launchers *regexp.Regexp
	// Runs are programs a launcher execs, found through PATH (elixir runs
	// erl).
	Runs []string
	// Version, when set, captures the version (group 1) from the object's
	// physical path.
	Version *regexp.Regexp
	// Prefix finds the installation prefix of an object.
	Prefix Prefix
	// Trees are the runtime's own directories, kept whole with every ELF
	// below them and its libraries.
	Trees []string
	// Files are single files of the runtime.
	Files []string
	// TraceReplaceable says a traced run stands for Trees and Files: with
	// a trace the rule keeps only Env, Deps, Packages and the
	// application's directories (see Tracer). The programs a kept script
	// names are kept by the static reading of the script in both modes.
	TraceReplaceable bool
	// Env are the variables that extend the runtime's search path.
	Env []EnvPath
	// Packages are globs of package directories inside a global module
	// directory: one that holds a kept path is kept whole (npm's
	// bin/npm-cli.js brings all of npm).
	Packages []string
	// Deps are where the language's package manager installs an
	// application's dependencies. They are the application's, so a trace
	// never replaces them.
	Deps []Dep
	// AppFiles are the suffixes of the application's own files (".py",
	// "package.json"): the directory of a kept one, and the working
	// directory, are kept whole when they are application directories.
	AppFiles []string
	// Uses are the capabilities of every object this runtime recognises.
	Uses []Capability
	// Imports, when set, replaces the whole-tree keep of Trees and of the
	// Resolved Deps, Env and Packages by the modules reachable from the
	// application's scripts (see ImportGraph).
	Imports *ImportGraph
	// Jimage says the prefix is a JDK home whose lib/modules is cut to the
	// modules the application needs (see javaCut).
	Jimage bool
}

// Prefix says how to find a runtime's installation prefix from one of its
// objects.
type Prefix struct {
	// Env names a variable that, when set, gives the prefixes (split at
	// ':'), as PYTHONHOME does.
	Env string
	// Landmarks are paths relative to a candidate prefix (templates); the
	// first directory from the object's upwards that holds one is the
	// prefix. Without landmarks the prefix is the directory above the
	// object's (/usr for /usr/bin/perl).
	Landmarks []string
	// Default is the prefix when no landmark is found; "" means none.
	Default string
	// Extra names a variable holding one more prefix, used once a prefix
	// was found (JAVA_HOME).
	Extra string
}

// EnvPath is an environment variable that lists directories the runtime
// searches.
type EnvPath struct {
	Name string
	// Sep separates the elements; "" means ":".
	Sep string
	// Pattern is what each element names below it, a relative glob
	// ("lib/*/ebin" for ERL_LIBS); "" means the element itself.
	Pattern string
}

// Dep is one place where a language's package manager installs an
// application's dependencies. Exactly one of the fields is set.
type Dep struct {
	// Path is a template of a dependency directory.
	Path string
	// Beside is a directory (relative: "node_modules", "vendor/bundle")
	// looked up in the directory of each kept application file, of the
	// working directory and of their parents that are application
	// directories.
	Beside string
	// Marker is a file that marks the root of an environment
	// ("pyvenv.cfg"): a parent of a kept path, of a PATH entry, or the
	// directory MarkerEnv names, holding it is kept whole.
	Marker    string
	MarkerEnv string
	// ConfigFile is a file, relative to an application directory as for
	// Beside (".bundle/config"), whose ConfigKey names a dependency
	// directory, relative to that application directory.
	ConfigFile, ConfigKey string
	// Resolved says the runtime's ImportGraph searches this directory for
	// modules, so it is not kept whole when the graph is on.
	Resolved bool
	// Searched, for a Marker, is the directory below the environment's
	// root that the ImportGraph searches (a template relative to the
	// root: "lib/python{version}/site-packages"). When the graph is on
	// it is left to the graph (see GraphTrees); the rest of the
	// environment (its bin, share) is not.
	Searched string
	// Bin, for a Beside, is its directory of programs (".bin": the links
	// to the packages' command-line scripts that a package manager's
	// run-script puts on PATH). When the graph is on it is kept, with what
	// its links name, whose imports the graph then follows.
	Bin string
}

// Name implements Rule.
func (r *Runtime) Name() string { return r.ID }

// Apply implements Rule.
func (r *Runtime) Apply(c Keeper) error {
	var objs []Object
	if r.Programs != nil {
		objs = matching(c, r.Programs)
	}
	objs = append(objs, launchers(c, r.Launchers)...)
	if len(objs) == 0 {
		return nil
	}
	a := &applier{r: r, c: c, v: c.View(), done: map[string]bool{}}
	a.opts = treeOpts{elf: true}
	traced := false
	if t, ok := c.(Tracer); ok && r.TraceReplaceable {
		traced = t.Traced()
	}
	a.graph = r.graphs(c)
	for _, o := range objs {
		for _, vars := range r.vars(c, o) {
			if err := a.object(o, vars, traced); err != nil {
				return err
			}
		}
	}
	from := objs[0].Path
	for _, name := range r.Runs {
		if _, err := c.AddExecutable(name, because(r.ID, from, "run by "+path.Base(from))); err != nil {
			return err
		}
	}
	if err := a.env(from); err != nil {
		return err
	}
	if err := a.packages(from); err != nil {
		return err
	}
	if err := a.deps(from); err != nil {
		return err
	}
	if a.graph {
		a.leaveToGraph(objs)
		if err := a.keepAppFiles(); err != nil {
			return err
		}
		return a.importGraph(objs)
	}
	return keepAppTrees(c, r.ID, a.opts, r.AppFiles...)
}

// launchers returns the kept regular files whose base name re matches, as
// objects sorted by path; none for a nil re or a Keeper that cannot list
// its paths.
func launchers(c Keeper, re *regexp.Regexp) []Object {
	l, ok := c.(PathLister)
	if re == nil || !ok {
		return nil
	}
	var out []Object
	for _, p := range l.Paths() {
		if re.MatchString(path.Base(p)) {
			if e, err := c.View().Lstat(p); err == nil && e.Type == rootfs.TypeReg {
				out = append(out, Object{Path: p})
			}
		}
	}
	return out
}

// vars returns the template variables of object o, one set per prefix.
func (r *Runtime) vars(c Keeper, o Object) []map[string]string {
	base := map[string]string{"libdir": path.Dir(o.Path)}
	if r.Version != nil {
		if m := r.Version.FindStringSubmatch(o.Path); m != nil {
			base["version"] = m[1]
			base["version_nodot"] = strings.ReplaceAll(m[1], ".", "")
		}
	}
	var out []map[string]string
	for _, p := range r.prefixes(c, o, base) {
		vs := map[string]string{"prefix": p}
		for k, v := range base {
			vs[k] = v
		}
		out = append(out, vs)
	}
	if len(out) == 0 {
		out = append(out, base)
	}
	return out
}

func (r *Runtime) prefixes(c Keeper, o Object, vars map[string]string) []string {
	p := r.Prefix
	if p.Env != "" {
		if l := envList(c, p.Env); len(l) > 0 {
			return l
		}
	}
	var out []string
	if len(p.Landmarks) == 0 {
		out = append(out, path.Dir(path.Dir(o.Path)))
	} else {
	search:
		for d := path.Dir(o.Path); ; d = path.Dir(d) {
			for _, l := range p.Landmarks {
				for _, rel := range expand(c, l, vars) {
					if exists(c.View(), path.Join(d, rel)) {
						out = append(out, d)
						break search
					}
				}
			}
			if d == "/" {
				break
			}
		}
		if len(out) == 0 && p.Default != "" {
			out = append(out, p.Default)
		}
	}
	if p.Extra != "" && len(out) > 0 {
		if x, ok := c.Getenv(p.Extra); ok && x != "" && x != out[0] {
			out = append(out, x)
		}
	}
	return out
}

// applier applies one Runtime during one Apply.
type applier struct {
	r    *Runtime
	c    Keeper
	v    *rootfs.View
	opts treeOpts
	done map[string]bool // trees and files kept in this Apply
	// graph says the runtime's import graph replaces its whole trees.
	graph bool
	// inc is Perl's @INC of the last graph (see perlFallback).
	inc []string
}

func (a *applier) tree(dir string, why keptset.Reason) error {
	if a.done[dir] {
		return nil
	}
	a.done[dir] = true
	_, err := keepTree(a.c, dir, why, a.opts)
	return err
}

// object keeps what one object of the runtime needs with one set of vars.
func (a *applier) object(o Object, vars map[string]string, traced bool) error {
	c, r := a.c, a.r
	what := r.What
	if x := expand(c, what, vars); len(x) == 1 {
		what = x[0]
	}
	why := because(r.ID, o.Path, what)
	if r.Jimage && vars["prefix"] != "" {
		cut := a.jimageCut(vars["prefix"], o.Path)
		if err := a.applyCut(cut, o.Path, traced); err != nil {
			return err
		}
	}
	if !traced && !a.graph {
		for _, t := range r.Trees {
			for _, d := range expand(c, t, vars) {
				if err := a.tree(d, why); err != nil {
					return err
				}
			}
		}
		for _, t := range r.Files {
			if err := addPaths(c, why, expand(c, t, vars)...); err != nil {
				return err
			}
		}
	}
	for _, d := range r.Deps {
		if d.Path == "" || a.graph && d.Resolved {
			continue
		}
		for _, p := range expand(c, d.Path, vars) {
			if err := a.tree(p, because(r.ID, o.Path, "dependencies installed by the package manager")); err != nil {
				return err
			}
		}
	}
	return nil
}

// env keeps what the search-path variables name.
func (a *applier) env(from string) error {
	if a.graph {
		return nil // search paths of the graph
	}
	for _, e := range a.r.Env {
		val, ok := a.c.Getenv(e.Name)
		if !ok || val == "" {
			continue
		}
		sep := e.Sep
		if sep == "" {
			sep = ":"
		}
		why := because(a.r.ID, from, e.Name)
		for _, el := range strings.Split(val, sep) {
			el = a.abs(el)
			if el == "" {
				continue
			}
			dirs := []string{el}
			if e.Pattern != "" {
				dirs = glob(a.v, path.Join(el, e.Pattern))
			}
			for _, d := range dirs {
				if err := a.tree(d, why); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// abs makes an environment path absolute against the working directory;
// "" when it is relative and the working directory is not known.
func (a *applier) abs(p string) string {
	if p == "" || strings.HasPrefix(p, "/") {
		return p
	}
	if w, ok := a.c.(WorkingDirer); ok && w.WorkingDir() != "" {
		return path.Join(w.WorkingDir(), p)
	}
	return ""
}

// packages keeps every package directory that holds a kept path.
func (a *applier) packages(from string) error {
	if a.graph {
		return nil // the graph keeps what is reachable of them
	}
	why := because(a.r.ID, from, "package with a kept file")
	for _, g := range a.r.Packages {
		for _, d := range glob(a.v, g) {
			if a.c.Has(d) && isDir(a.v, d) {
				if err := a.tree(d, why); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deps keeps the application's dependency directories.
func (a *applier) deps(from string) error {
	c, v := a.c, a.v
	var apps []string // application directories, computed once
	appDirs := func() []string {
		if apps == nil {
			apps = applicationDirs(c, a.r.AppFiles)
		}
		return apps
	}
	for _, d := range a.r.Deps {
		if a.graph && d.Resolved {
			if d.Beside != "" && d.Bin != "" {
				for _, app := range appDirs() {
					p := path.Join(app, d.Beside, d.Bin)
					if isDir(v, p) {
						if err := a.tree(p, because(a.r.ID, from, "programs of "+path.Join(app, d.Beside))); err != nil {
							return err
						}
					}
				}
			}
			continue
		}
		switch {
		case d.Path != "":
			// per object, in object
		case d.Beside != "":
			for _, app := range appDirs() {
				p := path.Join(app, d.Beside)
				if isDir(v, p) {
					if err := a.tree(p, because(a.r.ID, from, d.Beside+" of the application "+app)); err != nil {
						return err
					}
				}
			}
		case d.Marker != "":
			for _, root := range markedRoots(c, d.Marker, d.MarkerEnv) {
				if err := a.tree(root, because(a.r.ID, from, "environment marked by "+path.Join(root, d.Marker))); err != nil {
					return err
				}
			}
		case d.ConfigFile != "":
			for _, app := range appDirs() {
				cf := path.Join(app, d.ConfigFile)
				val := configValue(readConfig(v, cf), d.ConfigKey)
				if val == "" || strings.Contains(val, "$") {
					continue
				}
				p := val
				if !strings.HasPrefix(p, "/") {
					p = path.Join(app, p)
				}
				if err := a.tree(p, because(a.r.ID, from, d.ConfigKey+" in "+cf)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// applicationDirs returns the application directories that dependencies
// may sit in: the working directory, the directory of every kept file
// ending in one of suffixes, and their parents, all application
// directories (see appDir), sorted.
func applicationDirs(c Keeper, suffixes []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		for ; appDir(d) && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	if w, ok := c.(WorkingDirer); ok && w.WorkingDir() != "" {
		add(path.Clean(w.WorkingDir()))
	}
	if l, ok := c.(PathLister); ok {
		for _, p := range l.Paths() {
			for _, s := range suffixes {
				if strings.HasSuffix(p, s) {
					add(path.Dir(p))
					break
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// markedRoots returns the directories holding marker that are the value of
// env, the parent of a PATH entry, or a parent of a kept path.
func markedRoots(c Keeper, marker, env string) []string {
	v := c.View()
	seen := map[string]bool{"/": true}
	var out []string
	check := func(d string) {
		if d == "" || seen[d] {
			return
		}
		seen[d] = true
		if e, err := v.Stat(path.Join(d, marker)); err == nil && e.Type == rootfs.TypeReg {
			out = append(out, d)
		}
	}
	if env != "" {
		if x, ok := c.Getenv(env); ok && strings.HasPrefix(x, "/") {
			check(path.Clean(x))
		}
	}
	for _, d := range envList(c, "PATH") {
		if strings.HasPrefix(d, "/") {
			check(path.Dir(path.Clean(d)))
		}
	}
	if l, ok := c.(PathLister); ok {
		for _, p := range l.Paths() {
			for d := path.Dir(p); !seen[d]; d = path.Dir(d) {
				check(d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// configValue returns the value of key in a "KEY: value" or "KEY=value"
// file (Bundler's YAML config, env files), unquoted; "" when absent.
func configValue(data []byte, key string) string {
	for line := range lines(data) {
		line = strings.TrimSpace(line)
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.Contains(k, "=") {
			k, val, ok = strings.Cut(line, "=")
		}
		if ok && strings.TrimSpace(k) == key {
			return unquote(strings.TrimSpace(val))
		}
	}
	return ""
}

// expand returns the paths a template names (see Runtime), sorted; none
// when a variable it uses has no value.
func expand(c Keeper, tmpl string, vars map[string]string) []string {
	var out []string
	var rec func(done, rest string)
	rec = func(done, rest string) {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest, '}')
		if i < 0 || j < i {
			out = append(out, done+rest)
			return
		}
		key := rest[i+1 : j]
		var vals []string
		switch {
		case key == "triplet":
			vals = triplets(c.View())
		case strings.HasPrefix(key, "env:"):
			vals = envList(c, key[4:])
		default:
			if v, ok := vars[key]; ok {
				vals = []string{v}
			}
		}
		for _, v := range vals {
			rec(done+rest[:i]+v, rest[j+1:])
		}
	}
	rec("", tmpl)
	if !strings.HasPrefix(tmpl, "/") && !strings.HasPrefix(tmpl, "{") {
		return out // a relative template (a landmark, a detail): no globbing
	}
	var paths []string
	for _, p := range out {
		if strings.HasPrefix(p, "/") {
			paths = append(paths, glob(c.View(), p)...)
		}
	}
	sort.Strings(paths)
	return paths
}

// glob expands the shell pattern p against the image, component by
// component; a p without metacharacters is returned as it is.
func glob(v *rootfs.View, p string) []string {
	if !strings.ContainsAny(p, "*?[") {
		return []string{path.Clean(p)}
	}
	dirs := []string{"/"}
	for _, part := range strings.Split(strings.Trim(path.Clean(p), "/"), "/") {
		var next []string
		for _, d := range dirs {
			if !strings.ContainsAny(part, "*?[") {
				next = append(next, path.Join(d, part))
				continue
			}
			for _, name := range children(v, d, nil) {
				if ok, _ := path.Match(part, name); ok {
					next = append(next, path.Join(d, name))
				}
			}
		}
		dirs = next
	}
	var out []string
	for _, d := range dirs {
		if exists(v, d) {
			out = append(out, d)
		}
	}
	return out
}
