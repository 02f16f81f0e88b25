// Package knowledgetest provides a knowledge.Keeper for testing rules: it
// keeps paths in a keptset.Set and resolves programs and dlopened libraries
// with the real loader emulation (pkg/loader), one process per program.
package knowledgetest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/loader"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Keeper is an in-memory knowledge.Keeper (also a PathLister, WorkingDirer,
// AccountNeeder, Tracer and ConfigKeeper). Fields may be set before running
// rules.
type Keeper struct {
	Set     *keptset.Set
	Env     map[string]string
	WorkDir string
	// Trace makes Traced report true, as after a traced run.
	Trace bool
	// Whole makes KeepInterpreterTrees report true (no import graphs).
	Whole    bool
	Warnings []string
	Accounts []string // "user:group" from NeedAccount
	// Missing are libraries the loader could not find, "name (needed by
	// requester)".
	Missing []string
	objs    map[string]keptset.Object
	procs   map[string]*loader.Resolver // by physical path of the program
	order   []string                    // keys of procs, in start order
	configs map[string]bool
	v       *rootfs.View
}

var (
	_ knowledge.Keeper        = (*Keeper)(nil)
	_ knowledge.PathLister    = (*Keeper)(nil)
	_ knowledge.WorkingDirer  = (*Keeper)(nil)
	_ knowledge.AccountNeeder = (*Keeper)(nil)
	_ knowledge.Tracer        = (*Keeper)(nil)
	_ knowledge.ConfigKeeper  = (*Keeper)(nil)
)

// New returns an empty keeper over v with env given as "KEY=value".
func New(v *rootfs.View, env ...string) *Keeper {
	return &Keeper{
		Set:     keptset.NewSet(v),
		Env:     imagecfg.EnvMap(env),
		objs:    map[string]keptset.Object{},
		procs:   map[string]*loader.Resolver{},
		configs: map[string]bool{},
		v:       v,
	}
}

// View implements knowledge.Keeper.
func (c *Keeper) View() *rootfs.View { return c.v }

// Getenv implements knowledge.Keeper.
func (c *Keeper) Getenv(key string) (string, bool) { v, ok := c.Env[key]; return v, ok }

// Has implements knowledge.Keeper.
func (c *Keeper) Has(p string) bool { return c.Set.Has(p) }

// Paths implements knowledge.PathLister.
func (c *Keeper) Paths() []string {
	var out []string
	for _, it := range c.Set.Items() {
		out = append(out, it.Path)
	}
	return out
}

// WorkingDir implements knowledge.WorkingDirer.
func (c *Keeper) WorkingDir() string { return c.WorkDir }

// KeepInterpreterTrees implements knowledge.WholeTrees.
func (c *Keeper) KeepInterpreterTrees() bool { return c.Whole }

// Traced implements knowledge.Tracer.
func (c *Keeper) Traced() bool { return c.Trace }

// KeepConfig implements knowledge.ConfigKeeper.
func (c *Keeper) KeepConfig(name string, why keptset.Reason) (bool, error) {
	ok, err := c.AddPath(name, why)
	if ok {
		if r, err := c.v.Resolve(name, true); err == nil {
			c.configs[r.Path] = true
		}
	}
	return ok, err
}

// Configs implements knowledge.ConfigKeeper.
func (c *Keeper) Configs() []string {
	var out []string
	for p := range c.configs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// NeedAccount implements knowledge.AccountNeeder.
func (c *Keeper) NeedAccount(user, group string, _ keptset.Reason) {
	a := user + ":" + group
	for _, x := range c.Accounts {
		if x == a {
			return
		}
	}
	c.Accounts = append(c.Accounts, a)
}

// Objects implements knowledge.Keeper.
func (c *Keeper) Objects() []keptset.Object {
	out := make([]keptset.Object, 0, len(c.objs))
	for _, o := range c.objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Object returns the kept object at physical path p.
func (c *Keeper) Object(p string) (keptset.Object, bool) { o, ok := c.objs[p]; return o, ok }

// AddObject keeps o.Path as a root. An ELF file gets its loader closure, as
// AddExecutable gives it, and o's flags are added to what the loader found,
// so a test can state facts a synthetic file does not carry (a Go binary, a
// caller of iconv); any other file is recorded as the object o. A path
// missing from the view is ignored.
func (c *Keeper) AddObject(o keptset.Object) {
	root := keptset.Reason{Kind: keptset.KindEntrypoint}
	if c.isELF(o.Path) {
		if _, err := c.AddExecutable(o.Path, root); err != nil {
			c.Warn("%s: %v", o.Path, err)
		}
		if r, err := c.v.Resolve(o.Path, true); err == nil {
			got := c.objs[r.Path]
			got.Path = r.Path
			got.Libc = got.Libc || o.Libc
			got.Musl = got.Musl || o.Musl
			got.Go = got.Go || o.Go
			got.CGO = got.CGO || o.CGO
			got.Iconv = got.Iconv || o.Iconv
			got.Static = got.Static || o.Static
			c.objs[r.Path] = got
		}
		return
	}
	if _, err := c.Set.Keep(o.Path, root); err == nil {
		c.objs[o.Path] = o
	}
}

func (c *Keeper) isELF(name string) bool {
	f, err := c.v.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	n, _ := f.ReadAt(b, 0)
	return elfread.IsELF(b[:n])
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, rootfs.ErrNotDir)
}

// AddPath implements knowledge.Keeper.
func (c *Keeper) AddPath(name string, why keptset.Reason) (bool, error) {
	if _, err := c.Set.KeepLink(name, why); err != nil {
		if notExist(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddTree implements knowledge.Keeper.
func (c *Keeper) AddTree(name string, why keptset.Reason) (bool, error) {
	if _, err := c.Set.KeepTree(name, why); err != nil {
		if notExist(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddExecutable implements knowledge.Keeper: it keeps name (a name without
// '/' is looked up in PATH) and, for an ELF program, its interpreter and
// libraries as pkg/loader finds them in a new process. A shared object
// without an interpreter (a module found in a tree) is loaded into the
// process of why.From, else into the first one.
func (c *Keeper) AddExecutable(name string, why keptset.Reason) (bool, error) {
	if !strings.Contains(name, "/") {
		pathEnv, ok := c.Env["PATH"]
		if !ok {
			pathEnv = imagecfg.DefaultPath
		}
		found, err := imagecfg.LookPath(c.v, pathEnv, c.WorkDir, name)
		if err != nil {
			return false, nil
		}
		name = found
	}
	ok, err := c.AddPath(name, why)
	if err != nil || !ok {
		return ok, err
	}
	e, err := c.v.Stat(name)
	if err != nil || e.Type != rootfs.TypeReg {
		return true, nil
	}
	if _, done := c.objs[e.Path]; done {
		return true, nil
	}
	f, err := c.v.Open(e.Path)
	if err != nil {
		return true, nil
	}
	ef, err := elfread.Parse(f, f.Size())
	f.Close()
	if err != nil {
		return true, nil // not ELF: data, or a script
	}
	if ef.Interp == "" && ef.Kind == elfread.KindShared {
		return true, c.dlopen(e.Path, why)
	}
	r, err := loader.NewResolver(c.v, name, loader.Options{Env: c.env(), WorkingDir: c.WorkDir})
	if err != nil {
		return true, fmt.Errorf("resolving libraries of %s: %w", name, err)
	}
	c.procs[e.Path] = r
	c.order = append(c.order, e.Path)
	res := r.Result()
	c.objs[e.Path] = keptset.Object{
		Path: e.Path, Needed: res.Exe.Needed, Iconv: res.UsesIconv, Libc: isLibc(e.Path),
		Musl: res.Musl, Static: res.Interp == nil, Go: res.Go, CGO: res.CGO,
	}
	if res.Interp != nil {
		if err := c.keepObject(*res.Interp, keptset.Reason{Kind: keptset.KindInterp, From: e.Path}); err != nil {
			return true, err
		}
	}
	for _, o := range res.Objects {
		if err := c.keepObject(o, keptset.Reason{Kind: keptset.KindNeeded, From: o.By, Detail: string(o.How)}); err != nil {
			return true, err
		}
	}
	c.settle(r, 0)
	return true, nil
}

// dlopen loads the shared object phys into a process.
func (c *Keeper) dlopen(phys string, why keptset.Reason) error {
	r := c.procs[why.From]
	if r == nil && len(c.order) > 0 {
		r = c.procs[c.order[0]]
	}
	if r == nil {
		c.objs[phys] = keptset.Object{Path: phys, Libc: isLibc(phys)}
		c.Warn("%s is a shared object but no program is kept to load it", phys)
		return nil
	}
	before := len(r.Result().Missing)
	objs, err := r.Dlopen(phys, "")
	c.settle(r, before)
	if err != nil {
		c.Warn("loading %s: %v", phys, err)
		return nil
	}
	for _, o := range objs {
		if o.Path == phys {
			continue // kept by AddExecutable with its own reason
		}
		if err := c.keepObject(o, keptset.Reason{Kind: keptset.KindNeeded, From: o.By, Detail: string(o.How)}); err != nil {
			return err
		}
	}
	if _, ok := c.objs[phys]; !ok {
		c.objs[phys] = keptset.Object{Path: phys, Libc: isLibc(phys)}
	}
	return nil
}

// AddLibrary implements knowledge.Keeper: a dlopen of soname inside the
// process that has requester loaded.
func (c *Keeper) AddLibrary(soname, requester string, why keptset.Reason) (bool, error) {
	r, by := c.procs[requester], ""
	if r == nil {
		for _, k := range c.order {
			if c.procs[k].Loaded(requester) {
				r, by = c.procs[k], requester
				break
			}
		}
	}
	if r == nil {
		return false, nil
	}
	before := len(r.Result().Missing)
	objs, err := r.Dlopen(soname, by)
	if err != nil {
		return false, nil // not found: the rule decides whether to warn
	}
	c.settle(r, before)
	for i, o := range objs {
		w := keptset.Reason{Kind: keptset.KindNeeded, From: o.By, Detail: string(o.How)}
		if i == 0 {
			w = why
		}
		if err := c.keepObject(o, w); err != nil {
			return true, err
		}
	}
	return true, nil
}

// settle records the libraries r missed since before, and the loader's own
// files.
func (c *Keeper) settle(r *loader.Resolver, before int) {
	res := r.Result()
	for _, m := range res.Missing[before:] {
		s := m.Name + " (needed by " + m.By + ")"
		found := false
		for _, x := range c.Missing {
			found = found || x == s
		}
		if !found {
			c.Missing = append(c.Missing, s)
		}
	}
	for _, f := range res.ConfigFiles {
		if _, err := c.Set.Keep(f, keptset.Reason{Kind: keptset.KindLoader, From: res.Exe.Path}); err != nil && !notExist(err) {
			c.Warn("keeping %s: %v", f, err)
		}
	}
}

func (c *Keeper) keepObject(o loader.Object, why keptset.Reason) error {
	name := o.OpenedAs
	if name == "" {
		name = o.Path
	}
	p, err := c.Set.Keep(name, why)
	if err != nil {
		return fmt.Errorf("keeping %s: %w", name, err)
	}
	for _, d := range o.Dirs {
		if _, err := c.Set.Keep(d, keptset.Reason{Kind: keptset.KindSymlink, From: p, Detail: "on the path " + name}); err != nil && !notExist(err) {
			return err
		}
	}
	if _, ok := c.objs[p]; !ok {
		base := path.Base(p)
		c.objs[p] = keptset.Object{Path: p, Libc: isLibc(p), Musl: strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl-"), Needed: o.Needed}
	}
	return nil
}

func isLibc(p string) bool {
	base := path.Base(p)
	return strings.HasPrefix(base, "libc.so.") || strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl-")
}

func (c *Keeper) env() []string {
	var out []string
	for k, v := range c.Env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Warn implements knowledge.Keeper; identical notes are recorded once.
func (c *Keeper) Warn(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, w := range c.Warnings {
		if w == s {
			return
		}
	}
	c.Warnings = append(c.Warnings, s)
}

// Run applies rules until none adds anything (knowledge.Run).
func (c *Keeper) Run(rules ...knowledge.Rule) error {
	return knowledge.Run(c, c.Set.Len, rules...)
}

// Kept reports whether the physical path p is kept, for assertions.
func (c *Keeper) Kept(p string) bool { return c.Set.Has(p) }

// Reasons returns the reasons p was kept.
func (c *Keeper) Reasons(p string) []keptset.Reason {
	if it := c.Set.Item(p); it != nil {
		return it.Reasons
	}
	return nil
}
