package importgraph

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Erlang resolves the code an Erlang node runs as the code server loads
// it: a module M is the first M.beam along the code path (see
// ErlangCodePath). The graph is one of functions: a function reaches the
// remote functions it calls (call_ext, BIFs), the local ones it calls or
// makes funs of, and, for every atom among its operands and literals that
// names a module on the path, that module's every export (an MFA tuple, a
// child spec, a behaviour's callback module, Mod:f() with Mod bound to a
// literal); an atom that names an application (NAME.app on the path) keeps
// its resource file, whose mod callback and applications are followed in
// turn, as application:start would load them. A module whose code cannot
// be read stands whole: every import and atom of it. A kept module brings
// its application's resource file and priv directory (NIFs and port
// programs, found by code:priv_dir) and its -on_load function; a
// preloaded module (compiled into the emulator) is followed but its file
// is not kept. A reachable function that applies a computed module is a
// warning.
//
// Applications are layered as a release is (systools includes the
// applications the boot script starts and those their resource files name
// in applications): a module of application A reaches a module of
// application B only when B is A, one of A's dependencies (transitively),
// or active: started by the boot script, named by the command or the
// configuration, or reached from a module of no application (the
// application's own loose modules). So kernel's optional uses of the
// compiler (erl_compile_server) or logger's sasl domain keep nothing
// unless the application itself uses them.
type Erlang struct {
	V *rootfs.View
	// CodePath are the ebin directories in search order.
	CodePath []string
	// Boot is the boot script run at start-up; nil for none.
	Boot *ErlangBoot
	// Embedded says the boot script's every primLoad module is loaded at
	// start-up (-mode embedded); in the interactive mode only those before
	// kernel_load_completed are, the others on first call.
	Embedded bool
	Quiet    func(string) bool
}

type erlWalk struct {
	e       *Erlang
	f       fsys
	res     *Result
	files   map[string]bool
	nodes   map[string]bool
	apps    map[string]string // application name → its .app file
	mods    map[string]string // module → its file ("" when none)
	queue   []erlNode
	warned  map[string]bool
	appSeen map[string]bool
	// owner maps an ebin directory to its application ("" for none)
	owner map[string]string
	// active are the applications any module may reach; pending the
	// nodes left out until their application is active
	active      map[string]bool
	pending     map[string][]erlNode
	pendingApps map[string][]string
	deps        map[string]map[string]bool
	preload     map[string]bool
	// produced are the atoms of reachable code; named the modules they
	// name, with the file that named each first
	produced   map[string]bool
	named      map[string]string
	namedOrder []string
}

// erlNode is one function to visit: Fn "name/arity", or "*" for every
// export of Module.
type erlNode struct {
	Module, Fn string
	From, Why  string
}

// emulatorCalls reports whether the emulator itself calls the exports of
// preloaded module m: erl_init (the first process, which boots init),
// erlang (the trap functions of BIFs) and the erts_ modules (its system
// processes and the functions its C code calls). The other preloaded
// modules (init, erl_prim_loader, prim_file, zlib, ...) are reached by
// calls like any module.
func emulatorCalls(m string) bool {
	return m == "erl_init" || m == "erlang" || strings.HasPrefix(m, "erts_")
}

// Graph returns the closure of the .beam files roots (every export of
// each), of entry and of the boot script: the preloaded modules the
// emulator calls (see emulatorCalls), the primLoad modules it loads, the
// functions of its apply and kernelProcess instructions and the
// applications they load and start. An entry Import is Kind "call" with
// Name "mod:fun/arity" (the -s or -run function), "module" with a module
// name (every export), or "atom" for an atom of the command or
// configuration, which may name a module or an application.
func (e *Erlang) Graph(roots []string, entry []Import) *Result {
	w := &erlWalk{e: e, f: newFS(e.V), res: &Result{}, files: map[string]bool{}, nodes: map[string]bool{},
		apps: map[string]string{}, mods: map[string]string{}, warned: map[string]bool{}, appSeen: map[string]bool{},
		owner: map[string]string{}, active: map[string]bool{}, pending: map[string][]erlNode{}, pendingApps: map[string][]string{},
		deps: map[string]map[string]bool{}, preload: map[string]bool{},
		produced: map[string]bool{}, named: map[string]string{}}
	if e.Boot != nil {
		for _, m := range e.Boot.Preloaded {
			w.preload[m] = true
		}
	}
	for i := len(e.CodePath) - 1; i >= 0; i-- {
		dir := e.CodePath[i]
		for _, n := range w.f.names(dir) {
			if strings.HasSuffix(n, ".app") {
				w.apps[strings.TrimSuffix(n, ".app")] = path.Join(dir, n)
			}
		}
	}
	for _, root := range roots {
		w.keep(Edge{Path: root, Detail: "application module"})
		if m := w.beam(root); m != nil {
			w.push(erlNode{Module: m.Module, Fn: "*", From: root, Why: "application module"})
		}
	}
	for _, im := range entry {
		switch im.Kind {
		case "call":
			if mod, fn, ok := strings.Cut(im.Name, ":"); ok {
				w.push(erlNode{Module: mod, Fn: fn, Why: "entry function " + im.Name})
			}
		case "module":
			w.push(erlNode{Module: im.Name, Fn: "*", Why: "entry module " + im.Name})
		default:
			w.atom("", im.Name)
		}
	}
	if b := e.Boot; b != nil {
		for _, m := range b.Preloaded {
			if emulatorCalls(m) {
				w.push(erlNode{Module: m, Fn: "*", Why: "preloaded module, called by the emulator"})
			}
		}
		mods := b.Early
		if e.Embedded {
			mods = b.Loaded
		}
		for _, m := range mods {
			w.load("", m, "loaded by the boot script")
		}
		for _, f := range b.Applies {
			w.push(erlNode{Module: f.Module, Fn: fmt.Sprintf("%s/%d", f.Function, f.Arity), Why: "run by the boot script"})
		}
		for _, a := range b.Atoms {
			w.atom("", a)
		}
	}
	for len(w.queue) > 0 {
		n := w.queue[0]
		w.queue = w.queue[1:]
		w.visit(n)
	}
	sort.Slice(w.res.Warnings, func(i, j int) bool {
		a, b := w.res.Warnings[i], w.res.Warnings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.What < b.What
	})
	return w.res
}

func (w *erlWalk) keep(e Edge) {
	key := e.Path
	if e.Tree {
		key += "/"
	}
	if !w.files[key] {
		w.files[key] = true
		w.res.Edges = append(w.res.Edges, e)
	}
}

// push queues n, unless its module's application is out of reach of the
// referring module's (n.From), in which case it waits for that
// application to become active.
func (w *erlWalk) push(n erlNode) {
	if p := w.module(n.Module); p != "" {
		if to := w.ownerOf(p); !w.reaches(n.From, to) {
			w.pending[to] = append(w.pending[to], n)
			return
		}
	}
	key := n.Module + ":" + n.Fn
	if !w.nodes[key] {
		w.nodes[key] = true
		w.queue = append(w.queue, n)
	}
}

// reaches reports whether code in file from (a module or a resource
// file; "" for the boot script, the command and the configuration) may
// reach application to, activating it when from belongs to no
// application.
func (w *erlWalk) reaches(from, to string) bool {
	owner := ""
	if from != "" {
		owner = w.ownerOf(from)
	}
	switch {
	case to == "" || to == owner || w.active[to]:
		return true
	case owner == "":
		w.activate(to)
		return true
	}
	return w.dependsOn(owner, to)
}

// ownerOf returns the application of the module file p: the one whose
// resource file is in its directory.
func (w *erlWalk) ownerOf(p string) string {
	dir := path.Dir(p)
	if o, ok := w.owner[dir]; ok {
		return o
	}
	o := ""
	for _, n := range w.f.names(dir) {
		if strings.HasSuffix(n, ".app") {
			o = strings.TrimSuffix(n, ".app")
			break
		}
	}
	w.owner[dir] = o
	return o
}

// dependsOn reports whether application a needs b, directly or through
// its dependencies' resource files.
func (w *erlWalk) dependsOn(a, b string) bool {
	d, ok := w.deps[a]
	if !ok {
		d = map[string]bool{}
		w.deps[a] = d
		var add func(x string)
		add = func(x string) {
			p, ok := w.apps[x]
			if !ok {
				return
			}
			src, err := w.e.V.ReadFile(p, maxSource)
			if err != nil {
				return
			}
			for _, im := range parseAppFile(src) {
				if im.Kind == "app" && !d[im.Name] {
					d[im.Name] = true
					add(im.Name)
				}
			}
		}
		add(a)
	}
	return d[b]
}

// activate makes application a (and what it depends on) reachable from
// every module, and queues what waited for it.
func (w *erlWalk) activate(a string) {
	if a == "" || w.active[a] {
		return
	}
	w.active[a] = true
	w.dependsOn(a, "")
	for d := range w.deps[a] {
		w.activate(d)
	}
	waiting := w.pending[a]
	delete(w.pending, a)
	for _, n := range waiting {
		w.push(n)
	}
	froms := w.pendingApps[a]
	delete(w.pendingApps, a)
	for _, f := range froms {
		w.app(f, a)
	}
}

// beam returns the parsed module file p, nil when unreadable.
func (w *erlWalk) beam(p string) *Beam {
	cacheMu.Lock()
	m, ok := w.f.c.beams[p]
	cacheMu.Unlock()
	if ok {
		return m
	}
	if src, err := w.e.V.ReadFile(p, maxSource); err == nil {
		m, _ = ParseBeam(src)
	}
	cacheMu.Lock()
	w.f.c.beams[p] = m
	cacheMu.Unlock()
	return m
}

// module returns the file of module m on the code path, "" when none.
func (w *erlWalk) module(m string) string {
	if p, ok := w.mods[m]; ok {
		return p
	}
	p := ""
	if m != "" && !strings.ContainsAny(m, "/\x00") {
		for _, d := range w.e.CodePath {
			if q := path.Join(d, m+".beam"); w.f.isFile(q) {
				p = q
				break
			}
		}
	}
	w.mods[m] = p
	return p
}

// load keeps the file of module m with its application's resource file
// and priv directory, and queues its -on_load function; it returns the
// parsed module, nil when m is not on the path.
func (w *erlWalk) load(from, m, why string) *Beam {
	p := w.module(m)
	if p == "" {
		return nil
	}
	if w.files[p] || w.preload[m] {
		return w.beam(p)
	}
	w.keep(Edge{Path: p, From: from, Detail: why})
	ebin := path.Dir(p)
	for _, n := range w.f.names(ebin) {
		if strings.HasSuffix(n, ".app") {
			w.keep(Edge{Path: path.Join(ebin, n), From: p, Detail: "resource file of the application of " + m})
		}
	}
	if priv := path.Join(path.Dir(ebin), "priv"); path.Base(ebin) == "ebin" && w.f.isDir(priv) {
		w.keep(Edge{Path: priv, From: p, Tree: true, Detail: "priv directory of the application of " + m})
	}
	b := w.beam(p)
	if b != nil {
		for name, f := range b.Functions {
			if f.OnLoad {
				w.push(erlNode{Module: m, Fn: name, From: p, Why: "on_load function"})
			}
		}
	}
	return b
}

// atom follows an atom of code in file from: a value the code may pass
// on. The module it names is a possible target of calls through a
// computed module (apply, Mod:f(), a callback); such a call needs the
// function's name as a value too, so of that module the exports whose
// names are atoms of reachable code are reached (mod:start for
// {mod, start, []}, init and handle_call for a gen_server whose
// gen_server code names them). The application it names is followed.
func (w *erlWalk) atom(from, a string) {
	if !w.produced[a] {
		w.produced[a] = true
		for _, m := range w.namedOrder {
			if b := w.beam(w.module(m)); b != nil {
				for _, x := range b.Exports {
					if x.Function == a {
						w.push(erlNode{Module: m, Fn: fmt.Sprintf("%s/%d", x.Function, x.Arity), From: w.named[m],
							Why: "names " + m + " and " + a})
					}
				}
			}
		}
	}
	if w.module(a) != "" {
		w.push(erlNode{Module: a, Fn: "?", From: from, Why: "names " + a})
	}
	w.app(from, a)
}

// name records that module n.Module is named by the code of n.From and
// reaches its exports whose names are atoms of reachable code.
func (w *erlWalk) name(n erlNode) {
	if _, ok := w.named[n.Module]; ok {
		return
	}
	w.named[n.Module] = n.From
	w.namedOrder = append(w.namedOrder, n.Module)
	b := w.beam(w.module(n.Module))
	if b == nil {
		return
	}
	for _, x := range b.Exports {
		if w.produced[x.Function] {
			w.push(erlNode{Module: n.Module, Fn: fmt.Sprintf("%s/%d", x.Function, x.Arity), From: n.From,
				Why: "names " + n.Module + " and " + x.Function})
		}
	}
}

// app keeps the resource file of application a and follows its callback
// module and the applications it needs.
func (w *erlWalk) app(from, a string) {
	p, ok := w.apps[a]
	if !ok || w.appSeen[a] {
		return
	}
	if !w.reaches(from, a) {
		w.pendingApps[a] = append(w.pendingApps[a], from)
		return
	}
	w.appSeen[a] = true
	w.keep(Edge{Path: p, From: from, Detail: "application " + a})
	src, err := w.e.V.ReadFile(p, maxSource)
	if err != nil {
		return
	}
	for _, im := range parseAppFile(src) {
		if im.Kind == "mod" {
			w.push(erlNode{Module: im.Name, Fn: "*", From: p, Why: "callback module of application " + a})
		} else {
			w.app(p, im.Name)
		}
	}
}

func (w *erlWalk) quiet(p string) bool { return w.e.Quiet != nil && w.e.Quiet(p) }

func (w *erlWalk) warn(p, what string) {
	if w.quiet(p) || w.warned[p+what] {
		return
	}
	w.warned[p+what] = true
	w.res.Warnings = append(w.res.Warnings, Warning{File: p, What: what})
}

// visit follows one function (or every export) of a module.
func (w *erlWalk) visit(n erlNode) {
	if n.Fn == "?" {
		w.name(n)
		return
	}
	what := n.Why
	if n.Fn != "*" {
		what += " (" + n.Module + ":" + n.Fn + ")"
	}
	b := w.load(n.From, n.Module, what)
	if b == nil {
		return
	}
	p := w.module(n.Module)
	if b.Functions == nil {
		// the code could not be read: the module stands whole
		if w.nodes[n.Module+":whole"] {
			return
		}
		w.nodes[n.Module+":whole"] = true
		for _, c := range b.Imports {
			w.push(erlNode{Module: c.Module, Fn: fmt.Sprintf("%s/%d", c.Function, c.Arity), From: p, Why: "calls"})
			if dynamicCalls[fmt.Sprintf("%s:%s/%d", c.Module, c.Function, c.Arity)] {
				w.warn(p, "calls "+c.Module+":"+c.Function+"/"+strconv.Itoa(c.Arity)+" with a computed module")
			}
		}
		for _, l := range [][]string{b.Atoms, b.Literals} {
			for _, a := range l {
				if a != b.Module {
					w.atom(p, a)
				}
			}
		}
		return
	}
	if n.Fn == "*" {
		for _, x := range b.Exports {
			w.push(erlNode{Module: n.Module, Fn: fmt.Sprintf("%s/%d", x.Function, x.Arity), From: n.From, Why: n.Why})
		}
		return
	}
	f := b.Functions[n.Fn]
	if f == nil {
		return
	}
	for _, c := range f.Calls {
		w.push(erlNode{Module: c.Module, Fn: fmt.Sprintf("%s/%d", c.Function, c.Arity), From: p, Why: "called by " + n.Module + ":" + n.Fn})
	}
	for _, l := range f.Locals {
		w.push(erlNode{Module: n.Module, Fn: l, From: p, Why: "called by " + n.Module + ":" + n.Fn})
	}
	for _, a := range f.Atoms {
		w.atom(p, a)
	}
	if f.Dynamic {
		w.warn(p, n.Module+":"+n.Fn+" calls a function of a computed module")
	}
}

// ErlangBoot is what a boot script (a .boot file: the external term
// {script, {Name, Vsn}, Instructions}) says about start-up.
type ErlangBoot struct {
	// Preloaded are the modules compiled into the emulator.
	Preloaded []string
	// Paths are the path instructions' directories, $ROOT replaced.
	Paths []string
	// Early are the primLoad modules before kernel_load_completed (loaded
	// in every mode); Loaded all of them (loaded in the embedded mode).
	Early, Loaded []string
	// Applies are the functions of the apply and kernelProcess
	// instructions.
	Applies []MFA
	// Atoms are the atoms among their arguments and the names of the
	// application specifications they load: the applications loaded and
	// started.
	Atoms []string
}

// ParseErlangBoot reads a boot script; root replaces $ROOT in its paths.
func ParseErlangBoot(data []byte, root string) (*ErlangBoot, error) {
	t, err := DecodeTerm(data)
	if err != nil {
		return nil, fmt.Errorf("boot script: %w", err)
	}
	s, ok := t.(Tuple)
	if !ok || len(s) != 3 || s[0] != Atom("script") {
		return nil, fmt.Errorf("boot script: not a {script, Name, Instructions} term")
	}
	b := &ErlangBoot{}
	atoms := func(l any) []string {
		var out []string
		for _, e := range Elems(l) {
			if a, ok := e.(Atom); ok {
				out = append(out, string(a))
			}
		}
		return out
	}
	early := true
	seen := map[string]bool{}
	for _, in := range Elems(s[2]) {
		tu, ok := in.(Tuple)
		if !ok || len(tu) == 0 {
			continue
		}
		mfa := func(t any) {
			x, ok := t.(Tuple)
			if !ok || len(x) != 3 {
				return
			}
			m, mok := x[0].(Atom)
			fn, fok := x[1].(Atom)
			if mok && fok {
				b.Applies = append(b.Applies, MFA{Module: string(m), Function: string(fn), Arity: len(Elems(x[2]))})
			}
			// the arguments' atoms (application:start_boot(kernel,
			// permanent)) and the names of application specifications
			// (application:load({application, kernel, Props}), whose
			// Props the resource file repeats)
			for _, arg := range Elems(x[2]) {
				name, ok := arg.(Atom)
				if spec, isSpec := arg.(Tuple); isSpec && len(spec) == 3 && spec[0] == Atom("application") {
					name, ok = spec[1].(Atom)
				}
				if ok && !seen[string(name)] {
					seen[string(name)] = true
					b.Atoms = append(b.Atoms, string(name))
				}
			}
		}
		switch {
		case tu[0] == Atom("preLoaded") && len(tu) == 2:
			b.Preloaded = append(b.Preloaded, atoms(tu[1])...)
		case tu[0] == Atom("path") && len(tu) == 2:
			for _, p := range Elems(tu[1]) {
				if s, ok := Chars(p); ok {
					b.Paths = append(b.Paths, strings.ReplaceAll(s, "$ROOT", root))
				}
			}
		case tu[0] == Atom("primLoad") && len(tu) == 2:
			ms := atoms(tu[1])
			if early {
				b.Early = append(b.Early, ms...)
			}
			b.Loaded = append(b.Loaded, ms...)
		case tu[0] == Atom("kernel_load_completed"):
			early = false
		case tu[0] == Atom("kernelProcess") && len(tu) == 3:
			mfa(tu[2])
		case tu[0] == Atom("apply") && len(tu) == 2:
			mfa(tu[1])
		}
	}
	return b, nil
}

// ErlangCodePath returns the code path as the code server builds it:
// the -pa directories, then (interactive mode) the current directory,
// every ERL_LIBS element's APP[-VSN]/ebin and the root's lib/APP-VSN/ebin
// (the highest version of each application), then the boot script's
// paths not yet on it, then the -pz directories. In the embedded mode
// only -pa, the boot paths and -pz.
func ErlangCodePath(v *rootfs.View, root, cwd string, erlLibs, pa, pz []string, boot *ErlangBoot, embedded bool) []string {
	f := newFS(v)
	var out []string
	seen := map[string]bool{}
	add := func(d string) {
		if d = path.Clean(d); !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	abs := func(d string) string {
		if !strings.HasPrefix(d, "/") {
			return path.Join(cwd, d)
		}
		return d
	}
	for _, d := range pa {
		add(abs(d))
	}
	if !embedded {
		if cwd != "" {
			add(cwd)
		}
		for _, l := range erlLibs {
			for _, d := range latestApps(f, abs(l)) {
				add(d)
			}
		}
		for _, d := range latestApps(f, path.Join(root, "lib")) {
			add(d)
		}
	}
	if boot != nil {
		for _, d := range boot.Paths {
			add(abs(d))
		}
	}
	for _, d := range pz {
		add(abs(d))
	}
	return out
}

// latestApps returns the ebin directories of the applications in lib:
// APP-VSN (or APP) directories holding an ebin, the highest version of
// each name.
func latestApps(f fsys, lib string) []string {
	type app struct {
		dir string
		vsn []int
	}
	best := map[string]app{}
	var names []string
	for _, n := range f.names(lib) {
		ebin := path.Join(lib, n, "ebin")
		if !f.isDir(ebin) {
			continue
		}
		name, vsn := n, []int(nil)
		if i := strings.LastIndexByte(n, '-'); i > 0 {
			if v, ok := parseVsn(n[i+1:]); ok {
				name, vsn = n[:i], v
			}
		}
		cur, ok := best[name]
		if !ok {
			names = append(names, name)
		}
		if !ok || vsnLess(cur.vsn, vsn) {
			best[name] = app{dir: ebin, vsn: vsn}
		}
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, best[n].dir)
	}
	return out
}

// parseVsn reads a version of dot-separated integers.
func parseVsn(s string) ([]int, bool) {
	if s == "" || !unicode.IsDigit(rune(s[0])) {
		return nil, false
	}
	var out []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func vsnLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// parseAppFile returns the callback module (Kind "mod") and the
// applications (Kind "app") of an application resource file.
func parseAppFile(src []byte) []Import {
	terms, _ := ParseErlangTerms(src)
	var out []Import
	for _, t := range terms {
		tu, ok := t.(Tuple)
		if !ok || len(tu) != 3 || tu[0] != Atom("application") {
			continue
		}
		for _, p := range Elems(tu[2]) {
			kv, ok := p.(Tuple)
			if !ok || len(kv) != 2 {
				continue
			}
			switch kv[0] {
			case Atom("mod"):
				if mfa, ok := kv[1].(Tuple); ok && len(mfa) == 2 {
					if m, ok := mfa[0].(Atom); ok {
						out = append(out, Import{Name: string(m), Kind: "mod"})
					}
				}
			case Atom("applications"), Atom("included_applications"), Atom("optional_applications"):
				for _, a := range Elems(kv[1]) {
					if a, ok := a.(Atom); ok {
						out = append(out, Import{Name: string(a), Kind: "app"})
					}
				}
			}
		}
	}
	return out
}
