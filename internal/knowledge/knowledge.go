// Package knowledge holds the runtime knowledge: what programs load without
// naming it in their ELF headers (NSS modules, CA bundles, zoneinfo, gconv,
// OpenSSL providers, interpreter trees, server data). Language runtimes and
// servers are data (Runtime entries in Runtimes); the system rules are small
// Go types. Every rule works through the Keeper interface, so it can be
// tested alone, and rules that serve others (CA certificates, media types,
// locales) ask for a Capability instead of matching other rules' programs.
package knowledge

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Object describes one ELF object already kept in the closure.
type Object = keptset.Object

// Keeper is what a rule sees of the kept set under construction: it asks it
// to keep paths, programs and libraries.
type Keeper interface {
	// View is the image's filesystem.
	View() *rootfs.View
	// Getenv returns the image config's value for key (last one wins).
	Getenv(key string) (string, bool)
	// Has reports whether the physical path is kept.
	Has(path string) bool
	// Objects lists the ELF objects kept so far.
	Objects() []Object
	// AddPath keeps name (resolved in the image, with its symlinks and parent
	// directories). A missing name is not an error: it returns false.
	AddPath(name string, why keptset.Reason) (bool, error)
	// AddTree keeps the directory name and everything below it.
	AddTree(name string, why keptset.Reason) (bool, error)
	// AddExecutable keeps a program and its full loader closure (or script
	// interpreter chain).
	AddExecutable(name string, why keptset.Reason) (bool, error)
	// AddLibrary keeps the library the loader would find for a dlopen of
	// soname by requester, with its own closure.
	AddLibrary(soname, requester string, why keptset.Reason) (bool, error)
	// Warn records a note for the report.
	Warn(format string, args ...any)
}

// Rule is one piece of runtime knowledge.
type Rule interface {
	// Name is a short stable identifier, used in reasons ("nss", "ca-certs").
	Name() string
	// Apply adds what the rule knows to be needed, given what is kept so far.
	// It is called repeatedly until no rule adds anything.
	Apply(c Keeper) error
}

// PathLister is implemented by a Keeper that can list what it keeps. Rules
// that look for an application's own files (interpreted code next to a kept
// script, node_modules above it) use it when it is there.
type PathLister interface {
	// Paths returns the physical paths kept so far, sorted.
	Paths() []string
}

// WorkingDirer is implemented by a Keeper that knows the image's working
// directory (config WorkingDir), where interpreted applications usually live.
type WorkingDirer interface {
	// WorkingDir returns the image's working directory, "" when unset.
	WorkingDir() string
}

// AccountNeeder is implemented by a Keeper that collects the user and group
// names programs switch to at run time (a server's "user www-data;"), so the
// generated /etc/passwd and /etc/group keep them.
type AccountNeeder interface {
	// NeedAccount records that user (and group, when not empty) must exist.
	NeedAccount(user, group string, why keptset.Reason)
}

// Tracer is implemented by a Keeper whose kept set includes what a traced
// run used. A Runtime that is TraceReplaceable then leaves its distribution
// trees to the trace (the run opened what it needed of them) and keeps only
// what a run may not touch every time: the application and its dependencies.
type Tracer interface {
	// Traced reports whether a trace's observations are in the kept set.
	Traced() bool
}

// GraphTrees is implemented by a Keeper that keeps directory trees whole by
// a rule of its own (the application files under /opt, /usr/local, /app).
// A runtime whose import graph is on names the trees the graph searches (its
// library trees, a virtual environment's site-packages, an application's
// node_modules): what of them is needed is what the graph keeps, so the
// Keeper's own rule leaves them out. A Keeper told before its rule ran
// leaves them; after, it has kept them already (more, never less).
type GraphTrees interface {
	// LeaveToGraph records that the directory tree dir is searched by the
	// import graph of runtime.
	LeaveToGraph(dir, runtime string)
}

// ConfigKeeper is implemented by a Keeper that knows which kept files are
// configuration: files named as arguments, files rules keep as a program's
// configuration. Rules that read settings out of configuration (the locale
// names of lc_messages or LANG) scan them, as well as the kept regular
// files under /etc.
type ConfigKeeper interface {
	// KeepConfig keeps name like AddPath and records it as configuration.
	KeepConfig(name string, why keptset.Reason) (bool, error)
	// Configs returns the physical paths of the kept configuration files,
	// sorted.
	Configs() []string
}

// Default returns every rule, in a stable order: the system rules, then the
// Runtimes entries.
func Default() []Rule {
	rules := []Rule{
		OSRelease{},
		NSS{},
		NewLibgccS(),
		NewGconv(),
		Locale{},
		CACerts{},
		OpenSSL{},
		NewTZData(),
		MIMETypes{},
	}
	for _, r := range Runtimes {
		rules = append(rules, r)
	}
	return rules
}

// Without returns rules less those named (for example "tzdata" for
// --no-tzdata).
func Without(rules []Rule, names ...string) []Rule {
	var out []Rule
next:
	for _, r := range rules {
		for _, n := range names {
			if r.Name() == n {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// MaxRounds bounds Run. Rules only add to a finite image, so they always
// settle; the bound is a safety net against a rule that misbehaves.
const MaxRounds = 10000

// Run applies rules to c until a whole round adds nothing (size, the number
// of kept paths, stops growing). Past MaxRounds it fails, naming the rules
// that still grew in the last round.
func Run(c Keeper, size func() int, rules ...Rule) error {
	for round := 0; round < MaxRounds; round++ {
		var growing []string
		for _, r := range rules {
			before := size()
			if err := r.Apply(c); err != nil {
				return fmt.Errorf("rule %s: %w", r.Name(), err)
			}
			if size() != before {
				growing = append(growing, r.Name())
			}
		}
		if len(growing) == 0 {
			return nil
		}
		if round == MaxRounds-1 {
			sort.Strings(growing)
			return fmt.Errorf("knowledge rules did not settle in %d rounds; still growing: %s", MaxRounds, strings.Join(growing, ", "))
		}
	}
	return nil
}

// RuleFunc makes a Rule of a function: a step of the Keeper's own that must
// run every round with the rules (the package-aware closure), so that Run
// settles over both.
func RuleFunc(name string, apply func(Keeper) error) Rule { return funcRule{name, apply} }

type funcRule struct {
	name  string
	apply func(Keeper) error
}

func (r funcRule) Name() string         { return r.name }
func (r funcRule) Apply(c Keeper) error { return r.apply(c) }

// Whole returns rules with the precise rules named replaced by their
// keep-everything variants: "gconv" keeps every iconv module
// (--keep-gconv), "tzdata" the whole zoneinfo (--keep-zoneinfo),
// "openssl" every provider and engine after a trace
// (--keep-openssl-modules). Other names are ignored.
func Whole(rules []Rule, names ...string) []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = r
		for _, n := range names {
			switch x := r.(type) {
			case Gconv:
				if n == x.Name() {
					x.All = true
					out[i] = x
				}
			case TZData:
				if n == x.Name() {
					x.All = true
					out[i] = x
				}
			case OpenSSL:
				if n == x.Name() {
					x.All = true
					out[i] = x
				}
			}
		}
	}
	return out
}
