package pkgdb

import (
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Index answers ownership questions about an image's files: which packages
// installed a physical path, what a package installed, which installed
// package satisfies a dependency, which directories belong to one package
// alone. Paths in an Index are physical: a listed /bin/ls of a usr-merged
// image is /usr/bin/ls, and a diverted file is where dpkg moved it.
type Index struct {
	DB *DB
	v  *rootfs.View

	owners   map[string][]*Package // physical path -> packages listing it
	files    map[*Package][]string // package -> physical paths, in list order
	byName   map[string][]*Package // name -> installed packages of that name
	provides map[string][]*Package // virtual name -> providers
	// under holds, for every directory that contains listed paths, the
	// packages owning something strictly below it.
	under map[string]map[*Package]bool
	// managed are paths made by the package manager outside any file list:
	// alternatives links (master and slaves, and /etc/alternatives/NAME).
	managed map[string]string

	// StatOverrides are the entries of /var/lib/dpkg/statoverride by path.
	StatOverrides map[string]StatOverride
	// Alternatives are the alternatives of /var/lib/dpkg/alternatives by name.
	Alternatives map[string]Alternative
}

// StatOverride is one line of dpkg's statoverride file: the owner and mode a
// path must have, overriding the package's.
type StatOverride struct {
	Owner, Group string
	Mode         fs.FileMode
}

// Alternative is one dpkg alternative: its generic link (master), the
// slave links by slave name, and the providers' paths.
type Alternative struct {
	Name      string
	Link      string            // e.g. /usr/bin/editor
	Slaves    map[string]string // slave name -> slave link
	Providers []string          // provider paths, in database order
}

// Index builds the ownership index of db over the view v it was read from.
func (db *DB) Index(v *rootfs.View) *Index {
	ix := &Index{
		DB: db, v: v,
		owners: map[string][]*Package{}, files: map[*Package][]string{},
		byName: map[string][]*Package{}, provides: map[string][]*Package{},
		under: map[string]map[*Package]bool{}, managed: map[string]string{},
		StatOverrides: map[string]StatOverride{}, Alternatives: map[string]Alternative{},
	}
	resolved := map[string]string{} // listed path -> physical, shared by packages
	for _, p := range db.Packages {
		ix.byName[p.Name] = append(ix.byName[p.Name], p)
		for _, pv := range p.Provides {
			ix.provides[pv] = append(ix.provides[pv], p)
		}
		seen := map[string]bool{}
		for _, f := range p.Files {
			if f == "/." || f == "/" || f == "" {
				continue
			}
			name := f
			if d, ok := db.diversions[f]; ok && d.By != p.Name {
				name = d.To
			}
			phys, ok := resolved[name]
			if !ok {
				phys = path.Clean(name)
				if res, err := v.Resolve(name, false); err == nil {
					phys = res.Path
				}
				resolved[name] = phys
			}
			if seen[phys] {
				continue
			}
			seen[phys] = true
			ix.files[p] = append(ix.files[p], phys)
			ix.owners[phys] = append(ix.owners[phys], p)
			for d := path.Dir(phys); ; d = path.Dir(d) {
				m := ix.under[d]
				if m == nil {
					m = map[*Package]bool{}
					ix.under[d] = m
				}
				m[p] = true
				if d == "/" {
					break
				}
			}
		}
	}
	if db.Type == TypeDeb {
		ix.readStatOverride()
		ix.readAlternatives()
	}
	return ix
}

// Owners returns the packages whose file lists name the physical path p.
func (ix *Index) Owners(p string) []*Package { return ix.owners[p] }

// Files returns the physical paths package p installed, directories
// included, in file-list order.
func (ix *Index) Files(p *Package) []string { return ix.files[p] }

// Listed reports whether some package lists the physical path p.
func (ix *Index) Listed(p string) bool { return len(ix.owners[p]) > 0 }

// Managed reports whether the physical path p was made by the package
// manager without being in a file list (an alternatives link), and names
// the alternative.
func (ix *Index) Managed(p string) (string, bool) {
	n, ok := ix.managed[p]
	return n, ok
}

// OwnersUnder returns the packages owning listed paths strictly below the
// directory dir, sorted by name.
func (ix *Index) OwnersUnder(dir string) []*Package {
	m := ix.under[path.Clean(dir)]
	out := make([]*Package, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sortPackages(out)
	return out
}

// PrivateTo reports whether everything any package lists below the
// directory dir belongs to packages for which in returns true, and at least
// one listed path lies below it.
func (ix *Index) PrivateTo(dir string, in func(*Package) bool) bool {
	m := ix.under[path.Clean(dir)]
	if len(m) == 0 {
		return false
	}
	for p := range m {
		if !in(p) {
			return false
		}
	}
	return true
}

// Package returns the installed package called name, preferring one of
// arch when several architectures are installed; nil when there is none.
func (ix *Index) Package(name, arch string) *Package {
	if ix.DB.Type == TypeDeb { // "pkg:any", "pkg:amd64"; apk's "so:" and "cmd:" are names
		n, qual, _ := strings.Cut(name, ":")
		name = n
		if qual != "" && qual != "any" && qual != "native" {
			arch = qual
		}
	}
	ps := ix.byName[name]
	for _, p := range ps {
		if p.Arch == arch {
			return p
		}
	}
	for _, p := range ps {
		if p.Arch == "all" || p.Arch == "noarch" {
			return p
		}
	}
	if len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// Satisfy returns the installed package that satisfies one dependency (a
// list of alternatives) of a package of arch: the first alternative
// installed under its own name, else the first one with an installed
// provider; nil when none is installed.
func (ix *Index) Satisfy(alts []string, arch string) *Package {
	for _, a := range alts {
		if p := ix.Package(a, arch); p != nil {
			return p
		}
	}
	for _, a := range alts {
		if ix.DB.Type == TypeDeb {
			a, _, _ = strings.Cut(a, ":")
		}
		if ps := ix.provides[a]; len(ps) > 0 {
			return ps[0]
		}
	}
	return nil
}

// DataOnly reports whether p holds no machine code and no programs: its
// architecture is "all" (apk "noarch") and none of its listed regular files
// has an execute bit, files for which ignore returns true (service scripts
// such as /etc/init.d/NAME) left aside; ignore may be nil.
func (ix *Index) DataOnly(p *Package, ignore func(path string) bool) bool {
	if p.Arch != "all" && p.Arch != "noarch" {
		return false
	}
	for _, f := range ix.files[p] {
		if ignore != nil && ignore(f) {
			continue
		}
		e, err := ix.v.Lstat(f)
		if err != nil {
			continue
		}
		if e.Type == rootfs.TypeReg && e.Mode&0o111 != 0 {
			return false
		}
	}
	return true
}

func (ix *Index) readStatOverride() {
	b, err := ix.v.ReadFile("/var/lib/dpkg/statoverride", maxDB)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		m, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil {
			continue
		}
		ix.StatOverrides[f[3]] = StatOverride{Owner: f[0], Group: f[1], Mode: rootfs.UnixMode(uint32(m))}
	}
}

// readAlternatives reads /var/lib/dpkg/alternatives/NAME files: "auto" or
// "manual", the master link, pairs of slave name and slave link, a blank
// line, then per provider its path, its priority and one line per slave.
func (ix *Index) readAlternatives() {
	ents, err := ix.v.ReadDir("/var/lib/dpkg/alternatives")
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Type != rootfs.TypeReg {
			continue
		}
		b, err := ix.v.ReadFile(e.Path, maxDB)
		if err != nil {
			continue
		}
		a, ok := parseAlternative(path.Base(e.Path), string(b))
		if !ok {
			continue
		}
		ix.Alternatives[a.Name] = a
		ix.manage(a.Link, a.Name)
		ix.manage("/etc/alternatives/"+a.Name, a.Name)
		for s, l := range a.Slaves {
			ix.manage(l, a.Name)
			ix.manage("/etc/alternatives/"+s, a.Name)
		}
	}
}

func (ix *Index) manage(name, alt string) {
	if res, err := ix.v.Resolve(name, false); err == nil {
		ix.managed[res.Path] = alt
	}
}

func parseAlternative(name, text string) (Alternative, bool) {
	ls := strings.Split(text, "\n")
	if len(ls) < 2 {
		return Alternative{}, false
	}
	a := Alternative{Name: name, Link: ls[1], Slaves: map[string]string{}}
	i := 2
	var slaves []string
	for ; i+1 < len(ls) && ls[i] != ""; i += 2 {
		a.Slaves[ls[i]] = ls[i+1]
		slaves = append(slaves, ls[i])
	}
	i++ // the blank line
	for i < len(ls) && ls[i] != "" {
		a.Providers = append(a.Providers, ls[i])
		i += 2 + len(slaves) // path, priority, slave targets
	}
	return a, a.Link != ""
}

// parseDebDepends parses a dpkg relationship field ("a (>= 1) | b, c:any")
// into alternatives of bare names ("c:any" keeps its qualifier).
func parseDebDepends(field string) [][]string {
	var out [][]string
	for _, group := range strings.Split(field, ",") {
		var alts []string
		for _, a := range strings.Split(group, "|") {
			a = strings.TrimSpace(a)
			if i := strings.IndexAny(a, " (["); i >= 0 {
				a = a[:i]
			}
			if a != "" {
				alts = append(alts, a)
			}
		}
		if len(alts) > 0 {
			out = append(out, alts)
		}
	}
	return out
}

// parseConffiles returns the paths of a stanza's Conffiles field, leaving
// out obsolete and removed-on-upgrade ones.
func parseConffiles(stanza string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(stanza, "\n") {
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			in = strings.HasPrefix(line, "Conffiles:")
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "/") {
			continue
		}
		if len(f) >= 3 && (f[2] == "obsolete" || f[2] == "remove-on-upgrade") {
			continue
		}
		out = append(out, f[0])
	}
	return out
}

// apkName strips an apk dependency's version constraint ("so:libc.so=1",
// "busybox>=1.36").
func apkName(d string) string {
	if i := strings.IndexAny(d, "<>=~"); i > 0 {
		return d[:i]
	}
	return d
}

// Names returns the names a package is known by, for matching directory
// names: its name, its source, and both without a "lib" prefix, a trailing
// version ("postgresql-15" → "postgresql") or a role suffix ("-common",
// "-server", "-bin", ...).
func (p *Package) Names() []string {
	var out []string
	add := func(n string) {
		n = strings.ToLower(n)
		if len(n) < 2 {
			return
		}
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	for _, n := range []string{p.Name, p.Source} {
		if n == "" {
			continue
		}
		add(n)
		base := n
		for {
			i := strings.LastIndexByte(base, '-')
			if i <= 0 || !roleSuffix(base[i+1:]) {
				break
			}
			base = base[:i]
			add(base)
		}
		if t, ok := strings.CutPrefix(base, "lib"); ok {
			add(t)
		}
	}
	sort.Strings(out)
	return out
}

// roleSuffix reports whether s, the last dash-separated part of a package
// name, says what part of a piece of software the package holds rather
// than naming it.
func roleSuffix(s string) bool {
	switch s {
	case "common", "server", "client", "bin", "data", "core", "utils", "tools", "daemon", "minimal",
		"base", "runtime", "extra", "modules", "plugins", "stdlib", "dev":
		return true
	}
	_, err := strconv.Atoi(strings.ReplaceAll(s, ".", ""))
	return err == nil
}
