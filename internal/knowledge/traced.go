package knowledge

import "github.com/pare-dev/pare/pkg/rootfs"

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
