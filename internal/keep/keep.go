// Package keep computes what a pared image keeps: the roots named by the
// image config and the user, their static closure (ELF loader emulation,
// shebangs, shell commands), the runtime knowledge rules and, in dynamic
// mode, the paths a traced run used.
package keep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/internal/shells"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/loader"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Options say what to keep beyond what the image config names.
type Options struct {
	Entrypoint    []string // replaces the config Entrypoint when EntrypointSet
	EntrypointSet bool
	Cmd           []string // replaces the config Cmd when CmdSet
	CmdSet        bool
	Includes      []string // paths or globs kept with their trees
	IncludeExes   []string // programs kept with their closure, found through PATH
	Excludes      []string // globs of paths to drop at the end
	AllowMissing  bool     // a library that cannot be found is a warning, not an error
	Rules         []knowledge.Rule
	SkipRules     []string // rule names to leave out (e.g. "tzdata")
	WholeRules    []string // precise rules to run keeping everything ("gconv", "tzdata"; see knowledge.Whole)
	Observed      []Observation
	Traced        bool // Observed is a traced run: it stands for trace-replaceable runtime trees
	// KeepInterpreterTrees keeps interpreter trees whole instead of the
	// modules their import graphs reach.
	KeepInterpreterTrees bool
	// KeepJimage keeps a JDK's lib/modules whole instead of the modules
	// the application needs; AddModules are JDK modules kept beside them.
	KeepJimage bool
	AddModules []string
}

// Observation is a path a traced run used.
type Observation struct {
	Path   string // absolute path inside the image
	Exec   bool   // executed (its closure is kept too)
	By     string // the program that used it
	Detail string // e.g. "during probe GET /"
}

// Result is the closure of one image.
type Result struct {
	Set      *keptset.Set
	Objects  map[string]keptset.Object // ELF objects by physical path
	Args     []string                  // the effective Entrypoint+Cmd
	Roots    []string                  // physical paths of the root programs
	Missing  []MissingLib
	Warnings []string
	Notes    []string // what static reading could not decide (shell forms, dynamic commands)
	// Users and Groups are account names programs switch to at run time
	// (nginx's "user www-data;"): the generated /etc/passwd keeps them.
	Users, Groups []string
	// Packages is the image's package database as the package-aware
	// closure read it (nil when it did not, or could not): assembly
	// rewrites it without parsing it again.
	Packages *pkgdb.DB
}

// MissingLib is a library no search found.
type MissingLib struct {
	Name string `json:"name"`
	By   string `json:"by"`
}

// MissingError reports libraries that could not be found.
type MissingError struct{ Missing []MissingLib }

func (e *MissingError) Error() string {
	var parts []string
	for _, m := range e.Missing {
		parts = append(parts, fmt.Sprintf("%s (needed by %s)", m.Name, m.By))
	}
	return "libraries not found: " + strings.Join(parts, ", ") + " (use --allow-missing to keep going)"
}

// builder implements knowledge.Keeper.
type builder struct {
	v        *rootfs.View
	cfg      v1.Config
	env      map[string]string
	set      *keptset.Set
	res      *Result
	opts     Options
	ctx      context.Context // stops the work once done (cancel.go)
	done     map[string]bool // programs already expanded, by physical path
	libDone  map[string]bool
	scripted map[string]*ShellScan // shell scripts scanned, by physical path
	// resolvers are the loader states of the programs kept, by physical
	// path; dlopen-ed objects are loaded into the process of a program.
	resolvers map[string]*loader.Resolver
	firstProc *loader.Resolver // the first dynamic program: hosts plugins of unknown owner
	// pending are libraries that objects loaded at run time could not find
	// when pare loaded them; the process may load them later (a JVM loads
	// libjvm.so before the libraries that need it), so they are judged at
	// the end.
	pending []pendingMissing
	pk      *pkgState // the package-aware closure (packages.go)
	// namedState is the scan of paths named by the Env and configs (configpaths.go).
	namedState *namedPaths
	configs    map[string]bool   // kept configuration files, see KeepConfig
	drops      map[string]string // paths rules left out, see Drop
	// graphTrees are the trees import graphs search, by physical path
	// (the runtime's name): the application files leave them out.
	graphTrees map[string]string
}

type pendingMissing struct {
	r  *loader.Resolver
	ms []loader.Missing
}

// Compute decides what the image keeps: its roots, their static closure and
// what the runtime rules and the observations add.
func Compute(v *rootfs.View, cfg v1.Config, opts Options) (*Result, error) {
	return ComputeContext(context.Background(), v, cfg, opts)
}

// ComputeContext is Compute that stops with ctx's error once ctx is done
// (between its steps, between the rules of every round and inside the walks
// of application trees).
func ComputeContext(ctx context.Context, v *rootfs.View, cfg v1.Config, opts Options) (*Result, error) {
	b := &builder{
		ctx: ctx,
		v:   v, cfg: cfg, env: imagecfg.EnvMap(cfg.Env), set: keptset.NewSet(v), opts: opts,
		done: map[string]bool{}, libDone: map[string]bool{}, scripted: map[string]*ShellScan{},
		resolvers: map[string]*loader.Resolver{},
	}
	b.res = &Result{Set: b.set, Objects: map[string]keptset.Object{}}
	if err := b.roots(); err != nil {
		return nil, err
	}
	if err := b.observed(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.rules(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.settlePending()
	b.applyDrops()
	b.noteUnreadConfigs()
	b.noteUnusedNamedDirs()
	b.dropOrphanBytecode()
	if err := b.excludes(); err != nil {
		return nil, err
	}
	if len(b.res.Missing) > 0 && !opts.AllowMissing {
		return b.res, &MissingError{Missing: b.res.Missing}
	}
	return b.res, nil
}

// Args returns the effective command: Entrypoint followed by Cmd, with
// Docker's rule that a new entrypoint clears the image's Cmd.
func Args(cfg v1.Config, opts Options) []string {
	return imagecfg.Argv(cfg.Entrypoint, cfg.Cmd, opts.Override())
}

// Override is the command-line replacement of Entrypoint and Cmd.
func (o Options) Override() imagecfg.Override {
	return imagecfg.Override{Entrypoint: o.Entrypoint, EntrypointSet: o.EntrypointSet, Cmd: o.Cmd, CmdSet: o.CmdSet}
}

func (b *builder) workDir() string {
	if b.cfg.WorkingDir == "" {
		return "/"
	}
	return b.cfg.WorkingDir
}

func (b *builder) roots() error {
	args := Args(b.cfg, b.opts)
	b.res.Args = args
	if b.cfg.WorkingDir != "" {
		if _, err := b.set.Keep(b.cfg.WorkingDir, keptset.Reason{Kind: keptset.KindEntrypoint, Detail: "WorkingDir"}); err != nil && !isNotExist(err) {
			return fmt.Errorf("WorkingDir %q: %w", b.cfg.WorkingDir, err)
		}
	}
	if len(args) == 0 && len(b.opts.IncludeExes) == 0 && len(b.opts.Includes) == 0 && len(b.opts.Observed) == 0 {
		return errors.New("the image names no command (no Entrypoint or Cmd): give --entrypoint, --cmd or --include-exe")
	}
	if len(args) > 0 {
		p, err := b.addProgram(args[0], keptset.Reason{Kind: keptset.KindEntrypoint})
		if err != nil {
			return fmt.Errorf("entrypoint %q: %w", args[0], err)
		}
		b.res.Roots = append(b.res.Roots, p)
		b.commandArgs(args, p)
	}
	for _, name := range b.opts.IncludeExes {
		p, err := b.addProgram(name, keptset.Reason{Kind: keptset.KindInclude, Detail: "--include-exe " + name})
		if err != nil {
			return fmt.Errorf("--include-exe %q: %w", name, err)
		}
		b.res.Roots = append(b.res.Roots, p)
	}
	for _, pat := range b.opts.Includes {
		if err := b.include(pat); err != nil {
			return fmt.Errorf("--include %q: %w", pat, err)
		}
	}
	return nil
}

func (b *builder) include(pat string) error {
	why := keptset.Reason{Kind: keptset.KindInclude, Detail: "--include " + pat}
	if !strings.ContainsAny(pat, "*?[{") {
		_, err := b.AddTree(pat, why)
		if err != nil {
			return err
		}
		if err := b.ctx.Err(); err != nil {
			return err
		}
		if !b.set.Has(resolvedPath(b.v, pat)) {
			return fmt.Errorf("no such path in the image")
		}
		return b.elfsIn(pat, why)
	}
	base := globBase(pat)
	n, walked := 0, 0
	err := b.v.Walk(base, func(e *rootfs.Entry) error {
		walked++
		if err := b.canceledEvery(walked); err != nil {
			return err
		}
		if ok, _ := doublestar.Match(pat, e.Path); ok {
			n++
			if _, err := b.AddTree(e.Path, why); err != nil {
				return err
			}
			if e.Type == rootfs.TypeDir {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil && !isNotExist(err) {
		return err
	}
	if n == 0 {
		return fmt.Errorf("the pattern matches nothing in the image")
	}
	return b.elfsIn(base, why)
}

// elfsIn gives every ELF file kept under dir its loader closure.
func (b *builder) elfsIn(dir string, why keptset.Reason) error {
	var elfs []string
	root := resolvedPath(b.v, dir)
	for i, it := range b.set.Items() {
		if err := b.canceledEvery(i + 1); err != nil {
			return err
		}
		if it.Entry.Type == rootfs.TypeReg && (it.Path == root || strings.HasPrefix(it.Path, strings.TrimSuffix(root, "/")+"/")) && b.isELF(it.Path) {
			elfs = append(elfs, it.Path)
		}
	}
	for _, p := range elfs {
		if _, err := b.addProgram(p, why); err != nil {
			return err
		}
	}
	return nil
}

func globBase(pat string) string {
	i := strings.IndexAny(pat, "*?[{")
	base := path.Dir(pat[:i+1])
	if base == "." || base == "" {
		return "/"
	}
	return base
}

func resolvedPath(v *rootfs.View, name string) string {
	r, err := v.Resolve(name, true)
	if err != nil {
		return name
	}
	return r.Path
}

func isSystemDir(p string) bool {
	switch p {
	case "/", "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64",
		"/usr/share", "/usr/local", "/var", "/var/lib", "/opt", "/home", "/root", "/tmp", "/dev", "/proc", "/sys", "/run":
		return true
	}
	return false
}

// isShell tells whether a program, by its physical path or the name it was
// run by, is a shell whose scripts pare scans.
func isShell(physical, name string) bool { return shells.IsPOSIX(physical) || shells.IsPOSIX(name) }

var errNotFoundInPath = imagecfg.ErrNotFound

// lookPath finds a program name the way execvp would inside the image.
func (b *builder) lookPath(name string) (string, error) {
	return imagecfg.LookPath(b.v, b.pathEnv(), b.workDir(), name)
}

// pathEnv is the image's PATH, or the engine's default.
func (b *builder) pathEnv() string { return imagecfg.Path(b.cfg.Env) }

// addProgram keeps a program (found through PATH) and its closure: ELF
// loader closure, or the shebang interpreter chain of a script.
func (b *builder) addProgram(name string, why keptset.Reason) (string, error) {
	return b.addProgramDepth(name, why, 0)
}

func (b *builder) addProgramDepth(name string, why keptset.Reason, depth int) (string, error) {
	full, err := b.lookPath(name)
	if err != nil {
		return "", err
	}
	phys, err := b.set.Keep(full, why)
	if err != nil {
		return "", err
	}
	if b.done[phys] {
		return phys, nil
	}
	b.done[phys] = true
	e := b.set.Item(phys).Entry
	if e.Type != rootfs.TypeReg {
		return phys, nil
	}
	h := b.head(phys, 256) // read once: magic number and #! line
	switch {
	case elfread.IsELF(h):
		return phys, b.elfClosure(phys, full, why)
	case shebangMagic(h):
		if depth >= 5 {
			return "", fmt.Errorf("%s: shebang nesting deeper than 5 (the kernel gives ELOOP)", full)
		}
		interp, arg, err := parseShebang(phys, h)
		if err != nil {
			return "", err
		}
		sb := keptset.Reason{Kind: keptset.KindShebang, From: phys}
		ip, err := b.addProgramDepth(interp, sb, depth+1)
		if err != nil {
			return "", fmt.Errorf("interpreter of %s: %w", full, err)
		}
		if path.Base(ip) == "env" && arg != "" {
			words := strings.Fields(arg)
			if len(words) > 0 && words[0] == "-S" {
				words = words[1:]
			}
			for len(words) > 0 && (strings.HasPrefix(words[0], "-") || isAssignment(words[0])) {
				words = words[1:]
			}
			if len(words) > 0 {
				ip, err = b.addProgramDepth(words[0], sb, depth+1)
				if err != nil {
					return "", fmt.Errorf("interpreter of %s (through env): %w", full, err)
				}
			}
		}
		if isShell(ip, interp) {
			b.scanScript(phys)
		}
		return phys, nil
	}
	return phys, nil
}

func (b *builder) head(p string, n int) []byte {
	f, err := b.v.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, n)
	k, _ := io.ReadFull(f, buf)
	return buf[:k]
}

func (b *builder) isELF(p string) bool { return elfread.IsELF(b.head(p, 4)) }

func (b *builder) isScript(p string) bool { return shebangMagic(b.head(p, 2)) }

func shebangMagic(h []byte) bool { return len(h) >= 2 && string(h[:2]) == "#!" }

// parseShebang parses the #! line at the start of h (the first 256 bytes of
// the script p) like the kernel: the interpreter path, then one optional
// argument (the rest of the line, trimmed).
func parseShebang(p string, h []byte) (interp, arg string, err error) {
	line, _, _ := strings.Cut(string(h[2:]), "\n")
	line = strings.TrimSpace(line)
	interp, arg, _ = strings.Cut(strings.ReplaceAll(line, "\t", " "), " ")
	arg = strings.TrimSpace(arg)
	if interp == "" {
		return "", "", fmt.Errorf("%s: empty #! line", p)
	}
	return interp, arg, nil
}

// elfClosure keeps what the dynamic loader loads for the ELF file phys: a
// program's interpreter and libraries, or for a shared object reached as a
// program (a plugin, a Python extension) the dlopen closure inside the
// process that loads it.
func (b *builder) elfClosure(phys, name string, why keptset.Reason) error {
	f, err := b.parseELF(phys)
	if err != nil {
		return fmt.Errorf("reading ELF %s: %w", name, err)
	}
	if f.Kind == elfread.KindShared {
		return b.sharedObject(phys, why)
	}
	secure := false
	if e := b.set.Item(phys).Entry; e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && !isRootUser(b.cfg.User) {
		secure = true
	}
	r, err := loader.NewResolver(b.v, name, loader.Options{Env: b.cfg.Env, WorkingDir: b.workDir(), Secure: secure})
	if err != nil {
		return fmt.Errorf("resolving libraries of %s: %w", name, err)
	}
	b.resolvers[phys] = r
	res := r.Result()
	if b.firstProc == nil && res.Interp != nil {
		b.firstProc = r
	}
	b.res.Objects[phys] = keptset.Object{Path: phys, Static: res.Interp == nil, Musl: res.Musl, Go: res.Go, CGO: res.CGO,
		Iconv: res.UsesIconv, Needed: res.Exe.Needed, Libc: libcName(path.Base(phys))}
	if res.Interp != nil {
		if err := b.keepObject(*res.Interp, keptset.Reason{Kind: keptset.KindInterp, From: phys}); err != nil {
			return err
		}
	}
	if err := b.keepObjects(res.Objects, phys); err != nil {
		return err
	}
	b.missing(res.Missing)
	b.loaderFiles(r, phys)
	for _, w := range res.Warnings {
		b.warn("%s: %s", name, w)
	}
	return nil
}

func (b *builder) parseELF(p string) (*elfread.File, error) {
	fh, err := b.v.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return elfread.Parse(fh, fh.Size())
}

// sharedObject keeps the dependencies of a shared object that is loaded at
// run time, searching as dlopen would inside the process of the program that
// caused it (why.From), else of the first dynamic program kept.
func (b *builder) sharedObject(phys string, why keptset.Reason) error {
	r := b.resolvers[why.From]
	if r == nil {
		r = b.firstProc
	}
	if r == nil {
		b.warn("%s is a shared object but no dynamic program is kept to load it; its libraries are not resolved", phys)
		return nil
	}
	before := len(r.Result().Missing)
	objs, err := r.Dlopen(phys, "")
	b.pending = append(b.pending, pendingMissing{r, r.Result().Missing[before:]})
	b.loaderFiles(r, phys)
	if err != nil {
		b.warn("loading %s: %v", phys, err)
		return nil
	}
	return b.keepObjects(objs, phys)
}

// loaderFiles keeps the files the dynamic loader of r's process reads at run
// time (ld.so.cache, ld.so.preload, musl's path file).
func (b *builder) loaderFiles(r *loader.Resolver, by string) {
	for _, f := range r.Result().ConfigFiles {
		if _, err := b.set.Keep(f, keptset.Reason{Kind: keptset.KindLoader, From: by}); err != nil && !isNotExist(err) {
			b.warn("keeping %s: %v", f, err)
		}
	}
}

// keepObjects keeps loader objects other than self.
func (b *builder) keepObjects(objs []loader.Object, self string) error {
	for _, o := range objs {
		if o.Path == self {
			continue
		}
		kind := keptset.KindNeeded
		switch {
		case o.Preload:
			kind = keptset.KindPreload
		case o.How == loader.HowHWCapsVariant:
			kind = keptset.KindHwcaps
		}
		from := o.By
		if from == "" {
			from = self
		}
		if err := b.keepObject(o, keptset.Reason{Kind: kind, From: from, Detail: string(o.How)}); err != nil {
			return err
		}
	}
	return nil
}

// settlePending records the libraries that dlopen-ed objects needed and
// that no object of their process provides by the end.
func (b *builder) settlePending() {
	for _, p := range b.pending {
		var still []loader.Missing
		for _, m := range p.ms {
			if m.Err != "" || !p.r.Provides(m.Name) {
				still = append(still, m)
			}
		}
		b.missing(still)
	}
	b.pending = nil
}

// missing records libraries no search found; failing preloads are ignored by
// ld.so and only warned about.
func (b *builder) missing(ms []loader.Missing) {
	seen := map[MissingLib]bool{}
	for _, m := range b.res.Missing {
		seen[m] = true
	}
	for _, m := range ms {
		ml := MissingLib{Name: m.Name, By: m.By}
		if seen[ml] {
			continue
		}
		seen[ml] = true
		if m.Preload {
			b.warn("preload %s cannot be loaded: ld.so ignores it", m.Name)
			continue
		}
		b.res.Missing = append(b.res.Missing, ml)
		if b.opts.AllowMissing {
			detail := ""
			if m.Err != "" {
				detail = ": " + m.Err
			}
			b.warn("library %s needed by %s was not found%s", m.Name, m.By, detail)
		}
	}
}

func (b *builder) keepObject(o loader.Object, why keptset.Reason) error {
	name := o.OpenedAs
	if name == "" {
		name = o.Path
	}
	p, err := b.set.Keep(name, why)
	if err != nil {
		return fmt.Errorf("keeping %s: %w", name, err)
	}
	// directories the opened path passes through before a ".." must exist
	for _, d := range o.Dirs {
		if _, err := b.set.Keep(d, keptset.Reason{Kind: keptset.KindSymlink, From: p, Detail: "on the path " + name}); err != nil && !isNotExist(err) {
			return err
		}
	}
	if _, ok := b.res.Objects[p]; !ok {
		base := path.Base(p)
		b.res.Objects[p] = keptset.Object{
			Path:   p,
			Libc:   libcName(base),
			Musl:   strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl-"),
			Needed: o.Needed,
		}
	}
	return nil
}

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "0" || name == "root"
}

func (b *builder) observed() error {
	for _, ob := range b.opts.Observed {
		why := keptset.Reason{Kind: keptset.KindTrace, From: ob.By, Detail: ob.Detail}
		if ob.Exec {
			if _, err := b.addProgram(ob.Path, why); err != nil && !isNotExist(err) {
				b.warn("traced program %s: %v", ob.Path, err)
			}
			continue
		}
		e, err := b.v.Stat(ob.Path)
		if err != nil {
			continue // created at run time, or gone
		}
		if e.Type == rootfs.TypeReg && b.isELF(e.Path) {
			if _, err := b.addProgram(ob.Path, why); err != nil {
				b.warn("traced object %s: %v", ob.Path, err)
			}
			continue
		}
		if _, err := b.set.Keep(ob.Path, why); err != nil {
			b.warn("traced path %s: %v", ob.Path, err)
		}
	}
	return nil
}

func (b *builder) rules() error {
	rules := b.opts.Rules
	if rules == nil {
		rules = knowledge.Default()
	}
	// the named paths (configpaths.go) and the package payload
	// (packages.go) run as rules, in every round: what they add may
	// trigger a rule, and what a rule adds may name more
	named := knowledge.RuleFunc("named-paths", func(knowledge.Keeper) error { b.keepNamedPaths(); return nil })
	packages := knowledge.RuleFunc("packages", func(knowledge.Keeper) error { return b.packageStep() })
	all := append([]knowledge.Rule{named}, knowledge.Whole(knowledge.Without(rules, b.opts.SkipRules...), b.opts.WholeRules...)...)
	return knowledge.Run(b, b.set.Len, cancelable(b.ctx, append(all, packages))...)
}

// dropOrphanBytecode drops Python bytecode whose source is not kept:
// CPython ignores a __pycache__/NAME.TAG.pyc without its NAME.py, so such a
// file (seen by a trace that stat-ed the cache) is dead weight.
func (b *builder) dropOrphanBytecode() {
	for _, it := range b.set.Items() {
		dir, file := path.Split(it.Path)
		if path.Base(dir) != "__pycache__" || !strings.HasSuffix(file, ".pyc") {
			continue
		}
		name, _, _ := strings.Cut(file, ".")
		if !b.set.Has(path.Join(path.Dir(path.Clean(dir)), name+".py")) {
			b.set.Remove(it.Path)
		}
	}
}

func (b *builder) excludes() error {
	if len(b.opts.Excludes) == 0 {
		return nil
	}
	for _, pat := range b.opts.Excludes {
		if !doublestar.ValidatePattern(pat) {
			return fmt.Errorf("--exclude %q: not a valid pattern", pat)
		}
	}
	for _, it := range b.set.Items() {
		for _, pat := range b.opts.Excludes {
			if ok, _ := doublestar.Match(pat, it.Path); ok && it.Path != "/" {
				b.set.Remove(it.Path)
				delete(b.res.Objects, it.Path)
				break
			}
		}
	}
	return nil
}

func (b *builder) warn(format string, args ...any) {
	b.res.Warnings = appendNew(b.res.Warnings, fmt.Sprintf(format, args...))
}

func (b *builder) note(format string, args ...any) {
	b.res.Notes = appendNew(b.res.Notes, fmt.Sprintf(format, args...))
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// knowledge.Keeper implementation.

var _ knowledge.Keeper = (*builder)(nil)

func (b *builder) View() *rootfs.View { return b.v }

func (b *builder) Getenv(key string) (string, bool) { v, ok := b.env[key]; return v, ok }

func (b *builder) Has(p string) bool { return b.set.Has(p) }

func (b *builder) Objects() []keptset.Object {
	out := make([]keptset.Object, 0, len(b.res.Objects))
	for _, o := range b.res.Objects {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (b *builder) AddPath(name string, why keptset.Reason) (bool, error) {
	_, err := b.set.Keep(name, why)
	if isNotExist(err) {
		return false, nil
	}
	return err == nil, err
}

func (b *builder) AddTree(name string, why keptset.Reason) (bool, error) {
	_, err := b.set.KeepTree(name, why)
	if isNotExist(err) {
		return false, nil
	}
	return err == nil, err
}

func (b *builder) AddExecutable(name string, why keptset.Reason) (bool, error) {
	_, err := b.addProgram(name, why)
	if isNotExist(err) || errors.Is(err, errNotFoundInPath) {
		return false, nil
	}
	return err == nil, err
}

func (b *builder) AddLibrary(soname, requester string, why keptset.Reason) (bool, error) {
	key := soname + "\x00" + requester
	if b.libDone[key] {
		return true, nil
	}
	b.libDone[key] = true
	r := b.resolvers[requester]
	by := ""
	if r == nil {
		// requester is a library: dlopen from inside a process that loaded it
		for _, root := range b.res.Roots {
			if cand := b.resolvers[root]; cand != nil && cand.Loaded(requester) {
				r, by = cand, requester
				break
			}
		}
		if r == nil {
			for _, cand := range b.sortedResolvers() {
				if cand.Loaded(requester) {
					r, by = cand, requester
					break
				}
			}
		}
	}
	if r == nil {
		return false, nil
	}
	before := len(r.Result().Missing)
	objs, err := r.Dlopen(soname, by)
	b.loaderFiles(r, requester)
	var deps []loader.Missing
	for _, m := range r.Result().Missing[before:] {
		if m.Name != soname {
			deps = append(deps, m) // soname itself: the rule decides whether to warn
		}
	}
	b.pending = append(b.pending, pendingMissing{r, deps})
	if err != nil {
		return false, nil // not found: the rule decides whether to warn
	}
	if len(objs) == 0 {
		return true, nil
	}
	main := objs[0]
	if err := b.keepObject(main, why); err != nil {
		return false, err
	}
	return true, b.keepObjects(objs[1:], main.Path)
}

func (b *builder) sortedResolvers() []*loader.Resolver {
	keys := make([]string, 0, len(b.resolvers))
	for k := range b.resolvers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*loader.Resolver, len(keys))
	for i, k := range keys {
		out[i] = b.resolvers[k]
	}
	return out
}

func (b *builder) Warn(format string, args ...any) { b.warn(format, args...) }

var (
	_ knowledge.PathLister    = (*builder)(nil)
	_ knowledge.WorkingDirer  = (*builder)(nil)
	_ knowledge.AccountNeeder = (*builder)(nil)
)

func (b *builder) Paths() []string {
	items := b.set.Items()
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Path
	}
	return out
}

func (b *builder) WorkingDir() string { return b.cfg.WorkingDir }

func (b *builder) NeedAccount(user, group string, _ keptset.Reason) {
	if user != "" {
		b.res.Users = appendNew(b.res.Users, user)
	}
	if group != "" {
		b.res.Groups = appendNew(b.res.Groups, group)
	}
}
