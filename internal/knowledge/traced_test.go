package knowledge_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
)

// withImports appends a .dynstr, a .dynsym importing names (undefined
// global functions) and a section header table to an ELF64 little-endian
// file made by elftest, so that debug/elf reads them as imported symbols.
func withImports(file []byte, names ...string) []byte {
	le := binary.LittleEndian
	var str bytes.Buffer
	str.WriteByte(0)
	var sym bytes.Buffer
	sym.Write(make([]byte, 24)) // the null symbol
	for _, n := range names {
		var s [24]byte
		le.PutUint32(s[0:], uint32(str.Len()))
		s[4] = 0x12 // STB_GLOBAL, STT_FUNC; st_shndx 0: undefined
		sym.Write(s[:])
		str.WriteString(n)
		str.WriteByte(0)
	}
	shstr := []byte("\x00.dynstr\x00.dynsym\x00.shstrtab\x00")
	out := append([]byte{}, file...)
	pad := func() {
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
	}
	pad()
	strOff := uint64(len(out))
	out = append(out, str.Bytes()...)
	pad()
	symOff := uint64(len(out))
	out = append(out, sym.Bytes()...)
	shstrOff := uint64(len(out))
	out = append(out, shstr...)
	pad()
	shoff := uint64(len(out))
	sh := func(name, typ uint32, flags, off, size uint64, link uint32, info uint32, entsize uint64) {
		var h [64]byte
		le.PutUint32(h[0:], name)
		le.PutUint32(h[4:], typ)
		le.PutUint64(h[8:], flags)
		le.PutUint64(h[24:], off)
		le.PutUint64(h[32:], size)
		le.PutUint32(h[40:], link)
		le.PutUint32(h[44:], info)
		le.PutUint64(h[48:], 8)
		le.PutUint64(h[56:], entsize)
		out = append(out, h[:]...)
	}
	sh(0, 0, 0, 0, 0, 0, 0, 0)
	sh(1, 3 /* SHT_STRTAB */, 2, strOff, uint64(str.Len()), 0, 0, 0)
	sh(9, 11 /* SHT_DYNSYM */, 2, symOff, uint64(sym.Len()), 1, 1, 24)
	sh(17, 3, 0, shstrOff, uint64(len(shstr)), 0, 0, 0)
	le.PutUint64(out[0x28:], shoff)
	le.PutUint16(out[0x3a:], 64)
	le.PutUint16(out[0x3c:], 4)
	le.PutUint16(out[0x3e:], 3)
	return out
}

// After a traced run libgcc_s.so.1 stays only when a kept object imports
// a function for which glibc loads it; without a trace it always stays.
func TestLibgccSTraced(t *testing.T) {
	prog := "/usr/sbin/server"
	for _, tc := range []struct {
		name    string
		imports []string
		trace   bool
		kept    bool
	}{
		{"static mode", []string{"puts"}, false, true},
		{"traced, no unwinder", []string{"puts", "pthread_create"}, true, false},
		{"traced, pthread_exit", []string{"puts", "pthread_exit"}, true, true},
		{"traced, backtrace", []string{"backtrace"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := bookworm()
			m.AddFile(prog, 0o755, withImports(elftest.Build(elftest.Spec{Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libc.so.6"}}), tc.imports...))
			c := knowledgetest.New(m.View())
			c.Trace = tc.trace
			c.AddObject(glibcObj())
			c.AddObject(keptset.Object{Path: prog})
			if err := c.Run(knowledge.NewLibgccS()); err != nil {
				t.Fatal(err)
			}
			if got := c.Has(lib + "/libgcc_s.so.1"); got != tc.kept {
				t.Errorf("libgcc_s kept = %v, want %v (warnings %q)", got, tc.kept, c.Warnings)
			}
			if !tc.kept && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "left to the run")) {
				t.Errorf("warnings = %q", c.Warnings)
			}
		})
	}
}
