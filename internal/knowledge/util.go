package knowledge

import (
	"bytes"
	"io"
	"iter"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// lines yields the lines of data without their "\n" or "\r\n", however
// long: callers read data with a size cap, so no line is too long to see
// (bufio.Scanner stops silently at its token limit and drops the rest).
func lines(data []byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for l := range bytes.Lines(data) {
			if !yield(strings.TrimSuffix(strings.TrimSuffix(string(l), "\n"), "\r")) {
				return
			}
		}
	}
}

// maxConfig caps the size of a configuration file a rule parses.
const maxConfig = 4 << 20

// because returns a knowledge reason of rule, caused by from.
func because(rule, from, detail string) keptset.Reason {
	return keptset.Reason{Kind: keptset.KindKnowledge, Rule: rule, From: from, Detail: detail}
}

// dlopened returns the reason for a module rule knows requester dlopens.
func dlopened(rule, requester, detail string) keptset.Reason {
	return keptset.Reason{Kind: keptset.KindDlopen, Rule: rule, From: requester, Detail: detail}
}

// glibcs returns the kept glibc libc.so.6 objects, sorted by path.
func glibcs(c Keeper) []Object {
	var out []Object
	for _, o := range c.Objects() {
		if o.Libc && !o.Musl {
			out = append(out, o)
		}
	}
	sortObjects(out)
	return out
}

// matching returns the kept objects whose base name matches re, sorted by path.
func matching(c Keeper, re *regexp.Regexp) []Object {
	var out []Object
	for _, o := range c.Objects() {
		if re.MatchString(path.Base(o.Path)) {
			out = append(out, o)
		}
	}
	sortObjects(out)
	return out
}

func sortObjects(os []Object) {
	sort.Slice(os, func(i, j int) bool { return os[i].Path < os[j].Path })
}

// envList returns the non-empty elements of the colon-separated variable key.
func envList(c Keeper, key string) []string {
	v, ok := c.Getenv(key)
	if !ok {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// exists reports whether name resolves to an existing entry (following links).
func exists(v *rootfs.View, name string) bool {
	_, err := v.Stat(name)
	return err == nil
}

// isDir reports whether name resolves to a directory.
func isDir(v *rootfs.View, name string) bool {
	e, err := v.Stat(name)
	return err == nil && e.Type == rootfs.TypeDir
}

// isELF reports whether the regular file e starts with the ELF magic.
func isELF(v *rootfs.View, e *rootfs.Entry) bool {
	if e.Type != rootfs.TypeReg || e.Size < 64 {
		return false
	}
	f, err := v.Open(e.Path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return elfread.IsELF(b[:])
}

// mayBeELF reports whether e is worth checking for the ELF magic: shared
// objects and executables.
func mayBeELF(e *rootfs.Entry) bool {
	if e.Type != rootfs.TypeReg {
		return false
	}
	return e.Mode&0o111 != 0 || strings.Contains(path.Base(e.Path), ".so") || strings.HasSuffix(e.Path, ".node")
}

// treeOpts tunes keepTree.
type treeOpts struct {
	elf bool // AddExecutable every ELF file below, so its libraries come too
	// skipLink tells which links to directories not to follow into.
	skipLink func(link string) bool
	// skip are paths below the tree left out of it (a JDK's lib/modules
	// that a cut image replaces).
	skip map[string]bool
}

// skips reports whether a path below dir is to be left out.
func (o treeOpts) skips(dir string) bool {
	for p := range o.skip {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// addTreeSkipping keeps dir and every entry below it but those in skip.
func addTreeSkipping(c Keeper, dir string, why keptset.Reason, skip map[string]bool) (bool, error) {
	if ok, err := c.AddPath(dir, why); err != nil || !ok {
		return ok, err
	}
	var paths []string
	err := c.View().Walk(dir, func(e *rootfs.Entry) error {
		if e.Path != dir && !skip[e.Path] && e.Type != rootfs.TypeSymlink {
			paths = append(paths, e.Path)
		}
		return nil
	})
	if err != nil {
		return true, nil // an unreadable subtree: what could be kept is kept
	}
	for _, p := range paths {
		if _, err := c.AddPath(p, why); err != nil {
			return true, err
		}
	}
	return true, nil
}

// keepTree keeps the directory dir and everything below it. Symlinks inside
// are followed (their targets are kept; a target directory is kept whole,
// once), and with o.elf every ELF object found is added with its closure.
// It reports whether dir exists.
func keepTree(c Keeper, dir string, why keptset.Reason, o treeOpts) (bool, error) {
	return keepTreeSeen(c, dir, why, o, map[string]bool{})
}

func keepTreeSeen(c Keeper, dir string, why keptset.Reason, o treeOpts, seen map[string]bool) (bool, error) {
	v := c.View()
	res, err := v.Resolve(dir, true)
	if err != nil {
		return false, nil
	}
	if seen[res.Path] {
		return true, nil
	}
	seen[res.Path] = true
	var ok bool
	if o.skips(res.Path) {
		ok, err = addTreeSkipping(c, res.Path, why, o.skip)
	} else {
		ok, err = c.AddTree(dir, why)
	}
	if err != nil || !ok {
		return ok, err
	}
	var links, elfs []string
	err = v.Walk(res.Path, func(e *rootfs.Entry) error {
		switch {
		case o.skip[e.Path]:
		case e.Type == rootfs.TypeSymlink:
			links = append(links, e.Path)
		case o.elf && mayBeELF(e) && isELF(v, e):
			elfs = append(elfs, e.Path)
		}
		return nil
	})
	if err != nil {
		return true, nil // an unreadable subtree: what could be kept is kept
	}
	for _, l := range links {
		t, err := v.Stat(l)
		if err != nil {
			continue // dangling: AddTree kept the link itself
		}
		if t.Type == rootfs.TypeDir {
			if o.skipLink != nil && o.skipLink(l) {
				continue
			}
			if _, err := keepTreeSeen(c, l, why, o, seen); err != nil {
				return true, err
			}
			continue
		}
		if _, err := c.AddPath(l, why); err != nil {
			return true, err
		}
		if o.elf && mayBeELF(t) && isELF(v, t) {
			elfs = append(elfs, t.Path)
		}
	}
	for _, p := range elfs {
		if _, err := c.AddExecutable(p, why); err != nil {
			return true, err
		}
	}
	return true, nil
}

// addPaths keeps each existing name, stopping at the first error.
func addPaths(c Keeper, why keptset.Reason, names ...string) error {
	for _, n := range names {
		if _, err := c.AddPath(n, why); err != nil {
			return err
		}
	}
	return nil
}

// keepTrees keeps each directory tree that exists.
func keepTrees(c Keeper, why keptset.Reason, o treeOpts, dirs ...string) error {
	for _, d := range dirs {
		if _, err := keepTree(c, d, why, o); err != nil {
			return err
		}
	}
	return nil
}

// children returns the names of the entries of dir matching re (sorted); a
// missing dir gives none.
func children(v *rootfs.View, dir string, re *regexp.Regexp) []string {
	ents, err := v.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		b := path.Base(e.Path)
		if re == nil || re.MatchString(b) {
			out = append(out, b)
		}
	}
	return out
}

// triplets returns the multiarch directory names under /usr/lib (for example
// "x86_64-linux-gnu"), derived from what exists.
func triplets(v *rootfs.View) []string {
	return children(v, "/usr/lib", reTriplet)
}

var reTriplet = regexp.MustCompile(`^[a-z0-9_]+-linux-(gnu|musl)[a-z0-9_]*$`)

// systemTop lists the top-level directories that hold the operating system,
// not an application.
var systemTop = map[string]bool{
	"usr": true, "bin": true, "sbin": true, "lib": true, "lib32": true, "lib64": true,
	"libx32": true, "etc": true, "var": true, "proc": true, "sys": true, "dev": true,
	"run": true, "tmp": true, "boot": true,
}

// appRoots are directories inside the operating system's top-level
// directories that hold applications by convention (the official node
// image's WORKDIR /usr/src/app, web roots under /var/www).
var appRoots = []string{"/usr/src", "/usr/local/src", "/var/www"}

// appDir reports whether dir looks like an application's own directory: not
// "/", not a bare top-level directory such as /home or /opt, and not below a
// directory of the operating system unless below one of appRoots.
func appDir(dir string) bool {
	dir = path.Clean(dir)
	for _, r := range appRoots {
		if strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	if len(parts) < 2 && (parts[0] == "" || parts[0] == "home" || parts[0] == "opt" || parts[0] == "srv" || parts[0] == "mnt" || parts[0] == "media" || parts[0] == "root") {
		return false
	}
	return !systemTop[parts[0]]
}

// keepAppTrees keeps, for an interpreted runtime, the application's own code:
// the working directory when it is an application directory, and the
// directory of every kept file with one of exts that lies in one. It needs a
// closure that tells its working directory or kept paths; others are skipped.
func keepAppTrees(c Keeper, rule string, o treeOpts, exts ...string) error {
	var dirs []string
	if w, ok := c.(WorkingDirer); ok {
		if wd := w.WorkingDir(); wd != "" && appDir(wd) {
			dirs = append(dirs, wd)
		}
	}
	if l, ok := c.(PathLister); ok {
		for _, p := range l.Paths() {
			for _, x := range exts {
				if strings.HasSuffix(p, x) && appDir(path.Dir(p)) {
					dirs = append(dirs, path.Dir(p))
					break
				}
			}
		}
	}
	sort.Strings(dirs)
	var last string
	for _, d := range dirs {
		if last != "" && (d == last || strings.HasPrefix(d, last+"/")) {
			continue
		}
		last = d
		if _, err := keepTree(c, d, because(rule, "", "application directory"), o); err != nil {
			return err
		}
	}
	return nil
}

// fileHead returns up to the first n bytes of the regular file name (nil
// when it cannot be read).
func fileHead(v *rootfs.View, name string, n int) []byte {
	f, err := v.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, n)
	m, _ := f.ReadAt(buf, 0)
	return buf[:m]
}

// readConfig reads a small configuration file; a missing or unreadable one
// gives nil.
func readConfig(v *rootfs.View, name string) []byte {
	b, err := v.ReadFile(name, maxConfig)
	if err != nil {
		return nil
	}
	return b
}

// walkFiles returns the physical paths of the regular files (and symlinks)
// below dir, sorted.
func walkFiles(v *rootfs.View, dir string) []string {
	var out []string
	_ = v.Walk(dir, func(e *rootfs.Entry) error {
		if e.Type == rootfs.TypeReg || e.Type == rootfs.TypeSymlink {
			out = append(out, e.Path)
		}
		return nil
	})
	return out
}

// byteRuns calls fn with every maximal run of bytes of data that in accepts.
func byteRuns(data []byte, in func(byte) bool, fn func(string)) {
	start := -1
	for i := 0; i <= len(data); i++ {
		if i < len(data) && in(data[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(string(data[start:i]))
			start = -1
		}
	}
}
