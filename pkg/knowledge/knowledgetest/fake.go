// Package knowledgetest provides a simple knowledge.Closure for testing rules:
// it keeps paths in a closure.Set, resolves dlopened libraries in the default
// glibc directories and reads DT_NEEDED with pkg/elfread.
package knowledgetest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/pkg/closure"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Closure is an in-memory knowledge.Closure (also a PathLister, WorkingDirer
// and AccountNeeder). Fields may be set before running rules.
type Closure struct {
	Set      *closure.Set
	Env      map[string]string
	WorkDir  string
	LibDirs  []string // dirs searched by AddLibrary, in order
	Warnings []string
	Accounts []string // "user:group" from NeedAccount
	objs     map[string]closure.Object
	v        *rootfs.View
}

var (
	_ knowledge.Closure       = (*Closure)(nil)
	_ knowledge.PathLister    = (*Closure)(nil)
	_ knowledge.WorkingDirer  = (*Closure)(nil)
	_ knowledge.AccountNeeder = (*Closure)(nil)
)

// New returns an empty closure over v with env given as "KEY=value".
func New(v *rootfs.View, env ...string) *Closure {
	c := &Closure{
		Set:     closure.NewSet(v),
		Env:     map[string]string{},
		LibDirs: []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"},
		objs:    map[string]closure.Object{},
		v:       v,
	}
	for _, kv := range env {
		k, val, _ := strings.Cut(kv, "=")
		c.Env[k] = val
	}
	return c
}

// View implements knowledge.Closure.
func (c *Closure) View() *rootfs.View { return c.v }

// Getenv implements knowledge.Closure.
func (c *Closure) Getenv(key string) (string, bool) { v, ok := c.Env[key]; return v, ok }

// Has implements knowledge.Closure.
func (c *Closure) Has(p string) bool { return c.Set.Has(p) }

// Paths implements knowledge.PathLister.
func (c *Closure) Paths() []string {
	var out []string
	for _, it := range c.Set.Items() {
		out = append(out, it.Path)
	}
	return out
}

// WorkingDir implements knowledge.WorkingDirer.
func (c *Closure) WorkingDir() string { return c.WorkDir }

// NeedAccount implements knowledge.AccountNeeder.
func (c *Closure) NeedAccount(user, group string, _ closure.Reason) {
	a := user + ":" + group
	for _, x := range c.Accounts {
		if x == a {
			return
		}
	}
	c.Accounts = append(c.Accounts, a)
}

// Objects implements knowledge.Closure.
func (c *Closure) Objects() []closure.Object {
	out := make([]closure.Object, 0, len(c.objs))
	for _, o := range c.objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Object returns the kept object at physical path p.
func (c *Closure) Object(p string) (closure.Object, bool) { o, ok := c.objs[p]; return o, ok }

// AddObject records o (and keeps its path) as if the closure had found it;
// an o.Path missing from the view is ignored.
func (c *Closure) AddObject(o closure.Object) {
	if _, err := c.Set.Keep(o.Path, closure.Reason{Kind: closure.KindEntrypoint}); err == nil {
		c.objs[o.Path] = o
	}
}

func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// AddPath implements knowledge.Closure.
func (c *Closure) AddPath(name string, why closure.Reason) (bool, error) {
	if _, err := c.Set.KeepLink(name, why); err != nil {
		if notExist(err) || errors.Is(err, rootfs.ErrNotDir) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddTree implements knowledge.Closure.
func (c *Closure) AddTree(name string, why closure.Reason) (bool, error) {
	if _, err := c.Set.KeepTree(name, why); err != nil {
		if notExist(err) || errors.Is(err, rootfs.ErrNotDir) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// AddExecutable implements knowledge.Closure: it keeps name and, for an ELF
// object, its PT_INTERP and DT_NEEDED libraries found in LibDirs (and
// $ORIGIN runpaths).
func (c *Closure) AddExecutable(name string, why closure.Reason) (bool, error) {
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
	o := closure.Object{
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
		if _, err := c.AddExecutable(ef.Interp, closure.Reason{Kind: closure.KindInterp, From: e.Path}); err != nil {
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
		if _, err := c.findLibrary(n, e.Path, dirs, closure.Reason{Kind: closure.KindNeeded, From: e.Path}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// AddLibrary implements knowledge.Closure.
func (c *Closure) AddLibrary(soname, requester string, why closure.Reason) (bool, error) {
	return c.findLibrary(soname, requester, nil, why)
}

func (c *Closure) findLibrary(soname, requester string, extra []string, why closure.Reason) (bool, error) {
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

// Warn implements knowledge.Closure; identical notes are recorded once.
func (c *Closure) Warn(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, w := range c.Warnings {
		if w == s {
			return
		}
	}
	c.Warnings = append(c.Warnings, s)
}

// Run applies rules until none adds anything (at most 20 rounds).
func (c *Closure) Run(rules ...knowledge.Rule) error {
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
func (c *Closure) Kept(p string) bool { return c.Set.Has(p) }

// Reasons returns the reasons p was kept.
func (c *Closure) Reasons(p string) []closure.Reason {
	if it := c.Set.Item(p); it != nil {
		return it.Reasons
	}
	return nil
}
