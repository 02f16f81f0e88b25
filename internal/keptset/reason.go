// Package keptset holds the set of paths a pared image keeps, each with
// every reason it was kept (a reason names the path that caused it, so Why
// follows the chain to a root), and the symlinks and parent directories a
// kept name needs to resolve. What to keep is decided by internal/keep.
package keptset

import "fmt"

// Kind names why a path was kept.
type Kind string

// Reason kinds.
const (
	KindEntrypoint Kind = "entrypoint" // the image's Entrypoint/Cmd program
	KindInclude    Kind = "include"    // --include / --include-exe
	KindInterp     Kind = "interp"     // PT_INTERP of From
	KindNeeded     Kind = "needed"     // DT_NEEDED of From
	KindPreload    Kind = "preload"    // /etc/ld.so.preload or LD_PRELOAD
	KindLoader     Kind = "loader"     // a file the dynamic loader of From reads (ld.so.cache)
	KindDlopen     Kind = "dlopen"     // loaded at run time by From (NSS, gconv, providers)
	KindHwcaps     Kind = "hwcaps"     // another CPU variant of From
	KindShebang    Kind = "shebang"    // interpreter named by From's #! line
	KindSymlink    Kind = "symlink"    // a link traversed on the way to From
	KindParent     Kind = "parent"     // a directory holding From
	KindHardlink   Kind = "hardlink"   // another name of From's inode
	KindKnowledge  Kind = "knowledge"  // a runtime rule (Rule names it)
	KindTrace      Kind = "trace"      // observed while the program ran
	KindShell      Kind = "shell"      // named by a shell-form command line
	KindPackage    Kind = "package"    // a runtime file of the OS package of From (Detail names it)
	KindCompiled   Kind = "compiled"   // a path compiled into the ELF object From
	KindApp        Kind = "app"        // a file the image's own layers added outside any package
)

// Reason says why one path is kept. From is the path that caused it (empty for
// roots); Rule names the knowledge rule; Detail is free text for people.
type Reason struct {
	Kind   Kind   `json:"kind"`
	From   string `json:"from,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (r Reason) String() string {
	var s string
	switch r.Kind {
	case KindEntrypoint:
		s = "entrypoint"
	case KindInclude:
		s = "--include"
	case KindInterp:
		s = "PT_INTERP of " + r.From
	case KindNeeded:
		s = "DT_NEEDED of " + r.From
	case KindPreload:
		s = "preloaded"
	case KindLoader:
		s = "read by the dynamic loader of " + r.From
	case KindDlopen:
		s = "dlopened by " + r.From
	case KindHwcaps:
		s = "CPU variant of " + r.From
	case KindShebang:
		s = "#! interpreter of " + r.From
	case KindSymlink:
		s = "symlink on the way to " + r.From
	case KindParent:
		s = "directory of " + r.From
	case KindHardlink:
		s = "hard link of " + r.From
	case KindKnowledge:
		s = "rule " + r.Rule
		if r.From != "" {
			s += " for " + r.From
		}
	case KindTrace:
		s = "used at run time"
		if r.From != "" {
			s += " by " + r.From
		}
	case KindShell:
		s = "named in the shell command of " + r.From
	case KindPackage:
		s = "package runtime file"
		if r.From != "" {
			s += " for " + r.From
		}
	case KindCompiled:
		s = "path compiled into " + r.From
	case KindApp:
		s = "application file"
	default:
		s = string(r.Kind)
	}
	if r.Detail != "" {
		s = fmt.Sprintf("%s (%s)", s, r.Detail)
	}
	return s
}

// Object describes one ELF object kept in the closure.
type Object struct {
	Path   string   `json:"path"`           // physical path in the image
	Libc   bool     `json:"libc,omitempty"` // glibc's libc.so.6 or musl's loader
	Musl   bool     `json:"musl,omitempty"`
	Go     bool     `json:"go,omitempty"`    // a Go binary
	CGO    bool     `json:"cgo,omitempty"`   // a Go binary built with cgo
	Iconv  bool     `json:"iconv,omitempty"` // references iconv_open
	Static bool     `json:"static,omitempty"`
	Needed []string `json:"needed,omitempty"` // DT_NEEDED names
}
