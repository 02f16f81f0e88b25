package elfread_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/pkg/elfread"
)

func parse(t *testing.T, b []byte) (*elfread.File, error) {
	t.Helper()
	return elfread.Parse(bytes.NewReader(b), int64(len(b)))
}

func mustParse(t *testing.T, b []byte) *elfread.File {
	t.Helper()
	f, err := parse(t, b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestParseVariants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		class   elf.Class
		data    elf.Data
		machine elf.Machine
	}{
		{"elf64-lsb", elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_X86_64},
		{"elf64-msb", elf.ELFCLASS64, elf.ELFDATA2MSB, elf.EM_S390},
		{"elf32-lsb", elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_386},
		{"elf32-msb", elf.ELFCLASS32, elf.ELFDATA2MSB, elf.EM_PPC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := elftest.Build(elftest.Spec{
				Class: tc.class, Data: tc.data, Machine: tc.machine,
				Type:    elf.ET_EXEC,
				Interp:  "/lib/ld.so.1",
				Needed:  []string{"libfoo.so.1", "libc.so.6"},
				Soname:  "libself.so",
				Rpath:   "$ORIGIN/../lib",
				Runpath: "/opt/lib",
				Flags:   uint64(elf.DF_BIND_NOW),
				Flags1:  uint64(elf.DF_1_NODEFLIB | elf.DF_1_PIE),
			})
			f := mustParse(t, b)
			if f.Class != tc.class || f.Data != tc.data || f.Machine != tc.machine || f.Type != elf.ET_EXEC {
				t.Errorf("header = %v %v %v %v", f.Class, f.Data, f.Machine, f.Type)
			}
			if f.Interp != "/lib/ld.so.1" {
				t.Errorf("Interp = %q", f.Interp)
			}
			if d := cmp.Diff([]string{"libfoo.so.1", "libc.so.6"}, f.Needed); d != "" {
				t.Errorf("Needed (-want +got):\n%s", d)
			}
			if f.Soname != "libself.so" || f.Rpath != "$ORIGIN/../lib" || f.Runpath != "/opt/lib" || !f.HasRpath || !f.HasRunpath {
				t.Errorf("soname/rpath/runpath = %q %q %q", f.Soname, f.Rpath, f.Runpath)
			}
			if !f.NoDefaultLib() || !f.PIE() || f.Flags != uint64(elf.DF_BIND_NOW) {
				t.Errorf("flags = %#x flags1 = %#x", f.Flags, f.Flags1)
			}
			if f.Kind != elfread.KindDynamic {
				t.Errorf("Kind = %v", f.Kind)
			}
			if len(f.Problems) != 0 {
				t.Errorf("Problems = %q", f.Problems)
			}
			// Go's own parser agrees on the dynamic entries (sanity check of the builder).
			if tc.class == elf.ELFCLASS64 && tc.data == elf.ELFDATA2LSB {
				h, err := elfread.ReadHeader(bytes.NewReader(b), int64(len(b)))
				if err != nil || h.Phnum != 3 {
					t.Errorf("ReadHeader = %+v, %v", h, err)
				}
			}
		})
	}
}

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec elftest.Spec
		want elfread.Kind
	}{
		{"static", elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}, elfread.KindStatic},
		{"static-pie", elftest.Spec{Type: elf.ET_DYN, Flags1: uint64(elf.DF_1_PIE)}, elfread.KindStaticPIE},
		{"dynamic-pie", elftest.Spec{Type: elf.ET_DYN, Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libc.so.6"}, Flags1: uint64(elf.DF_1_PIE)}, elfread.KindDynamic},
		{"dynamic-exec", elftest.Spec{Type: elf.ET_EXEC, Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libc.so.6"}}, elfread.KindDynamic},
		{"shared", elftest.Spec{Type: elf.ET_DYN, Soname: "libx.so.1", Needed: []string{"libc.so.6"}}, elfread.KindShared},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParse(t, elftest.Build(tc.spec))
			if f.Kind != tc.want {
				t.Errorf("Kind = %v, want %v", f.Kind, tc.want)
			}
		})
	}
}

func TestMuslInterp(t *testing.T) {
	f := mustParse(t, elftest.Build(elftest.Spec{Interp: "/lib/ld-musl-x86_64.so.1", Needed: []string{"libc.musl-x86_64.so.1"}}))
	if !f.MuslInterp() {
		t.Error("musl interpreter not recognised")
	}
	g := mustParse(t, elftest.Build(elftest.Spec{Interp: "/lib64/ld-linux-x86-64.so.2"}))
	if g.MuslInterp() {
		t.Error("glibc interpreter taken for musl")
	}
}

func TestRefsIconv(t *testing.T) {
	f := mustParse(t, elftest.Build(elftest.Spec{Needed: []string{"libc.so.6"}, Strings: []string{"iconv_open", "puts"}}))
	if !f.RefsIconv {
		t.Error("RefsIconv = false with iconv_open in .dynstr")
	}
	g := mustParse(t, elftest.Build(elftest.Spec{Needed: []string{"libc.so.6"}, Strings: []string{"my_iconv_open_x"}}))
	if g.RefsIconv {
		t.Error("RefsIconv = true without an exact iconv_open string")
	}
}

func TestHostile(t *testing.T) {
	base := elftest.Spec{Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libc.so.6"}}
	bo := binary.LittleEndian

	t.Run("shnum-0xffff-shoff-past-eof", func(t *testing.T) {
		b := elftest.Build(base)
		bo.PutUint64(b[40:], 1<<50)  // e_shoff
		bo.PutUint16(b[60:], 0xffff) // e_shnum
		f := mustParse(t, b)         // section headers are not needed
		if d := cmp.Diff([]string{"libc.so.6"}, f.Needed); d != "" {
			t.Errorf("Needed: %s", d)
		}
		// And with PN_XNUM the count must come from section 0: an error.
		bo.PutUint16(b[56:], 0xffff)
		if _, err := parse(t, b); err == nil {
			t.Error("PN_XNUM with section header past EOF: no error")
		}
	})
	t.Run("dynamic-filesz-2^40", func(t *testing.T) {
		b, lay := elftest.BuildLayout(base)
		bo.PutUint64(b[lay.PhdrDynamic+32:], 1<<40)
		if _, err := parse(t, b); !errors.Is(err, elfread.ErrMalformed) {
			t.Errorf("err = %v, want ErrMalformed", err)
		}
	})
	t.Run("dynamic-past-eof", func(t *testing.T) {
		b, lay := elftest.BuildLayout(base)
		bo.PutUint64(b[lay.PhdrDynamic+8:], uint64(len(b))-8)
		if _, err := parse(t, b); !errors.Is(err, elfread.ErrTruncated) {
			t.Errorf("err = %v, want ErrTruncated", err)
		}
	})
	t.Run("needed-offset-past-strsz", func(t *testing.T) {
		b, lay := elftest.BuildLayout(elftest.Spec{Needed: []string{"liba.so", "libb.so"}})
		// first dynamic entry is DT_NEEDED liba.so: point it past DT_STRSZ
		bo.PutUint64(b[lay.DynOff+8:], lay.StrtabSize)
		f := mustParse(t, b)
		if d := cmp.Diff([]string{"libb.so"}, f.Needed); d != "" {
			t.Errorf("Needed: %s", d)
		}
		if len(f.Problems) != 1 {
			t.Errorf("Problems = %q", f.Problems)
		}
	})
	t.Run("string-not-terminated", func(t *testing.T) {
		b, lay := elftest.BuildLayout(elftest.Spec{Needed: []string{"liba.so", "libb.so"}})
		// shrink DT_STRSZ so that the last string loses its NUL
		for p := lay.DynOff; p < lay.DynOff+lay.DynSize; p += 16 {
			if elf.DynTag(bo.Uint64(b[p:])) == elf.DT_STRSZ {
				bo.PutUint64(b[p+8:], lay.StrtabSize-1)
			}
		}
		f := mustParse(t, b)
		if d := cmp.Diff([]string{"liba.so"}, f.Needed); d != "" {
			t.Errorf("Needed: %s", d)
		}
	})
	t.Run("strtab-outside-load", func(t *testing.T) {
		b, lay := elftest.BuildLayout(base)
		for p := lay.DynOff; p < lay.DynOff+lay.DynSize; p += 16 {
			if elf.DynTag(bo.Uint64(b[p:])) == elf.DT_STRTAB {
				bo.PutUint64(b[p+8:], 1<<60)
			}
		}
		if _, err := parse(t, b); !errors.Is(err, elfread.ErrMalformed) {
			t.Errorf("err = %v, want ErrMalformed", err)
		}
	})
	t.Run("strsz-huge", func(t *testing.T) {
		b, lay := elftest.BuildLayout(base)
		for p := lay.DynOff; p < lay.DynOff+lay.DynSize; p += 16 {
			if elf.DynTag(bo.Uint64(b[p:])) == elf.DT_STRSZ {
				bo.PutUint64(b[p+8:], 1<<62)
			}
		}
		if _, err := parse(t, b); err == nil {
			t.Error("no error")
		}
	})
	t.Run("phnum-huge", func(t *testing.T) {
		b := elftest.Build(base)
		bo.PutUint16(b[56:], 0xfffe)
		if _, err := parse(t, b); !errors.Is(err, elfread.ErrTruncated) {
			t.Errorf("err = %v, want ErrTruncated", err)
		}
	})
	t.Run("interp-unterminated", func(t *testing.T) {
		b := elftest.Build(base)
		i := bytes.Index(b, []byte("/lib64/ld-linux-x86-64.so.2\x00"))
		b[i+len("/lib64/ld-linux-x86-64.so.2")] = 'X'
		if _, err := parse(t, b); !errors.Is(err, elfread.ErrMalformed) {
			t.Errorf("err = %v, want ErrMalformed", err)
		}
	})
	t.Run("not-elf", func(t *testing.T) {
		b := []byte("#!/bin/sh\necho hello\n")
		if _, err := parse(t, b); !errors.Is(err, elfread.ErrNotELF) {
			t.Errorf("err = %v, want ErrNotELF", err)
		}
		if _, err := elfread.ReadHeader(bytes.NewReader(b), int64(len(b))); !errors.Is(err, elfread.ErrNotELF) {
			t.Errorf("ReadHeader err = %v, want ErrNotELF", err)
		}
	})
	t.Run("every-prefix", func(t *testing.T) {
		b := elftest.Build(base)
		for n := 0; n < len(b); n++ {
			if _, err := parse(t, b[:n]); err == nil {
				t.Fatalf("prefix of %d bytes parsed without error", n)
			}
		}
	})
	t.Run("lying-size", func(t *testing.T) {
		b := elftest.Build(base)
		// a size larger than the data: reads past the end must fail, not panic
		if _, err := elfread.Parse(bytes.NewReader(b[:100]), int64(len(b))); err == nil {
			t.Error("no error")
		}
	})
}

// stripSections zeroes e_shoff, e_shnum and e_shstrndx of a 64-bit LSB ELF.
func stripSections(b []byte) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint64(b[40:], 0)
	binary.LittleEndian.PutUint16(b[60:], 0)
	binary.LittleEndian.PutUint16(b[62:], 0)
	return b
}

func TestHostLs(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("needs a linux/amd64 host")
	}
	// Reading the host's own /bin/ls as data (never executing it).
	b, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Skipf("no /bin/ls: %v", err)
	}
	want := []string{"libselinux.so.1", "libc.so.6"}
	f := mustParse(t, b)
	if d := cmp.Diff(want, f.Needed); d != "" {
		t.Skipf("host /bin/ls is not Debian's: %s", d)
	}
	if f.Interp != "/lib64/ld-linux-x86-64.so.2" || f.Kind != elfread.KindDynamic || f.Machine != elf.EM_X86_64 {
		t.Errorf("interp %q kind %v machine %v", f.Interp, f.Kind, f.Machine)
	}
	s := stripSections(b)
	g := mustParse(t, s)
	if d := cmp.Diff(want, g.Needed); d != "" {
		t.Errorf("stripped: Needed (-want +got):\n%s", d)
	}
	// The motivating bug: debug/elf reads section headers and sees nothing.
	if ef, err := elf.NewFile(bytes.NewReader(s)); err == nil {
		if libs, _ := ef.ImportedLibraries(); len(libs) != 0 {
			t.Logf("note: debug/elf now finds %v in a stripped file", libs)
		}
	}
	if gi, err := elfread.GoInfo(bytes.NewReader(b), int64(len(b))); err != nil || gi != nil {
		t.Errorf("GoInfo(/bin/ls) = %+v, %v; want nil, nil", gi, err)
	}
}

func TestGoInfo(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Skip(err)
	}
	if _, err := elf.NewFile(bytes.NewReader(b)); err != nil {
		t.Skip("test binary is not ELF")
	}
	for name, data := range map[string][]byte{"plain": b, "stripped-sections": stripSections(b)} {
		g, err := elfread.GoInfo(bytes.NewReader(data), int64(len(data)))
		if err != nil || g == nil {
			t.Fatalf("%s: GoInfo = %v, %v", name, g, err)
		}
		if g.GoVersion != runtime.Version() {
			t.Errorf("%s: GoVersion = %q, want %q", name, g.GoVersion, runtime.Version())
		}
		if _, ok := g.Settings["CGO_ENABLED"]; !ok {
			t.Errorf("%s: no CGO_ENABLED setting in %v", name, g.Settings)
		}
		if g.CGO != (g.Settings["CGO_ENABLED"] == "1") {
			t.Errorf("%s: CGO = %v with settings %v", name, g.CGO, g.Settings)
		}
	}
	if g, err := elfread.GoInfo(bytes.NewReader(elftest.Build(elftest.Spec{})), 200); g != nil || err != nil {
		t.Errorf("GoInfo(synthetic) = %v, %v", g, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(elftest.Build(elftest.Spec{Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libc.so.6"}, Rpath: "$ORIGIN"}))
	f.Add(elftest.Build(elftest.Spec{Class: elf.ELFCLASS32, Data: elf.ELFDATA2MSB, Needed: []string{"a"}}))
	f.Add(elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fi, err := elfread.Parse(bytes.NewReader(b), int64(len(b)))
		if err == nil && fi == nil {
			t.Fatal("nil file without error")
		}
		_, _ = elfread.ReadHeader(bytes.NewReader(b), int64(len(b)))
		_, _ = elfread.GoInfo(bytes.NewReader(b), int64(len(b)))
	})
}
