package keep

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Paths named by absolute path: in the command line, in the Env and in kept
// configuration files. A program finds its config, data, TLS material and
// the directories it writes into through such names; what they name in the
// image is kept, and for a name whose file does not exist yet (a log, a pid
// file, a database) the directory that will hold it is kept with its owner
// and mode, so the program can write there as in the source.

// Bounds of the scan.
const (
	// maxConfigSize: a larger text file is data, not configuration.
	maxConfigSize = 1 << 20
	// maxConfigFiles caps the number of files read as configuration.
	maxConfigFiles = 2000
	// maxGlobMatches caps the paths one glob in a config may keep.
	maxGlobMatches = 1000
	// A directory named by a config, the Env or an argument is kept as a
	// whole tree only up to these; a bigger one is kept as the directory
	// itself, with a warning (--include keeps it whole).
	maxNamedTreeEntries = 10000
	maxNamedTreeBytes   = 256 << 20
)

// namedPaths is the state of the scan across the rounds of the rules loop.
type namedPaths struct {
	envDone bool
	scanned map[string]bool // kept regular files already judged, by physical path
	// configs are files read as configuration whatever their name: named on
	// the command line or by an include-like line of another config.
	configs map[string]bool
	files   int // files read as configuration
	// unread are the kept configuration files a traced run did not read,
	// whose names are not followed (see unreadConfig).
	unread map[string]bool
	// rel are the relative names of each config file read, by physical
	// path; relDone the config and prefix pairs resolved (see
	// relativeNames).
	rel     map[string][]relName
	relDone map[string]bool
	// used are the physical paths a traced run used, sorted; unusedDirs
	// the named directories kept without their trees (see unusedNamedDir).
	used       []string
	usedDone   bool
	unusedDirs []string
}

// relName is a relative path named on one line of a config file.
type relName struct {
	name, where string
	include     bool // on an include-like line: read it as configuration
}

func (b *builder) named() *namedPaths {
	if b.namedState == nil {
		b.namedState = &namedPaths{scanned: map[string]bool{}, configs: map[string]bool{}, unread: map[string]bool{},
			rel: map[string][]relName{}, relDone: map[string]bool{}}
	}
	return b.namedState
}

// keepNamedPaths keeps what the Env (once) and every kept config file not
// read yet name. It runs in each round of the rules loop, so that configs
// kept by rules, and configs named by configs, are read too.
func (b *builder) keepNamedPaths() {
	np := b.named()
	if !np.envDone {
		np.envDone = true
		b.scratchDirs()
		b.envPaths()
	}
	b.scanConfigs()
	b.relativeNames()
}

// scratchDirPaths are the world-writable directories of the hierarchy that
// programs write into without naming them in any config (/tmp is always
// written by assemble).
var scratchDirPaths = []string{"/var/tmp", "/run/lock"}

// scratchDirs keeps those of scratchDirPaths that the source has as sticky,
// world-writable directories, with their owner and mode.
func (b *builder) scratchDirs() {
	for _, d := range scratchDirPaths {
		e, err := b.v.Lstat(d)
		if err != nil || e.Type != rootfs.TypeDir || e.Mode&fs.ModeSticky == 0 || e.Mode.Perm()&0o002 == 0 {
			continue
		}
		if _, err := b.set.Keep(d, keptset.Reason{Kind: keptset.KindState, Detail: "world-writable scratch directory"}); err != nil {
			b.warn("%s: %v", d, err)
		}
	}
}

// namedRef is one absolute path named somewhere, with the reasons to give it.
type namedRef struct {
	path   string
	why    keptset.Reason // for the path itself
	state  keptset.Reason // for its directory, when the path does not exist
	config bool           // read it as configuration if it is a text file
}

// envSkip names variables whose paths are not files to keep: PATH and the
// loader's lists are searched by name (the closure finds what is used),
// manual and info pages are never needed, PWD is the shell's.
var envSkip = map[string]bool{
	"PATH": true, "LD_LIBRARY_PATH": true, "LD_PRELOAD": true, "LD_AUDIT": true,
	"MANPATH": true, "INFOPATH": true, "PWD": true, "OLDPWD": true,
}

// envPaths keeps the absolute paths of Env values (lists split on ':' and
// ',') that exist in the image, or whose directory does.
func (b *builder) envPaths() {
	for _, kv := range b.cfg.Env {
		k, val, _ := strings.Cut(kv, "=")
		if envSkip[k] {
			continue
		}
		for _, part := range splitList(val) {
			if !strings.HasPrefix(part, "/") || strings.HasPrefix(part, "//") {
				continue
			}
			p := path.Clean(part)
			b.keepNamed(namedRef{
				path:   p,
				why:    keptset.Reason{Kind: keptset.KindConfig, Detail: "named by Env " + k},
				state:  keptset.Reason{Kind: keptset.KindState, Detail: "writable directory of " + p + ", named by Env " + k},
				config: true,
			})
		}
	}
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' })
}

// argumentFiles keeps command-line arguments that name files of the image
// (an app script, a config file), relative to WorkingDir: plain arguments,
// option values (--config=/x, -c /x, -c/x), key=value arguments and lists
// of paths. A regular file named there is read as configuration; a path
// that does not exist in a directory that does (--pidfile=/run/p/p.pid)
// keeps that directory as writable state.
func (b *builder) argumentFiles(args []string, by string) {
	np := b.named()
	for _, a := range args {
		for _, orig := range argCandidates(a) {
			cand := orig
			if !strings.HasPrefix(cand, "/") {
				if !strings.Contains(cand, "/") && !strings.Contains(cand, ".") {
					continue // a bare word: an option value, not a file
				}
				cand = path.Join(b.workDir(), cand)
			}
			cand = path.Clean(cand)
			why := keptset.Reason{Kind: keptset.KindEntrypoint, From: by, Detail: "argument " + a}
			e, err := b.v.Stat(cand)
			if err != nil {
				if isNotExist(err) && strings.Contains(orig, "/") {
					b.keepStateDir(cand, keptset.Reason{Kind: keptset.KindState, From: by, Detail: "writable directory of " + cand + ", argument " + a})
				}
				continue
			}
			switch e.Type {
			case rootfs.TypeReg:
				if b.isELF(e.Path) || b.isScript(e.Path) {
					if _, err := b.addProgram(cand, why); err != nil {
						b.warn("argument %s: %v", a, err)
					}
					continue
				}
				if _, err := b.set.Keep(cand, why); err != nil {
					b.warn("argument %s: %v", a, err)
					continue
				}
				np.configs[e.Path] = true
			case rootfs.TypeDir:
				b.keepNamedDir(cand, e, why, "argument "+a)
			}
		}
	}
}

// argCandidates returns the strings of one argument that may name files.
func argCandidates(a string) []string {
	if a == "" || strings.ContainsAny(a, "\n$") {
		return nil
	}
	var val string
	switch {
	case strings.HasPrefix(a, "-"):
		if _, v, ok := strings.Cut(a, "="); ok {
			val = v // --config=/etc/x
		} else if len(a) > 2 && a[1] != '-' && a[2] == '/' {
			val = a[2:] // -c/etc/x
		} else {
			return nil
		}
	default:
		if k, v, ok := strings.Cut(a, "="); ok && k != "" && !strings.Contains(k, "/") {
			val = v // config=/etc/x
		} else {
			val = a
		}
	}
	if val == "" || strings.HasPrefix(val, "-") {
		return nil
	}
	out := []string{val}
	if strings.ContainsAny(val, ":,") {
		// a list of absolute paths: /a:/b, /a,/b
		for _, p := range splitList(val) {
			if strings.HasPrefix(p, "/") && p != val {
				out = append(out, p)
			}
		}
	}
	return out
}

// keepNamed keeps what one named path is in the image: a program with its
// closure, a file (read as configuration when r.config), a directory tree,
// the matches of a glob, or for a missing path its existing directory as
// writable state.
func (b *builder) keepNamed(r namedRef) {
	p := r.path
	if skipNamed(p) {
		return
	}
	if strings.ContainsAny(p, "*?[{") {
		b.keepGlob(r)
		return
	}
	e, err := b.v.Stat(p)
	if err != nil {
		if isNotExist(err) {
			b.keepStateDir(p, r.state)
		}
		return
	}
	switch e.Type {
	case rootfs.TypeReg:
		if b.isELF(e.Path) || b.isScript(e.Path) {
			if _, err := b.addProgram(p, r.why); err != nil {
				b.warn("%s (%s): %v", p, r.why.Detail, err)
			}
			return
		}
		if _, err := b.set.Keep(p, r.why); err != nil {
			b.warn("%s (%s): %v", p, r.why.Detail, err)
			return
		}
		if r.config {
			b.named().configs[e.Path] = true
		}
	case rootfs.TypeDir:
		b.keepNamedDir(p, e, r.why, r.why.Detail)
	}
}

// keepStateDir keeps the directory of the missing path p, if it exists, as
// the place a program creates p in. The root and /tmp (always in the output)
// are not kept for this.
func (b *builder) keepStateDir(p string, why keptset.Reason) {
	dir := path.Dir(p)
	if dir == "/" || dir == "." || isSystemDir(dir) && dir != "/run" {
		return // no program writes state into /usr/bin; /run holds pid files
	}
	e, err := b.v.Stat(dir)
	if err != nil || e.Type != rootfs.TypeDir || e.Path == "/tmp" || skipNamed(e.Path) {
		return
	}
	if _, err := b.set.Keep(dir, why); err != nil {
		b.warn("%s (%s): %v", dir, why.Detail, err)
	}
}

// keepNamedDir keeps a named directory: a hierarchy directory (/etc,
// /var/log, /usr/lib/<triplet>) or one over the size bounds as the
// directory itself, any other with its tree and the closure of the programs
// in it.
func (b *builder) keepNamedDir(name string, e *rootfs.Entry, why keptset.Reason, what string) {
	if isSystemDir(e.Path) || isHierarchyDir(e.Path) {
		if _, err := b.set.Keep(name, why); err != nil {
			b.warn("%s (%s): %v", name, what, err)
		}
		return
	}
	if n, size, over := b.treeSize(e.Path); over {
		b.warn("%s (%s) holds more than %d entries or %d MiB (%d entries, %d MiB seen): only the directory is kept; use --include %s to keep its tree",
			e.Path, what, maxNamedTreeEntries, maxNamedTreeBytes>>20, n, size>>20, e.Path)
		if _, err := b.set.Keep(name, why); err != nil {
			b.warn("%s (%s): %v", name, what, err)
		}
		return
	}
	if b.unusedNamedDir(e.Path) {
		b.named().unusedDirs = append(b.named().unusedDirs, e.Path)
		if _, err := b.set.Keep(name, why); err != nil {
			b.warn("%s (%s): %v", name, what, err)
		}
		return
	}
	if _, err := b.AddTree(name, why); err != nil {
		b.warn("%s (%s): %v", name, what, err)
		return
	}
	if err := b.elfsIn(e.Path, why); err != nil {
		b.warn("%s (%s): %v", name, what, err)
	}
}

var errTooBig = errors.New("tree over the bounds")

// treeSize counts the entries and bytes below dir, stopping at the bounds.
func (b *builder) treeSize(dir string) (n int, size int64, over bool) {
	err := b.v.Walk(dir, func(e *rootfs.Entry) error {
		n++
		size += e.Size
		if n > maxNamedTreeEntries || size > maxNamedTreeBytes {
			return errTooBig
		}
		return nil
	})
	return n, size, errors.Is(err, errTooBig)
}

// keepGlob keeps the matches of a glob (include /etc/p/conf.d/*.conf); with
// none, the directory the glob reads, if it exists.
func (b *builder) keepGlob(r namedRef) {
	if !doublestar.ValidatePattern(r.path) {
		return
	}
	base := globBase(r.path)
	if base == "/" {
		return
	}
	root, err := b.v.Stat(base)
	if err != nil || root.Type != rootfs.TypeDir {
		return
	}
	var matches []string
	_ = b.v.Walk(root.Path, func(e *rootfs.Entry) error {
		name := base + strings.TrimPrefix(e.Path, root.Path)
		if ok, _ := doublestar.Match(r.path, name); ok && e.Path != root.Path {
			matches = append(matches, name)
			if len(matches) > maxGlobMatches {
				return errTooBig
			}
			if e.Type == rootfs.TypeDir {
				return fs.SkipDir
			}
		}
		return nil
	})
	if len(matches) > maxGlobMatches {
		b.warn("%s (%s) matches more than %d paths: not kept", r.path, r.why.Detail, maxGlobMatches)
		return
	}
	if len(matches) == 0 {
		if _, err := b.set.Keep(base, r.why); err != nil {
			b.warn("%s (%s): %v", base, r.why.Detail, err)
		}
		return
	}
	for _, m := range matches {
		rm := r
		rm.path = m
		rm.why.Detail += " (" + r.path + ")"
		b.keepNamed(rm)
	}
}

// skipNamed reports paths never kept for being named: the root, kernel
// filesystems the engine provides, and documentation.
func skipNamed(p string) bool {
	if p == "/" || neverNeeded(p) {
		return true
	}
	for _, d := range []string{"/proc", "/sys", "/dev", "/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/lintian", "/usr/share/bug"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// isHierarchyDir reports directories of the filesystem hierarchy that hold
// the files of many programs: named by a config ("logdir /var/log") they are
// kept as directories, never as trees.
func isHierarchyDir(p string) bool {
	switch p {
	case "/var/log", "/var/cache", "/var/spool", "/var/tmp", "/var/run", "/var/mail", "/var/local", "/var/opt",
		"/var/backups", "/usr/libexec", "/usr/include", "/usr/src", "/usr/games",
		"/usr/local/bin", "/usr/local/sbin", "/usr/local/lib", "/usr/local/share", "/usr/local/etc", "/usr/local/include",
		"/etc/ssl", "/etc/default", "/etc/init.d", "/etc/systemd", "/srv", "/mnt", "/media", "/boot":
		return true
	}
	// /usr/lib/<triplet>, /usr/lib32, /usr/libx32
	if d, f := path.Split(p); (d == "/usr/lib/" || d == "/lib/") && strings.Count(f, "-") >= 2 {
		return true
	}
	return p == "/usr/lib32" || p == "/usr/libx32"
}

// systemDatabases are files under /etc that the C library, the loader and
// login tools read as tables of the system; the paths in them (login shells,
// homes, library directories) are not what a program's configuration names.
var systemDatabases = map[string]bool{
	"/etc/passwd": true, "/etc/group": true, "/etc/shadow": true, "/etc/gshadow": true,
	"/etc/subuid": true, "/etc/subgid": true, "/etc/shells": true, "/etc/login.defs": true,
	"/etc/adduser.conf": true, "/etc/deluser.conf": true, "/etc/services": true, "/etc/protocols": true,
	"/etc/networks": true, "/etc/hosts": true, "/etc/host.conf": true, "/etc/gai.conf": true,
	"/etc/resolv.conf": true, "/etc/nsswitch.conf": true, "/etc/ld.so.conf": true, "/etc/ld.so.preload": true,
	"/etc/ld.so.cache": true, "/etc/mime.types": true, "/etc/os-release": true, "/etc/fstab": true,
	"/etc/mtab": true, "/etc/hostname": true, "/etc/timezone": true, "/etc/environment": true,
	"/etc/issue": true, "/etc/issue.net": true, "/etc/motd": true, "/etc/debian_version": true,
	"/etc/ca-certificates.conf": true, "/etc/mailcap": true, "/etc/magic": true,
}

// systemDatabaseDirs hold only such tables or certificates.
var systemDatabaseDirs = []string{"/etc/ld.so.conf.d/", "/etc/ssl/certs/", "/etc/alternatives/", "/etc/dpkg/", "/etc/apt/", "/etc/pam.d/", "/etc/security/", "/etc/profile.d/", "/etc/skel/", "/etc/update-motd.d/"}

// configExts are the extensions of configuration files outside /etc.
var configExts = map[string]bool{
	".conf": true, ".cfg": true, ".cnf": true, ".ini": true, ".yaml": true, ".yml": true,
	".json": true, ".toml": true, ".xml": true, ".properties": true,
}

// languageTrees are directories of packages installed by a language's
// package manager: their metadata files are not the program's configuration.
var languageTrees = []string{"/node_modules/", "/site-packages/", "/dist-packages/", "/vendor/bundle/", "/gems/"}

// isConfigName reports whether the kept regular file p is read as
// configuration: named as one, under /etc (minus system tables), or with a
// configuration extension (outside language package trees, and not a
// runtime's environment marker).
func (b *builder) isConfigName(p string) bool {
	if b.named().configs[p] {
		return true
	}
	if knowledge.EnvironmentMarker(path.Base(p)) {
		return false // a runtime's metadata (pyvenv.cfg)
	}
	if strings.HasPrefix(p, "/etc/") {
		if systemDatabases[p] {
			return false
		}
		for _, d := range systemDatabaseDirs {
			if strings.HasPrefix(p, d) {
				return false
			}
		}
		return true
	}
	if !configExts[path.Ext(p)] {
		return false
	}
	for _, d := range languageTrees {
		if strings.Contains(p, d) {
			return false
		}
	}
	return !skipNamed(p)
}

// scanConfigs reads every kept configuration file not read yet.
func (b *builder) scanConfigs() {
	np := b.named()
	for _, it := range b.set.Items() {
		if np.scanned[it.Path] || it.Entry.Type != rootfs.TypeReg {
			continue
		}
		if !b.isConfigName(it.Path) || it.Entry.Size > maxConfigSize {
			np.scanned[it.Path] = true
			continue
		}
		if b.unreadConfig(it) {
			np.unread[it.Path] = true // judged again next round: a rule may name it
			continue
		}
		delete(np.unread, it.Path)
		if np.files >= maxConfigFiles {
			b.warn("more than %d configuration files: the paths named in the others are not kept", maxConfigFiles)
			return
		}
		np.scanned[it.Path] = true
		np.files++
		data, err := b.v.ReadFile(it.Path, maxConfigSize)
		if err != nil {
			b.warn("reading %s: %v", it.Path, err)
			continue
		}
		if !isTextConfig(data) || isShellCode(it.Path, data) {
			continue // shell code is scanned as such when a kept shell runs it
		}
		b.scanConfig(it.Path, data)
	}
}

// isShellCode reports a script (#!, *.sh) or a shell's startup file (only
// login and interactive shells read those): the paths they name are the
// shell's business, not a program's configuration.
func isShellCode(p string, data []byte) bool {
	if bytes.HasPrefix(data, []byte("#!")) || strings.HasSuffix(p, ".sh") {
		return true
	}
	switch p {
	case "/etc/profile", "/etc/bash.bashrc", "/etc/environment", "/etc/zshrc", "/etc/zprofile", "/etc/csh.cshrc", "/etc/csh.login":
		return true
	}
	for _, d := range []string{"/etc/profile.d/", "/etc/skel/", "/etc/zsh/"} {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	base := path.Base(p)
	return base == ".bashrc" || base == ".profile" || base == ".bash_profile" || base == ".bash_logout"
}

// isTextConfig reports text that is not a PEM bundle or key.
func isTextConfig(data []byte) bool {
	return bytes.IndexByte(data, 0) < 0 && !bytes.Contains(data, []byte("-----BEGIN "))
}

// scanConfig keeps what the absolute paths of one config file name.
func (b *builder) scanConfig(p string, data []byte) {
	for i, line := range strings.Split(string(data), "\n") {
		line = configLine(line)
		if line == "" {
			continue
		}
		include := strings.Contains(strings.ToLower(line), "include") || strings.Contains(strings.ToLower(line), "conf")
		where := fmt.Sprintf("%s line %d", p, i+1)
		if user, group := accountSetting(line); user != "" || group != "" {
			b.NeedAccount(user, group, keptset.Reason{Kind: keptset.KindConfig, From: p, Detail: "account named in " + where})
		}
		for _, name := range relativeTokens(line) {
			np := b.named()
			np.rel[p] = append(np.rel[p], relName{name: name, where: where, include: include})
		}
		for _, tok := range pathTokens(line) {
			if dir, ok := templateDir(tok); ok {
				// /var/log/p/%Y.log, /run/p/${name}.pid: the directory is
				// where the program writes
				if e, err := b.v.Stat(dir); err == nil && e.Type == rootfs.TypeDir && !skipNamed(e.Path) && e.Path != "/tmp" {
					if _, err := b.set.Keep(dir, keptset.Reason{Kind: keptset.KindState, From: p, Detail: "writable directory of " + tok + ", named in " + where}); err != nil {
						b.warn("%s (named in %s): %v", dir, where, err)
					}
				}
				continue
			}
			b.keepNamed(namedRef{
				path:   tok,
				why:    keptset.Reason{Kind: keptset.KindConfig, From: p, Detail: "named in " + where},
				state:  keptset.Reason{Kind: keptset.KindState, From: p, Detail: "writable directory of " + tok + ", named in " + where},
				config: include,
			})
		}
	}
}

// configLine returns a line without its comment: whole-line comments (#, ;,
// //, <!--) and a trailing " # ..." are dropped.
func configLine(line string) string {
	line = strings.TrimSpace(strings.TrimRight(line, "\r"))
	for _, c := range []string{"#", ";", "//", "<!--"} {
		if strings.HasPrefix(line, c) {
			return ""
		}
	}
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	if i := strings.Index(line, "\t#"); i >= 0 {
		line = line[:i]
	}
	return line
}

// pathTokens returns the absolute paths of a config line: a '/' at the
// start of the line or after whitespace, '=', ':', a quote, '(', ',', '['
// or '>', up to whitespace, a quote or punctuation that ends a value. URLs'
// "//host" parts are not paths.
//
// Whitespace escaped by a backslash ("exec\ /usr/bin/perl") does not end a
// word: what follows it is the rest of one string literal, a pattern the
// program matches data against (the shebang lines of a MIME magic table,
// a regular expression), never a path the program opens or runs. A path
// with a space in its name ("/srv/my\ dir/x") is likewise one token, found
// at its start.
func pathTokens(line string) []string {
	var out []string
	for i := 0; i < len(line); i++ {
		if line[i] != '/' || (i > 0 && !strings.ContainsRune(" \t=:\"'(,[>", rune(line[i-1]))) {
			continue
		}
		if i > 1 && (line[i-1] == ' ' || line[i-1] == '\t') && escaped(line, i-1) {
			continue // inside a word: "exec\ /bin/x"
		}
		j := i
		brackets := 0
		for ; j < len(line); j++ {
			c := line[j]
			if c == '[' || c == '{' {
				brackets++
			}
			if (c == ']' || c == '}') && brackets == 0 {
				break
			}
			if (c == ']' || c == '}') && brackets > 0 {
				brackets--
			}
			if c == ',' && brackets > 0 {
				continue // {a,b}
			}
			if (c == ' ' || c == '\t') && escaped(line, j) {
				continue // "/srv/my\ dir"
			}
			if strings.ContainsRune(" \t\"'`;,()<>|&", rune(c)) {
				break
			}
		}
		whole := line[i:j]
		if strings.IndexByte(whole, '\\') >= 0 {
			whole = unescapeSpace.Replace(whole)
		}
		i = j
		if strings.HasPrefix(whole, "//") {
			continue
		}
		// a list /a:/b, or a path with a suffix (/var/log/x.log:rotate)
		for _, tok := range strings.Split(whole, ":") {
			tok = strings.TrimRight(tok, ".")
			if len(tok) < 2 || tok[0] != '/' || strings.HasPrefix(tok, "//") {
				continue
			}
			out = append(out, path.Clean(tok))
		}
	}
	return out
}

// unescapeSpace undoes the backslash escapes of spaces and tabs in a path.
var unescapeSpace = strings.NewReplacer("\\ ", " ", "\\\t", "\t")

// escaped reports whether line[i] is escaped: preceded by an odd number
// of backslashes.
func escaped(line string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && line[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// templateDir returns, for a path holding a run-time template ($VAR, %Y,
// @name@), the directory before the first template part.
func templateDir(tok string) (string, bool) {
	i := strings.IndexAny(tok, "$%@")
	if i < 0 {
		return "", false
	}
	d := path.Dir(tok[:i+1])
	if d == "/" || d == "." {
		return "", false
	}
	return d, true
}

// Relative names in configuration. A server resolves the relative
// arguments of its configuration against the directory of the file or
// against a prefix compiled into it (nginx's "load_module
// modules/ngx_stream_module.so" against its --prefix /usr/share/nginx,
// apache's "Include ports.conf" against its ServerRoot /etc/apache2). The
// prefixes tried for a config file are its directory and those above it
// below the shared hierarchy, and the compiled-in directories (see
// compiledRoots) of every kept ELF object one of whose compiled-in
// directories holds the file: the program that the file configures. Only
// files a program reads as configuration are resolved so: under /etc,
// named as configuration (an argument, an include line, the Env), or in a
// configuration language below a program's compiled-in directory. A
// relative name is kept only when it exists below a prefix (a glob: when
// it matches there); a missing one says nothing, since which prefix the
// program would write to is not known.

// relativeNames resolves the relative names of the configs read so far
// against their prefixes, each config and prefix once.
func (b *builder) relativeNames() {
	np := b.named()
	if len(np.rel) == 0 {
		return
	}
	cfgs := make([]string, 0, len(np.rel))
	for c := range np.rel {
		cfgs = append(cfgs, c)
	}
	sort.Strings(cfgs)
	for _, c := range cfgs {
		prefixes, owned := b.configPrefixes(c)
		if !owned && !strings.HasPrefix(c, "/etc/") && !np.configs[c] {
			continue // a file named like configuration that no program is known to read
		}
		for _, pre := range prefixes {
			key := c + "\x00" + pre
			if np.relDone[key] {
				continue
			}
			np.relDone[key] = true
			for _, r := range np.rel[c] {
				full := path.Join(pre, r.name)
				if !b.existsOrMatches(full) {
					continue
				}
				b.keepNamed(namedRef{
					path:   full,
					why:    keptset.Reason{Kind: keptset.KindConfig, From: c, Detail: "named in " + r.where + " (" + r.name + " below " + pre + ")"},
					config: r.include,
				})
			}
		}
	}
}

// configPrefixes returns the directories the relative names of the config
// file c are resolved against: its own directory and those above it below
// the shared hierarchy, then the compiled-in directories of the objects
// whose compiled-in directories hold c; owned says there were such objects
// and c is in a configuration language of its own (.conf, .cfg, .cnf,
// .ini or no extension), not in a data format that packages of languages
// also use for their metadata (a package.json's "main": "dist/x.js" below
// a runtime's compiled-in module directory is not a program's
// configuration).
func (b *builder) configPrefixes(c string) (prefixes []string, owned bool) {
	var out []string
	seen := map[string]bool{}
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for d := path.Dir(c); d != "/" && !hierarchyDir(d) && !isHierarchyDir(d) && !isSystemDir(d); d = path.Dir(d) {
		add(d)
	}
	st := b.pkgs()
	objs := make([]string, 0, len(st.roots))
	for o := range st.roots {
		objs = append(objs, o)
	}
	sort.Strings(objs)
	for _, o := range objs {
		roots := st.roots[o]
		if !slices.ContainsFunc(roots, func(r string) bool { return under(c, resolvedPath(b.v, r)) || under(c, r) }) {
			continue
		}
		owned = true
		for _, r := range roots {
			add(r)
		}
	}
	switch path.Ext(c) {
	case "", ".conf", ".cfg", ".cnf", ".ini":
	default:
		owned = false
	}
	return out, owned
}

// under reports whether p is below the directory d.
func under(p, d string) bool {
	return strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/")
}

// existsOrMatches reports whether p exists in the image or, holding glob
// characters, matches a path there.
func (b *builder) existsOrMatches(p string) bool {
	if !strings.ContainsAny(p, "*?[") {
		_, err := b.v.Lstat(p)
		return err == nil
	}
	base := globBase(p)
	if base == "/" || !doublestar.ValidatePattern(p) {
		return false
	}
	root, err := b.v.Stat(base)
	if err != nil || root.Type != rootfs.TypeDir {
		return false
	}
	found := false
	_ = b.v.Walk(root.Path, func(e *rootfs.Entry) error {
		if ok, _ := doublestar.Match(p, base+strings.TrimPrefix(e.Path, root.Path)); ok && e.Path != root.Path {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// relativeTokens returns the words of a config line that may be relative
// paths: with a '/' inside, or a file name with an extension
// ("mime.types", "ports.conf"), not absolute, not a URL, host:port, option,
// number or template.
func relativeTokens(line string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(line, func(r rune) bool {
		return r == ' ' || r == '\t' || strings.ContainsRune("\"'`;,()<>|&=[]{}", r)
	}) {
		if len(w) < 3 || len(w) > 255 || strings.ContainsAny(w, ":$%@~\\#!^") || w[0] == '/' || w[0] == '-' || w[0] == '+' {
			continue
		}
		if strings.Trim(w, "0123456789.") == "" {
			continue // a number, a version, an address
		}
		clean := path.Clean(w)
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			continue // nothing, or above the prefix: not a name below it
		}
		if !strings.Contains(clean, "/") {
			ext := path.Ext(clean)
			if len(ext) < 2 || len(ext) == len(clean) || strings.Trim(ext[1:], "abcdefghijklmnopqrstuvwxyz") != "" {
				continue // a bare word, or a dotted name without a file extension
			}
		}
		out = append(out, clean)
	}
	return out
}

// accountSetting returns the user and group a config line makes its
// program switch to: a key whose last part ("server.username",
// "cache_effective_user", "user") is user, username, group or groupname,
// with a plain account name as its value (nginx's "user www-data
// [group]" gives both).
func accountSetting(line string) (user, group string) {
	f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '=' || r == ':' || r == ';' })
	if len(f) < 2 {
		return "", ""
	}
	key := strings.ToLower(f[0])
	if i := strings.LastIndexAny(key, "._-"); i >= 0 {
		key = key[i+1:]
	}
	name := func(i int) string {
		if i >= len(f) {
			return ""
		}
		v := strings.Trim(f[i], "\"'")
		if !accountName(v) {
			return ""
		}
		return v
	}
	switch key {
	case "user", "username":
		return name(1), name(2)
	case "group", "groupname":
		return "", name(1)
	}
	return "", ""
}

// accountName reports a plain account name (Debian's NAME_REGEX).
func accountName(s string) bool {
	if s == "" || len(s) > 32 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '_') {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
