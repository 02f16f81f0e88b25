package loader_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/ldcachetest"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/ldcache"
	"github.com/pare-dev/pare/pkg/loader"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const (
	ldso   = "/lib64/ld-linux-x86-64.so.2"
	multi  = "/usr/lib/x86_64-linux-gnu"
	lmulti = "/lib/x86_64-linux-gnu"
)

// lib returns a shared object with a soname and dependencies.
func lib(soname string, needed ...string) []byte {
	return elftest.Build(elftest.Spec{Soname: soname, Needed: needed})
}

// exe returns a dynamic PIE using glibc's interpreter.
func exe(s elftest.Spec) []byte {
	if s.Interp == "" {
		s.Interp = ldso
	}
	s.Flags1 |= uint64(elf.DF_1_PIE)
	return elftest.Build(s)
}

// bookworm returns a usr-merged Debian-like image with ld.so and libc.
func bookworm() *rootfs.Mem {
	m := rootfs.NewMem()
	m.AddSymlink("/lib", "usr/lib")
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddSymlink("/bin", "usr/bin")
	m.AddFile(multi+"/ld-linux-x86-64.so.2", 0o755, lib("ld-linux-x86-64.so.2"))
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", lmulti+"/ld-linux-x86-64.so.2")
	m.AddFile(multi+"/libc.so.6", 0o755, lib("libc.so.6", "ld-linux-x86-64.so.2"))
	m.AddDir("/etc", 0o755)
	m.AddDir("/app", 0o755)
	return m
}

func resolve(t *testing.T, m *rootfs.Mem, exePath string, opts loader.Options) *loader.Result {
	t.Helper()
	res, err := loader.Resolve(m.View(), exePath, opts)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", exePath, err)
	}
	return res
}

// found maps requested name → OpenedAs for the non-variant objects.
func found(res *loader.Result) map[string]string {
	out := map[string]string{}
	for _, o := range res.Objects {
		if o.How != loader.HowHWCapsVariant {
			out[o.Name] = o.OpenedAs
		}
	}
	return out
}

func missing(res *loader.Result) []string {
	var out []string
	for _, m := range res.Missing {
		out = append(out, m.Name)
	}
	return out
}

func object(t *testing.T, res *loader.Result, name string) loader.Object {
	t.Helper()
	for _, o := range res.Objects {
		if o.Name == name && o.How != loader.HowHWCapsVariant {
			return o
		}
	}
	t.Fatalf("no object %q in %v (missing %v)", name, found(res), res.Missing)
	return loader.Object{}
}

func TestBasicClosure(t *testing.T) {
	m := bookworm()
	m.AddFile("/usr/bin/ls", 0o755, exe(elftest.Spec{Needed: []string{"libselinux.so.1", "libc.so.6"}}))
	m.AddFile(multi+"/libselinux.so.1", 0o644, lib("libselinux.so.1", "libpcre2-8.so.0", "libc.so.6"))
	m.AddFile(multi+"/libpcre2-8.so.0.11.2", 0o644, lib("libpcre2-8.so.0", "libc.so.6"))
	m.AddSymlink(multi+"/libpcre2-8.so.0", "libpcre2-8.so.0.11.2")
	res := resolve(t, m, "/bin/ls", loader.Options{})

	if res.Exe.Path != "/usr/bin/ls" || res.Kind.String() != "dynamic" {
		t.Errorf("exe = %+v kind %v", res.Exe, res.Kind)
	}
	wantInterp := &loader.Object{
		Path: multi + "/ld-linux-x86-64.so.2", OpenedAs: ldso, Name: ldso, By: "/usr/bin/ls", How: loader.HowInterp,
		Links:  []string{"/lib64", "/usr/lib64/ld-linux-x86-64.so.2", "/lib"},
		Soname: "ld-linux-x86-64.so.2",
	}
	if d := cmp.Diff(wantInterp, res.Interp); d != "" {
		t.Errorf("Interp (-want +got):\n%s", d)
	}
	var order []string
	for _, o := range res.Objects {
		order = append(order, o.Name+" => "+o.OpenedAs+" ("+o.Path+")")
	}
	want := []string{
		"libselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (/usr/lib/x86_64-linux-gnu/libselinux.so.1)",
		"libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (/usr/lib/x86_64-linux-gnu/libc.so.6)",
		"libpcre2-8.so.0 => /lib/x86_64-linux-gnu/libpcre2-8.so.0 (/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2)",
	}
	if d := cmp.Diff(want, order); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
	pcre := object(t, res, "libpcre2-8.so.0")
	if d := cmp.Diff([]string{"/lib", multi + "/libpcre2-8.so.0"}, pcre.Links); d != "" {
		t.Errorf("pcre links: %s", d)
	}
	if pcre.By != multi+"/libselinux.so.1" || pcre.How != loader.HowDefault {
		t.Errorf("pcre by %q how %q", pcre.By, pcre.How)
	}
	if len(res.Missing) != 0 {
		t.Errorf("missing: %+v", res.Missing)
	}
	paths := res.Paths()
	for _, p := range []string{"/bin", "/usr/bin/ls", "/lib64", "/usr/lib64/ld-linux-x86-64.so.2", "/lib", multi + "/libpcre2-8.so.0", multi + "/libpcre2-8.so.0.11.2"} {
		if !contains(paths, p) {
			t.Errorf("Paths() lacks %s: %v", p, paths)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Rule 5: exe→libfoo→libbar, both libs in $ORIGIN/lib.
func TestRpathVersusRunpath(t *testing.T) {
	for _, tc := range []struct {
		name        string
		spec        elftest.Spec
		wantMissing []string
	}{
		{"rpath", elftest.Spec{Rpath: "$ORIGIN/lib"}, nil},
		{"runpath", elftest.Spec{Runpath: "$ORIGIN/lib"}, []string{"libbar.so"}},
		{"both-rpath-ignored", elftest.Spec{Rpath: "$ORIGIN/lib", Runpath: "$ORIGIN/lib"}, []string{"libbar.so"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := bookworm()
			s := tc.spec
			s.Needed = []string{"libfoo.so", "libc.so.6"}
			m.AddFile("/app/exe", 0o755, exe(s))
			m.AddFile("/app/lib/libfoo.so", 0o644, lib("libfoo.so", "libbar.so"))
			m.AddFile("/app/lib/libbar.so", 0o644, lib("libbar.so"))
			res := resolve(t, m, "/app/exe", loader.Options{})
			if got := object(t, res, "libfoo.so"); got.OpenedAs != "/app/lib/libfoo.so" {
				t.Errorf("libfoo opened as %q", got.OpenedAs)
			}
			if d := cmp.Diff(tc.wantMissing, missing(res)); d != "" {
				t.Errorf("missing (-want +got):\n%s", d)
			}
			if tc.wantMissing == nil {
				if got := object(t, res, "libbar.so"); got.How != loader.HowRpath || got.By != "/app/lib/libfoo.so" {
					t.Errorf("libbar %+v", got)
				}
			}
		})
	}
}

// Rule 5: DT_RPATH of the requester, then of its loaders up to the executable.
func TestTransitiveRpath(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so"}, Rpath: "/a"}))
	m.AddFile("/a/libfoo.so", 0o644, elftest.Build(elftest.Spec{Soname: "libfoo.so", Needed: []string{"libbar.so"}, Rpath: "/b"}))
	m.AddFile("/b/libbar.so", 0o644, lib("libbar.so", "libbaz.so", "libqux.so"))
	m.AddFile("/b/libbaz.so", 0o644, lib("libbaz.so")) // via libfoo's RPATH (libbar's loader)
	m.AddFile("/a/libqux.so", 0o644, lib("libqux.so")) // via the executable's RPATH
	res := resolve(t, m, "/app/exe", loader.Options{})
	want := map[string]string{"libfoo.so": "/a/libfoo.so", "libbar.so": "/b/libbar.so", "libbaz.so": "/b/libbaz.so", "libqux.so": "/a/libqux.so"}
	if d := cmp.Diff(want, found(res)); d != "" {
		t.Errorf("found (-want +got):\n%s", d)
	}
	if len(res.Missing) != 0 {
		t.Errorf("missing %v", res.Missing)
	}

	// A requester with DT_RUNPATH does not use the chain's DT_RPATH.
	m.AddFile("/b/libbar.so", 0o644, elftest.Build(elftest.Spec{Soname: "libbar.so", Needed: []string{"libbaz.so", "libqux.so"}, Runpath: "/nowhere"}))
	res = resolve(t, m, "/app/exe", loader.Options{})
	if d := cmp.Diff([]string{"libbaz.so", "libqux.so"}, missing(res)); d != "" {
		t.Errorf("with RUNPATH, missing (-want +got):\n%s", d)
	}
}

// Rule 9/10: $ORIGIN of the executable is its fully resolved directory; of a
// library, the directory it was opened through, with ".." applied physically.
func TestOriginThroughSymlinks(t *testing.T) {
	m := bookworm()
	m.AddFile("/opt/app/bin/app", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so"}, Rpath: "$ORIGIN/../lib"}))
	m.AddSymlink("/usr/local/bin/app", "/opt/app/bin/app")
	m.AddSymlink("/opt/app/lib", "/srv/real/lib")
	m.AddFile("/srv/real/lib/libfoo.so", 0o644, elftest.Build(elftest.Spec{Soname: "libfoo.so", Needed: []string{"libbar.so"}, Runpath: "$ORIGIN/../plugins"}))
	m.AddFile("/srv/real/plugins/libbar.so", 0o644, lib("libbar.so"))
	m.AddFile("/opt/app/plugins/libbar.so", 0o644, []byte("decoy: a lexical .. would pick this"))
	res := resolve(t, m, "/usr/local/bin/app", loader.Options{})
	foo := object(t, res, "libfoo.so")
	if foo.OpenedAs != "/opt/app/bin/../lib/libfoo.so" || foo.Path != "/srv/real/lib/libfoo.so" {
		t.Errorf("libfoo = %+v", foo)
	}
	bar := object(t, res, "libbar.so")
	if bar.OpenedAs != "/opt/app/bin/../lib/../plugins/libbar.so" || bar.Path != "/srv/real/plugins/libbar.so" || bar.How != loader.HowRunpath {
		t.Errorf("libbar = %+v", bar)
	}
	if d := cmp.Diff([]string{"/opt/app/bin", "/srv/real/lib"}, bar.Dirs); d != "" {
		t.Errorf("libbar Dirs (-want +got):\n%s", d)
	}
	if !contains(res.Paths(), "/opt/app/bin") {
		t.Errorf("Paths() lacks /opt/app/bin: %v", res.Paths())
	}
	if len(res.Missing) != 0 {
		t.Errorf("missing %+v", res.Missing)
	}
	if !contains(res.Exe.Links, "/usr/local/bin/app") {
		t.Errorf("exe links %v", res.Exe.Links)
	}
}

// Rule 9: $LIB and $PLATFORM, braced and not; unknown tokens stay literal.
func TestTokens(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{
		Needed: []string{"liba.so", "libb.so", "libc.so", "$ORIGIN/libd.so"},
		Rpath:  "/opt/$LIB/$PLATFORM:/opt/${LIB}x:/opt/$LIBX:/opt/$PLATFORM_",
	}))
	m.AddFile("/opt/lib/x86_64-linux-gnu/x86_64/liba.so", 0o644, lib("liba.so"))
	m.AddFile("/opt/lib/x86_64-linux-gnu"+"x/libb.so", 0o644, lib("libb.so"))
	m.AddFile("/opt/$LIBX/libc.so", 0o644, lib("libc.so"))
	m.AddFile("/app/libd.so", 0o644, lib("libd.so"))
	res := resolve(t, m, "/app/exe", loader.Options{})
	want := map[string]string{
		"liba.so":      "/opt/lib/x86_64-linux-gnu/x86_64/liba.so",
		"libb.so":      "/opt/lib/x86_64-linux-gnux/libb.so",
		"libc.so":      "/opt/$LIBX/libc.so",
		"/app/libd.so": "/app/libd.so",
	}
	if d := cmp.Diff(want, found(res)); d != "" {
		t.Errorf("found (-want +got):\n%s", d)
	}
	if o := object(t, res, "/app/libd.so"); o.How != loader.HowDirect {
		t.Errorf("libd how %q", o.How)
	}
}

// Rule 7: hwcaps subdirectories; every variant present is kept.
func TestHWCapsSubdirs(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libz.so.1", "libt.so"}}))
	m.AddFile(multi+"/libz.so.1", 0o644, lib("libz.so.1"))
	m.AddFile(multi+"/glibc-hwcaps/x86-64-v3/libz.so.1", 0o644, lib("libz.so.1"))
	m.AddFile(multi+"/haswell/libz.so.1", 0o644, lib("libz.so.1"))
	// a tls/x86_64 copy is searched by every x86-64 CPU: it wins
	m.AddFile(multi+"/libt.so", 0o644, lib("libt.so"))
	m.AddFile(multi+"/tls/x86_64/libt.so", 0o644, lib("libt.so"))
	res := resolve(t, m, "/app/exe", loader.Options{})
	var got []string
	for _, o := range res.Objects {
		got = append(got, string(o.How)+" "+o.OpenedAs)
	}
	// the lookup in /lib/x86_64-linux-gnu (usr-merged) finds them first
	want := []string{
		"default /lib/x86_64-linux-gnu/libz.so.1",
		"hwcaps-variant /lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1",
		"hwcaps-variant /lib/x86_64-linux-gnu/haswell/libz.so.1",
		"default /lib/x86_64-linux-gnu/tls/x86_64/libt.so",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
	// Only a hwcaps copy: it is taken, with a warning.
	m = bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libv.so"}}))
	m.AddFile(multi+"/glibc-hwcaps/x86-64-v2/libv.so", 0o644, lib("libv.so"))
	res = resolve(t, m, "/app/exe", loader.Options{})
	if o := object(t, res, "libv.so"); o.Path != multi+"/glibc-hwcaps/x86-64-v2/libv.so" || len(res.Warnings) == 0 {
		t.Errorf("libv %+v warnings %v", o, res.Warnings)
	}
}

// Rule 8: wrong class or machine is skipped; non-ELF, truncated or a
// directory stops the search.
func TestCandidates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		add     func(m *rootfs.Mem)
		want    string // OpenedAs of libfoo, "" when missing
		wantErr string
	}{
		{"wrong-machine", func(m *rootfs.Mem) {
			m.AddFile("/wrong/libfoo.so", 0o644, elftest.Build(elftest.Spec{Machine: elf.EM_AARCH64, Soname: "libfoo.so"}))
		}, lmulti + "/libfoo.so", ""},
		{"wrong-class", func(m *rootfs.Mem) {
			m.AddFile("/wrong/libfoo.so", 0o644, elftest.Build(elftest.Spec{Class: elf.ELFCLASS32, Machine: elf.EM_386, Soname: "libfoo.so"}))
		}, lmulti + "/libfoo.so", ""},
		{"dangling", func(m *rootfs.Mem) {
			m.AddSymlink("/wrong/libfoo.so", "/nowhere/libfoo.so")
		}, lmulti + "/libfoo.so", ""},
		{"not-elf", func(m *rootfs.Mem) {
			m.AddFile("/wrong/libfoo.so", 0o644, []byte("INPUT(-lfoo)\n"))
		}, "", "invalid ELF header"},
		{"truncated", func(m *rootfs.Mem) {
			m.AddFile("/wrong/libfoo.so", 0o644, []byte("\x7fELF\x02\x01"))
		}, "", "file too short"},
		{"directory", func(m *rootfs.Mem) {
			m.AddDir("/wrong/libfoo.so", 0o755)
		}, "", "Is a directory"},
		{"other-endianness", func(m *rootfs.Mem) {
			m.AddFile("/wrong/libfoo.so", 0o644, elftest.Build(elftest.Spec{Data: elf.ELFDATA2MSB, Soname: "libfoo.so"}))
		}, "", "data encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := bookworm()
			m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so"}}))
			m.AddFile(multi+"/libfoo.so", 0o644, lib("libfoo.so"))
			m.AddDir("/wrong", 0o755)
			tc.add(m)
			res := resolve(t, m, "/app/exe", loader.Options{Env: []string{"LD_LIBRARY_PATH=/wrong"}})
			got := found(res)["libfoo.so"]
			if got != tc.want {
				t.Errorf("libfoo = %q, want %q", got, tc.want)
			}
			if tc.wantErr != "" {
				if len(res.Missing) != 1 || !strings.Contains(res.Missing[0].Err, tc.wantErr) {
					t.Errorf("missing = %+v, want error %q", res.Missing, tc.wantErr)
				}
			} else if len(res.Missing) != 0 {
				t.Errorf("missing = %+v", res.Missing)
			}
		})
	}
}

func TestCache(t *testing.T) {
	for _, format := range []ldcache.Format{ldcache.FormatOld, ldcache.FormatNew, ldcache.FormatCompat} {
		t.Run(format.String(), func(t *testing.T) {
			m := bookworm()
			m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so.1", "libgone.so.1", "libc.so.6"}}))
			m.AddFile("/opt/cached/libfoo.so.1", 0o644, lib("libfoo.so.1"))
			m.AddFile(multi+"/libgone.so.1", 0o644, lib("libgone.so.1"))
			m.AddFile("/etc/ld.so.cache", 0o644, ldcachetest.Build(ldcachetest.Spec{Format: format, Entries: []ldcachetest.Entry{
				{Key: "libfoo.so.1", Value: "/opt/cached/libfoo.so.1"},
				{Key: "libgone.so.1", Value: "/opt/cached/libgone.so.1"}, // stale: falls through
				{Key: "libc.so.6", Value: lmulti + "/libc.so.6"},
			}}))
			res := resolve(t, m, "/app/exe", loader.Options{})
			want := map[string]string{
				"libfoo.so.1":  "/opt/cached/libfoo.so.1",
				"libgone.so.1": lmulti + "/libgone.so.1",
				"libc.so.6":    lmulti + "/libc.so.6",
			}
			if d := cmp.Diff(want, found(res)); d != "" {
				t.Errorf("found (-want +got):\n%s", d)
			}
			if o := object(t, res, "libfoo.so.1"); o.How != loader.HowCache {
				t.Errorf("libfoo how %q", o.How)
			}
			if o := object(t, res, "libgone.so.1"); o.How != loader.HowDefault {
				t.Errorf("libgone how %q", o.How)
			}
		})
	}
	t.Run("hwcaps-entries", func(t *testing.T) {
		m := bookworm()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so.1"}}))
		m.AddFile(multi+"/libfoo.so.1", 0o644, lib("libfoo.so.1"))
		m.AddFile(multi+"/glibc-hwcaps/x86-64-v3/libfoo.so.1.2", 0o644, lib("libfoo.so.1"))
		m.AddFile("/etc/ld.so.cache", 0o644, ldcachetest.Build(ldcachetest.Spec{Entries: []ldcachetest.Entry{
			{Key: "libfoo.so.1", Value: multi + "/libfoo.so.1"},
			{Key: "libfoo.so.1", Value: multi + "/glibc-hwcaps/x86-64-v3/libfoo.so.1.2", HWCaps: "x86-64-v3"},
		}}))
		res := resolve(t, m, "/app/exe", loader.Options{})
		var got []string
		for _, o := range res.Objects {
			got = append(got, string(o.How)+" "+o.Variant+" "+o.Path)
		}
		want := []string{
			"cache  " + multi + "/libfoo.so.1",
			"hwcaps-variant glibc-hwcaps/x86-64-v3/ " + multi + "/glibc-hwcaps/x86-64-v3/libfoo.so.1.2",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("objects (-want +got):\n%s", d)
		}
	})
	t.Run("corrupt-cache-ignored", func(t *testing.T) {
		m := bookworm()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so.1"}}))
		m.AddFile(multi+"/libfoo.so.1", 0o644, lib("libfoo.so.1"))
		c := ldcachetest.Build(ldcachetest.Spec{Entries: []ldcachetest.Entry{{Key: "libfoo.so.1", Value: "/opt/x/libfoo.so.1"}}})
		binary.LittleEndian.PutUint32(c[20:], 1<<28) // nlibs
		m.AddFile("/etc/ld.so.cache", 0o644, c)
		res := resolve(t, m, "/app/exe", loader.Options{})
		if o := object(t, res, "libfoo.so.1"); o.How != loader.HowDefault {
			t.Errorf("libfoo %+v", o)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ld.so.cache") {
			t.Errorf("warnings %q", res.Warnings)
		}
	})
	t.Run("big-endian-cache-ignored", func(t *testing.T) {
		m := bookworm()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so.1"}}))
		m.AddFile("/opt/x/libfoo.so.1", 0o644, lib("libfoo.so.1"))
		m.AddFile("/etc/ld.so.cache", 0o644, ldcachetest.Build(ldcachetest.Spec{Order: binary.BigEndian, Entries: []ldcachetest.Entry{{Key: "libfoo.so.1", Value: "/opt/x/libfoo.so.1"}}}))
		res := resolve(t, m, "/app/exe", loader.Options{})
		if d := cmp.Diff([]string{"libfoo.so.1"}, missing(res)); d != "" {
			t.Errorf("missing: %s", d)
		}
	})
}

// Rule 5 (5)/(6): DF_1_NODEFLIB skips cache hits in system dirs and the
// default directories.
func TestNoDefaultLib(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so.1", "libopt.so.1"}, Flags1: uint64(elf.DF_1_NODEFLIB)}))
	m.AddFile(multi+"/libfoo.so.1", 0o644, lib("libfoo.so.1"))
	m.AddFile("/opt/x/libopt.so.1", 0o644, lib("libopt.so.1"))
	m.AddFile("/etc/ld.so.cache", 0o644, ldcachetest.Build(ldcachetest.Spec{Entries: []ldcachetest.Entry{
		{Key: "libfoo.so.1", Value: lmulti + "/libfoo.so.1"},
		{Key: "libopt.so.1", Value: "/opt/x/libopt.so.1"},
	}}))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if d := cmp.Diff([]string{"libfoo.so.1"}, missing(res)); d != "" {
		t.Errorf("missing (-want +got):\n%s", d)
	}
	if got := found(res)["libopt.so.1"]; got != "/opt/x/libopt.so.1" {
		t.Errorf("libopt = %q", got)
	}
}

// Rules 11 and 12.
func TestPreloadAndSecureMode(t *testing.T) {
	build := func() *rootfs.Mem {
		m := bookworm()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so", "libc.so.6"}}))
		m.AddFile("/llp/libfoo.so", 0o644, lib("libfoo.so"))
		m.AddFile(multi+"/libfoo.so", 0o644, lib("libfoo.so"))
		m.AddFile("/opt/libp.so", 0o644, lib("libp.so"))
		m.AddFile(multi+"/libq.so", 0o644, lib("libq.so"))
		m.Add(rootfs.Entry{Path: multi + "/libsuid.so", Type: rootfs.TypeReg, Mode: 0o755 | fs.ModeSetuid}, lib("libsuid.so"))
		m.AddFile(multi+"/libfile.so", 0o644, lib("libfile.so", "libdep.so"))
		m.AddFile(multi+"/libdep.so", 0o644, lib("libdep.so"))
		m.AddFile("/etc/ld.so.preload", 0o644, []byte("# preloads\nlibfile.so # trailing comment\n libnone.so\n"))
		return m
	}
	env := []string{"LD_LIBRARY_PATH=/llp", "LD_PRELOAD=/opt/libp.so libq.so:libsuid.so"}
	t.Run("normal", func(t *testing.T) {
		res := resolve(t, build(), "/app/exe", loader.Options{Env: env})
		var order []string
		for _, o := range res.Objects {
			order = append(order, o.Name)
		}
		// preloads first (LD_PRELOAD, then ld.so.preload), then breadth-first
		want := []string{"/opt/libp.so", "libq.so", "libsuid.so", "libfile.so", "libfoo.so", "libc.so.6", "libdep.so"}
		if d := cmp.Diff(want, order); d != "" {
			t.Errorf("order (-want +got):\n%s", d)
		}
		if got := found(res)["libfoo.so"]; got != "/llp/libfoo.so" {
			t.Errorf("libfoo = %q", got)
		}
		if o := object(t, res, "libq.so"); !o.Preload || o.By != "" {
			t.Errorf("libq %+v", o)
		}
		if len(res.Missing) != 1 || res.Missing[0].Name != "libnone.so" || !res.Missing[0].Preload {
			t.Errorf("missing %+v", res.Missing)
		}
	})
	t.Run("secure", func(t *testing.T) {
		res := resolve(t, build(), "/app/exe", loader.Options{Env: env, Secure: true})
		got := found(res)
		want := map[string]string{
			"libsuid.so": lmulti + "/libsuid.so", // bare, setuid: kept
			"libfile.so": lmulti + "/libfile.so", // ld.so.preload still read
			"libdep.so":  lmulti + "/libdep.so",
			"libfoo.so":  lmulti + "/libfoo.so", // LD_LIBRARY_PATH ignored
			"libc.so.6":  lmulti + "/libc.so.6",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("found (-want +got):\n%s", d)
		}
	})
}

func TestSecureOrigin(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"liba.so", "libb.so"}, Rpath: "$ORIGIN/lib:/usr/lib/$ORIGIN"}))
	m.AddFile("/app/lib/liba.so", 0o644, lib("liba.so"))
	m.AddFile("/usr/bin/lib/libb.so", 0o644, lib("libb.so"))
	res := resolve(t, m, "/app/exe", loader.Options{Secure: true})
	// $ORIGIN of a secure executable must expand under a system directory.
	if d := cmp.Diff([]string{"liba.so", "libb.so"}, missing(res)); d != "" {
		t.Errorf("missing (-want +got):\n%s", d)
	}
	m.AddFile("/usr/lib/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"liba.so"}, Rpath: "$ORIGIN/lib"}))
	m.AddFile("/usr/lib/app/lib/liba.so", 0o644, lib("liba.so"))
	res = resolve(t, m, "/usr/lib/app/exe", loader.Options{Secure: true})
	if got := found(res)["liba.so"]; got != "/usr/lib/app/lib/liba.so" {
		t.Errorf("trusted $ORIGIN: liba = %q (missing %+v)", got, res.Missing)
	}
}

func TestCycle(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libA.so"}, Rpath: "/app"}))
	m.AddFile("/app/libA.so", 0o644, lib("libA.so", "libB.so"))
	m.AddFile("/app/libB.so", 0o644, lib("libB.so", "libA.so"))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if d := cmp.Diff(map[string]string{"libA.so": "/app/libA.so", "libB.so": "/app/libB.so"}, found(res)); d != "" {
		t.Errorf("found: %s", d)
	}
}

// Rule 5 step 1: names match loaded objects by name or DT_SONAME; a file
// found again under another name is the same object.
func TestLoadedSet(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"/opt/x/libfoo.so.1.2", "libbar.so", "libalias.so"}}))
	m.AddFile("/opt/x/libfoo.so.1.2", 0o644, lib("libfoo.so.1"))
	m.AddFile(multi+"/libbar.so", 0o644, lib("libbar.so", "libfoo.so.1"))
	m.AddSymlink(multi+"/libalias.so", "libbar.so")
	res := resolve(t, m, "/app/exe", loader.Options{})
	want := map[string]string{"/opt/x/libfoo.so.1.2": "/opt/x/libfoo.so.1.2", "libbar.so": lmulti + "/libbar.so"}
	if d := cmp.Diff(want, found(res)); d != "" {
		t.Errorf("found (-want +got):\n%s", d)
	}
	if len(res.Missing) != 0 {
		t.Errorf("missing %+v", res.Missing)
	}
}

// Rule 4 and rule 6: names with '/' are relative to the working directory;
// an empty LD_LIBRARY_PATH element is the working directory too.
func TestWorkingDir(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"lib/libx.so", "liby.so"}}))
	m.AddFile("/srv/lib/libx.so", 0o644, lib("libx.so"))
	m.AddFile("/srv/liby.so", 0o644, lib("liby.so"))
	res := resolve(t, m, "/app/exe", loader.Options{WorkingDir: "/srv", Env: []string{"LD_LIBRARY_PATH=/nope;:/none"}})
	want := map[string]string{"lib/libx.so": "/srv/lib/libx.so", "liby.so": "/srv/liby.so"}
	if d := cmp.Diff(want, found(res)); d != "" {
		t.Errorf("found (-want +got):\n%s", d)
	}
	if o := object(t, res, "liby.so"); o.How != loader.HowLibraryPath {
		t.Errorf("liby how %q", o.How)
	}
}

func TestDlopen(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libc.so.6"}, Rpath: "/app/lib"}))
	m.AddFile("/app/lib/libnss_extra.so.2", 0o644, lib("libnss_extra.so.2"))
	m.AddFile(multi+"/libnss_systemd.so.2", 0o644, lib("libnss_systemd.so.2", "libcap.so.2", "libc.so.6"))
	m.AddFile(multi+"/libcap.so.2", 0o644, lib("libcap.so.2", "libc.so.6"))
	r, err := loader.NewResolver(m.View(), "/app/exe", loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	libc := multi + "/libc.so.6"
	objs, err := r.Dlopen("libnss_systemd.so.2", libc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Name+" by "+o.By)
	}
	want := []string{"libnss_systemd.so.2 by " + libc, "libcap.so.2 by " + multi + "/libnss_systemd.so.2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dlopen objects (-want +got):\n%s", d)
	}
	// libc's loader is the executable: its DT_RPATH applies to libc's dlopen.
	objs, err = r.Dlopen("libnss_extra.so.2", libc)
	if err != nil || len(objs) != 1 || objs[0].OpenedAs != "/app/lib/libnss_extra.so.2" || objs[0].How != loader.HowRpath {
		t.Errorf("libnss_extra = %+v, %v", objs, err)
	}
	if _, err := r.Dlopen("libnss_none.so.2", libc); err == nil {
		t.Error("dlopen of a missing module: no error")
	}
	// Already loaded: the object is returned, nothing new.
	objs, err = r.Dlopen("libcap.so.2", "")
	if err != nil || len(objs) != 1 || objs[0].Path != multi+"/libcap.so.2" {
		t.Errorf("reload = %+v, %v", objs, err)
	}
	if !r.Loaded(multi+"/libcap.so.2") || !r.Loaded("/app/exe") || !r.Loaded(multi+"/ld-linux-x86-64.so.2") || r.Loaded("/app/lib") {
		t.Error("Loaded disagrees with the closure")
	}
	if n := len(r.Result().Objects); n != 4 {
		t.Errorf("%d objects after dlopen, want 4", n)
	}
}

func TestStatic(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/static", 0o755, elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}))
	m.AddFile("/app/spie", 0o755, elftest.Build(elftest.Spec{Flags1: uint64(elf.DF_1_PIE)}))
	m.AddFile(multi+"/libnss_files.so.2", 0o644, lib("libnss_files.so.2"))
	for p, kind := range map[string]string{"/app/static": "static", "/app/spie": "static-pie"} {
		r, err := loader.NewResolver(m.View(), p, loader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res := r.Result()
		if res.Kind.String() != kind || res.Interp != nil || len(res.Objects) != 0 {
			t.Errorf("%s: kind %v interp %v objects %v", p, res.Kind, res.Interp, res.Objects)
		}
		// A static glibc program can still dlopen NSS modules.
		objs, err := r.Dlopen("libnss_files.so.2", "")
		if err != nil || len(objs) != 1 || objs[0].OpenedAs != lmulti+"/libnss_files.so.2" {
			t.Errorf("%s: dlopen = %+v, %v", p, objs, err)
		}
	}
}

func TestErrors(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/script", 0o755, []byte("#!/bin/sh\n"))
	m.AddFile("/app/nointerp", 0o755, exe(elftest.Spec{Interp: "/lib/ld-missing.so", Needed: []string{"libc.so.6"}}))
	if _, err := loader.Resolve(m.View(), "/app/script", loader.Options{}); err == nil {
		t.Error("script: no error")
	}
	if _, err := loader.Resolve(m.View(), "/app/none", loader.Options{}); err == nil {
		t.Error("missing exe: no error")
	}
	res := resolve(t, m, "/app/nointerp", loader.Options{})
	if res.Interp != nil || len(res.Missing) != 1 || res.Missing[0].Name != "/lib/ld-missing.so" {
		t.Errorf("missing interp: %+v", res)
	}
}

func TestIconvHint(t *testing.T) {
	m := bookworm()
	m.AddFile(multi+"/libc.so.6", 0o755, elftest.Build(elftest.Spec{Soname: "libc.so.6", Strings: []string{"iconv_open"}}))
	m.AddFile("/app/a", 0o755, exe(elftest.Spec{Needed: []string{"libc.so.6"}}))
	m.AddFile("/app/b", 0o755, exe(elftest.Spec{Needed: []string{"libiconvuser.so"}}))
	m.AddFile(multi+"/libiconvuser.so", 0o644, elftest.Build(elftest.Spec{Soname: "libiconvuser.so", Needed: []string{"libc.so.6"}, Strings: []string{"iconv_open"}}))
	if res := resolve(t, m, "/app/a", loader.Options{}); res.UsesIconv {
		t.Error("libc defining iconv_open counted as a use")
	}
	if res := resolve(t, m, "/app/b", loader.Options{}); !res.UsesIconv {
		t.Error("library importing iconv_open not noticed")
	}
}

// Rule 17: musl.
func TestMusl(t *testing.T) {
	alpine := func() *rootfs.Mem {
		m := rootfs.NewMem()
		m.AddFile("/lib/ld-musl-x86_64.so.1", 0o755, lib("libc.musl-x86_64.so.1"))
		m.AddSymlink("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1")
		m.AddDir("/usr/lib", 0o755)
		m.AddDir("/etc", 0o755)
		return m
	}
	musl := "/lib/ld-musl-x86_64.so.1"
	t.Run("path-file", func(t *testing.T) {
		m := alpine()
		m.AddFile("/usr/bin/app", 0o755, exe(elftest.Spec{Interp: musl, Needed: []string{"libfoo.so.1", "libc.musl-x86_64.so.1", "libpthread.so.0"}}))
		m.AddFile("/opt/musl/lib/libfoo.so.1", 0o644, lib("libfoo.so.1", "libbar.so"))
		m.AddFile("/usr/lib/libfoo.so.1", 0o644, lib("libfoo.so.1"))
		m.AddFile("/usr/lib/libbar.so", 0o644, lib("libbar.so", "libc.musl-x86_64.so.1"))
		m.AddFile("/etc/ld-musl-x86_64.path", 0o644, []byte("/opt/musl/lib\n/usr/lib:/lib\n"))
		res := resolve(t, m, "/usr/bin/app", loader.Options{})
		if !res.Musl || res.Interp == nil || res.Interp.Path != musl {
			t.Fatalf("musl %v interp %+v", res.Musl, res.Interp)
		}
		want := map[string]string{"libfoo.so.1": "/opt/musl/lib/libfoo.so.1", "libbar.so": "/usr/lib/libbar.so"}
		if d := cmp.Diff(want, found(res)); d != "" {
			t.Errorf("found (-want +got):\n%s", d)
		}
		if o := object(t, res, "libfoo.so.1"); o.How != loader.HowMuslPath {
			t.Errorf("how %q", o.How)
		}
		if d := cmp.Diff([]string{"libc.musl-x86_64.so.1", "libpthread.so.0"}, res.Builtin); d != "" {
			t.Errorf("Builtin: %s", d)
		}
		if len(res.Missing) != 0 {
			t.Errorf("missing %+v", res.Missing)
		}
	})
	t.Run("default-path-and-inherited-runpath", func(t *testing.T) {
		m := alpine()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Interp: musl, Needed: []string{"libfoo.so", "libz.so.1"}, Runpath: "$ORIGIN/lib"}))
		m.AddFile("/app/lib/libfoo.so", 0o644, lib("libfoo.so", "libbar.so"))
		m.AddFile("/app/lib/libbar.so", 0o644, lib("libbar.so")) // RUNPATH inherited under musl
		m.AddFile("/usr/local/lib/libz.so.1", 0o644, lib("libz.so.1"))
		res := resolve(t, m, "/app/exe", loader.Options{})
		want := map[string]string{"libfoo.so": "/app/lib/libfoo.so", "libbar.so": "/app/lib/libbar.so", "libz.so.1": "/usr/local/lib/libz.so.1"}
		if d := cmp.Diff(want, found(res)); d != "" {
			t.Errorf("found (-want +got):\n%s", d)
		}
		if o := object(t, res, "libbar.so"); o.How != loader.HowRunpath {
			t.Errorf("libbar how %q", o.How)
		}
	})
	t.Run("ld-library-path-first-and-non-elf-fatal", func(t *testing.T) {
		m := alpine()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Interp: musl, Needed: []string{"libfoo.so"}, Rpath: "/rp"}))
		m.AddFile("/rp/libfoo.so", 0o644, lib("libfoo.so"))
		m.AddFile("/llp/libfoo.so", 0o644, lib("libfoo.so"))
		res := resolve(t, m, "/app/exe", loader.Options{Env: []string{"LD_LIBRARY_PATH=/llp"}})
		if got := found(res)["libfoo.so"]; got != "/llp/libfoo.so" {
			t.Errorf("libfoo = %q", got)
		}
		m.AddFile("/llp/libfoo.so", 0o644, []byte("not elf"))
		res = resolve(t, m, "/app/exe", loader.Options{Env: []string{"LD_LIBRARY_PATH=/llp"}})
		if len(res.Missing) != 1 || res.Missing[0].Err == "" {
			t.Errorf("missing %+v", res.Missing)
		}
	})
	t.Run("unsupported-token-voids-rpath", func(t *testing.T) {
		m := alpine()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Interp: musl, Needed: []string{"libfoo.so"}, Rpath: "/rp:$LIB"}))
		m.AddFile("/rp/libfoo.so", 0o644, lib("libfoo.so"))
		res := resolve(t, m, "/app/exe", loader.Options{})
		if d := cmp.Diff([]string{"libfoo.so"}, missing(res)); d != "" {
			t.Errorf("missing: %s", d)
		}
	})
	t.Run("prefix", func(t *testing.T) {
		m := rootfs.NewMem()
		m.AddFile("/usr/glibc-compat/lib/ld-musl-x86_64.so.1", 0o755, lib("libc.so"))
		m.AddFile("/usr/glibc-compat/etc/ld-musl-x86_64.path", 0o644, []byte("/special"))
		m.AddFile("/special/libfoo.so", 0o644, lib("libfoo.so"))
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Interp: "/usr/glibc-compat/lib/ld-musl-x86_64.so.1", Needed: []string{"libfoo.so", "libc.so"}}))
		res := resolve(t, m, "/app/exe", loader.Options{})
		if got := found(res)["libfoo.so"]; got != "/special/libfoo.so" {
			t.Errorf("libfoo = %q (missing %+v)", got, res.Missing)
		}
	})
}

func TestOtherLayouts(t *testing.T) {
	// Red Hat: /lib64 and /usr/lib64 are the default directories.
	m := rootfs.NewMem()
	m.AddFile("/usr/lib64/ld-linux-x86-64.so.2", 0o755, lib("ld-linux-x86-64.so.2"))
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddFile("/usr/lib64/libc.so.6", 0o755, lib("libc.so.6"))
	m.AddFile("/usr/lib/libc.so.6", 0o755, []byte("wrong dir"))
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libc.so.6"}, Rpath: "/opt/$LIB"}))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if got := found(res)["libc.so.6"]; got != "/lib64/libc.so.6" {
		t.Errorf("libc = %q (missing %+v)", got, res.Missing)
	}
	// arm64 Debian
	m = rootfs.NewMem()
	m.AddFile("/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", 0o755, elftest.Build(elftest.Spec{Machine: elf.EM_AARCH64, Soname: "ld-linux-aarch64.so.1"}))
	m.AddSymlink("/lib", "usr/lib")
	m.AddSymlink("/usr/lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu/ld-linux-aarch64.so.1")
	m.AddFile("/usr/lib/aarch64-linux-gnu/libc.so.6", 0o755, elftest.Build(elftest.Spec{Machine: elf.EM_AARCH64, Soname: "libc.so.6"}))
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Machine: elf.EM_AARCH64, Interp: "/lib/ld-linux-aarch64.so.1", Needed: []string{"libc.so.6"}}))
	res = resolve(t, m, "/app/exe", loader.Options{})
	if got := found(res)["libc.so.6"]; got != "/lib/aarch64-linux-gnu/libc.so.6" {
		t.Errorf("arm64 libc = %q (missing %+v)", got, res.Missing)
	}
}

func TestSecureModeHelper(t *testing.T) {
	suid := &rootfs.Entry{Mode: 0o755 | fs.ModeSetuid, UID: 0, GID: 0}
	sgid := &rootfs.Entry{Mode: 0o755 | fs.ModeSetgid, UID: 0, GID: 42}
	plain := &rootfs.Entry{Mode: 0o755}
	for _, tc := range []struct {
		e          *rootfs.Entry
		uid, gid   int
		noNewPrivs bool
		want       bool
	}{
		{suid, 65532, 65532, false, true},
		{suid, 0, 0, false, false},
		{suid, 65532, 65532, true, false},
		{sgid, 0, 0, false, true},
		{sgid, 0, 42, false, false},
		{plain, 65532, 65532, false, false},
	} {
		if got := loader.SecureMode(tc.e, tc.uid, tc.gid, tc.noNewPrivs); got != tc.want {
			t.Errorf("SecureMode(%v, %d, %d, %v) = %v", tc.e.Mode, tc.uid, tc.gid, tc.noNewPrivs, got)
		}
	}
}

// A broken file in a CPU-specific subdirectory only warns; one in the
// directory itself stops the search.
func TestBrokenVariant(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libz.so.1"}}))
	m.AddFile(multi+"/libz.so.1", 0o644, lib("libz.so.1"))
	m.AddFile(multi+"/glibc-hwcaps/x86-64-v3/libz.so.1", 0o644, []byte("garbage"))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if got := found(res)["libz.so.1"]; got != lmulti+"/libz.so.1" || len(res.Warnings) != 1 {
		t.Errorf("libz = %q, warnings %q, missing %+v", got, res.Warnings, res.Missing)
	}
}

// ENOTDIR on an RPATH element abandons that list (glibc), and the search
// goes on with the next step.
func TestRpathElementNotDir(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libfoo.so"}, Rpath: "/etc/passwd:/opt/lib"}))
	m.AddFile("/etc/passwd", 0o644, []byte("root:x:0:0::/:/bin/sh\n"))
	m.AddFile("/opt/lib/libfoo.so", 0o644, lib("libfoo.so"))
	m.AddFile(multi+"/libfoo.so", 0o644, lib("libfoo.so"))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if got := found(res)["libfoo.so"]; got != lmulti+"/libfoo.so" {
		t.Errorf("libfoo = %q", got)
	}
}

// Rule 3: the host's /bin/ls with its section headers zeroed, read as data.
func TestStrippedSectionHeaders(t *testing.T) {
	b, err := os.ReadFile("/bin/ls")
	if err != nil || len(b) < 64 || !elfread.IsELF(b) || b[elf.EI_CLASS] != byte(elf.ELFCLASS64) || b[elf.EI_DATA] != byte(elf.ELFDATA2LSB) {
		t.Skip("no 64-bit little-endian /bin/ls on the host")
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint64(b[40:], 0) // e_shoff
	binary.LittleEndian.PutUint16(b[60:], 0) // e_shnum
	binary.LittleEndian.PutUint16(b[62:], 0) // e_shstrndx
	if binary.LittleEndian.Uint16(b[18:]) != uint16(elf.EM_X86_64) {
		t.Skip("host /bin/ls is not x86-64")
	}
	m := bookworm()
	m.AddFile("/usr/bin/ls", 0o755, b)
	m.AddFile(multi+"/libselinux.so.1", 0o644, lib("libselinux.so.1", "libc.so.6"))
	res := resolve(t, m, "/bin/ls", loader.Options{})
	got := found(res)
	if got["libc.so.6"] != lmulti+"/libc.so.6" {
		t.Errorf("found %v, missing %+v", got, res.Missing)
	}
	if _, ok := got["libselinux.so.1"]; !ok {
		t.Skipf("host /bin/ls does not need libselinux: %v", got)
	}
}

func TestGoDetection(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile(self)
	if err != nil || !elfread.IsELF(b) {
		t.Skip("test binary is not ELF")
	}
	m := bookworm()
	m.AddFile("/app/gobin", 0o755, b)
	r, err := loader.NewResolver(m.View(), "/app/gobin", loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := r.Result()
	if !res.Go {
		t.Error("Go binary not detected")
	}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" && (s.Value == "1") != res.CGO {
				t.Errorf("CGO = %v, build setting %q", res.CGO, s.Value)
			}
		}
	}
	m.AddFile("/app/notgo", 0o755, exe(elftest.Spec{Needed: []string{"libc.so.6"}}))
	if res := resolve(t, m, "/app/notgo", loader.Options{}); res.Go {
		t.Error("synthetic ELF taken for Go")
	}
}

// Rule 13: ld.so.conf is not read by ld.so; a library only there is missing,
// with a hint.
func TestLdconfigNotRun(t *testing.T) {
	m := bookworm()
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libopt.so.1"}}))
	m.AddFile("/opt/vendor/lib/libopt.so.1", 0o644, lib("libopt.so.1"))
	m.AddFile("/etc/ld.so.conf", 0o644, []byte("include /etc/ld.so.conf.d/*.conf\n"))
	m.AddFile("/etc/ld.so.conf.d/vendor.conf", 0o644, []byte("# vendor\n/opt/vendor/lib\n"))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if len(res.Missing) != 1 || !strings.Contains(res.Missing[0].Hint, "/opt/vendor/lib/libopt.so.1") {
		t.Errorf("missing %+v", res.Missing)
	}
	// After ldconfig, the cache finds it.
	m.AddFile("/etc/ld.so.cache", 0o644, ldcachetest.Build(ldcachetest.Spec{Entries: []ldcachetest.Entry{{Key: "libopt.so.1", Value: "/opt/vendor/lib/libopt.so.1"}}}))
	res = resolve(t, m, "/app/exe", loader.Options{})
	if got := found(res)["libopt.so.1"]; got != "/opt/vendor/lib/libopt.so.1" {
		t.Errorf("with cache: %q", got)
	}
}

func BenchmarkResolve(b *testing.B) {
	m := bookworm()
	m.AddFile("/usr/bin/ls", 0o755, exe(elftest.Spec{Needed: []string{"libselinux.so.1", "libc.so.6"}}))
	m.AddFile(multi+"/libselinux.so.1", 0o644, lib("libselinux.so.1", "libpcre2-8.so.0", "libc.so.6"))
	m.AddFile(multi+"/libpcre2-8.so.0", 0o644, lib("libpcre2-8.so.0", "libc.so.6"))
	m.AddFile("/etc/ld.so.cache", 0o644, ldcachetest.Build(ldcachetest.Spec{Entries: []ldcachetest.Entry{
		{Key: "libc.so.6", Value: lmulti + "/libc.so.6"},
		{Key: "libselinux.so.1", Value: lmulti + "/libselinux.so.1"},
		{Key: "libpcre2-8.so.0", Value: lmulti + "/libpcre2-8.so.0"},
	}}))
	v := m.View()
	for b.Loop() {
		if _, err := loader.Resolve(v, "/usr/bin/ls", loader.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// A hostile executable: thousands of DT_NEEDED names and a long RPATH of
// existing directories. The search ends, with every name missing.
func TestHostileManyNeeded(t *testing.T) {
	m := bookworm()
	var needed, rpath []string
	for i := range 500 {
		needed = append(needed, fmt.Sprintf("libn%d.so", i))
	}
	for i := range 100 {
		d := fmt.Sprintf("/r/%d", i)
		m.AddDir(d, 0o755)
		rpath = append(rpath, d)
	}
	m.AddSymlink("/r/loop", "loop")
	rpath = append(rpath, "/r/loop", "/etc/passwd")
	m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: needed, Rpath: strings.Join(rpath, ":")}))
	res := resolve(t, m, "/app/exe", loader.Options{})
	if len(res.Missing) != 500 {
		t.Errorf("%d missing, want 500", len(res.Missing))
	}
}
