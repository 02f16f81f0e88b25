// Package ldcache reads glibc's /etc/ld.so.cache and looks names up in it the
// way ld.so 2.36 does (elf/dl-cache.c). It reads the old "ld.so-1.7.0"
// format, the new "glibc-ld.so.cache1.1" format and the compat layout that
// puts a new-format table after an old one, with the extension section
// (generator string, glibc-hwcaps subdirectory names).
//
// A cache is image data: parse the image's own file, never the host's.
package ldcache

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic strings and sizes of the on-disk formats (dl-cache.h).
const (
	OldMagic      = "ld.so-1.7.0"
	NewMagic      = "glibc-ld.so.cache"
	NewVersion    = "1.1"
	oldHeaderSize = 16 // magic[11] + pad + nlibs
	oldEntrySize  = 12 // flags, key, value
	newHeaderSize = 48
	newEntrySize  = 24 // flags, key, value, osversion, hwcap
	extMagic      = 0xEAA42174

	// HWCapExtension marks an entry whose hwcap low 32 bits index the
	// glibc-hwcaps table (DL_CACHE_HWCAP_EXTENSION).
	HWCapExtension = uint64(1) << 62

	// MaxSize is the largest cache accepted, in bytes.
	MaxSize = 64 << 20
)

// Entry flags (ldconfig.h): the low byte is the library type, the next the
// architecture.
const (
	FlagELFLibc6     = 0x0003
	FlagX8664Lib64   = 0x0300
	FlagS390Lib64    = 0x0400
	FlagPowerPCLib64 = 0x0500
	FlagX8664LibX32  = 0x0800
	FlagARMLibHF     = 0x0900
	FlagAArch64Lib64 = 0x0a00
	FlagARMLibSF     = 0x0b00
	FlagRISCVDouble  = 0x1000
)

// Format is the layout of a cache file.
type Format int

// Cache layouts.
const (
	FormatOld    Format = iota + 1 // "ld.so-1.7.0" only
	FormatNew                      // "glibc-ld.so.cache1.1" only
	FormatCompat                   // old table followed by a new one
)

func (f Format) String() string {
	switch f {
	case FormatOld:
		return "old"
	case FormatNew:
		return "new"
	case FormatCompat:
		return "compat"
	}
	return "unknown"
}

// Errors.
var (
	// ErrFormat means the data is not a cache or is corrupt.
	ErrFormat = errors.New("not a valid ld.so.cache")
	// ErrEndian means the cache was written for the other byte order; ld.so
	// ignores such a cache.
	ErrEndian = errors.New("ld.so.cache byte order does not match")
)

// Entry is one cache entry. Entries with an invalid string offset are kept
// with Valid false (ld.so skips them) so that the table keeps its order.
type Entry struct {
	Flags     int32
	Key       string // the library name, "libc.so.6"
	Value     string // the path, "/lib/x86_64-linux-gnu/libc.so.6"
	OSVersion uint32
	HWCap     uint64
	// HWCaps is the glibc-hwcaps subdirectory name ("x86-64-v3") of an
	// entry with HWCapExtension, "" otherwise.
	HWCaps   string
	keyOK    bool
	valueOK  bool
	hwcapsOK bool
}

// Cache is a parsed ld.so.cache.
type Cache struct {
	Format    Format
	ByteOrder binary.ByteOrder
	// Entries is the table ld.so searches (the new one when both exist), in
	// file order: sorted by descending name as ldconfig writes it.
	Entries []Entry
	// Generator is the extension's generator string ("ldconfig (Debian GLIBC
	// 2.36-9+deb12u14) stable release version 2.36"), "" when absent.
	Generator string
	// HWCapsNames is the extension's glibc-hwcaps table.
	HWCapsNames []string
	newEntries  bool
}

// Parse parses a cache. order is the byte order of the programs that will
// use it (the image's architecture); a new-format cache that declares the
// other order fails with ErrEndian, as ld.so ignores it. Parse never panics.
func Parse(data []byte, order binary.ByteOrder) (c *Cache, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("%w: %v", ErrFormat, p)
		}
	}()
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrFormat, len(data))
	}
	if order == nil {
		order = binary.LittleEndian
	}
	switch {
	case bytes.HasPrefix(data, []byte(NewMagic+NewVersion)):
		return parseNew(data, 0, order, FormatNew)
	case bytes.HasPrefix(data, []byte(OldMagic)):
		return parseOld(data, order)
	}
	return nil, fmt.Errorf("%w: bad magic", ErrFormat)
}

func u32(b []byte, off uint64, bo binary.ByteOrder) (uint32, bool) {
	if off > uint64(len(b)) || uint64(len(b))-off < 4 {
		return 0, false
	}
	return bo.Uint32(b[off:]), true
}

// cstr returns the NUL-terminated string at off in b.
func cstr(b []byte, off uint64) (string, bool) {
	if off >= uint64(len(b)) {
		return "", false
	}
	i := bytes.IndexByte(b[off:], 0)
	if i < 0 {
		return "", false
	}
	return string(b[off : off+uint64(i)]), true
}

func parseOld(data []byte, order binary.ByteOrder) (*Cache, error) {
	if len(data) <= oldHeaderSize {
		return nil, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	nlibs := uint64(order.Uint32(data[12:]))
	if (uint64(len(data))-oldHeaderSize)/oldEntrySize < nlibs {
		return nil, fmt.Errorf("%w: %d entries do not fit", ErrFormat, nlibs)
	}
	// A compat file carries a new-format table after the old one.
	newOff := align8(oldHeaderSize + oldEntrySize*nlibs)
	if uint64(len(data)) >= newOff+newHeaderSize && bytes.HasPrefix(data[newOff:], []byte(NewMagic+NewVersion)) {
		c, err := parseNew(data, newOff, order, FormatCompat)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c := &Cache{Format: FormatOld, ByteOrder: order}
	strs := data[oldHeaderSize+oldEntrySize*nlibs:]
	c.Entries = make([]Entry, nlibs)
	for i := range c.Entries {
		e := data[oldHeaderSize+oldEntrySize*uint64(i):]
		ent := &c.Entries[i]
		ent.Flags = int32(order.Uint32(e[0:]))
		ent.Key, ent.keyOK = cstr(strs, uint64(order.Uint32(e[4:])))
		ent.Value, ent.valueOK = cstr(strs, uint64(order.Uint32(e[8:])))
	}
	return c, nil
}

func align8(x uint64) uint64 { return (x + 7) &^ 7 }

func parseNew(data []byte, start uint64, order binary.ByteOrder, format Format) (*Cache, error) {
	hdr := data[start:]
	if len(hdr) < newHeaderSize {
		return nil, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	switch hdr[28] {
	case 0:
		// written by an ldconfig that did not record the byte order
	case 2:
		if order != binary.LittleEndian {
			return nil, ErrEndian
		}
	case 3:
		if order != binary.BigEndian {
			return nil, ErrEndian
		}
	default:
		return nil, fmt.Errorf("%w: byte order flag %d", ErrFormat, hdr[28])
	}
	nlibs := uint64(order.Uint32(hdr[20:]))
	if (uint64(len(hdr))-newHeaderSize)/newEntrySize < nlibs {
		return nil, fmt.Errorf("%w: %d entries do not fit", ErrFormat, nlibs)
	}
	c := &Cache{Format: format, ByteOrder: order, newEntries: true}
	// Strings are relative to the new header (cache_data in dl-cache.c);
	// the extension offsets to the start of the file.
	if err := c.parseExtension(data, hdr, uint64(order.Uint32(hdr[32:])), order); err != nil {
		return nil, err
	}
	c.Entries = make([]Entry, nlibs)
	for i := range c.Entries {
		e := hdr[newHeaderSize+newEntrySize*uint64(i):]
		ent := &c.Entries[i]
		ent.Flags = int32(order.Uint32(e[0:]))
		ent.Key, ent.keyOK = cstr(hdr, uint64(order.Uint32(e[4:])))
		ent.Value, ent.valueOK = cstr(hdr, uint64(order.Uint32(e[8:])))
		ent.OSVersion = order.Uint32(e[12:])
		ent.HWCap = order.Uint64(e[16:])
		if ent.HWCap&HWCapExtension != 0 {
			idx := uint64(uint32(ent.HWCap))
			if idx < uint64(len(c.HWCapsNames)) && c.HWCapsNames[idx] != "" {
				ent.HWCaps, ent.hwcapsOK = c.HWCapsNames[idx], true
			}
		}
	}
	return c, nil
}

// Extension section tags.
const (
	tagGenerator   = 0
	tagGlibcHWCaps = 1
	maxSections    = 1 << 10
	maxHWCapsNames = 1 << 10
)

func (c *Cache) parseExtension(data, hdr []byte, off uint64, order binary.ByteOrder) error {
	if off == 0 {
		return nil
	}
	magic, ok := u32(data, off, order)
	if !ok || magic != extMagic {
		// ld.so ignores a missing or foreign extension.
		return nil
	}
	count, ok := u32(data, off+4, order)
	if !ok || count > maxSections {
		return fmt.Errorf("%w: extension with %d sections", ErrFormat, count)
	}
	for i := uint64(0); i < uint64(count); i++ {
		s := off + 8 + 16*i
		tag, ok1 := u32(data, s, order)
		soff, ok2 := u32(data, s+8, order)
		size, ok3 := u32(data, s+12, order)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("%w: truncated extension section %d", ErrFormat, i)
		}
		if uint64(soff) > uint64(len(data)) || uint64(size) > uint64(len(data))-uint64(soff) {
			return fmt.Errorf("%w: extension section %d outside the file", ErrFormat, i)
		}
		body := data[soff : uint64(soff)+uint64(size)]
		switch tag {
		case tagGenerator:
			c.Generator = string(bytes.TrimRight(body, "\x00"))
		case tagGlibcHWCaps:
			if size%4 != 0 || size/4 > maxHWCapsNames {
				return fmt.Errorf("%w: glibc-hwcaps table of %d bytes", ErrFormat, size)
			}
			c.HWCapsNames = make([]string, size/4)
			for j := range c.HWCapsNames {
				c.HWCapsNames[j], _ = cstr(hdr, uint64(order.Uint32(body[4*j:])))
			}
		}
	}
	return nil
}

// Arch says which entry flags a program of some architecture accepts.
type Arch struct {
	Name string
	// Flags are the accepted entry flags (_dl_cache_check_flags).
	Flags []int32
	Order binary.ByteOrder
}

// Accepts reports whether flags matches the architecture.
func (a Arch) Accepts(flags int32) bool {
	for _, f := range a.Flags {
		if f == flags {
			return true
		}
	}
	return false
}

// ArchFor returns the cache flags ld.so of the given ELF class, byte order
// and machine accepts. ok is false for architectures this package does not
// know.
func ArchFor(class elf.Class, data elf.Data, machine elf.Machine) (a Arch, ok bool) {
	a.Order = binary.LittleEndian
	if data == elf.ELFDATA2MSB {
		a.Order = binary.BigEndian
	}
	is64 := class == elf.ELFCLASS64
	switch {
	case machine == elf.EM_X86_64 && is64:
		a.Name, a.Flags = "x86-64", []int32{FlagELFLibc6 | FlagX8664Lib64}
	case machine == elf.EM_X86_64:
		a.Name, a.Flags = "x32", []int32{FlagELFLibc6 | FlagX8664LibX32}
	case machine == elf.EM_AARCH64 && is64:
		a.Name, a.Flags = "aarch64", []int32{FlagELFLibc6 | FlagAArch64Lib64}
	case machine == elf.EM_386:
		a.Name, a.Flags = "i386", []int32{1, FlagELFLibc6}
	case machine == elf.EM_ARM:
		a.Name, a.Flags = "arm", []int32{FlagELFLibc6 | FlagARMLibHF, FlagELFLibc6 | FlagARMLibSF}
	case machine == elf.EM_PPC64 && is64:
		a.Name, a.Flags = "ppc64", []int32{FlagELFLibc6 | FlagPowerPCLib64}
	case machine == elf.EM_S390 && is64:
		a.Name, a.Flags = "s390x", []int32{FlagELFLibc6 | FlagS390Lib64}
	case machine == elf.EM_RISCV && is64:
		a.Name, a.Flags = "riscv64", []int32{FlagELFLibc6 | FlagRISCVDouble}
	default:
		return a, false
	}
	return a, true
}

// Variant is a cache hit that only some CPUs would take: a glibc-hwcaps
// entry or a legacy hwcap entry.
type Variant struct {
	Path   string
	HWCaps string // glibc-hwcaps subdirectory name, "" for legacy hwcap entries
	HWCap  uint64
}

// Match is the outcome of a lookup. A static tool cannot know the CPU the
// program will run on, so every candidate some CPU would choose is returned.
type Match struct {
	// Path is the entry ld.so takes on a CPU without any usable hwcaps
	// variant: the first one with exact flags and no hwcap bits. "" when
	// the name has only variants (or no entry at all).
	Path string
	// Variants are the glibc-hwcaps entries (listed before the others in
	// the cache) and legacy hwcap entries met before Path, in cache order.
	Variants []Variant
}

// Found reports whether the lookup returned anything.
func (m Match) Found() bool { return m.Path != "" || len(m.Variants) > 0 }

// Lookup finds name for programs of arch, with the binary search and the
// entry selection of glibc 2.36's search_cache. A cache for the other byte
// order matches nothing.
func (c *Cache) Lookup(name string, arch Arch) Match {
	var m Match
	if c == nil || len(c.Entries) == 0 || (arch.Order != nil && arch.Order != c.ByteOrder) {
		return m
	}
	left, right := 0, len(c.Entries)-1
	for left <= right {
		middle := (left + right) / 2
		e := &c.Entries[middle]
		if !e.keyOK {
			return m
		}
		cmp := LibCmp(name, e.Key)
		if cmp == 0 {
			left = middle
			for middle > 0 {
				p := &c.Entries[middle-1]
				if !p.keyOK || LibCmp(name, p.Key) != 0 {
					break
				}
				middle--
			}
			for ; middle <= right; middle++ {
				e := &c.Entries[middle]
				if middle > left && (!e.keyOK || LibCmp(name, e.Key) != 0) {
					break
				}
				if !arch.Accepts(e.Flags) || !e.valueOK {
					continue
				}
				if c.newEntries {
					if e.HWCap&HWCapExtension != 0 {
						if e.hwcapsOK {
							m.Variants = append(m.Variants, Variant{Path: e.Value, HWCaps: e.HWCaps, HWCap: e.HWCap})
						}
						continue
					}
					if e.HWCap != 0 {
						m.Variants = append(m.Variants, Variant{Path: e.Value, HWCap: e.HWCap})
						continue
					}
				}
				m.Path = e.Value
				break
			}
			return m
		}
		if cmp < 0 {
			left = middle + 1
		} else {
			right = middle - 1
		}
	}
	return m
}

// LibCmp compares library names like _dl_cache_libcmp: runs of digits
// compare numerically (with C int arithmetic), a digit sorts after any
// other character. The cache is sorted in descending LibCmp order.
func LibCmp(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for at(a, i) != 0 {
		c1, c2 := at(a, i), at(b, j)
		switch {
		case isDigit(c1) && isDigit(c2):
			var v1, v2 int32
			for isDigit(at(a, i)) {
				v1 = v1*10 + int32(at(a, i)-'0')
				i++
			}
			for isDigit(at(b, j)) {
				v2 = v2*10 + int32(at(b, j)-'0')
				j++
			}
			if v1 != v2 {
				return int(v1 - v2)
			}
		case isDigit(c1):
			return 1
		case isDigit(c2):
			return -1
		case c1 != c2:
			return int(int8(c1)) - int(int8(c2))
		default:
			i++
			j++
		}
	}
	return -int(int8(at(b, j)))
}
