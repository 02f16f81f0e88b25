package keep

import (
	"github.com/pare-dev/pare/pkg/elfread"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// The package-aware closure. When a kept program or library belongs to an
// OS package, the package's own runtime files are kept too, decided with
// the package's file list, never with program names:
//
//   - a program's package P (a file expanded as a program: the entrypoint,
//     a helper, a shell command) gives its conffiles and files under /etc,
//     the /etc directories private to P (with what maintainer scripts made
//     in them), its state directories (/var/lib/N with their contents,
//     /var/log/N, /var/cache/N, /var/spool/N, /run/N for N a name of P,
//     with owner and mode), its private trees (directories of P's list whose
//     listed contents all belong to P and whose path names P, such as
//     /usr/lib/git-core or /usr/lib/postgresql/15/lib) with the loader
//     closure of the ELF helpers in them, the other executables of P in
//     the program's own directory when that is not a shared program
//     directory (initdb beside /usr/lib/postgresql/15/bin/postgres; not
//     the rest of /usr/bin), and its data-only dependencies;
//   - a library's package gives only its configuration (conffiles, files
//     under /etc) and its data-only dependencies: libraries load their
//     plugin trees on demand, and the trees a library really uses are the
//     ones it names (compiled-in paths, compiled.go), so libc6's gconv
//     modules or locales never come with libc;
//   - a data-only dependency (Architecture: all, no executable file),
//     followed transitively through data-only packages only, gives all its
//     files.
//
// Tree keeps with helpers leave out the optional plugins of
// knowledge.OptionalPlugins (PostgreSQL's llvmjit.so and its bitcode) with
// a note: what no metadata can tell. State directories other than
// /var/lib/N keep the links right inside them (access.log -> /dev/stdout).
//
// Documentation, man and info pages, lintian overrides, bug scripts, shell
// completions, menus, translations, desktop integration and service-manager
// units are never kept by these rules. In traced mode (observations given)
// trees are not expanded: the trace saw which of their files were used;
// configuration, state directories and data-only dependencies' /etc files
// are still kept.

// pkgState is what the package-aware steps know and have done.
type pkgState struct {
	ix       *pkgdb.Index // nil: the image has no package database
	progDone map[*pkgdb.Package]bool
	libDone  map[*pkgdb.Package]bool
	dataDone map[*pkgdb.Package]bool
	seen     map[string]bool // trigger paths looked at, by path and class
	scanned  map[string]bool // ELF objects scanned for compiled-in paths
	appDone  bool
	// dirNames are the entry names of directories looked at for optional
	// plugins; optional the plugins left out (noted once).
	dirNames map[string][]string
	optional map[string]bool
	// roots are, by ELF object, the directories its compiled-in paths
	// name (see compiledRoots).
	roots map[string][]string
}

func (b *builder) pkgs() *pkgState {
	if b.pk != nil {
		return b.pk
	}
	b.pk = &pkgState{
		progDone: map[*pkgdb.Package]bool{}, libDone: map[*pkgdb.Package]bool{}, dataDone: map[*pkgdb.Package]bool{},
		seen: map[string]bool{}, scanned: map[string]bool{},
		dirNames: map[string][]string{}, optional: map[string]bool{}, roots: map[string][]string{},
	}
	db, err := pkgdb.Read(b.v)
	if err != nil {
		b.warn("package database: %v (package-aware closure skipped)", err)
	} else {
		b.res.Packages = db
		if db.Type != "" {
			b.pk.ix = db.Index(b.v)
		}
	}
	return b.pk
}

// packageStep is the knowledge-free step of the rules loop: application
// files (once), compiled-in paths of newly kept ELF objects, and the
// package payload of newly kept programs and libraries.
func (b *builder) packageStep() error {
	st := b.pkgs()
	if !st.appDone {
		st.appDone = true
		b.appFiles()
	}
	b.compiledPaths()
	if st.ix != nil {
		b.packagePayloads()
	}
	return nil
}

// static reports whether no trace is given: then trees are expanded.
func (b *builder) static() bool { return len(b.opts.Observed) == 0 }

func (b *builder) packagePayloads() {
	st := b.pk
	for _, it := range b.set.Items() {
		if it.Entry.Type != rootfs.TypeReg {
			continue
		}
		_, obj := b.res.Objects[it.Path]
		prog := b.done[it.Path] && !isSharedLibName(it.Path)
		if !prog && !obj {
			continue // data files give nothing
		}
		key := "l:" + it.Path
		if prog {
			key = "p:" + it.Path
		}
		if st.seen[key] {
			continue
		}
		st.seen[key] = true
		for _, p := range st.ix.Owners(it.Path) {
			if prog {
				b.programPayload(p, it.Path)
			} else {
				b.libraryPayload(p, it.Path)
			}
		}
	}
}

func isSharedLibName(p string) bool {
	base := path.Base(p)
	return strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.")
}

func pkgReason(p *pkgdb.Package, from, what string) keptset.Reason {
	return keptset.Reason{Kind: keptset.KindPackage, From: from, Detail: "package " + p.Name + ": " + what}
}

func (b *builder) programPayload(p *pkgdb.Package, from string) {
	st := b.pk
	if st.progDone[p] {
		return
	}
	st.progDone[p] = true
	st.libDone[p] = true
	b.pkgConfig(p, from)
	b.stateDirs(p, from)
	if b.static() {
		b.privateTrees(p, from)
		b.siblingPrograms(p, from)
	}
	b.dataDeps(p, from)
}

func (b *builder) libraryPayload(p *pkgdb.Package, from string) {
	st := b.pk
	if st.libDone[p] {
		return
	}
	st.libDone[p] = true
	b.pkgConfig(p, from)
	b.dataDeps(p, from)
}

// pkgConfig keeps p's conffiles, its files under /etc and the /etc
// directories private to p with everything in them.
func (b *builder) pkgConfig(p *pkgdb.Package, from string) {
	ix := b.pk.ix
	for _, c := range p.Conffiles {
		if neverNeeded(c) {
			continue
		}
		b.keepEntry(resolvedPath(b.v, path.Dir(c))+"/"+path.Base(c), pkgReason(p, from, "conffile"))
	}
	only := func(q *pkgdb.Package) bool { return q == p }
	for _, f := range ix.Files(p) {
		if !strings.HasPrefix(f, "/etc/") || neverNeeded(f) {
			continue
		}
		e, err := b.v.Lstat(f)
		if err != nil {
			continue
		}
		if e.Type != rootfs.TypeDir {
			b.keepEntry(f, pkgReason(p, from, "configuration"))
			continue
		}
		if ix.PrivateTo(f, only) && relatesPath(f, p) && !(ix.PrivateTo(path.Dir(f), only) && relatesPath(path.Dir(f), p)) {
			b.keepTree(f, pkgReason(p, from, "configuration directory "+f), false)
		}
	}
}

// stateBases are where packages keep their state; /var/lib/N keeps its
// contents, the others only the directory (with owner and mode).
var stateBases = []string{"/var/lib", "/var/log", "/var/cache", "/var/spool", "/run"}

// stateDirs keeps the state directories of p: those its list names right
// below a state base, and existing ones named like p (made by its
// maintainer scripts).
func (b *builder) stateDirs(p *pkgdb.Package, from string) {
	cands := map[string]bool{}
	for _, base := range stateBases {
		rb := resolvedPath(b.v, base)
		for _, n := range p.Names() {
			cands[rb+"/"+n] = true
		}
	}
	for _, f := range b.pk.ix.Files(p) {
		for _, base := range stateBases {
			rb := resolvedPath(b.v, base)
			if path.Dir(f) == rb {
				cands[f] = true
			}
		}
	}
	dirs := make([]string, 0, len(cands))
	for d := range cands {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	varLib := resolvedPath(b.v, "/var/lib")
	for _, d := range dirs {
		e, err := b.v.Lstat(d)
		if err != nil || e.Type != rootfs.TypeDir {
			continue
		}
		why := pkgReason(p, from, "state directory")
		if path.Dir(d) == varLib {
			b.keepStateTree(d, why)
			continue
		}
		if _, err := b.set.Keep(d, why); err != nil {
			b.warn("keeping %s: %v", d, err)
			continue
		}
		b.stateLinks(d, why)
	}
}

// stateLinks keeps the symbolic links right inside the state directory d
// (a log directory's access.log -> /dev/stdout, a socket's link): a
// package or its image made them so that the program's fixed paths go
// there, and the program opens them at start-up. The directory's other
// files (old logs, caches) are not kept.
func (b *builder) stateLinks(d string, why keptset.Reason) {
	ents, err := b.v.ReadDir(d)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Type == rootfs.TypeSymlink {
			b.keepEntry(e.Path, why)
		}
	}
}

// siblingPrograms keeps the other executables of p in the directory of its
// program from when that directory is not a shared program directory: a
// package's own bin directory (/usr/lib/postgresql/15/bin) holds tools
// that run each other by their directory (pg_ctl and initdb run the
// postgres beside them) and that entrypoint scripts run; a directory other
// packages share (/usr/bin) says nothing about which of them are needed.
// ELF programs get their closure; scripts are kept as files (see helper).
// A directory a knowledge rule keeps from (a language runtime's bin dir:
// Erlang's erl beside erlc, typer and epmd) is left to that rule, which
// knows which of its programs the command runs.
func (b *builder) siblingPrograms(p *pkgdb.Package, from string) {
	dir := path.Dir(from)
	if binDirs[dir] || hierarchyDir(dir) || isSystemDir(dir) || b.ruleOwned(dir) {
		return
	}
	why := pkgReason(p, from, "program beside "+path.Base(from))
	for _, f := range b.pk.ix.Files(p) {
		if resolvedPath(b.v, path.Dir(f)) != dir || path.Base(f) == path.Base(from) || neverNeeded(f) {
			continue
		}
		e, err := b.v.Lstat(dir + "/" + path.Base(f))
		if err != nil || e.Type == rootfs.TypeDir || e.Type == rootfs.TypeReg && e.Mode&0o111 == 0 {
			continue
		}
		b.keepEntry(e.Path, why)
		b.helper(e.Path, why)
	}
}

// privateTrees keeps the topmost directories of p's list that are private
// to p and whose path names p, with the closure of their ELF helpers.
func (b *builder) privateTrees(p *pkgdb.Package, from string) {
	ix := b.pk.ix
	only := func(q *pkgdb.Package) bool { return q == p }
	for _, f := range ix.Files(p) {
		if strings.HasPrefix(f, "/etc/") || isSystemDir(f) || hierarchyDir(f) || neverNeeded(f) || underState(f) {
			continue
		}
		e, err := b.v.Lstat(f)
		if err != nil || e.Type != rootfs.TypeDir {
			continue
		}
		if !ix.PrivateTo(f, only) || !relatesPath(f, p) {
			continue
		}
		if up := path.Dir(f); !hierarchyDir(up) && ix.PrivateTo(up, only) && relatesPath(up, p) {
			continue // the parent is kept as the tree
		}
		if b.ruleOwned(f) {
			continue
		}
		b.keepTree(f, pkgReason(p, from, "private tree "+f), true)
	}
}

// ruleOwned reports whether a knowledge rule already keeps files from the
// directory dir: a rule that knows the runtime (an interpreter's tree, the
// modules its import graph reached) has chosen what is needed there, and
// the generic tree rules leave it to it.
//
// The directories checked are dir and its ancestors up to the shared
// hierarchy (/usr/lib/python3.11/encodings is left to the rule that keeps
// /usr/lib/python3.11/os.py).
func (b *builder) ruleOwned(dir string) bool {
	var prefixes []string
	for d := dir; d != "/" && !hierarchyDir(d); d = path.Dir(d) {
		prefixes = append(prefixes, strings.TrimSuffix(d, "/")+"/")
	}
	for _, it := range b.set.Items() {
		under := false
		for _, pre := range prefixes {
			under = under || strings.HasPrefix(it.Path, pre)
		}
		if !under {
			continue
		}
		for _, r := range it.Reasons {
			if r.Kind == keptset.KindKnowledge || r.Kind == keptset.KindDlopen {
				return true
			}
		}
	}
	return false
}

func underState(p string) bool {
	for _, base := range stateBases {
		if strings.HasPrefix(p, base+"/") {
			return true
		}
	}
	return false
}

// dataDeps keeps the data-only packages p depends on, transitively through
// data-only packages.
func (b *builder) dataDeps(p *pkgdb.Package, from string) {
	ix := b.pk.ix
	queue := []*pkgdb.Package{p}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, alts := range cur.Depends {
			q := ix.Satisfy(alts, cur.Arch)
			if q == nil || q == p || b.pk.dataDone[q] || !ix.DataOnly(q, neverNeeded) {
				continue
			}
			b.pk.dataDone[q] = true
			queue = append(queue, q)
			b.dataPayload(q, p, from)
		}
	}
}

func (b *builder) dataPayload(q, of *pkgdb.Package, from string) {
	what := "data of " + of.Name
	b.pkgConfig(q, from)
	b.stateDirs(q, from)
	if !b.static() {
		return
	}
	owned := b.ownedDirs()
	for _, f := range b.pk.ix.Files(q) {
		if neverNeeded(f) || isSystemDir(f) || hierarchyDir(f) || owned(path.Dir(f)) {
			continue
		}
		b.keepEntry(f, pkgReason(q, from, what))
	}
}

// keepEntry keeps the physical path p as it is: a symlink as a link (with
// its target), a directory as the directory only.
func (b *builder) keepEntry(p string, why keptset.Reason) {
	e, err := b.v.Lstat(p)
	if err != nil {
		return
	}
	if e.Type == rootfs.TypeSymlink {
		_, err = b.set.KeepLink(e.Path, why)
	} else {
		_, err = b.set.Keep(e.Path, why)
	}
	if err != nil && !isNotExist(err) {
		b.warn("keeping %s: %v", p, err)
	}
}

// keepTree keeps the directory dir and what is below it, less what is never
// needed at run time; with helpers, the ELF files in it get their loader
// closure (see helper).
func (b *builder) keepTree(dir string, why keptset.Reason, helpers bool) {
	if helpers && b.optionalPlugin(dir) {
		return
	}
	var files []string
	err := b.v.Walk(dir, func(e *rootfs.Entry) error {
		if e.Path != dir && (neverNeeded(e.Path) || helpers && b.optionalPlugin(e.Path)) {
			if e.Type == rootfs.TypeDir {
				return fs.SkipDir
			}
			return nil
		}
		b.keepEntry(e.Path, why)
		if helpers && e.Type == rootfs.TypeReg {
			files = append(files, e.Path)
		}
		return nil
	})
	if err != nil && !isNotExist(err) {
		b.warn("keeping %s: %v", dir, err)
	}
	var scripts []string
	for _, f := range files {
		if !b.helper(f, why) {
			scripts = append(scripts, f)
		}
	}
	if len(scripts) > 0 {
		b.note("%s: kept %d helper scripts as files, without the programs they run (e.g. %s): use --include-exe or --trace if they run", dir, len(scripts), scripts[0])
	}
}

// optionalPlugin reports whether p is an optional plugin, or a companion
// of one, that tree keeps leave out of a static build (see
// knowledge.OptionalPlugins), and notes it once.
func (b *builder) optionalPlugin(p string) bool {
	st := b.pkgs()
	dir := path.Dir(p)
	names, ok := st.dirNames[dir]
	if !ok {
		ents, _ := b.v.ReadDir(dir)
		for _, e := range ents {
			names = append(names, path.Base(e.Path))
		}
		st.dirNames[dir] = names
	}
	o, plugin := knowledge.OptionalIn(p, names)
	if o == nil {
		return false
	}
	if !st.optional[p] {
		st.optional[p] = true
		what := "an optional plugin"
		if plugin != path.Base(p) {
			what = "read only by the optional plugin " + plugin
		}
		b.note("%s left out, %s (%s); --include %s keeps it", p, what, o.Note, p)
	}
	return true
}

// helper gives a file found in a private tree or through a compiled-in
// path the closure of a program when it is an ELF object. It reports false
// for a script, which is kept as a file only: its interpreter and the
// commands it names are not added, so a package's rarely used helper
// scripts (git's perl and shell helpers) do not bring a language runtime or
// a toolbox of their own; the trace, or --include-exe, adds them when they run.
func (b *builder) helper(p string, why keptset.Reason) bool {
	e, err := b.v.Stat(p)
	if err != nil || e.Type != rootfs.TypeReg {
		return true
	}
	h := b.head(e.Path, 256)
	switch {
	case elfread.IsELF(h):
		if _, err := b.addProgram(e.Path, why); err != nil {
			b.warn("helper %s: %v", p, err)
		}
	case shebangMagic(h) && e.Mode&0o111 != 0:
		return false
	}
	return true
}

// neverNeeded reports paths no program reads at run time: documentation,
// manuals, lintian overrides, bug-report scripts, shell completions, menus,
// translations, desktop and editor integration, service-manager units.
func neverNeeded(p string) bool {
	for _, pre := range neverPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	// translations: /usr/share/locale/<lang>/ (locale.alias is kept by the locale rule)
	if rest, ok := strings.CutPrefix(p, "/usr/share/locale/"); ok && strings.Contains(rest, "/") {
		return true
	}
	return false
}

var neverPrefixes = []string{
	"/usr/share/doc", "/usr/share/doc-base", "/usr/share/man", "/usr/share/info", "/usr/share/lintian",
	"/usr/share/bug", "/usr/share/bash-completion", "/usr/share/zsh", "/usr/share/fish", "/usr/share/menu",
	"/usr/share/applications", "/usr/share/pixmaps", "/usr/share/icons", "/usr/share/metainfo",
	"/usr/share/appdata", "/usr/share/gtk-doc", "/usr/share/help", "/usr/share/apport", "/usr/share/polkit-1",
	"/usr/share/locale-langpack", "/usr/share/gdb",
	// editor integration other packages ship (vim-addon-manager, emacsen-common)
	"/usr/share/vim/addons", "/usr/share/vim/registry", "/usr/share/emacs/site-lisp", "/etc/emacs/site-start.d",
	"/lib/systemd", "/usr/lib/systemd", "/etc/systemd", "/etc/init.d", "/etc/init", "/etc/rc0.d",
	"/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rc6.d", "/etc/rcS.d",
	"/etc/bash_completion.d", "/etc/ufw", "/usr/lib/tmpfiles.d", "/usr/lib/sysusers.d",
	// the host's service management a container has none of
	"/etc/logrotate.d", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
	"/etc/cron.monthly", "/etc/apparmor.d", "/etc/insserv.conf.d",
	// the package manager's own state: pare writes the database of what
	// remains itself (/var/lib/dpkg/status.d)
	"/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf", "/var/log/apt",
	"/lib/apk/db", "/usr/lib/apk/db", "/var/cache/apk",
}

// hierarchyNames are the components of the shared file hierarchy: a path
// made only of them (/usr/lib/x86_64-linux-gnu, /usr/local/share) is a
// system directory, never private to one package.
var hierarchyNames = map[string]bool{
	"usr": true, "lib": true, "lib32": true, "lib64": true, "libx32": true, "share": true, "libexec": true,
	"etc": true, "local": true, "var": true, "opt": true, "bin": true, "sbin": true, "include": true,
	"src": true, "games": true, "cache": true, "log": true, "spool": true, "mail": true, "misc": true,
	"pkgconfig": true,
}

// topNames are hierarchy names only as the first component (/srv, not /etc/srv).
var topNames = map[string]bool{"srv": true, "home": true, "root": true, "run": true, "tmp": true, "mnt": true, "media": true}

// hierarchyComponent reports whether the i-th component c of a path is part
// of the shared hierarchy.
func hierarchyComponent(i int, c string) bool {
	return hierarchyNames[c] || i == 0 && topNames[c] || isTriplet(c)
}

func isTriplet(c string) bool {
	return strings.Count(c, "-") >= 2 && (strings.Contains(c, "-linux-") || strings.HasSuffix(c, "-linux"))
}

// hierarchyDir reports whether every component of p is a hierarchy name or
// a multiarch triplet.
func hierarchyDir(p string) bool {
	for i, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c != "" && !hierarchyComponent(i, c) {
			return false
		}
	}
	return true
}

// relatesPath reports whether some component of p outside the shared
// hierarchy names one of the packages ("git-core" names git,
// "ImageMagick-6.9.11" names the source imagemagick).
func relatesPath(p string, pkgs ...*pkgdb.Package) bool {
	for i, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" || hierarchyComponent(i, c) {
			continue
		}
		for _, q := range pkgs {
			if relatesName(c, q.Names()) {
				return true
			}
		}
	}
	return false
}

// genericTokens say what kind of file a name holds, not whose it is.
var genericTokens = map[string]bool{
	"lib": true, "common": true, "core": true, "data": true, "bin": true, "share": true, "modules": true,
	"plugins": true, "utils": true, "tools": true, "amd64": true, "arm64": true, "config": true, "conf": true,
	"base": true, "minimal": true, "extra": true, "server": true, "client": true, "dev": true, "doc": true,
	"linux": true, "gnu": true, "x86": true, "headless": true, "runtime": true, "python3": true, "perl": true,
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

func significant(t string) bool {
	if len(t) < 3 || genericTokens[t] {
		return false
	}
	return strings.Trim(t, "0123456789") != "" // not a bare number
}

// relatesName reports whether a directory name names a package known by
// names: equal to one, or sharing a significant token with one.
func relatesName(dirName string, names []string) bool {
	d := strings.ToLower(dirName)
	dt := map[string]bool{}
	for _, t := range tokens(d) {
		if significant(t) {
			dt[t] = true
		}
	}
	for _, n := range names {
		if d == n {
			return true
		}
		for _, t := range tokens(n) {
			if dt[t] {
				return true
			}
		}
	}
	return false
}
