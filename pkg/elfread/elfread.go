// Package elfread reads what a dynamic loader needs from an ELF file: the
// header, the program interpreter and the dynamic section (DT_NEEDED,
// DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS, DT_FLAGS_1).
//
// Everything is read from program headers, the way the kernel and ld.so see
// the file, never from section headers, which a binary may strip. Input is
// treated as hostile: every offset and size is checked against the file size
// and against fixed caps before anything is allocated, and a panic while
// parsing is turned into an error.
package elfread

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Caps on what a file may declare. Real files are far below them.
const (
	// MaxPhnum is the largest number of program headers accepted.
	MaxPhnum = 1 << 16
	// MaxDynamicSize is the largest PT_DYNAMIC segment accepted, in bytes.
	MaxDynamicSize = 1 << 20
	// MaxStrtabSize is the largest dynamic string table accepted, in bytes.
	MaxStrtabSize = 64 << 20
	// MaxInterpSize is the largest PT_INTERP segment accepted (PATH_MAX).
	MaxInterpSize = 4096
	// MaxNeeded is the largest number of DT_NEEDED entries accepted.
	MaxNeeded = 4096
)

// Errors returned by the parsers. Wrapped errors may add detail.
var (
	// ErrNotELF means the file does not start with the ELF magic.
	ErrNotELF = errors.New("not an ELF file")
	// ErrTruncated means the file ends before a structure it declares.
	ErrTruncated = errors.New("file too short")
	// ErrMalformed means a structure is inconsistent or exceeds a cap.
	ErrMalformed = errors.New("malformed ELF file")
)

// Kind says how a program is started.
type Kind int

// Kinds of ELF files (reference rule 2).
const (
	KindUnknown Kind = iota
	// KindStatic is an ET_EXEC without PT_INTERP.
	KindStatic
	// KindStaticPIE is an ET_DYN with PT_DYNAMIC and DF_1_PIE, no PT_INTERP
	// and no DT_NEEDED: it relocates itself.
	KindStaticPIE
	// KindDynamic is a program with PT_INTERP.
	KindDynamic
	// KindShared is an ET_DYN without PT_INTERP that is not a static PIE: a
	// shared library.
	KindShared
)

func (k Kind) String() string {
	switch k {
	case KindStatic:
		return "static"
	case KindStaticPIE:
		return "static-pie"
	case KindDynamic:
		return "dynamic"
	case KindShared:
		return "shared"
	}
	return "unknown"
}

// Header is the part of the ELF header a loader checks before mapping a file.
type Header struct {
	Class      elf.Class
	Data       elf.Data
	Version    uint8 // e_ident[EI_VERSION]
	OSABI      elf.OSABI
	ABIVersion uint8
	Type       elf.Type
	Machine    elf.Machine
	Flags      uint32 // e_flags
	Phoff      uint64
	Phentsize  uint16
	Phnum      uint16 // raw e_phnum; PN_XNUM (0xffff) means "see section 0"
	Shoff      uint64
	Shentsize  uint16
	Shnum      uint16
}

// ByteOrder returns the byte order of the file.
func (h *Header) ByteOrder() binary.ByteOrder {
	if h.Data == elf.ELFDATA2MSB {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// File is the loader-relevant content of an ELF file.
type File struct {
	Header
	// Interp is the PT_INTERP path, "" when there is none.
	Interp string
	// HasDynamic reports a PT_DYNAMIC segment.
	HasDynamic bool
	// Needed lists the DT_NEEDED names in order.
	Needed []string
	// Soname is DT_SONAME, "" when absent.
	Soname string
	// Rpath and Runpath are the DT_RPATH and DT_RUNPATH strings; HasRpath and
	// HasRunpath tell an empty string from an absent entry.
	Rpath, Runpath       string
	HasRpath, HasRunpath bool
	Flags                uint64 // DT_FLAGS
	Flags1               uint64 // DT_FLAGS_1
	Kind                 Kind
	// RefsIconv reports that the dynamic string table holds "iconv_open":
	// the object imports or defines iconv, so gconv modules may be loaded.
	RefsIconv bool
	// Problems lists entries that were rejected (a DT_NEEDED offset outside
	// the string table, ...). The rest of the file was still read.
	Problems []string
}

// NoDefaultLib reports DF_1_NODEFLIB.
func (f *File) NoDefaultLib() bool { return f.Flags1&uint64(elf.DF_1_NODEFLIB) != 0 }

// PIE reports DF_1_PIE.
func (f *File) PIE() bool { return f.Flags1&uint64(elf.DF_1_PIE) != 0 }

// MuslInterp reports whether the interpreter is musl's dynamic linker
// ("/lib/ld-musl-x86_64.so.1").
func (f *File) MuslInterp() bool { return IsMuslInterp(f.Interp) }

// IsMuslInterp reports whether p names musl's dynamic linker.
func IsMuslInterp(p string) bool {
	return p != "" && strings.HasPrefix(path.Base(p), "ld-musl-")
}

// reader wraps an io.ReaderAt with bounds checks against a known size.
type reader struct {
	r    io.ReaderAt
	size int64
}

// read returns n bytes at off, refusing ranges outside the file.
func (rd reader) read(off, n uint64) ([]byte, error) {
	if n > uint64(rd.size) || off > uint64(rd.size)-n {
		return nil, fmt.Errorf("%w: %d bytes at offset %d past end of %d-byte file", ErrTruncated, n, off, rd.size)
	}
	b := make([]byte, n)
	if n == 0 {
		return b, nil
	}
	k, err := rd.r.ReadAt(b, int64(off))
	if uint64(k) == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: short read at offset %d", ErrTruncated, off)
	}
	return nil, fmt.Errorf("reading %d bytes at offset %d: %w", n, off, err)
}

// ReadHeader reads and checks the ELF header only. It fails with ErrNotELF
// when the magic is missing and ErrTruncated when the file is shorter than
// its header; it does not judge class, machine or type.
func ReadHeader(r io.ReaderAt, size int64) (h *Header, err error) {
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("%w: %v", ErrMalformed, p)
		}
	}()
	return readHeader(reader{r, size})
}

// IsELF tells whether header, the first bytes of a file, starts with the
// ELF magic number.
func IsELF(header []byte) bool { return len(header) >= 4 && string(header[:4]) == elf.ELFMAG }

func readHeader(rd reader) (*Header, error) {
	if rd.size < 4 {
		return nil, ErrTruncated
	}
	magic, err := rd.read(0, 4)
	if err != nil {
		return nil, err
	}
	if !IsELF(magic) {
		return nil, ErrNotELF
	}
	ident, err := rd.read(0, elf.EI_NIDENT)
	if err != nil {
		return nil, err
	}
	h := &Header{
		Class:      elf.Class(ident[elf.EI_CLASS]),
		Data:       elf.Data(ident[elf.EI_DATA]),
		Version:    ident[elf.EI_VERSION],
		OSABI:      elf.OSABI(ident[elf.EI_OSABI]),
		ABIVersion: ident[elf.EI_ABIVERSION],
	}
	var bo binary.ByteOrder
	switch h.Data {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: unknown data encoding %d", ErrMalformed, h.Data)
	}
	switch h.Class {
	case elf.ELFCLASS64:
		b, err := rd.read(0, 64)
		if err != nil {
			return nil, err
		}
		h.Type = elf.Type(bo.Uint16(b[16:]))
		h.Machine = elf.Machine(bo.Uint16(b[18:]))
		h.Phoff = bo.Uint64(b[32:])
		h.Shoff = bo.Uint64(b[40:])
		h.Flags = bo.Uint32(b[48:])
		h.Phentsize = bo.Uint16(b[54:])
		h.Phnum = bo.Uint16(b[56:])
		h.Shentsize = bo.Uint16(b[58:])
		h.Shnum = bo.Uint16(b[60:])
	case elf.ELFCLASS32:
		b, err := rd.read(0, 52)
		if err != nil {
			return nil, err
		}
		h.Type = elf.Type(bo.Uint16(b[16:]))
		h.Machine = elf.Machine(bo.Uint16(b[18:]))
		h.Phoff = uint64(bo.Uint32(b[28:]))
		h.Shoff = uint64(bo.Uint32(b[32:]))
		h.Flags = bo.Uint32(b[36:])
		h.Phentsize = bo.Uint16(b[42:])
		h.Phnum = bo.Uint16(b[44:])
		h.Shentsize = bo.Uint16(b[46:])
		h.Shnum = bo.Uint16(b[48:])
	default:
		return nil, fmt.Errorf("%w: unknown class %d", ErrMalformed, h.Class)
	}
	return h, nil
}

// prog is one program header.
type prog struct {
	typ    elf.ProgType
	flags  elf.ProgFlag
	off    uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
}

// Parse reads the header, program headers and dynamic section of an ELF
// file of the given size. It never panics and never allocates more than the
// caps allow.
func Parse(r io.ReaderAt, size int64) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("%w: %v", ErrMalformed, p)
		}
	}()
	rd := reader{r, size}
	h, err := readHeader(rd)
	if err != nil {
		return nil, err
	}
	f = &File{Header: *h}
	progs, err := readProgs(rd, h)
	if err != nil {
		return nil, err
	}
	var dyn *prog
	for i := range progs {
		p := &progs[i]
		switch p.typ {
		case elf.PT_INTERP:
			if f.Interp != "" {
				continue // the kernel uses the first
			}
			if p.filesz == 0 || p.filesz > MaxInterpSize {
				return nil, fmt.Errorf("%w: PT_INTERP size %d", ErrMalformed, p.filesz)
			}
			b, err := rd.read(p.off, p.filesz)
			if err != nil {
				return nil, fmt.Errorf("reading PT_INTERP: %w", err)
			}
			if b[len(b)-1] != 0 {
				return nil, fmt.Errorf("%w: PT_INTERP not NUL-terminated", ErrMalformed)
			}
			f.Interp = string(b[:bytes.IndexByte(b, 0)])
			if f.Interp == "" {
				return nil, fmt.Errorf("%w: empty PT_INTERP", ErrMalformed)
			}
		case elf.PT_DYNAMIC:
			if dyn == nil {
				dyn = p
			}
		}
	}
	if dyn != nil {
		f.HasDynamic = true
		if err := readDynamic(rd, h, progs, dyn, f); err != nil {
			return nil, err
		}
	}
	switch {
	case f.Interp != "":
		f.Kind = KindDynamic
	case h.Type == elf.ET_EXEC:
		f.Kind = KindStatic
	case h.Type == elf.ET_DYN && f.HasDynamic && f.PIE() && len(f.Needed) == 0:
		f.Kind = KindStaticPIE
	case h.Type == elf.ET_DYN:
		f.Kind = KindShared
	}
	return f, nil
}

func readProgs(rd reader, h *Header) ([]prog, error) {
	var entsize uint64 = 56
	if h.Class == elf.ELFCLASS32 {
		entsize = 32
	}
	n := uint64(h.Phnum)
	if n == 0 {
		return nil, nil
	}
	if uint64(h.Phentsize) != entsize {
		return nil, fmt.Errorf("%w: e_phentsize %d, want %d", ErrMalformed, h.Phentsize, entsize)
	}
	if h.Phnum == 0xffff { // PN_XNUM: the count is in section header 0's sh_info
		if h.Shoff == 0 {
			return nil, fmt.Errorf("%w: PN_XNUM without section header", ErrMalformed)
		}
		var off, sz uint64 = 44, 4 // sh_info in Elf64_Shdr
		if h.Class == elf.ELFCLASS32 {
			off = 28
		}
		if h.Shoff > uint64(rd.size) {
			return nil, fmt.Errorf("%w: section header offset %d past end of file", ErrTruncated, h.Shoff)
		}
		b, err := rd.read(h.Shoff+off, sz)
		if err != nil {
			return nil, fmt.Errorf("reading section header 0: %w", err)
		}
		n = uint64(h.ByteOrder().Uint32(b))
	}
	if n > MaxPhnum {
		return nil, fmt.Errorf("%w: %d program headers", ErrMalformed, n)
	}
	b, err := rd.read(h.Phoff, n*entsize)
	if err != nil {
		return nil, fmt.Errorf("reading program headers: %w", err)
	}
	bo := h.ByteOrder()
	progs := make([]prog, n)
	for i := range progs {
		e := b[uint64(i)*entsize:]
		p := &progs[i]
		if h.Class == elf.ELFCLASS64 {
			p.typ = elf.ProgType(bo.Uint32(e[0:]))
			p.flags = elf.ProgFlag(bo.Uint32(e[4:]))
			p.off = bo.Uint64(e[8:])
			p.vaddr = bo.Uint64(e[16:])
			p.filesz = bo.Uint64(e[32:])
			p.memsz = bo.Uint64(e[40:])
		} else {
			p.typ = elf.ProgType(bo.Uint32(e[0:]))
			p.off = uint64(bo.Uint32(e[4:]))
			p.vaddr = uint64(bo.Uint32(e[8:]))
			p.filesz = uint64(bo.Uint32(e[16:]))
			p.memsz = uint64(bo.Uint32(e[20:]))
			p.flags = elf.ProgFlag(bo.Uint32(e[24:]))
		}
	}
	return progs, nil
}

// vaddrToOff maps the virtual range [addr, addr+n) to a file offset through
// the PT_LOAD segment whose file-backed part contains it.
func vaddrToOff(progs []prog, addr, n uint64) (uint64, bool) {
	for _, p := range progs {
		if p.typ != elf.PT_LOAD {
			continue
		}
		if addr < p.vaddr || addr-p.vaddr >= p.filesz {
			continue
		}
		rel := addr - p.vaddr
		if n > p.filesz-rel {
			return 0, false
		}
		if p.off > ^uint64(0)-rel {
			return 0, false
		}
		return p.off + rel, true
	}
	return 0, false
}

func readDynamic(rd reader, h *Header, progs []prog, dyn *prog, f *File) error {
	var entsize uint64 = 16
	if h.Class == elf.ELFCLASS32 {
		entsize = 8
	}
	if dyn.filesz > MaxDynamicSize {
		return fmt.Errorf("%w: PT_DYNAMIC of %d bytes", ErrMalformed, dyn.filesz)
	}
	b, err := rd.read(dyn.off, dyn.filesz)
	if err != nil {
		return fmt.Errorf("reading PT_DYNAMIC: %w", err)
	}
	bo := h.ByteOrder()
	var (
		strtab, strsz          uint64
		haveStrtab, haveStrsz  bool
		needed                 []uint64
		soname, rpath, runpath uint64
		hasSoname              bool
	)
	for i := uint64(0); i+entsize <= uint64(len(b)); i += entsize {
		var tag int64
		var val uint64
		if entsize == 16 {
			tag = int64(bo.Uint64(b[i:]))
			val = bo.Uint64(b[i+8:])
		} else {
			tag = int64(int32(bo.Uint32(b[i:])))
			val = uint64(bo.Uint32(b[i+4:]))
		}
		if elf.DynTag(tag) == elf.DT_NULL {
			break
		}
		switch elf.DynTag(tag) {
		case elf.DT_NEEDED:
			if len(needed) >= MaxNeeded {
				return fmt.Errorf("%w: more than %d DT_NEEDED entries", ErrMalformed, MaxNeeded)
			}
			needed = append(needed, val)
		case elf.DT_SONAME:
			soname, hasSoname = val, true
		case elf.DT_RPATH:
			rpath, f.HasRpath = val, true
		case elf.DT_RUNPATH:
			runpath, f.HasRunpath = val, true
		case elf.DT_STRTAB:
			strtab, haveStrtab = val, true
		case elf.DT_STRSZ:
			strsz, haveStrsz = val, true
		case elf.DT_FLAGS:
			f.Flags = val
		case elf.DT_FLAGS_1:
			f.Flags1 = val
		}
	}
	needStrings := len(needed) > 0 || hasSoname || f.HasRpath || f.HasRunpath
	if !haveStrtab || !haveStrsz {
		if needStrings {
			return fmt.Errorf("%w: dynamic section without DT_STRTAB/DT_STRSZ", ErrMalformed)
		}
		return nil
	}
	if strsz > MaxStrtabSize {
		return fmt.Errorf("%w: DT_STRSZ %d", ErrMalformed, strsz)
	}
	off, ok := vaddrToOff(progs, strtab, strsz)
	if !ok {
		if needStrings {
			return fmt.Errorf("%w: DT_STRTAB %#x (+%d) outside every PT_LOAD", ErrMalformed, strtab, strsz)
		}
		return nil
	}
	strs, err := rd.read(off, strsz)
	if err != nil {
		return fmt.Errorf("reading dynamic string table: %w", err)
	}
	str := func(what string, o uint64) (string, bool) {
		if o >= uint64(len(strs)) {
			f.Problems = append(f.Problems, fmt.Sprintf("%s: offset %d outside the %d-byte string table", what, o, len(strs)))
			return "", false
		}
		end := bytes.IndexByte(strs[o:], 0)
		if end < 0 {
			f.Problems = append(f.Problems, fmt.Sprintf("%s: string at offset %d not NUL-terminated", what, o))
			return "", false
		}
		return string(strs[o : o+uint64(end)]), true
	}
	for _, o := range needed {
		if s, ok := str("DT_NEEDED", o); ok {
			if s == "" {
				f.Problems = append(f.Problems, "DT_NEEDED: empty name")
				continue
			}
			f.Needed = append(f.Needed, s)
		}
	}
	if hasSoname {
		f.Soname, _ = str("DT_SONAME", soname)
	}
	if f.HasRpath {
		f.Rpath, f.HasRpath = str("DT_RPATH", rpath)
	}
	if f.HasRunpath {
		f.Runpath, f.HasRunpath = str("DT_RUNPATH", runpath)
	}
	f.RefsIconv = bytes.Contains(strs, []byte("\x00iconv_open\x00"))
	return nil
}
