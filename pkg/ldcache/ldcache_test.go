package ldcache_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/ldcachetest"
	"github.com/pare-dev/pare/pkg/ldcache"
)

var amd64, _ = ldcache.ArchFor(elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_X86_64)

func sample() []ldcachetest.Entry {
	return []ldcachetest.Entry{
		{Key: "libc.so.6", Value: "/lib/x86_64-linux-gnu/libc.so.6"},
		{Key: "libfoo.so.9", Value: "/usr/lib/x86_64-linux-gnu/libfoo.so.9"},
		{Key: "libfoo.so.10", Value: "/usr/lib/x86_64-linux-gnu/libfoo.so.10"},
		{Key: "libz.so.1", Value: "/lib/i386-linux-gnu/libz.so.1", Flags: ldcache.FlagELFLibc6},
		{Key: "libz.so.1", Value: "/lib/x86_64-linux-gnu/libz.so.1"},
		{Key: "libm.so.6", Value: "/lib/x86_64-linux-gnu/libm.so.6"},
	}
}

func TestFormats(t *testing.T) {
	for _, format := range []ldcache.Format{ldcache.FormatOld, ldcache.FormatNew, ldcache.FormatCompat} {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(format.String()+"-"+order.String(), func(t *testing.T) {
				b := ldcachetest.Build(ldcachetest.Spec{Format: format, Order: order, Generator: "ldconfig test", Entries: sample()})
				c, err := ldcache.Parse(b, order)
				if err != nil {
					t.Fatal(err)
				}
				if c.Format != format {
					t.Errorf("Format = %v", c.Format)
				}
				if len(c.Entries) != 6 {
					t.Fatalf("%d entries", len(c.Entries))
				}
				arch := amd64
				arch.Order = order
				for name, want := range map[string]string{
					"libc.so.6":    "/lib/x86_64-linux-gnu/libc.so.6",
					"libfoo.so.9":  "/usr/lib/x86_64-linux-gnu/libfoo.so.9",
					"libfoo.so.10": "/usr/lib/x86_64-linux-gnu/libfoo.so.10",
					"libz.so.1":    "/lib/x86_64-linux-gnu/libz.so.1", // the i386 entry has other flags
					"libm.so.6":    "/lib/x86_64-linux-gnu/libm.so.6",
					"libnone.so":   "",
					"libfoo.so":    "",
				} {
					if got := c.Lookup(name, arch).Path; got != want {
						t.Errorf("Lookup(%q) = %q, want %q", name, got, want)
					}
				}
				if format != ldcache.FormatOld && c.Generator != "ldconfig test" {
					t.Errorf("Generator = %q", c.Generator)
				}
				i386, _ := ldcache.ArchFor(elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_386)
				i386.Order = order
				if got := c.Lookup("libz.so.1", i386).Path; got != "/lib/i386-linux-gnu/libz.so.1" {
					t.Errorf("i386 Lookup = %q", got)
				}
			})
		}
	}
}

func TestLibCmpOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{
		{"libfoo.so.10", "libfoo.so.9", 1},
		{"libfoo.so.9", "libfoo.so.10", -1},
		{"libfoo.so.1", "libfoo.so.1", 0},
		{"libfoo.so", "libfoo.so.1", -1},
		{"libx1.so", "libx.so", 1},
		{"liba.so", "libb.so", -1},
	} {
		got := ldcache.LibCmp(tc.a, tc.b)
		if (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("LibCmp(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.sign)
		}
	}
}

func TestHWCaps(t *testing.T) {
	b := ldcachetest.Build(ldcachetest.Spec{Generator: "g", Entries: []ldcachetest.Entry{
		{Key: "libfoo.so.1", Value: "/usr/lib/x86_64-linux-gnu/libfoo.so.1"},
		{Key: "libfoo.so.1", Value: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1", HWCaps: "x86-64-v3"},
		{Key: "libfoo.so.1", Value: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libfoo.so.1", HWCaps: "x86-64-v2"},
		{Key: "libonly.so.1", Value: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libonly.so.1", HWCaps: "x86-64-v3"},
	}})
	c, err := ldcache.Parse(b, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"x86-64-v3", "x86-64-v2"}, c.HWCapsNames); d != "" {
		t.Errorf("HWCapsNames: %s", d)
	}
	m := c.Lookup("libfoo.so.1", amd64)
	want := ldcache.Match{
		Path: "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
		Variants: []ldcache.Variant{
			{Path: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1", HWCaps: "x86-64-v3", HWCap: ldcache.HWCapExtension},
			{Path: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libfoo.so.1", HWCaps: "x86-64-v2", HWCap: ldcache.HWCapExtension | 1},
		},
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("Lookup (-want +got):\n%s", d)
	}
	m = c.Lookup("libonly.so.1", amd64)
	if m.Path != "" || len(m.Variants) != 1 || !m.Found() {
		t.Errorf("hwcaps-only lookup = %+v", m)
	}
}

func TestEndian(t *testing.T) {
	b := ldcachetest.Build(ldcachetest.Spec{Order: binary.BigEndian, Entries: sample()})
	if _, err := ldcache.Parse(b, binary.LittleEndian); !errors.Is(err, ldcache.ErrEndian) {
		t.Errorf("err = %v, want ErrEndian", err)
	}
	b = ldcachetest.Build(ldcachetest.Spec{Entries: sample(), NoOrderFlag: true})
	c, err := ldcache.Parse(b, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lookup("libc.so.6", amd64).Path == "" {
		t.Error("cache without byte-order flag: libc.so.6 not found")
	}
	// A cache in the other byte order than the program matches nothing.
	be := amd64
	be.Order = binary.BigEndian
	if m := c.Lookup("libc.so.6", be); m.Found() {
		t.Errorf("lookup across byte orders = %+v", m)
	}
}

func TestCorrupt(t *testing.T) {
	for _, format := range []ldcache.Format{ldcache.FormatOld, ldcache.FormatNew, ldcache.FormatCompat} {
		b := ldcachetest.Build(ldcachetest.Spec{Format: format, Generator: "gen", Entries: append(sample(),
			ldcachetest.Entry{Key: "libh.so", Value: "/x/glibc-hwcaps/x86-64-v3/libh.so", HWCaps: "x86-64-v3"})})
		// Every truncation parses or fails, without panicking.
		for n := 0; n < len(b); n++ {
			c, err := ldcache.Parse(b[:n], binary.LittleEndian)
			if err == nil {
				c.Lookup("libc.so.6", amd64)
			}
		}
		// Every single-byte corruption too.
		for i := 0; i < len(b); i++ {
			for _, v := range []byte{0, 0xff, 0x80} {
				bb := bytes.Clone(b)
				bb[i] = v
				if c, err := ldcache.Parse(bb, binary.LittleEndian); err == nil {
					for _, e := range sample() {
						c.Lookup(e.Key, amd64)
					}
				}
			}
		}
	}
	t.Run("nlibs-too-large", func(t *testing.T) {
		b := ldcachetest.Build(ldcachetest.Spec{Entries: sample()})
		binary.LittleEndian.PutUint32(b[20:], 1<<30)
		if _, err := ldcache.Parse(b, binary.LittleEndian); !errors.Is(err, ldcache.ErrFormat) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad-value-offset", func(t *testing.T) {
		b := ldcachetest.Build(ldcachetest.Spec{Entries: []ldcachetest.Entry{{Key: "libc.so.6", Value: "/lib/libc.so.6"}}})
		binary.LittleEndian.PutUint32(b[48+8:], 1<<30) // value of entry 0
		c, err := ldcache.Parse(b, binary.LittleEndian)
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Lookup("libc.so.6", amd64); m.Found() {
			t.Errorf("entry with bad value offset used: %+v", m)
		}
	})
	t.Run("bad-magic", func(t *testing.T) {
		if _, err := ldcache.Parse([]byte("hello world, not a cache at all......................"), binary.LittleEndian); !errors.Is(err, ldcache.ErrFormat) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestHostCache compares the parser with the host's own ldconfig -p on the
// host's own cache (host data and a host tool, not image content).
func TestHostCache(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	data, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Skipf("no host cache: %v", err)
	}
	ldconfig, err := exec.LookPath("ldconfig")
	if err != nil {
		if ldconfig, err = exec.LookPath("/sbin/ldconfig"); err != nil {
			t.Skip("no ldconfig")
		}
	}
	out, err := exec.Command(ldconfig, "-p").Output()
	if err != nil {
		t.Skipf("ldconfig -p: %v", err)
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if !littleEndianHost() {
		order = binary.BigEndian
	}
	c, err := ldcache.Parse(data, order)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\t(\S+) \(([^)]*)\) => (.*)$`)
	type kv struct{ Key, Value string }
	var want []kv
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			want = append(want, kv{m[1], m[3]})
		}
	}
	var got []kv
	for _, e := range c.Entries {
		got = append(got, kv{e.Key, e.Value})
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries differ from ldconfig -p (-ldconfig +parsed):\n%s", d)
	}
	t.Logf("%d entries, format %v, generator %q", len(got), c.Format, c.Generator)
	if runtime.GOARCH == "amd64" {
		if m := c.Lookup("libc.so.6", amd64); m.Path == "" {
			t.Error("libc.so.6 not found in the host cache")
		}
		for _, w := range want {
			if m := c.Lookup(w.Key, amd64); !m.Found() {
				t.Errorf("Lookup(%q) found nothing", w.Key)
			}
		}
	}
}

func littleEndianHost() bool {
	return binary.NativeEndian.Uint16([]byte{1, 0}) == 1
}

func FuzzParse(f *testing.F) {
	f.Add(ldcachetest.Build(ldcachetest.Spec{Format: ldcache.FormatNew, Generator: "g", Entries: append(sample(),
		ldcachetest.Entry{Key: "libh.so", Value: "/x/libh.so", HWCaps: "x86-64-v3"})}))
	f.Add(ldcachetest.Build(ldcachetest.Spec{Format: ldcache.FormatOld, Entries: sample()}))
	f.Add(ldcachetest.Build(ldcachetest.Spec{Format: ldcache.FormatCompat, Entries: sample()}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ldcache.Parse(b, binary.LittleEndian)
		if err != nil {
			return
		}
		for _, e := range c.Entries {
			c.Lookup(e.Key, amd64)
		}
		c.Lookup("libc.so.6", amd64)
	})
}
