// Package knowledgetest provides a simple knowledge.Keeper for testing rules:
// it keeps paths in a keptset.Set, resolves dlopened libraries in the default
// glibc directories and reads DT_NEEDED with pkg/elfread.
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
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Keeper is an in-memory knowledge.Keeper (also a PathLister, WorkingDirer
// and AccountNeeder). Fields may be set before running rules.
type Keeper struct {
	Set      *keptset.Set
	Env      map[string]string
	WorkDir  string
	LibDirs  []string // dirs searched by AddLibrary, in order
	Warnings []string
	Accounts []string // "user:group" from NeedAccount
	objs     map[string]keptset.Object
	v        *rootfs.View
}

var (
	_ knowledge.Keeper        = (*Keeper)(nil)
	_ knowledge.PathLister    = (*Keeper)(nil)
	_ knowledge.WorkingDirer  = (*Keeper)(nil)
	_ knowledge.AccountNeeder = (*Keeper)(nil)
)

// New returns an empty closure over v with env given as "KEY=value".
func New(v *rootfs.View, env ...string) *Keeper {
	c := &Keeper{
		Set:     keptset.NewSet(v),
		Env:     imagecfg.EnvMap(env),
		LibDirs: []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"},
		objs:    map[string]keptset.Object{},
		v:       v,
	}
	return c
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

// AddObject records o (and keeps its path) as if the closure had found it;
// an o.Path missing from the view is ignored.
func (c *Keeper) AddObject(o keptset.Object) {
	if _, err := c.Set.Keep(o.Path, keptset.Reason{Kind: keptset.KindEntrypoint}); err == nil {
		c.objs[o.Path] = o
	}
}

func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// AddPath implements knowledge.Keeper.
func (c *Keeper) AddPath(name string, why keptset.Reason) (bool, error) {
	if _, err := c.Set.KeepLink(name, why); err != nil {
		if notExist(err) || errors.Is(err, rootfs.ErrNotDir) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddTree implements knowledge.Keeper.
func (c *Keeper) AddTree(name string, why keptset.Reason) (bool, error) {
	if _, err := c.Set.KeepTree(name, why); err != nil {
		if notExist(err) || errors.Is(err, rootfs.ErrNotDir) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddExecutable implements knowledge.Keeper: it keeps name and, for an ELF
// object, its PT_INTERP and DT_NEEDED libraries found in LibDirs (and
// $ORIGIN runpaths).
func (c *Keeper) AddExecutable(name string, why keptset.Reason) (bool, error) {
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
	var gb *elfread.GoBuild
	if err == nil {
		gb, _ = elfread.GoInfo(f, f.Size())
	}
	f.Close()
	if err != nil {
		return true, nil // not ELF: data, or a script
	}
	base := path.Base(e.Path)
	o := keptset.Object{
		Path:   e.Path,
		Needed: ef.Needed,
		Iconv:  ef.RefsIconv,
		Libc:   base == "libc.so.6" || strings.HasPrefix(base, "ld-musl-"),
		Musl:   strings.HasPrefix(base, "ld-musl-") || ef.MuslInterp(),
		Static: !ef.HasDynamic,
		Go:     gb != nil,
		CGO:    gb != nil && gb.CGO,
	}
	c.objs[e.Path] = o
	if ef.Interp != "" {
		if _, err := c.AddExecutable(ef.Interp, keptset.Reason{Kind: keptset.KindInterp, From: e.Path}); err != nil {
			return true, err
		}
	}
	dirs := []string{}
	for _, rp := range strings.Split(ef.Runpath+":"+ef.Rpath, ":") {
		if rp != "" {
			dirs = append(dirs, strings.ReplaceAll(rp, "$ORIGIN", path.Dir(e.Path)))
		}
	}
	for _, n := range ef.Needed {
		if _, err := c.findLibrary(n, e.Path, dirs, keptset.Reason{Kind: keptset.KindNeeded, From: e.Path}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// AddLibrary implements knowledge.Keeper.
func (c *Keeper) AddLibrary(soname, requester string, why keptset.Reason) (bool, error) {
	return c.findLibrary(soname, requester, nil, why)
}

func (c *Keeper) findLibrary(soname, requester string, extra []string, why keptset.Reason) (bool, error) {
	if strings.Contains(soname, "/") {
		return c.AddExecutable(soname, why)
	}
	for _, d := range append(extra, c.LibDirs...) {
		p := path.Join(d, soname)
		if e, err := c.v.Stat(p); err == nil && e.Type == rootfs.TypeReg {
			return c.AddExecutable(p, why)
		}
	}
	return false, nil
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

// Run applies rules until none adds anything (at most 20 rounds).
func (c *Keeper) Run(rules ...knowledge.Rule) error {
	for round := 0; round < 20; round++ {
		before := c.Set.Len() + len(c.objs)
		for _, r := range rules {
			if err := r.Apply(c); err != nil {
				return fmt.Errorf("rule %s: %w", r.Name(), err)
			}
		}
		if c.Set.Len()+len(c.objs) == before {
			return nil
		}
	}
	return errors.New("rules did not settle in 20 rounds")
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
