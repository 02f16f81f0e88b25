// Package ldcachetest writes synthetic ld.so.cache files for tests, in the
// old, new and compat layouts.
package ldcachetest

import (
	"bytes"
	"encoding/binary"
	"sort"

	"github.com/pare-dev/pare/pkg/ldcache"
)

// Entry is one library of a synthetic cache.
type Entry struct {
	Flags int32 // default 0x0303 (libc6, x86-64)
	Key   string
	Value string
	HWCap uint64
	// HWCaps names a glibc-hwcaps subdirectory: the entry gets
	// HWCapExtension and the index of the name in the hwcaps table.
	HWCaps string
}

// Spec describes a cache.
type Spec struct {
	Format    ldcache.Format   // default FormatNew
	Order     binary.ByteOrder // default little-endian
	Generator string
	Entries   []Entry
	// NoSort keeps the entries in the given order instead of ldconfig's.
	NoSort bool
	// NoOrderFlag writes 0 in the byte-order flag of the new header.
	NoOrderFlag bool
}

// Build returns the bytes of the cache.
func Build(s Spec) []byte {
	if s.Format == 0 {
		s.Format = ldcache.FormatNew
	}
	bo := s.Order
	if bo == nil {
		bo = binary.LittleEndian
	}
	ents := append([]Entry(nil), s.Entries...)
	for i := range ents {
		if ents[i].Flags == 0 {
			ents[i].Flags = ldcache.FlagELFLibc6 | ldcache.FlagX8664Lib64
		}
	}
	if !s.NoSort {
		// ldconfig: descending names; hwcaps entries before the others.
		sort.SliceStable(ents, func(i, j int) bool {
			if c := ldcache.LibCmp(ents[i].Key, ents[j].Key); c != 0 {
				return c > 0
			}
			return ents[i].HWCaps != "" && ents[j].HWCaps == ""
		})
	}
	var hwcaps []string
	hwIndex := map[string]int{}
	for _, e := range ents {
		if e.HWCaps != "" {
			if _, ok := hwIndex[e.HWCaps]; !ok {
				hwIndex[e.HWCaps] = len(hwcaps)
				hwcaps = append(hwcaps, e.HWCaps)
			}
		}
	}
	n := uint64(len(ents))

	var out bytes.Buffer
	put32 := func(v uint32) { binary.Write(&out, bo, v) }
	put64 := func(v uint64) { binary.Write(&out, bo, v) }

	// Layout: [old header + table] [new header + table] strings [extension]
	var newStart, oldStrBase uint64
	withOld := s.Format == ldcache.FormatOld || s.Format == ldcache.FormatCompat
	withNew := s.Format != ldcache.FormatOld
	oldEnd := uint64(16 + 12*n)
	if withOld {
		oldStrBase = oldEnd
		newStart = (oldEnd + 7) &^ 7
	}
	if !withNew {
		newStart = oldEnd
	}
	strStart := newStart
	if withNew {
		strStart = newStart + 48 + 24*n
	}
	// string block
	var strs bytes.Buffer
	strOff := map[string]uint64{}
	addStr := func(x string) uint64 {
		if o, ok := strOff[x]; ok {
			return o
		}
		o := strStart + uint64(strs.Len())
		strs.WriteString(x)
		strs.WriteByte(0)
		strOff[x] = o
		return o
	}
	type offs struct{ key, value uint64 }
	eo := make([]offs, n)
	for i, e := range ents {
		eo[i] = offs{addStr(e.Key), addStr(e.Value)}
	}
	hwOffs := make([]uint64, len(hwcaps))
	for i, h := range hwcaps {
		hwOffs[i] = addStr(h)
	}
	extOff := (strStart + uint64(strs.Len()) + 7) &^ 7

	if withOld {
		out.WriteString(ldcache.OldMagic)
		out.WriteByte(0)
		put32(uint32(n))
		for i, e := range ents {
			put32(uint32(e.Flags))
			put32(uint32(eo[i].key - oldStrBase))
			put32(uint32(eo[i].value - oldStrBase))
		}
		for uint64(out.Len()) < newStart {
			out.WriteByte(0)
		}
	}
	if withNew {
		out.WriteString(ldcache.NewMagic + ldcache.NewVersion)
		put32(uint32(n))
		put32(uint32(strs.Len()))
		flag := byte(2)
		if bo == binary.BigEndian {
			flag = 3
		}
		if s.NoOrderFlag {
			flag = 0
		}
		out.Write([]byte{flag, 0, 0, 0})
		put32(uint32(extOff))
		put32(0)
		put32(0)
		put32(0)
		for i, e := range ents {
			put32(uint32(e.Flags))
			put32(uint32(eo[i].key - newStart))
			put32(uint32(eo[i].value - newStart))
			put32(0)
			hw := e.HWCap
			if e.HWCaps != "" {
				hw |= ldcache.HWCapExtension | uint64(hwIndex[e.HWCaps])
			}
			put64(hw)
		}
	}
	out.Write(strs.Bytes())
	if withNew {
		for uint64(out.Len()) < extOff {
			out.WriteByte(0)
		}
		nsec := uint32(1)
		if len(hwcaps) > 0 {
			nsec = 2
		}
		put32(0xEAA42174)
		put32(nsec)
		secData := extOff + 8 + 16*uint64(nsec)
		put32(0) // tag generator
		put32(0)
		put32(uint32(secData))
		put32(uint32(len(s.Generator)))
		if len(hwcaps) > 0 {
			put32(1)
			put32(0)
			put32(uint32(secData + uint64(len(s.Generator))))
			put32(uint32(4 * len(hwcaps)))
		}
		out.WriteString(s.Generator)
		for _, o := range hwOffs {
			put32(uint32(o - newStart))
		}
	}
	return out.Bytes()
}
