package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/ldcache"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// hit is a candidate file that passed verification.
type hit struct {
	openedAs string
	phys     string
	links    []string
	f        *elfread.File
	how      How
}

type variantHit struct {
	hit
	sub string
	how How
}

// verdict is the outcome of trying one candidate path.
type verdict int

const (
	vNotFound verdict = iota // missing, dangling, EACCES: keep searching
	vSkip                    // wrong class or machine: keep searching
	vStopList                // ENOTDIR, ELOOP: this path list is abandoned
	vFatal                   // non-ELF, truncated, directory: loading fails
	vOK
)

// search is one lookup of a name on behalf of a requester.
type search struct {
	r         *Resolver
	name      string
	requester *lmap
	opts      mapOpts
	variants  []variantHit
	fatal     string
}

// verify tries the candidate path p (absolute, uncleaned) like open_verify.
func (s *search) verify(p string, how How) (*hit, verdict) {
	r := s.r
	res, err := r.v.Resolve(p, true)
	if err != nil {
		if errors.Is(err, rootfs.ErrLoop) || !r.musl && errors.Is(err, rootfs.ErrNotDir) {
			return nil, vStopList
		}
		return nil, vNotFound
	}
	e, err := r.v.Lstat(res.Path)
	if err != nil {
		return nil, vNotFound // missing, or a dangling link
	}
	if r.musl {
		// musl takes the first file that opens and fails if it cannot map it.
		return s.verifyContent(p, res, e, how, true)
	}
	if s.opts.secure && r.opts.Secure && e.Mode&fs.ModeSetuid == 0 {
		return nil, vNotFound // secure preloads must be setuid
	}
	return s.verifyContent(p, res, e, how, false)
}

func (s *search) verifyContent(p string, res rootfs.Resolution, e *rootfs.Entry, how How, musl bool) (*hit, verdict) {
	r := s.r
	fail := func(msg string) (*hit, verdict) {
		s.fatal = fmt.Sprintf("%s: %s", p, msg)
		return nil, vFatal
	}
	switch e.Type {
	case rootfs.TypeReg:
	case rootfs.TypeDir:
		return fail("cannot read file data: Is a directory")
	default:
		return fail(fmt.Sprintf("cannot read file data: not a regular file (%s)", e.Type))
	}
	fh, err := r.v.Open(res.Path)
	if err != nil {
		return fail(err.Error())
	}
	defer fh.Close()
	h, err := elfread.ReadHeader(fh, fh.Size())
	switch {
	case errors.Is(err, elfread.ErrNotELF):
		return fail("invalid ELF header")
	case errors.Is(err, elfread.ErrTruncated):
		return fail("file too short")
	case err != nil:
		return fail(err.Error())
	}
	if musl {
		if h.Class != r.main.f.Class || h.Machine != r.main.f.Machine || h.Data != r.main.f.Data {
			return fail("wrong ELF class or machine")
		}
	} else {
		skip, err := r.elfCompatible(h)
		if err != nil {
			return fail(err.Error())
		}
		if skip {
			return nil, vSkip
		}
	}
	f, err := elfread.Parse(fh, fh.Size())
	if err != nil {
		return fail(err.Error())
	}
	return &hit{openedAs: p, phys: res.Path, links: res.Links, f: f, how: how}, vOK
}

// direct loads a name containing '/': no search (rule 4).
func (s *search) direct() *hit {
	p := s.r.abs(s.name)
	h, v := s.verify(p, HowDirect)
	if v == vOK {
		return h
	}
	return nil
}

// openPath tries name in each directory of dirs, with the hwcaps
// subdirectories (glibc's open_path). dirs hold "" for the working
// directory. It returns the first certain hit; CPU-specific hits are
// collected as variants.
func (s *search) openPath(dirs []string, how How) *hit {
	r := s.r
	for _, d := range dirs {
		base := r.abs(d)
		if d == "" {
			base = r.wd
		}
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		var found *hit
		for _, sub := range r.arch.subdirs {
			if s.r.musl && sub.path != "" {
				continue
			}
			if found != nil && sub.certain {
				continue // ld.so stops at the first certain hit
			}
			switch r.dirState(base + sub.path) {
			case dirMissing:
				continue
			case dirBroken:
				if sub.path == "" && !r.musl {
					return nil // ENOTDIR/ELOOP: the list is abandoned
				}
				continue
			}
			if r.budget--; r.budget < 0 {
				s.fatal = "search budget exhausted (hostile image?)"
				return nil
			}
			p := base + sub.path + s.name
			h, v := s.verify(p, how)
			switch v {
			case vFatal:
				if !sub.certain {
					// only CPUs that search this subdirectory would fail
					r.res.Warnings = append(r.res.Warnings, s.fatal)
					s.fatal = ""
					continue
				}
				return nil
			case vStopList:
				if sub.path == "" {
					return nil
				}
			case vOK:
				if sub.certain {
					found = h
				} else {
					s.variants = append(s.variants, variantHit{hit: *h, sub: sub.path, how: how})
				}
			}
		}
		if found != nil {
			return found
		}
	}
	return nil
}

// run is the glibc 2.36 search for a bare name (rule 5).
func (s *search) run() *hit {
	r := s.r
	loader := s.requester
	if loader == nil {
		loader = r.main
	}
	// (2) DT_RPATH of the requester and its loaders, unless the requester
	// has DT_RUNPATH; then the executable's.
	if !loader.f.HasRunpath {
		didMain := false
		for l := loader; l != nil; l = l.loader {
			if dirs := r.rpathDirs(l); dirs != nil {
				if h := s.openPath(dirs, HowRpath); h != nil || s.fatal != "" {
					return h
				}
				didMain = didMain || l.isMain
			}
		}
		if !didMain {
			if dirs := r.rpathDirs(r.main); dirs != nil {
				if h := s.openPath(dirs, HowRpath); h != nil || s.fatal != "" {
					return h
				}
			}
		}
	}
	// (3) LD_LIBRARY_PATH
	if dirs := r.libraryPath(); dirs != nil {
		if h := s.openPath(dirs, HowLibraryPath); h != nil || s.fatal != "" {
			return h
		}
	}
	// (4) the requester's own DT_RUNPATH
	if dirs := r.runpathDirs(loader); dirs != nil {
		if h := s.openPath(dirs, HowRunpath); h != nil || s.fatal != "" {
			return h
		}
	}
	// (5) the image's ld.so.cache
	if !(s.opts.secure && r.opts.Secure) {
		if h := s.fromCache(loader); h != nil || s.fatal != "" {
			return h
		}
	}
	// (6) default directories, unless DF_1_NODEFLIB
	if !loader.f.NoDefaultLib() {
		return s.openPath(r.arch.dirs, HowDefault)
	}
	return nil
}

func (s *search) fromCache(loader *lmap) *hit {
	r := s.r
	c := r.ldCache()
	if c == nil || !r.arch.cacheOK {
		return nil
	}
	m := c.Lookup(s.name, r.arch.cache)
	if !m.Found() {
		return nil
	}
	nodef := loader.f.NoDefaultLib()
	inSystemDir := func(p string) bool {
		for _, d := range r.arch.dirs {
			if strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	for _, v := range m.Variants {
		if nodef && inSystemDir(v.Path) {
			continue
		}
		h, vd := s.verify(v.Path, HowCache)
		if vd == vOK {
			sub := "glibc-hwcaps/" + v.HWCaps + "/"
			if v.HWCaps == "" {
				sub = fmt.Sprintf("hwcap-%#x/", v.HWCap)
			}
			s.variants = append(s.variants, variantHit{hit: *h, sub: sub, how: HowCache})
		}
		s.fatal = ""
	}
	if m.Path == "" || (nodef && inSystemDir(m.Path)) {
		return nil
	}
	h, vd := s.verify(m.Path, HowCache)
	if vd == vOK {
		return h
	}
	return nil // not opening: fall through to the default directories
}

// ldCache parses the image's /etc/ld.so.cache once; a missing or corrupt
// cache is ignored, as ld.so ignores it.
func (r *Resolver) ldCache() *ldcache.Cache {
	if r.cacheRead {
		return r.cache
	}
	r.cacheRead = true
	data, err := r.v.ReadFile("/etc/ld.so.cache", ldcache.MaxSize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("/etc/ld.so.cache: %v", err))
		}
		return nil
	}
	r.res.ConfigFiles = append(r.res.ConfigFiles, "/etc/ld.so.cache")
	c, err := ldcache.Parse(data, r.arch.cache.Order)
	if err != nil {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("/etc/ld.so.cache ignored: %v", err))
		return nil
	}
	r.cache = c
	return c
}

// libraryPath returns the decomposed LD_LIBRARY_PATH (split on ':' and
// ';'), nil when unset or in secure mode.
func (r *Resolver) libraryPath() []string {
	if r.opts.Secure {
		return nil
	}
	if r.llp != nil {
		return r.llp
	}
	s, ok := r.env["LD_LIBRARY_PATH"]
	if !ok || s == "" {
		return nil
	}
	if r.musl {
		r.llp = splitMusl(s)
	} else {
		r.llp = r.decompose(s, ":;", r.main)
	}
	if r.llp == nil {
		r.llp = []string{}
	}
	return r.llp
}

func (r *Resolver) rpathDirs(l *lmap) []string {
	r.decomposeObject(l)
	return l.rpath
}

func (r *Resolver) runpathDirs(l *lmap) []string {
	r.decomposeObject(l)
	return l.runpath
}

func (r *Resolver) decomposeObject(l *lmap) {
	if l.rpathDone {
		return
	}
	l.rpathDone = true
	// An object with both DT_RPATH and DT_RUNPATH: DT_RPATH is ignored.
	if l.f.HasRunpath {
		l.runpath = r.decompose(l.f.Runpath, ":", l)
	} else if l.f.HasRpath {
		l.rpath = r.decompose(l.f.Rpath, ":", l)
	}
}

// decompose splits a glibc search path and expands its tokens per element
// (fillin_rpath). An empty element is the working directory; an element
// whose token cannot be expanded is dropped. Duplicates are removed.
func (r *Resolver) decompose(s, seps string, l *lmap) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, el := range splitKeepEmpty(s, seps) {
		if el != "" {
			var ok bool
			el, ok = r.expandElement(el, l)
			if !ok || el == "" {
				continue
			}
			for len(el) > 1 && strings.HasSuffix(el, "/") {
				el = el[:len(el)-1]
			}
		}
		if !seen[el] {
			seen[el] = true
			out = append(out, el)
		}
	}
	return out
}

// splitKeepEmpty splits s at every byte in seps, keeping empty fields.
func splitKeepEmpty(s, seps string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(seps, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// expandName expands the tokens of a DT_NEEDED name (expand_dst).
func (r *Resolver) expandName(name string, l *lmap) (string, bool) {
	if !strings.Contains(name, "$") {
		return name, true
	}
	s, ok := r.expandElement(name, l)
	return s, ok && s != ""
}

// expandElement substitutes $ORIGIN, $PLATFORM and $LIB (and the ${...}
// forms) in one path element like _dl_dst_substitute. ok is false when a
// known token has no value (or is refused in secure mode): the element is
// then dropped.
func (r *Resolver) expandElement(s string, l *lmap) (string, bool) {
	var b strings.Builder
	checkTrusted := false
	start := 0
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		rest := s[i+1:]
		var repl string
		var n int
		known := false
		if n = isDST(rest, "ORIGIN"); n > 0 {
			known = true
			if r.opts.Secure {
				after := ""
				if len(rest) > n {
					after = rest[n:]
				}
				if (after != "" && after[0] != '/') || i != start {
					return "", false
				}
			}
			repl = l.origin
			checkTrusted = r.opts.Secure && l.isMain
		} else if n = isDST(rest, "PLATFORM"); n > 0 {
			known = true
			repl = r.arch.platform
		} else if n = isDST(rest, "LIB"); n > 0 {
			known = true
			repl = r.arch.lib
		}
		if !known {
			b.WriteByte('$')
			i++
			continue
		}
		if repl == "" {
			return "", false
		}
		b.WriteString(repl)
		i += 1 + n
	}
	out := b.String()
	if checkTrusted && !r.trusted(out) {
		return "", false
	}
	return out, true
}

// isDST returns the length of the token ref ("ORIGIN" or "{ORIGIN}") at the
// start of s, 0 when absent. An unbraced token ends at the first character
// outside [A-Za-z0-9_].
func isDST(s, ref string) int {
	if strings.HasPrefix(s, "{") {
		if strings.HasPrefix(s[1:], ref+"}") {
			return len(ref) + 2
		}
		return 0
	}
	if !strings.HasPrefix(s, ref) {
		return 0
	}
	if len(s) > len(ref) {
		c := s[len(ref)]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return 0
		}
	}
	return len(ref)
}

// trusted reports whether p, lexically normalised, lies in a system
// directory (is_trusted_path_normalize).
func (r *Resolver) trusted(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	np := path.Clean(p) + "/"
	for _, d := range r.arch.dirs {
		if strings.HasPrefix(np, d+"/") {
			return true
		}
	}
	return false
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// Directory states remembered during a search (glibc's r_dir_status).
const (
	dirUnknown = iota
	dirOK
	dirMissing
	dirBroken // a non-directory or a symlink loop on the way
)

// dirState tells whether d (ending in '/') is a directory of the image.
func (r *Resolver) dirState(d string) int {
	if st, ok := r.dirs[d]; ok {
		return st
	}
	st := dirOK
	res, err := r.v.Resolve(d, true)
	switch {
	case err != nil && (errors.Is(err, rootfs.ErrNotDir) || errors.Is(err, rootfs.ErrLoop)):
		st = dirBroken
	case err != nil:
		st = dirMissing
	default:
		e, err := r.v.Lstat(res.Path)
		switch {
		case err != nil:
			st = dirMissing
		case e.Type != rootfs.TypeDir:
			st = dirBroken
		}
	}
	r.dirs[d] = st
	return st
}
