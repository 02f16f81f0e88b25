// Package elftest builds small synthetic ELF files for tests: an ELF header,
// one PT_LOAD covering the file, an optional PT_INTERP and a PT_DYNAMIC with
// its string table. The files have no section headers, like a binary whose
// section table was stripped.
package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// Spec describes the file to build. Zero values pick a 64-bit little-endian
// x86-64 shared object.
type Spec struct {
	Class   elf.Class   // default ELFCLASS64
	Data    elf.Data    // default ELFDATA2LSB
	Machine elf.Machine // default EM_X86_64
	Type    elf.Type    // default ET_DYN
	Interp  string      // PT_INTERP when not ""
	// NoDynamic omits PT_DYNAMIC (a static executable).
	NoDynamic bool
	Needed    []string
	Soname    string
	Rpath     string
	Runpath   string
	// HasRpath/HasRunpath emit the entry even when the string is empty.
	HasRpath, HasRunpath bool
	Flags                uint64 // DT_FLAGS when non-zero
	Flags1               uint64 // DT_FLAGS_1 when non-zero
	// Strings are extra dynamic strings (symbol names such as "iconv_open").
	Strings []string
}

// Base is the virtual address of the first byte of an ET_EXEC file.
const Base = 0x400000

// Layout records where Build put things, so tests can corrupt them.
type Layout struct {
	Phoff      uint64
	DynOff     uint64 // file offset of the dynamic array
	DynSize    uint64
	StrtabOff  uint64 // file offset of the string table
	StrtabSize uint64
	// PhdrDynamic is the file offset of the PT_DYNAMIC program header.
	PhdrDynamic uint64
}

// Build returns the bytes of the file described by s.
func Build(s Spec) []byte {
	b, _ := BuildLayout(s)
	return b
}

// BuildLayout returns the file and where its parts are.
func BuildLayout(s Spec) ([]byte, Layout) {
	if s.Class == 0 {
		s.Class = elf.ELFCLASS64
	}
	if s.Data == 0 {
		s.Data = elf.ELFDATA2LSB
	}
	if s.Machine == 0 {
		s.Machine = elf.EM_X86_64
	}
	if s.Type == 0 {
		s.Type = elf.ET_DYN
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if s.Data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	is64 := s.Class == elf.ELFCLASS64
	ehsize, phentsize, dynent := uint64(52), uint64(32), uint64(8)
	if is64 {
		ehsize, phentsize, dynent = 64, 56, 16
	}
	var base uint64
	if s.Type == elf.ET_EXEC {
		base = Base
	}

	// string table
	var strtab bytes.Buffer
	strtab.WriteByte(0)
	addStr := func(x string) uint64 {
		o := uint64(strtab.Len())
		strtab.WriteString(x)
		strtab.WriteByte(0)
		return o
	}
	type dynEnt struct {
		tag elf.DynTag
		val uint64
	}
	var dyn []dynEnt
	for _, n := range s.Needed {
		dyn = append(dyn, dynEnt{elf.DT_NEEDED, addStr(n)})
	}
	if s.Soname != "" {
		dyn = append(dyn, dynEnt{elf.DT_SONAME, addStr(s.Soname)})
	}
	if s.Rpath != "" || s.HasRpath {
		dyn = append(dyn, dynEnt{elf.DT_RPATH, addStr(s.Rpath)})
	}
	if s.Runpath != "" || s.HasRunpath {
		dyn = append(dyn, dynEnt{elf.DT_RUNPATH, addStr(s.Runpath)})
	}
	for _, x := range s.Strings {
		addStr(x)
	}
	if s.Flags != 0 {
		dyn = append(dyn, dynEnt{elf.DT_FLAGS, s.Flags})
	}
	if s.Flags1 != 0 {
		dyn = append(dyn, dynEnt{elf.DT_FLAGS_1, s.Flags1})
	}

	nph := uint64(1)
	if s.Interp != "" {
		nph++
	}
	if !s.NoDynamic {
		nph++
	}
	var lay Layout
	lay.Phoff = ehsize
	off := ehsize + nph*phentsize
	interpOff := off
	if s.Interp != "" {
		off += uint64(len(s.Interp)) + 1
	}
	off = align(off, 8)
	lay.StrtabOff = off
	lay.StrtabSize = uint64(strtab.Len())
	off = align(off+lay.StrtabSize, 8)
	lay.DynOff = off
	ndyn := uint64(0)
	if !s.NoDynamic {
		ndyn = uint64(len(dyn)) + 3 // + DT_STRTAB, DT_STRSZ, DT_NULL
	}
	lay.DynSize = ndyn * dynent
	total := off + lay.DynSize
	if s.NoDynamic {
		total = lay.StrtabOff
	}

	out := make([]byte, total)
	// ELF header
	copy(out, elf.ELFMAG)
	out[elf.EI_CLASS] = byte(s.Class)
	out[elf.EI_DATA] = byte(s.Data)
	out[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	bo.PutUint16(out[16:], uint16(s.Type))
	bo.PutUint16(out[18:], uint16(s.Machine))
	bo.PutUint32(out[20:], uint32(elf.EV_CURRENT))
	if is64 {
		bo.PutUint64(out[24:], base) // e_entry
		bo.PutUint64(out[32:], lay.Phoff)
		bo.PutUint16(out[52:], uint16(ehsize))
		bo.PutUint16(out[54:], uint16(phentsize))
		bo.PutUint16(out[56:], uint16(nph))
		bo.PutUint16(out[58:], 64)
	} else {
		bo.PutUint32(out[24:], uint32(base))
		bo.PutUint32(out[28:], uint32(lay.Phoff))
		bo.PutUint16(out[40:], uint16(ehsize))
		bo.PutUint16(out[42:], uint16(phentsize))
		bo.PutUint16(out[44:], uint16(nph))
		bo.PutUint16(out[46:], 40)
	}
	// program headers
	ph := lay.Phoff
	putPhdr := func(typ elf.ProgType, flags elf.ProgFlag, o, sz uint64) {
		e := out[ph:]
		if is64 {
			bo.PutUint32(e[0:], uint32(typ))
			bo.PutUint32(e[4:], uint32(flags))
			bo.PutUint64(e[8:], o)
			bo.PutUint64(e[16:], base+o)
			bo.PutUint64(e[24:], base+o)
			bo.PutUint64(e[32:], sz)
			bo.PutUint64(e[40:], sz)
			bo.PutUint64(e[48:], 8)
		} else {
			bo.PutUint32(e[0:], uint32(typ))
			bo.PutUint32(e[4:], uint32(o))
			bo.PutUint32(e[8:], uint32(base+o))
			bo.PutUint32(e[12:], uint32(base+o))
			bo.PutUint32(e[16:], uint32(sz))
			bo.PutUint32(e[20:], uint32(sz))
			bo.PutUint32(e[24:], uint32(flags))
			bo.PutUint32(e[28:], 4)
		}
		ph += phentsize
	}
	putPhdr(elf.PT_LOAD, elf.PF_R|elf.PF_W, 0, total)
	if s.Interp != "" {
		putPhdr(elf.PT_INTERP, elf.PF_R, interpOff, uint64(len(s.Interp))+1)
		copy(out[interpOff:], s.Interp)
	}
	if !s.NoDynamic {
		lay.PhdrDynamic = ph
		putPhdr(elf.PT_DYNAMIC, elf.PF_R|elf.PF_W, lay.DynOff, lay.DynSize)
		copy(out[lay.StrtabOff:], strtab.Bytes())
		dyn = append(dyn,
			dynEnt{elf.DT_STRTAB, base + lay.StrtabOff},
			dynEnt{elf.DT_STRSZ, lay.StrtabSize},
			dynEnt{elf.DT_NULL, 0})
		p := lay.DynOff
		for _, d := range dyn {
			if is64 {
				bo.PutUint64(out[p:], uint64(d.tag))
				bo.PutUint64(out[p+8:], d.val)
			} else {
				bo.PutUint32(out[p:], uint32(d.tag))
				bo.PutUint32(out[p+4:], uint32(d.val))
			}
			p += dynent
		}
	}
	return out, lay
}

func align(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
