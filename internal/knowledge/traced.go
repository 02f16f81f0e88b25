package knowledge

import (
	"debug/elf"
	"errors"
	"sync"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Trimming with a trace. Some rules keep data a program selects at run
// time: every gconv module for a general converter, the whole zoneinfo for
// a program that takes zones by name, every OpenSSL provider and engine.
// Statically that is the only safe keep. After a traced run (see Tracer)
// the run's observations already hold the modules and zones it opened, so
// these rules keep only what static knowledge proves necessary beside them
// — the charsets and zones the image names, the modules its configuration
// loads — and say so in a note, naming the flag that restores the whole
// keep (--keep-gconv, --keep-zoneinfo, --keep-openssl-modules). It is the
// safety net of the interpreters' traced trees: the run stands for the
// distribution's data, what the image itself names stays.

// traced reports whether c's kept set holds a traced run's observations.
func traced(c Keeper) bool {
	t, ok := c.(Tracer)
	return ok && t.Traced()
}

// resolvedPath returns the physical path of name in v (name itself when it
// does not resolve).
func resolvedPath(v *rootfs.View, name string) string {
	if r, err := v.Resolve(name, true); err == nil {
		return r.Path
	}
	return name
}

// unwinders are the glibc functions that dlopen libgcc_s.so.1 to unwind
// the stack (thread cancellation and exit, backtrace).
var unwinders = []string{"pthread_cancel", "pthread_exit", "thrd_exit", "backtrace"}

// unwinder returns the first kept object (by path) that imports one of
// unwinders, "" when none; cache (nil for none) holds what was read. An
// object whose symbols cannot be read counts as one.
func unwinder(c Keeper, cache *sync.Map) string {
	objs := c.Objects()
	sortObjects(objs)
	for _, o := range objs {
		if isLibcObject(o) {
			continue
		}
		var yes bool
		if x, ok := load(cache, o.Path); ok {
			yes = x
		} else {
			yes = importsAny(c.View(), o.Path, unwinders)
			if cache != nil {
				cache.Store(o.Path, yes)
			}
		}
		if yes {
			return o.Path
		}
	}
	return ""
}

// importsAny reports whether the ELF object p imports one of names (an
// undefined dynamic symbol); true when its symbols cannot be read.
func importsAny(v *rootfs.View, p string, names []string) (found bool) {
	fh, err := v.Open(p)
	if err != nil {
		return true
	}
	defer fh.Close()
	defer func() {
		if recover() != nil {
			found = true
		}
	}()
	f, err := elf.NewFile(fh)
	if err != nil || len(f.Sections) == 0 {
		return true // unknown: the symbols need section headers
	}
	syms, err := f.ImportedSymbols()
	if err != nil {
		return !errors.Is(err, elf.ErrNoSymbols)
	}
	for _, s := range syms {
		for _, n := range names {
			if s.Name == n {
				return true
			}
		}
	}
	return false
}

func load(cache *sync.Map, key string) (bool, bool) {
	if cache == nil {
		return false, false
	}
	x, ok := cache.Load(key)
	if !ok {
		return false, false
	}
	return x.(bool), true
}
