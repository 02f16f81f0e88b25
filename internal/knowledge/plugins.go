package knowledge

import (
	"path"
	"regexp"
)

// OptionalPlugin is a plugin that a program loads only for an optional
// feature and runs without, the same results, while the plugin brings a
// cost out of all proportion to the feature. Whether a plugin is optional
// is how its program reacts to a failed dlopen, a fact of the program's
// code that no package metadata, binary string or configuration records:
// this is the one part of a server's needs kept as data. The generic tree
// keeps of the package closure (private trees, compiled-in directories,
// see internal/keep) leave such a plugin, and the files only it reads, out
// of a static build, with a note; a traced run that loaded it keeps it.
type OptionalPlugin struct {
	// Name matches the base name of the plugin.
	Name *regexp.Regexp
	// Companions matches the base names of the entries beside the plugin
	// that only the plugin reads (its data, a directory of it).
	Companions *regexp.Regexp
	// Note says what a program without the plugin does, for the report.
	Note string
}

// OptionalPlugins are the plugins known to be optional.
//
// PostgreSQL's JIT provider llvmjit.so links libLLVM (over 100 MB) and is
// loaded only when the planner decides to JIT-compile a query; when the
// provider cannot be loaded PostgreSQL runs every query without JIT (the
// server's jit_provider fallback), with the same results. Its companions
// are the LLVM bitcode it inlines from: $libdir/bitcode and
// llvmjit_types.bc, read by no other code.
var OptionalPlugins = []OptionalPlugin{{
	Name:       regexp.MustCompile(`^llvmjit\.so$`),
	Companions: regexp.MustCompile(`^(llvmjit_types\.bc|bitcode)$`),
	Note:       "PostgreSQL's JIT provider: it needs libLLVM and runs only for JIT; queries run without JIT",
}}

// OptionalIn returns the optional plugin that the entry p is, or is a
// companion of, given the base names of the entries of its directory, and
// the plugin's base name; nil when none.
func OptionalIn(p string, siblings []string) (*OptionalPlugin, string) {
	base := path.Base(p)
	for i := range OptionalPlugins {
		o := &OptionalPlugins[i]
		if o.Name.MatchString(base) {
			return o, base
		}
		if o.Companions == nil || !o.Companions.MatchString(base) {
			continue
		}
		for _, s := range siblings {
			if o.Name.MatchString(s) {
				return o, s
			}
		}
	}
	return nil, ""
}
