package keep

import (
	"debug/elf"
	"fmt"
	"github.com/pare-dev/pare/internal/shells"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Compiled-in paths: programs and libraries find their configuration, data,
// plugin directories and helper programs through absolute paths built into
// their read-only data (ImageMagick's coders directory and /etc/ImageMagick-6
// in libMagickCore, git's /usr/lib/git-core). Every absolute path in a kept
// ELF object's read-only sections that exists in the image is kept:
//
//   - a file is kept; an executable file or an ELF object gets its closure
//     (see helper), except in the shared program directories (/usr/bin,
//     /bin, ...): a "/bin/sh" in a library is a fallback for system(), and
//     programs there come from the closure (shell scanning, the trace);
//   - a directory keeps its whole tree only when it is private to one
//     source package and its path names that package (per the package
//     index), or when no package owns anything in it; any other directory
//     (/usr/lib/x86_64-linux-gnu/gconv) is kept as an empty directory,
//     never with its contents, and the shared hierarchy itself (/usr/share,
//     /etc, /opt) not at all. In traced mode no tree is expanded.
//
// The C library and the dynamic loader are not scanned: their built-in
// paths (gconv, locales, zoneinfo, NSS files) are what the loader emulation
// and the knowledge rules model. The account files are written by pare. A
// directory from which a knowledge rule already keeps files is left to that
// rule (see ruleOwned).

// maxSection caps the bytes read from one ELF section.
const maxSection = 64 << 20

func (b *builder) compiledPaths() {
	st := b.pkgs()
	paths := make([]string, 0, len(b.res.Objects))
	for p := range b.res.Objects {
		if !st.scanned[p] {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	pre := b.rodataAll(paths)
	for _, p := range paths {
		st.scanned[p] = true
		if !b.scannedObject(p) {
			continue
		}
		strs, err := b.rodataOf(pre, p)
		if err != nil {
			b.warn("reading the read-only data of %s: %v", p, err)
			continue
		}
		for _, s := range strs {
			b.compiledPath(s, p)
		}
		st.roots[p] = b.compiledRoots(strs)
	}
}

// compiledRoots returns the directories the compiled-in paths strs name:
// each that is an existing directory, and the existing directory of each
// other (the conf dir of a compiled-in nginx.conf, the log dir of a log
// file made at run time), but none of the shared hierarchy. They are where
// the program resolves the relative names of its configuration (see
// relativeNames).
func (b *builder) compiledRoots(strs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range strs {
		s = path.Clean(s)
		for _, d := range []string{s, path.Dir(s)} {
			if seen[d] || skipCompiled(d) || d == "/" || isSystemDir(d) || hierarchyDir(d) || isHierarchyDir(d) || binDirs[d] {
				continue
			}
			if e, err := b.v.Stat(d); err == nil && e.Type == rootfs.TypeDir {
				seen[d] = true
				out = append(out, d)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// skipCompiled are paths a compiled-in string may name that pare must not
// keep from the image: the kernel's and the runtime's file systems, scratch
// space, and the account files pare writes itself.
func skipCompiled(p string) bool {
	for _, pre := range []string{"/proc", "/sys", "/dev", "/tmp", "/var/tmp", "/run", "/var/run"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	switch p {
	case "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow":
		return true
	}
	return neverNeeded(p)
}

// binDirs are the shared program directories.
var binDirs = map[string]bool{"/bin": true, "/sbin": true, "/usr/bin": true, "/usr/sbin": true, "/usr/local/bin": true, "/usr/local/sbin": true}

func (b *builder) compiledPath(name, by string) {
	name = path.Clean(name)
	if name == "/" || skipCompiled(name) {
		return
	}
	e, err := b.v.Stat(name)
	if err != nil || skipCompiled(e.Path) || e.Type == rootfs.TypeDir && (isSystemDir(e.Path) || hierarchyDir(e.Path)) {
		return // a shared hierarchy directory (/usr/share, /opt) says nothing
	}
	why := keptset.Reason{Kind: keptset.KindCompiled, From: by, Detail: name}
	switch e.Type {
	case rootfs.TypeReg:
		if binDirs[path.Dir(e.Path)] || binDirs[resolvedPath(b.v, path.Dir(name))] {
			// a program in a shared bin directory: most such strings are
			// build metadata (postgres embeds configure's /usr/bin/prove)
			// or fallbacks a library may never run (glib's spawn, a default
			// editor), and a tool a script calls may run one for a feature
			// the script does not use (gawk's system()); but the image's
			// own program that names a shell runs commands through it (git
			// runs git-upload-pack with /bin/sh -c)
			if !slices.Contains(b.res.Roots, by) || !shells.IsPOSIX(name) {
				return
			}
			if _, err := b.addProgram(name, why); err != nil {
				b.warn("program %s named in %s: %v", name, by, err)
			}
			return
		}
		if e.Mode&0o111 != 0 || b.isELF(e.Path) {
			if _, err := b.set.Keep(name, why); err == nil {
				b.helper(e.Path, why)
			}
			return
		}
		if _, err := b.set.Keep(name, why); err != nil {
			b.warn("keeping %s: %v", name, err)
		}
	case rootfs.TypeDir:
		if _, err := b.set.Keep(name, why); err != nil {
			b.warn("keeping %s: %v", name, err)
			return
		}
		if b.static() && b.treeAllowed(e.Path) && !b.ruleOwned(e.Path) {
			b.keepTree(e.Path, keptset.Reason{Kind: keptset.KindCompiled, From: by, Detail: "tree " + name}, true)
		}
	}
}

// treeAllowed reports whether a directory named by a compiled-in path may be
// kept with its contents: private to the packages of one source and named
// after it, or outside any package and outside the shared hierarchy.
func (b *builder) treeAllowed(dir string) bool {
	if isSystemDir(dir) || hierarchyDir(dir) || binDirs[dir] {
		return false
	}
	ix := b.pk.ix
	if ix == nil {
		// no package database: only trees outside the system hierarchy
		top := strings.SplitN(strings.TrimPrefix(dir, "/"), "/", 2)[0]
		switch top {
		case "usr", "etc", "lib", "lib64", "lib32", "bin", "sbin", "var":
			return false
		}
		return true
	}
	owners := ix.OwnersUnder(dir)
	if len(owners) == 0 {
		return true // nothing below it is packaged (an empty listed directory, or the app's own)
	}
	src := sourceOf(owners[0])
	if !ix.PrivateTo(dir, func(q *pkgdb.Package) bool { return sourceOf(q) == src }) {
		return false
	}
	return relatesPath(dir, owners...)
}

func sourceOf(p *pkgdb.Package) string {
	if p.Source != "" {
		return p.Source
	}
	return p.Name
}

// rodataPaths returns the absolute paths found in the read-only data
// sections of the ELF file p: pieces of printable strings that start with
// "/" (lists such as "PATH=/usr/bin:/bin" split on ':' '=' ';' ',').
func (b *builder) rodataPaths(p string) (out []string, err error) {
	fh, err := b.v.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("malformed ELF: %v", r)
		}
	}()
	f, err := elf.NewFile(fh)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&(elf.SHF_WRITE|elf.SHF_EXECINSTR) != 0 {
			continue
		}
		if s.Name == ".interp" || s.Name == ".eh_frame" || s.Name == ".eh_frame_hdr" || s.Name == ".gcc_except_table" || strings.HasPrefix(s.Name, ".note") {
			continue
		}
		if s.Size > maxSection || s.Offset+s.Size > uint64(fh.Size()) {
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(fh, int64(s.Offset), int64(s.Size)))
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		for _, c := range pathStrings(data) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// pathStart returns piece from its first '/' that does not continue a
// name: a string in read-only data often follows bytes of other data that
// happen to be printable ("R@/etc/papersize"), while "usr/lib/x" is a
// relative path, not "/lib/x".
func pathStart(piece string) string {
	if piece == "" || piece[0] == '/' {
		return piece
	}
	for i := 1; i < len(piece); i++ {
		if piece[i] != '/' {
			continue
		}
		c := piece[i-1]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-+~", c) >= 0 {
			return piece // a relative path
		}
		return piece[i:]
	}
	return piece
}

// pathStrings returns the absolute-path pieces of the printable runs of data.
func pathStrings(data []byte) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		run := string(data[start:end])
		start = -1
		if len(run) < 4 || len(run) > 1024 || !strings.Contains(run, "/") {
			return
		}
		for _, piece := range strings.FieldsFunc(run, func(r rune) bool {
			return r == ':' || r == '=' || r == ';' || r == ',' || r == '"' || r == '\''
		}) {
			piece = pathStart(piece)
			if len(piece) < 4 || piece[0] != '/' || piece[1] == '/' || strings.ContainsAny(piece, "%*$?[]{}<>|\\`()&#!~^") {
				continue
			}
			out = append(out, piece)
		}
	}
	for i, c := range data {
		if c > 0x20 && c < 0x7f {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(data))
	return out
}
