package knowledge

import (
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/internal/importgraph"
)

// Tcl is tclsh8.X or libtcl8.X. Its library ($tcl_library: init.tcl,
// tclIndex, clock.tcl, encoding/, msgs/, the Tcl modules of tcl8/) is
// compiled into libtcl; Debian puts it in /usr/share/tcltk/tcl8.X, upstream
// in <prefix>/lib/tcl8.X. Packages are found through auto_path (TCLLIBPATH
// and the compiled-in package path: Debian's /usr/share/tcltk,
// /usr/lib/tcltk/<triplet>, /usr/lib, ...) and the module paths. With its
// import graph (the default) only the library's own scripts, every
// pkgIndex.tcl, the packages and modules a kept script requires and the
// encodings it names are kept (see importgraph.Tcl); without it the trees.
var Tcl = &Runtime{
	ID:       "tcl",
	What:     "Tcl {version} library and packages",
	Programs: regexp.MustCompile(`^(tclsh\d+\.\d+|libtcl\d+\.\d+\.so.*)$`),
	Version:  regexp.MustCompile(`tcl(?:sh)?(\d+\.\d+)(\.so[.0-9]*)?$`),
	Prefix: Prefix{Landmarks: []string{"share/tcltk/tcl{version}/init.tcl", "lib/tcl{version}/init.tcl"},
		Default: "/usr"},
	Trees: []string{"{prefix}/share/tcltk", "{prefix}/lib/tcl{version}", "{prefix}/lib/tcltk",
		"{prefix}/lib/tcl8", "{prefix}/share/tcl8"},
	Env:      []EnvPath{{Name: "TCLLIBPATH", Sep: " "}, {Name: "TCL_LIBRARY"}},
	AppFiles: []string{".tcl", ".tm"},
	Imports: &ImportGraph{
		Lang:    "tcl",
		Library: []string{"{env:TCL_LIBRARY}", "{prefix}/share/tcltk/tcl{version}", "{prefix}/lib/tcl{version}"},
		// auto_path after the library and its parent: TCLLIBPATH (from
		// Env) and the compiled-in package path (Debian's and upstream's)
		Path: []string{"{prefix}/share/tcltk", "{prefix}/lib", "/usr/local/lib/tcltk", "/usr/local/share/tcltk",
			"{prefix}/lib/tcltk/{triplet}", "{prefix}/lib/tcltk", "{prefix}/lib/tcltk/tcl{version}"},
		// ::tcl::tm::path list
		Sites: []string{"{prefix}/share/tcltk/tcl{version}/tcl8", "{prefix}/lib/tcl{version}/tcl8",
			"{prefix}/lib/tcltk/tcl8/*", "{prefix}/lib/tcl8/*", "{prefix}/share/tcltk/tcl8/*", "/usr/local/lib/tcl8/*"},
		Quiet:   []string{"{prefix}/share/tcltk/tcl{version}", "{prefix}/lib/tcl{version}"},
		Sources: regexp.MustCompile(`\.(tcl|tm)$`),
	},
	TraceReplaceable: true,
}

// tcl walks the Tcl graph: the library is the first candidate holding
// init.tcl; the system encoding comes from the locale of the Env (a
// codeset other than UTF-8 keeps every encoding, since Tcl maps codeset
// names to its encodings by its own table).
func (a *applier) tcl(roots, lib, autoPath, modPaths []string, quiet func(string) bool) *importgraph.Result {
	t := &importgraph.Tcl{V: a.v, Quiet: quiet, ModulePaths: modPaths}
	for _, l := range lib {
		if exists(a.v, path.Join(l, "init.tcl")) {
			t.Library = l
			break
		}
	}
	t.AutoPath = append(a.envDirs(), autoPath...)
	var encs []string
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v, ok := a.c.Getenv(k)
		if !ok || v == "" {
			continue
		}
		_, cs, found := strings.Cut(v, ".")
		cs, _, _ = strings.Cut(cs, "@")
		if l := strings.ToLower(strings.ReplaceAll(cs, "-", "")); found && l != "utf8" {
			encs = append(encs, "*")
		}
		break
	}
	return t.Graph(uniqStrings(roots), encs)
}
