package knowledge

import (
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/internal/importgraph"
)

// perl builds @INC as perl does (PERL5LIB, PERLLIB, then the compiled-in
// directories: the entry's templates, which follow Debian's and upstream's
// order, and the site, vendor and core directories Config.pm records) and
// walks the graph from roots and the start-up modules, with the modules
// PERL5OPT's -M and -m options load.
func (a *applier) perl(roots, inc, startup []string, quiet func(string) bool) *importgraph.Result {
	inc = append(a.envDirs(), inc...)
	inc = append(inc, perlConfigDirs(a, inc)...)
	if opt, ok := a.c.Getenv("PERL5OPT"); ok {
		startup = append(append([]string(nil), startup...), perlOptModules(opt)...)
	}
	wd := ""
	if w, ok := a.c.(WorkingDirer); ok {
		wd = w.WorkingDir()
	}
	a.inc = uniqStrings(inc)
	pl := &importgraph.Perl{V: a.v, INC: a.inc, WorkDir: wd, Quiet: quiet}
	return pl.Graph(uniqStrings(roots), existingStartup(a, inc, startup))
}

// existingStartup drops start-up files that are in no directory of inc
// (sitecustomize.pl, run only when present).
func existingStartup(a *applier, inc, startup []string) []string {
	var out []string
	for _, m := range startup {
		if !strings.HasSuffix(m, ".pl") {
			out = append(out, m)
			continue
		}
		for _, d := range inc {
			if exists(a.v, path.Join(d, m)) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

var rePerlConfigDir = regexp.MustCompile(`(?m)^\s*(sitearchexp|sitelibexp|vendorarchexp|vendorlibexp|archlibexp|privlibexp)\s*=>\s*'(/[^']*)'`)

// perlConfigDirs returns the @INC directories Config.pm (the first found
// in inc) records, in perl's order: site, vendor, core.
func perlConfigDirs(a *applier, inc []string) []string {
	for _, d := range inc {
		data := readConfig(a.v, path.Join(d, "Config.pm"))
		if data == nil {
			continue
		}
		got := map[string]string{}
		for _, m := range rePerlConfigDir.FindAllSubmatch(data, -1) {
			got[string(m[1])] = string(m[2])
		}
		var out []string
		for _, k := range []string{"sitearchexp", "sitelibexp", "vendorarchexp", "vendorlibexp", "archlibexp", "privlibexp"} {
			if p := got[k]; p != "" && isDir(a.v, p) {
				out = append(out, path.Clean(p))
			}
		}
		return out
	}
	return nil
}

// perlOptModules returns the modules of PERL5OPT's -M and -m switches.
func perlOptModules(opt string) []string {
	var out []string
	for _, w := range strings.Fields(opt) {
		if !strings.HasPrefix(w, "-M") && !strings.HasPrefix(w, "-m") {
			continue
		}
		m := strings.TrimLeft(w[2:], "-")
		m, _, _ = strings.Cut(m, "=")
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// perlFallback returns the namespace directories kept whole for a Perl
// file with a require pare cannot follow: for Foo/Bar.pm (or Foo.pm) below
// a directory of @INC, every directory Foo/ of @INC (a computed require
// loads a module of the same family: JSON's backends, a driver of DBI);
// none when the file is not below @INC or its family has no directory.
func (a *applier) perlFallback(file string) []string {
	for _, d := range a.inc {
		rel, ok := strings.CutPrefix(file, d+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		top = strings.TrimSuffix(top, ".pm")
		var out []string
		for _, d2 := range a.inc {
			if p := path.Join(d2, top); isDir(a.v, p) {
				out = append(out, p)
			}
		}
		return out
	}
	return nil
}
