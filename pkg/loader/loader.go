// Package loader computes the shared-object closure of an executable inside
// a container image, by emulating the library search of glibc 2.36's ld.so
// and of musl 1.2.3's dynamic linker over a read-only rootfs.View. Nothing
// from the image is executed or mapped: files are read as data.
//
// The rules it follows are those of the reference "how programs find their
// files" (rules 1-17): breadth-first loading with a loaded set matched by
// name and DT_SONAME, DT_RPATH of the requester and its loaders (unless the
// requester has DT_RUNPATH), LD_LIBRARY_PATH, the requester's DT_RUNPATH,
// the image's /etc/ld.so.cache and the default directories, each with its
// glibc-hwcaps and legacy hwcap subdirectories; $ORIGIN, $LIB and $PLATFORM;
// preloads; secure mode; and musl's own, simpler order.
package loader

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/ldcache"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// How says which step of the search found an object.
type How string

// Search steps.
const (
	HowExecutable    How = "executable"
	HowInterp        How = "interp"
	HowRpath         How = "rpath"
	HowRunpath       How = "runpath"
	HowLibraryPath   How = "ld_library_path"
	HowCache         How = "cache"
	HowDefault       How = "default"
	HowDirect        How = "direct"         // a name containing '/': no search
	HowMuslPath      How = "musl_path"      // /etc/ld-musl-$ARCH.path
	HowHWCapsVariant How = "hwcaps-variant" // a file only some CPUs would load
)

// Options describe the process the executable runs as.
type Options struct {
	// Env is the image configuration's environment ("KEY=VALUE"; the last
	// value of a key wins). LD_LIBRARY_PATH and LD_PRELOAD are read from it.
	Env []string
	// WorkingDir is the process's current directory ("" means "/").
	WorkingDir string
	// Secure is true when the program runs in secure-execution mode: a
	// setuid or setgid file started by a non-root user (rule 11).
	Secure bool
	// Interp, when set, is a dynamic linker that starts the program
	// explicitly ("ld.so PROGRAM", as ldd does and as some entrypoints
	// do). It replaces PT_INTERP, so a shared library can be a root too,
	// and $ORIGIN of the program is then the directory of the path as
	// given, not of its resolved path.
	Interp string
}

// Object is one file of the closure.
type Object struct {
	// Path is the physical path: no component is a symlink.
	Path string
	// OpenedAs is the path the loader opened, as it would print it (ldd's
	// "name => OpenedAs"); it may contain symlinks and "..".
	OpenedAs string
	// Links are the symlinks traversed from OpenedAs to Path.
	Links []string
	// Dirs are directories OpenedAs passes through before a ".." ("bin"
	// in "/opt/app/bin/../lib/libx.so"), as physical paths: they must
	// exist for OpenedAs to work, though they hold nothing of the file.
	Dirs []string
	// Name is the requested name (DT_NEEDED, preload, dlopen argument).
	Name string
	// By is the physical path of the requesting object (the executable
	// for its interpreter), "" for preloads.
	By  string
	How How
	// Preload marks LD_PRELOAD and /etc/ld.so.preload objects.
	Preload bool
	// Variant is the subdirectory ("glibc-hwcaps/x86-64-v3/",
	// "tls/haswell/") of a HowHWCapsVariant object.
	Variant string
	Soname  string
	Needed  []string
}

// Missing is a name that could not be loaded.
type Missing struct {
	Name string
	By   string // physical path of the requester, "" for preloads
	// Err is "" when the name was not found, else why loading it fails
	// (a non-ELF candidate stops the search: rule 8).
	Err string
	// Preload is true for preloads; ld.so ignores a failing preload.
	Preload bool
	// Hint explains a likely cause, such as a library installed into a
	// directory of /etc/ld.so.conf without running ldconfig (rule 13).
	Hint string
}

// Result is the closure of one executable.
type Result struct {
	Exe Object
	// Kind is how the executable starts (static, static-pie, dynamic).
	Kind   elfread.Kind
	Interp *Object
	// Objects are the loaded shared objects in load order (preloads,
	// then breadth-first DT_NEEDED, then dlopened ones), with hwcaps
	// variants after the object they stand for.
	Objects []Object
	Missing []Missing
	Musl    bool
	// Builtin lists names the dynamic linker answers itself without a
	// file (musl's libc.*, libpthread.*, libm.*, ...).
	Builtin []string
	Go      bool
	CGO     bool
	// UsesIconv is true when the executable or a library other than libc
	// references iconv_open: gconv modules may be dlopened.
	UsesIconv bool
	// ConfigFiles are the loader's own files that exist in the image and
	// that it reads at run time (/etc/ld.so.cache, /etc/ld.so.preload,
	// musl's /etc/ld-musl-$ARCH.path): a pared image keeps them.
	ConfigFiles []string
	// Warnings are problems that do not stop the analysis (a corrupt
	// ld.so.cache, a rejected dynamic entry).
	Warnings []string
}

// Paths returns every physical path, symlink and ".."-traversed directory of the result, executable
// and interpreter included, in order and without duplicates.
func (r *Result) Paths() []string {
	seen := map[string]bool{}
	var out []string
	add := func(o *Object) {
		for _, p := range append(append(append([]string(nil), o.Dirs...), o.Links...), o.Path) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	add(&r.Exe)
	if r.Interp != nil {
		add(r.Interp)
	}
	for i := range r.Objects {
		add(&r.Objects[i])
	}
	return out
}

// SecureMode reports whether the kernel starts the executable e in
// secure-execution mode (AT_SECURE) for a process with user and group ids
// uid and gid: a setuid file owned by someone else, or a setgid file of
// another group. Under no_new_privs (Kubernetes allowPrivilegeEscalation:
// false) the bits are ignored and the answer is false.
func SecureMode(e *rootfs.Entry, uid, gid int, noNewPrivs bool) bool {
	if e == nil || noNewPrivs {
		return false
	}
	return e.Mode&fs.ModeSetuid != 0 && e.UID != uid || e.Mode&fs.ModeSetgid != 0 && e.GID != gid
}

// ErrNotDynamicELF is returned by Resolve for an executable that is not an
// ELF file at all (a script, for instance).
var ErrNotDynamicELF = errors.New("not an ELF executable")

// lmap is a loaded object (glibc's struct link_map, musl's struct dso).
type lmap struct {
	obj     *Object
	f       *elfread.File
	names   []string // names it answers to (l_name + l_libname)
	loader  *lmap    // the object that caused it to be loaded
	origin  string   // $ORIGIN
	phys    string
	isMain  bool
	variant bool
	// decomposed search paths, nil until needed
	rpath, runpath []string
	rpathDone      bool
}

// Resolver holds the state of one process: the loaded set grows with
// Dlopen. It is not safe for concurrent use.
type Resolver struct {
	v      *rootfs.View
	opts   Options
	env    map[string]string
	wd     string
	res    *Result
	arch   *archInfo
	musl   bool
	maps   []*lmap // loaded objects in load order (not variants)
	main   *lmap
	interp *lmap
	byPhys map[string]*lmap
	byLink map[uint64]*lmap
	queue  []*lmap
	objs   []*Object

	cache     *ldcache.Cache
	cacheRead bool
	llp       []string
	muslPath  []string
	muslRead  bool
	conf      []string
	confRead  bool
	dirs      map[string]int // directory states, see dirState
	budget    int            // candidate checks left, see maxCandidates
}

// maxCandidates caps the candidate files one Resolver tries, so that a
// hostile image (thousands of DT_NEEDED names, long search paths) cannot
// make the analysis run for hours.
const maxCandidates = 1 << 18

// Resolve computes the closure of the executable exe (an absolute image
// path, or one relative to the working directory).
func Resolve(v *rootfs.View, exe string, opts Options) (*Result, error) {
	r, err := NewResolver(v, exe, opts)
	if err != nil {
		return nil, err
	}
	return r.Result(), nil
}

// NewResolver loads the executable, its interpreter, preloads and
// DT_NEEDED closure. Use Dlopen to add objects loaded at run time.
func NewResolver(v *rootfs.View, exe string, opts Options) (*Resolver, error) {
	r := &Resolver{
		v:      v,
		opts:   opts,
		env:    imagecfg.EnvMap(opts.Env),
		wd:     opts.WorkingDir,
		res:    &Result{},
		byPhys: map[string]*lmap{},
		byLink: map[uint64]*lmap{},
		dirs:   map[string]int{},
		budget: maxCandidates,
	}
	if r.wd == "" || !strings.HasPrefix(r.wd, "/") {
		r.wd = "/" + r.wd
	}
	exePath := r.abs(exe)
	res, err := v.Resolve(exePath, true)
	if err != nil {
		return nil, fmt.Errorf("resolving executable %s: %w", exe, err)
	}
	f, err := r.readELF(res.Path)
	if err != nil {
		return nil, fmt.Errorf("reading executable %s: %w", exe, err)
	}
	r.res.Exe = Object{Path: res.Path, OpenedAs: exePath, Links: res.Links, Dirs: dotdotDirs(v, exePath), Name: exe, How: HowExecutable, Soname: f.Soname, Needed: f.Needed}
	r.res.Kind = f.Kind
	r.warnProblems(res.Path, f)
	if fh, err := v.Open(res.Path); err == nil {
		if g, _ := elfread.GoInfo(fh, fh.Size()); g != nil {
			r.res.Go, r.res.CGO = true, g.CGO
		}
		fh.Close()
	}
	r.arch = newArch(v, f.Class, f.Data, f.Machine)
	r.main = &lmap{obj: &r.res.Exe, f: f, isMain: true, phys: res.Path, origin: path.Dir(res.Path)}
	r.maps = append(r.maps, r.main)
	interp := f.Interp
	if opts.Interp != "" {
		interp = opts.Interp
		r.main.origin = originOf(exePath)
	}
	r.musl = elfread.IsMuslInterp(interp)
	r.res.Musl = r.musl
	r.res.UsesIconv = f.RefsIconv

	if interp == "" {
		// Static: nothing is loaded before main, but a static glibc
		// program may still dlopen (NSS, gconv).
		return r, nil
	}
	if !r.loadInterp(interp) {
		return r, nil // the missing interpreter is in Result.Missing
	}
	r.queue = append(r.queue, r.main)
	r.loadPreloads()
	r.processQueue()
	return r, nil
}

// Loaded reports whether the process has the file at the physical path p:
// the executable, its interpreter or a loaded object (not a variant).
func (r *Resolver) Loaded(p string) bool {
	if r.main != nil && r.main.phys == p {
		return true
	}
	return r.byPhys[p] != nil
}

// Result returns the closure so far.
func (r *Resolver) Result() *Result {
	out := *r.res
	out.Objects = make([]Object, len(r.objs))
	for i, o := range r.objs {
		out.Objects[i] = *o
	}
	out.Missing = append([]Missing(nil), r.res.Missing...)
	out.Warnings = append([]string(nil), r.res.Warnings...)
	out.ConfigFiles = append([]string(nil), r.res.ConfigFiles...)
	out.Builtin = append([]string(nil), r.res.Builtin...)
	return &out
}

// abs makes p absolute against the working directory without cleaning it:
// ".." must be applied to physical paths by the view.
func (r *Resolver) abs(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	p = strings.TrimPrefix(p, "./")
	if strings.HasSuffix(r.wd, "/") {
		return r.wd + p
	}
	return r.wd + "/" + p
}

func (r *Resolver) warnProblems(p string, f *elfread.File) {
	for _, pr := range f.Problems {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s: %s", p, pr))
	}
}

// readELF opens and parses the regular file at the physical path p.
func (r *Resolver) readELF(p string) (*elfread.File, error) {
	fh, err := r.v.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := elfread.Parse(fh, fh.Size())
	if errors.Is(err, elfread.ErrNotELF) {
		return nil, fmt.Errorf("%w: %w", ErrNotDynamicELF, err)
	}
	return f, err
}

// loadInterp loads PT_INTERP, reporting false (and a Missing entry) when it
// cannot be loaded.
func (r *Resolver) loadInterp(interp string) bool {
	p := r.abs(interp)
	res, err := r.v.Resolve(p, true)
	var f *elfread.File
	if err == nil {
		f, err = r.readELF(res.Path)
	}
	if err != nil {
		msg := err.Error()
		if errors.Is(err, rootfs.ErrNotExist) {
			msg = ""
		}
		r.res.Missing = append(r.res.Missing, Missing{Name: interp, By: r.main.phys, Err: msg})
		return false
	}
	o := &Object{Path: res.Path, OpenedAs: interp, Links: res.Links, Dirs: dotdotDirs(r.v, p), Name: interp, By: r.main.phys, How: HowInterp, Soname: f.Soname, Needed: f.Needed}
	r.res.Interp = o
	m := &lmap{obj: o, f: f, names: []string{interp}, phys: res.Path, origin: path.Dir(p)}
	if f.Soname != "" && f.Soname != interp {
		m.names = append(m.names, f.Soname)
	}
	r.interp = m
	r.maps = append(r.maps, m)
	r.remember(m)
	return true
}

// remember records m's file identity.
func (r *Resolver) remember(m *lmap) {
	r.byPhys[m.phys] = m
	if e, err := r.v.Lstat(m.phys); err == nil && e.HardlinkID != 0 {
		r.byLink[e.HardlinkID] = m
	}
}

// identical returns the loaded object that is the file at phys, if any.
func (r *Resolver) identical(phys string) *lmap {
	if m := r.byPhys[phys]; m != nil {
		return m
	}
	if e, err := r.v.Lstat(phys); err == nil && e.HardlinkID != 0 {
		return r.byLink[e.HardlinkID]
	}
	return nil
}

// loadPreloads loads LD_PRELOAD, then /etc/ld.so.preload (glibc only).
func (r *Resolver) loadPreloads() {
	if s, ok := r.env["LD_PRELOAD"]; ok && s != "" {
		var names []string
		if r.musl {
			names = strings.FieldsFunc(s, func(c rune) bool { return c == ':' || c == ' ' || c == '\t' || c == '\n' })
		} else {
			names = strings.FieldsFunc(s, func(c rune) bool { return c == ':' || c == ' ' })
		}
		for _, n := range names {
			if r.opts.Secure {
				if r.musl {
					break // musl ignores LD_PRELOAD for AT_SECURE programs
				}
				if strings.Contains(n, "/") {
					continue // glibc drops preload paths in secure mode
				}
			}
			r.preload(n, r.opts.Secure)
		}
	}
	if r.musl {
		return
	}
	data, err := r.v.ReadFile("/etc/ld.so.preload", 1<<20)
	if err != nil {
		return
	}
	r.res.ConfigFiles = append(r.res.ConfigFiles, "/etc/ld.so.preload")
	// Comments run from '#' to the end of the line; names are separated by
	// white space or ':'.
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	for _, n := range strings.FieldsFunc(b.String(), func(c rune) bool { return strings.ContainsRune(" \t\n:", c) }) {
		r.preload(n, false)
	}
}

func (r *Resolver) preload(name string, secure bool) {
	if _, miss := r.mapObject(name, r.main, mapOpts{preload: true, secure: secure}); miss != nil {
		miss.Preload = true
		miss.By = ""
		r.res.Missing = append(r.res.Missing, *miss)
	}
}

// processQueue loads the DT_NEEDED entries of queued objects breadth-first.
func (r *Resolver) processQueue() {
	for len(r.queue) > 0 {
		l := r.queue[0]
		r.queue = r.queue[1:]
		for _, n := range l.f.Needed {
			name := n
			if !r.musl {
				var ok bool
				name, ok = r.expandName(n, l)
				if !ok {
					r.res.Missing = append(r.res.Missing, Missing{Name: n, By: l.phys, Err: "empty dynamic string token substitution"})
					continue
				}
			}
			if _, miss := r.mapObject(name, l, mapOpts{}); miss != nil {
				r.res.Missing = append(r.res.Missing, *miss)
			}
		}
	}
}

// Dlopen loads name as dlopen(3) called from the object at the physical
// path by ("" for the executable) would, with its dependencies. It returns
// the object for name (possibly loaded before) followed by the objects
// newly loaded for its dependencies.
func (r *Resolver) Dlopen(name, by string) ([]Object, error) {
	caller := r.main
	if by != "" {
		caller = nil
		for _, m := range r.maps {
			if m.phys == by || m.obj.OpenedAs == by {
				caller = m
				break
			}
		}
		if caller == nil {
			return nil, fmt.Errorf("dlopen %s: caller %s is not loaded", name, by)
		}
	}
	if r.musl {
		if r.interp == nil {
			return nil, fmt.Errorf("dlopen %s: a static musl program cannot load libraries", name)
		}
		// musl searches on behalf of the main program, not the caller.
		caller = r.main
	}
	if r.interp == nil && r.res.Kind == elfread.KindDynamic {
		return nil, fmt.Errorf("dlopen %s: interpreter missing", name)
	}
	before := len(r.objs)
	m, miss := r.mapObject(name, caller, mapOpts{})
	if miss != nil {
		r.res.Missing = append(r.res.Missing, *miss)
		if miss.Err != "" {
			return nil, fmt.Errorf("dlopen %s: %s", name, miss.Err)
		}
		return nil, fmt.Errorf("dlopen %s: cannot open shared object file: not found", name)
	}
	r.processQueue()
	var out []Object
	if m != nil && m.obj != nil {
		out = append(out, *m.obj)
	}
	for _, o := range r.objs[before:] {
		if m == nil || o != m.obj {
			out = append(out, *o)
		}
	}
	return out, nil
}

// findLoaded returns the loaded object answering to name (rule 5 step 1).
// Provides reports whether an object already loaded in the process answers
// to name (rule 5, step 1): a later dlopen or DT_NEEDED of name finds it
// without a search.
func (r *Resolver) Provides(name string) bool { return r.findLoaded(name) != nil }

func (r *Resolver) findLoaded(name string) *lmap {
	for _, l := range r.maps {
		for _, n := range l.names {
			if n == name {
				return l
			}
		}
		if r.musl {
			continue
		}
		if l.f.Soname != "" && l.f.Soname == name {
			l.names = append(l.names, name)
			return l
		}
	}
	return nil
}

type mapOpts struct {
	preload bool
	secure  bool // an LD_PRELOAD name in secure mode (__RTLD_SECURE)
}

// mapObject finds and loads name for the requester (glibc's _dl_map_object,
// musl's load_library). It returns the object, or a Missing entry.
func (r *Resolver) mapObject(name string, requester *lmap, o mapOpts) (*lmap, *Missing) {
	if name == "" {
		return nil, &Missing{Name: name, By: requester.phys, Err: "empty name"}
	}
	if r.musl {
		return r.muslMapObject(name, requester, o)
	}
	if l := r.findLoaded(name); l != nil {
		return l, nil
	}
	s := &search{r: r, name: name, requester: requester, opts: o}
	var h *hit
	if strings.Contains(name, "/") {
		h = s.direct()
	} else {
		h = s.run()
	}
	if s.fatal != "" {
		return nil, &Missing{Name: name, By: requester.phys, Err: s.fatal}
	}
	if h == nil && len(s.variants) > 0 {
		// Only CPU-specific copies exist: take the first as the object.
		v := s.variants[0]
		s.variants = s.variants[1:]
		h = &v.hit
		h.how = v.how
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s: found only in CPU-specific directory %s", name, v.sub))
	}
	if h == nil {
		return nil, &Missing{Name: name, By: requester.phys, Hint: r.ldconfigHint(name)}
	}
	l := r.add(name, requester, h, o.preload, "")
	for _, v := range s.variants {
		r.add(name, requester, &v.hit, o.preload, v.sub)
	}
	return l, nil
}

// add records a found object, or returns the loaded one it is identical to.
func (r *Resolver) add(name string, requester *lmap, h *hit, preload bool, variant string) *lmap {
	by := requester.phys
	if preload {
		by = ""
	}
	if variant == "" {
		if l := r.identical(h.phys); l != nil {
			l.names = append(l.names, name)
			return l
		}
	} else {
		for _, o := range r.objs {
			if o.Path == h.phys {
				return nil
			}
		}
	}
	obj := &Object{Path: h.phys, OpenedAs: h.openedAs, Links: h.links, Dirs: dotdotDirs(r.v, h.openedAs), Name: name, By: by, How: h.how, Preload: preload, Soname: h.f.Soname, Needed: h.f.Needed}
	if variant != "" {
		obj.How, obj.Variant = HowHWCapsVariant, variant
	}
	l := &lmap{obj: obj, f: h.f, names: []string{h.openedAs, name}, loader: requester, phys: h.phys, origin: originOf(h.openedAs), variant: variant != ""}
	r.objs = append(r.objs, obj)
	r.warnProblems(h.phys, h.f)
	if h.f.RefsIconv && !isLibc(h.f.Soname) {
		r.res.UsesIconv = true
	}
	r.queue = append(r.queue, l)
	if variant == "" {
		r.maps = append(r.maps, l)
		r.remember(l)
	}
	return l
}

func isLibc(soname string) bool {
	return strings.HasPrefix(soname, "libc.so.") || strings.HasPrefix(soname, "libc.musl-")
}

// originOf is the directory of the path an object was opened through, not
// resolving symlinks (rule 9): everything before the last '/'.
func originOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return p[:i]
}

// elfCompatible checks a candidate's header the way glibc's open_verify
// does. It returns skip=true for a wrong class or machine (search goes on)
// and an error for anything fatal.
func (r *Resolver) elfCompatible(h *elfread.Header) (skip bool, err error) {
	want := r.main.f
	if h.Class != want.Class {
		return true, nil
	}
	if h.Data != want.Data {
		return false, errors.New("ELF file data encoding does not match")
	}
	if h.Version != uint8(elf.EV_CURRENT) {
		return false, errors.New("ELF file version ident does not match current one")
	}
	if h.OSABI != elf.ELFOSABI_NONE && h.OSABI != elf.ELFOSABI_LINUX {
		return false, errors.New("ELF file OS ABI invalid")
	}
	if h.Machine != want.Machine {
		return true, nil
	}
	if h.Type != elf.ET_DYN && h.Type != elf.ET_EXEC {
		return false, errors.New("only ET_DYN and ET_EXEC can be loaded")
	}
	return false, nil
}

// dotdotDirs returns the physical directories p passes through right
// before each ".." component.
func dotdotDirs(v *rootfs.View, p string) []string {
	if !strings.Contains(p, "..") {
		return nil
	}
	var out []string
	parts := strings.Split(p, "/")
	for i, c := range parts {
		if c != ".." || i == 0 {
			continue
		}
		prefix := strings.Join(parts[:i], "/")
		if prefix == "" {
			continue
		}
		if res, err := v.Resolve(prefix, true); err == nil && res.Path != "/" && !slices.Contains(out, res.Path) {
			out = append(out, res.Path)
		}
	}
	return out
}
