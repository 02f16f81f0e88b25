package knowledge

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Gconv keeps glibc's iconv modules that kept programs can use. It applies
// when a kept object other than libc.so.6 references iconv_open. The gconv
// directories are $LIB/gconv next to libc.so.6, the multiarch and lib64
// ones, and GCONV_PATH's.
//
// Which charsets a process converts is decided like this:
//
//   - a program (not a shared library) that itself imports iconv_open is a
//     general converter: iconv(1), git (commit encodings), a PHP binary —
//     what it converts is named by its input, so every module is kept;
//     after a traced run, see below;
//   - otherwise the charsets are the names found in what is kept: the
//     read-only data of every kept ELF object but libc and the loader (a
//     library that maps names it knows, such as libxml2's encoding table or
//     libunistring's locale charset table, names them there; its callers
//     name theirs; only objects importing iconv_open and those linked to
//     one, transitively, count: ICU's data library names every charset
//     for its own converters), the kept configuration files (see configFiles), the
//     image's Env, the names of kept locale directories, and the codeset of
//     every locale name among them (de_DE.ISO-8859-15 → ISO-8859-15). A
//     word counts when it is a charset name or alias of the image's own
//     gconv configuration (gconv-modules, gconv-modules.d/*.conf: "alias"
//     and "module" lines, parsed, never a built-in table), spelled as there
//     or, in any case, when it has a digit or five characters or more.
//
// A name is resolved through the aliases to the modules converting from or
// to it, and through any module converting it to a third charset (a
// multi-step conversion, EUC-CN → BIG5) to that charset's modules, each
// kept with its own libraries (EUC-JP.so needs libJIS.so). glibc converts
// its built-in charsets (the UTF and UCS forms, ASCII) without modules;
// a name with no module line needs nothing. When a module is kept, the
// configuration files and gconv-modules.cache are kept with it. A
// library that converts what its input names (an XML declaration's
// encoding) beyond the names it holds is not told apart statically: the
// trace keeps the modules a run opened, and All (--keep-gconv) keeps them
// all.
//
// After a traced run (see traced.go) the run's observations hold the
// modules it opened, for a general converter too; beside them only the
// charsets the Env and the locales name are kept (process-wide settings a
// later run may change), with a note. The names in the objects' read-only
// data are tables of what their input may name (git's encodings, libcups'
// printer charsets), and those in the configuration are settings the run
// read (apache's AddCharset lines label responses, they convert nothing):
// the run stands for both.
type Gconv struct {
	// All keeps every module, as soon as iconv is used (--keep-gconv).
	All bool
	// cache holds the charset words found per scanned object; shared by
	// the copies of the rule Default returns, nil in a zero Gconv.
	cache *charsetCache
}

// NewGconv returns the gconv rule with a cache of the objects it scanned,
// for one build.
func NewGconv() Gconv {
	return Gconv{cache: &charsetCache{words: map[string][]string{}, facts: map[string]elfFacts{}}}
}

type charsetCache struct {
	mu    sync.Mutex
	words map[string][]string // physical path → charset words found in it
	facts map[string]elfFacts // physical path → what its dynamic section says
}

// Name implements Rule.
func (Gconv) Name() string { return "gconv" }

// Apply implements Rule.
func (r Gconv) Apply(c Keeper) error {
	var user string
	for _, o := range c.Objects() {
		// libc.so.6 defines iconv_open itself; only its callers count
		if o.Iconv && !isLibcObject(o) && (user == "" || o.Path < user) {
			user = o.Path
		}
	}
	libcs := glibcs(c)
	if user == "" || len(libcs) == 0 {
		return nil
	}
	v := c.View()
	var dirs []string
	seen := map[string]bool{}
	cands := envList(c, "GCONV_PATH")
	for _, l := range libcs {
		cands = append(cands, path.Join(path.Dir(l.Path), "gconv"))
	}
	for _, t := range triplets(v) {
		cands = append(cands, "/usr/lib/"+t+"/gconv")
	}
	cands = append(cands, "/usr/lib64/gconv", "/usr/lib/gconv")
	for _, d := range cands {
		if isDir(v, d) {
			if res, err := v.Resolve(d, true); err == nil && !seen[res.Path] {
				seen[res.Path] = true
				dirs = append(dirs, d)
			}
		}
	}
	if len(dirs) == 0 {
		c.Warn("gconv: %s uses iconv but the image has no gconv directory", user)
		return nil
	}
	whole := ""
	switch {
	case r.All:
		whole = "iconv used by " + user + "; every module kept (--keep-gconv)"
	default:
		if p := r.generalConverter(c); p != "" {
			if !traced(c) {
				whole = "iconv_open in the program " + p + ", which converts charsets named at run time"
			}
		}
	}
	if whole == "" && traced(c) {
		// the run opened the modules of the charsets it converted; the
		// names in the objects' own tables are the vocabulary of their
		// input, which the run stands for
		c.Warn("gconv: traced, only the modules the run opened and those of the charsets the Env and locales name are kept (--keep-gconv keeps every module)")
	}
	if whole != "" {
		why := dlopened(r.Name(), libcs[0].Path, whole)
		for _, d := range dirs {
			if _, err := keepTree(c, d, why, treeOpts{elf: true}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range dirs {
		tab := ParseGconvModules(gconvConfigs(v, d), func(name string) []byte { return readConfig(v, name) })
		names := r.charsets(c, tab, dirs, !traced(c))
		files := tab.Modules(names)
		if len(files) == 0 {
			continue
		}
		for _, m := range files {
			f := m.File
			if !strings.HasPrefix(f, "/") {
				f = path.Join(d, f)
			}
			why := dlopened(r.Name(), libcs[0].Path, "iconv from or to "+m.Charset+", named in "+names[m.Charset])
			if _, err := c.AddExecutable(f, why); err != nil {
				return err
			}
		}
		why := dlopened(r.Name(), libcs[0].Path, "gconv configuration of the kept modules")
		cache := path.Join(d, "gconv-modules.cache")
		configs := []string{cache}
		if sameDir(v, d, path.Join(path.Dir(libcs[0].Path), "gconv")) && !hasEnv(c, "GCONV_PATH") && validGconvCache(v, cache) {
			// glibc reads its own directory's cache and, when the cache
			// is valid and GCONV_PATH unset, never the text configuration
			why = dlopened(r.Name(), libcs[0].Path, "gconv module cache of the kept modules (glibc reads it instead of gconv-modules)")
		} else {
			configs = append(gconvConfigs(v, d), cache)
		}
		if err := addPaths(c, why, configs...); err != nil {
			return err
		}
	}
	return nil
}

// gconvCacheMagic starts a valid gconv-modules.cache (glibc's
// GCONVCACHE_MAGIC, in the host's byte order: little-endian here).
const gconvCacheMagic = 0x20010324

// validGconvCache reports whether name is a gconv module cache glibc would
// use: a regular file starting with the magic number.
func validGconvCache(v *rootfs.View, name string) bool {
	b := fileHead(v, name, 4)
	return len(b) == 4 && binary.LittleEndian.Uint32(b) == gconvCacheMagic
}

// sameDir reports whether a and b resolve to the same directory.
func sameDir(v *rootfs.View, a, b string) bool {
	ra, err1 := v.Resolve(a, true)
	rb, err2 := v.Resolve(b, true)
	return err1 == nil && err2 == nil && ra.Path == rb.Path
}

func hasEnv(c Keeper, key string) bool {
	_, ok := c.Getenv(key)
	return ok
}

// gconvConfigs returns the configuration files glibc reads in the gconv
// directory dir: gconv-modules, then gconv-modules.d/*.conf in order.
func gconvConfigs(v *rootfs.View, dir string) []string {
	var out []string
	if exists(v, path.Join(dir, "gconv-modules")) {
		out = append(out, path.Join(dir, "gconv-modules"))
	}
	for _, n := range children(v, path.Join(dir, "gconv-modules.d"), nil) {
		if strings.HasSuffix(n, ".conf") {
			out = append(out, path.Join(dir, "gconv-modules.d", n))
		}
	}
	return out
}

// elfFacts is what the rule reads of one object's dynamic section.
type elfFacts struct {
	iconv   bool // imports iconv_open itself
	program bool // a program, not a shared library
	soname  string
	needed  []string
}

func (r Gconv) facts(v *rootfs.View, p string) elfFacts {
	if r.cache != nil {
		r.cache.mu.Lock()
		defer r.cache.mu.Unlock()
		if x, ok := r.cache.facts[p]; ok {
			return x
		}
	}
	var x elfFacts
	if fh, err := v.Open(p); err == nil {
		if f, err := elfread.Parse(fh, fh.Size()); err == nil {
			x = elfFacts{iconv: f.RefsIconv, program: f.Kind != elfread.KindShared && f.Kind != elfread.KindUnknown,
				soname: f.Soname, needed: f.Needed}
		}
		fh.Close()
	}
	if r.cache != nil {
		r.cache.facts[p] = x
	}
	return x
}

// generalConverter returns the first kept program that imports iconv_open
// itself, "" when none.
func (r Gconv) generalConverter(c Keeper) string {
	objs := c.Objects()
	sortObjects(objs)
	for _, o := range objs {
		if !o.Iconv || isLibcObject(o) {
			continue
		}
		if x := r.facts(c.View(), o.Path); x.iconv && x.program {
			return o.Path
		}
	}
	return ""
}

// isLibcObject reports whether o is the C library or the dynamic loader,
// whose own strings (built-in charsets, TZDIR) say nothing of a program.
func isLibcObject(o Object) bool {
	base := path.Base(o.Path)
	return o.Libc || strings.HasPrefix(base, "libc.so.") || strings.HasPrefix(base, "ld-linux") || strings.HasPrefix(base, "ld-musl") || strings.HasPrefix(base, "libc.musl-")
}

// converterSide returns the kept objects that can hand a charset name to
// iconv: those importing iconv_open and, transitively, those linked
// (DT_NEEDED) to one. A library nothing converting links to (ICU's data
// library, with its own converters' alias table) names charsets for
// nobody here.
func (r Gconv) converterSide(c Keeper) []Object {
	v := c.View()
	objs := c.Objects()
	sortObjects(objs)
	in := map[string]bool{}
	sonames := map[string]bool{}
	for _, o := range objs {
		if isLibcObject(o) {
			continue
		}
		if x := r.facts(v, o.Path); x.iconv {
			in[o.Path] = true
			sonames[x.soname] = true
			sonames[path.Base(o.Path)] = true
		}
	}
	for grew := true; grew; {
		grew = false
		for _, o := range objs {
			if in[o.Path] || isLibcObject(o) {
				continue
			}
			x := r.facts(v, o.Path)
			for _, n := range append(x.needed, o.Needed...) {
				if sonames[n] {
					in[o.Path] = true
					sonames[x.soname] = true
					sonames[path.Base(o.Path)] = true
					grew = true
					break
				}
			}
		}
	}
	var out []Object
	for _, o := range objs {
		if in[o.Path] {
			out = append(out, o)
		}
	}
	return out
}

// charsets returns the charset names of tab found in what is kept, each
// with where it was first found; the read-only data of the objects and the
// configuration files are read only with objects (not after a trace).
func (r Gconv) charsets(c Keeper, tab *GconvTable, gconvDirs []string, objects bool) map[string]string {
	out := map[string]string{}
	add := func(words []string, where string) {
		for _, w := range words {
			if n := tab.Canonical(w); n != "" {
				if _, ok := out[n]; !ok {
					out[n] = where
				}
			}
		}
	}
	v := c.View()
	if objects {
		for _, o := range r.converterSide(c) {
			add(r.objectWords(v, o.Path, tab), o.Path)
		}
	}
	var own []string // the gconv configuration names every charset: not a use
	for _, d := range gconvDirs {
		if res, err := v.Resolve(d, true); err == nil {
			own = append(own, res.Path+"/")
		}
	}
next:
	for _, f := range configFiles(c) {
		if !objects {
			break // traced: the run read the configuration and converted what it asked for
		}
		for _, d := range own {
			if strings.HasPrefix(f, d) {
				continue next
			}
		}
		add(charsetWords(readConfig(v, f), tab), f)
	}
	for _, k := range localeVars {
		if val, ok := c.Getenv(k); ok {
			add(charsetWords([]byte(val), tab), k)
		}
	}
	if l, ok := c.(PathLister); ok {
		for _, p := range l.Paths() {
			if d, rest, ok := strings.Cut(p, "/locale/"); ok && strings.HasSuffix(d, "/lib") && !strings.Contains(rest, "/") {
				add(charsetWords([]byte(rest), tab), p)
			}
		}
	}
	return out
}

// objectWords returns the charset words of tab in the read-only data of
// the ELF object p (the whole file when it has no section headers).
func (r Gconv) objectWords(v *rootfs.View, p string, tab *GconvTable) []string {
	if r.cache != nil {
		r.cache.mu.Lock()
		w, ok := r.cache.words[p]
		r.cache.mu.Unlock()
		if ok {
			return w
		}
	}
	var words []string
	if data, err := readOnlyData(v, p); err == nil {
		words = charsetWords(data, tab)
	}
	if r.cache != nil {
		r.cache.mu.Lock()
		r.cache.words[p] = words
		r.cache.mu.Unlock()
	}
	return words
}

// maxObjectScan caps the bytes of one object scanned for charset names.
const maxObjectScan = 256 << 20

// readOnlyData returns the contents of the read-only data sections of the
// ELF file p, or the whole file when it has no section headers.
func readOnlyData(v *rootfs.View, p string) (out []byte, err error) {
	fh, err := v.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("malformed ELF %s: %v", p, r)
		}
	}()
	size := fh.Size()
	if size > maxObjectScan {
		size = maxObjectScan
	}
	f, err := elf.NewFile(fh)
	if err != nil || len(f.Sections) == 0 {
		return io.ReadAll(io.NewSectionReader(fh, 0, size))
	}
	var buf bytes.Buffer
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&(elf.SHF_WRITE|elf.SHF_EXECINSTR) != 0 {
			continue
		}
		if s.Offset+s.Size > uint64(size) {
			continue
		}
		if _, err := io.Copy(&buf, io.NewSectionReader(fh, int64(s.Offset), int64(s.Size))); err != nil {
			return nil, fmt.Errorf("reading %s of %s: %w", s.Name, p, err)
		}
		buf.WriteByte(0)
	}
	return buf.Bytes(), nil
}

// charsetWord reports whether b may be part of a charset name.
func charsetWord(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':' || b == '+'
}

// charsetWords returns the distinct words of data that tab knows as
// charset names (see Gconv), with the codeset part of locale-shaped words
// (ja_JP.eucJP@mod → eucJP).
func charsetWords(data []byte, tab *GconvTable) []string {
	seen := map[string]bool{}
	var out []string
	try := func(w string) {
		w = strings.Trim(w, ".:-")
		if len(w) < 2 || len(w) > 48 || seen[w] {
			return
		}
		seen[w] = true
		if tab.Knows(w) {
			out = append(out, w)
		}
	}
	byteRuns(data, charsetWord, func(w string) {
		try(w)
		if _, cs, ok := strings.Cut(w, "."); ok {
			cs, _, _ = strings.Cut(cs, "@")
			try(cs)
		}
	})
	sort.Strings(out)
	return out
}

// GconvTable is what glibc's gconv configuration says: aliases and the
// modules converting between two charsets.
type GconvTable struct {
	alias   map[string]string // ALIAS → charset, upper case, without "//"
	spelled map[string]bool   // names as written in the configuration
	modules []GconvModule
	byName  map[string][]int // charset → indexes of modules from or to it
}

// GconvModule is one "module" line: a conversion step and its file.
type GconvModule struct {
	From, To string // upper case, without "//"
	File     string // as written: relative to the directory, without ".so"
	Charset  string // filled by Modules: the requested charset it serves
}

// ParseGconvModules parses gconv configuration files in order ("alias FROM
// TO", "module FROM TO FILE [COST]"; '#' starts a comment); read returns a
// file's contents.
func ParseGconvModules(files []string, read func(string) []byte) *GconvTable {
	t := &GconvTable{alias: map[string]string{}, spelled: map[string]bool{}, byName: map[string][]int{}}
	for _, f := range files {
		for line := range lines(read(f)) {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			w := strings.Fields(line)
			switch {
			case len(w) >= 3 && w[0] == "alias":
				a, to := gconvName(w[1]), gconvName(w[2])
				if _, ok := t.alias[a]; !ok && a != "" && to != "" {
					t.alias[a] = to
				}
				t.spelled[strings.TrimRight(w[1], "/")] = true
			case len(w) >= 4 && w[0] == "module":
				m := GconvModule{From: gconvName(w[1]), To: gconvName(w[2]), File: w[3]}
				if m.From == "" || m.To == "" || m.File == "" {
					continue
				}
				i := len(t.modules)
				t.modules = append(t.modules, m)
				t.byName[m.From] = append(t.byName[m.From], i)
				if m.To != m.From {
					t.byName[m.To] = append(t.byName[m.To], i)
				}
				t.spelled[strings.TrimRight(w[1], "/")] = true
				t.spelled[strings.TrimRight(w[2], "/")] = true
			}
		}
	}
	return t
}

// gconvName upper-cases a charset name and drops its trailing "//" (and
// anything after it, such as "//TRANSLIT").
func gconvName(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	return strings.ToUpper(s)
}

// Canonical returns the charset a name (or alias) stands for, upper case;
// "" when the table has no module for it.
func (t *GconvTable) Canonical(name string) string {
	n := gconvName(name)
	if a, ok := t.alias[n]; ok {
		n = a
	}
	if n == "INTERNAL" || len(t.byName[n]) == 0 {
		return ""
	}
	return n
}

// Knows reports whether word counts as a charset name: one with a module,
// spelled as in the configuration or, in any case, with a digit or five
// characters or more.
func (t *GconvTable) Knows(word string) bool {
	if t.Canonical(word) == "" {
		return false
	}
	if t.spelled[word] {
		return true
	}
	return len(word) >= 5 || strings.ContainsAny(word, "0123456789")
}

// Modules returns the modules needed to convert from and to each of the
// charsets (canonical names), including the steps of multi-step
// conversions, sorted by file, each file once.
func (t *GconvTable) Modules(charsets map[string]string) []GconvModule {
	type step struct{ name, origin string }
	var queue []step
	for n := range charsets {
		queue = append(queue, step{n, n})
	}
	sort.Slice(queue, func(i, j int) bool { return queue[i].name < queue[j].name })
	done := map[string]bool{}
	files := map[string]GconvModule{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if done[s.name] || s.name == "INTERNAL" {
			continue
		}
		done[s.name] = true
		for _, i := range t.byName[s.name] {
			m := t.modules[i]
			if _, ok := files[m.File]; !ok {
				m.Charset = s.origin
				files[m.File] = m
			}
			for _, other := range []string{m.From, m.To} {
				if other != s.name && !done[other] {
					queue = append(queue, step{other, s.origin})
				}
			}
		}
	}
	var out []GconvModule
	for _, m := range files {
		if !strings.HasSuffix(m.File, ".so") {
			m.File += ".so"
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}
