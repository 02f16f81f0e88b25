// Package shells names the programs that run shell code, once: pare keeps
// and scans the scripts of POSIX-style shells, and reports every shell an
// image loses.
package shells

import (
	"path"
	"sort"
)

// names maps the base name of each shell program to whether it reads
// POSIX sh syntax (csh, tcsh and fish do not). busybox runs its sh applet.
var names = map[string]bool{
	"sh": true, "bash": true, "rbash": true, "dash": true, "ash": true, "ksh": true, "ksh93": true,
	"mksh": true, "zsh": true, "posh": true, "yash": true, "busybox": true,
	"csh": false, "tcsh": false, "fish": false,
}

// Is tells whether the program p (a path or a base name) is a shell.
func Is(p string) bool {
	_, ok := names[path.Base(p)]
	return ok
}

// IsPOSIX tells whether the program p (a path or a base name) is a shell
// that reads POSIX sh syntax.
func IsPOSIX(p string) bool { return names[path.Base(p)] }

// Names lists the base names of the shells, sorted.
func Names() []string {
	var out []string
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
