//go:build linux

package hostile

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/ldcachetest"
)

// env is the directory of one case: the input archive, the output
// directory, the export parent, pare's temp dir and sentinels beside them.
type env struct {
	base, in, out, exp, tmp string
}

// hcase is one hostile image.
type hcase struct {
	name string
	// image returns the config and layers; the base layer (/bin/app, a
	// static program, the entrypoint) comes first unless noBase.
	image  func(t *testing.T, e env) (v1.Config, []*layer)
	noBase bool
	flags  []string // extra flags of build and export
	// buildFlags are extra flags of build only.
	buildFlags []string
	// oci writes the input as an OCI layout instead of a docker-archive.
	oci bool
	// noExport skips pare export (a case whose export is measured elsewhere).
	noExport bool
	// fail lists what the error must say (besides the input's name); nil
	// means build must succeed. exportFail is the same for export (default:
	// fail when it reads the image, else succeed).
	fail       []string
	exportFail []string
	buildOnly  bool // the problem is in the build, export must succeed
	check      func(t *testing.T, e env, r result)
	timeout    time.Duration // default 60s per process
	maxRSS     int64         // default 400 MiB
}

func staticELF() string {
	return string(elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}))
}

func baseLayer(t *testing.T) *layer {
	return entLayer(t, dirE("bin"), reg("bin/app", staticELF()), reg("bin/sh", staticELF()),
		dirE("etc"), reg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"))
}

var appCfg = v1.Config{Entrypoint: []string{"/bin/app"}, Env: []string{"PATH=/bin"}}

// one is a case with one layer on the base and the default config.
func one(entries ...ent) func(t *testing.T, e env) (v1.Config, []*layer) {
	return func(t *testing.T, _ env) (v1.Config, []*layer) { return appCfg, []*layer{entLayer(t, entries...)} }
}

// absurdELF is a static executable whose header claims 65535 program and
// section headers at offsets past its end.
func absurdELF() string {
	b := elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true})
	binary.LittleEndian.PutUint64(b[40:], 1<<62)  // e_shoff
	binary.LittleEndian.PutUint16(b[56:], 0xffff) // e_phnum
	binary.LittleEndian.PutUint16(b[60:], 0xffff) // e_shnum
	binary.LittleEndian.PutUint16(b[62:], 0xfffe) // e_shstrndx
	return string(b)
}

// sparseBomb is a GNU sparse 1.0 tar declaring a 1 TiB file in a few KiB.
func sparseBomb() []byte {
	header := func(name string, typ byte, size int) []byte {
		b := make([]byte, 512)
		copy(b[0:], name)
		copy(b[100:], "0000644\x00")
		copy(b[108:], "0000000\x00")
		copy(b[116:], "0000000\x00")
		copy(b[124:], fmt.Sprintf("%011o\x00", size))
		copy(b[136:], "00000000000\x00")
		b[156] = typ
		copy(b[257:], "ustar\x0000")
		copy(b[148:], "        ")
		sum := 0
		for _, c := range b {
			sum += int(c)
		}
		copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
		return b
	}
	pad := func(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }
	var recs []byte
	for _, kv := range [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", "big"}, {"GNU.sparse.realsize", "1099511627776"}} {
		r := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(r) + 2
		if len(fmt.Sprint(n)+r) != n {
			n++
		}
		recs = append(recs, fmt.Sprint(n)+r...)
	}
	sparseMap := pad([]byte("1\n1099511627775\n1\n"))
	var out []byte
	out = append(out, header("PaxHeaders/big", 'x', len(recs))...)
	out = append(out, pad(recs)...)
	out = append(out, header("GNUSparseFile.0/big", '0', len(sparseMap)+512)...)
	out = append(out, sparseMap...)
	return append(out, make([]byte, 512+1024)...)
}

// zeros writes n zero bytes to w.
func zeros(w io.Writer, n int64) {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		w.Write(buf[:k])
		n -= k
	}
}

func cases() []hcase {
	return []hcase{
		{name: "traversal", image: one(
			reg("../../x", "escaped"), reg("../../../../../../tmp/pare-hostile-escaped", "escaped"),
			reg("a/../../../etc/passwd-escaped", "escaped"), reg("./../../abs/x", "escaped")),
			check: func(t *testing.T, e env, _ result) {
				expectFile(t, filepath.Join(e.exp, "root/x"), "escaped")
				if _, err := os.Lstat("/tmp/pare-hostile-escaped"); err == nil {
					t.Error("/tmp/pare-hostile-escaped was written on the host")
				}
			}},
		{name: "absolute names", image: one(reg("/abs/x", "abs"), reg("//double/x", "dbl"), reg("/../abs/y", "y")),
			check: func(t *testing.T, e env, _ result) {
				expectFile(t, filepath.Join(e.exp, "root/abs/x"), "abs")
				expectFile(t, filepath.Join(e.exp, "root/double/x"), "dbl")
				expectFile(t, filepath.Join(e.exp, "root/abs/y"), "y")
			}},
		{name: "symlink escape", image: func(t *testing.T, e env) (v1.Config, []*layer) {
			return appCfg, []*layer{entLayer(t,
				sym("up", "../../../../../.."), reg("up/x", "through up"),
				sym("host", e.base), reg("host/x", "through host"),
				sym("rootlink", "/"), reg("rootlink/y", "through root"),
				sym("etc/shadowlink", "/etc"), reg("etc/shadowlink/z", "z"))}
		}, check: func(t *testing.T, e env, _ result) {
			expectFile(t, filepath.Join(e.exp, "root/x"), "through up")
			expectFile(t, filepath.Join(e.exp, "root", e.base, "x"), "through host")
			expectFile(t, filepath.Join(e.exp, "root/y"), "through root")
		}},
		{name: "symlink escape in a later layer", image: func(t *testing.T, e env) (v1.Config, []*layer) {
			return appCfg, []*layer{entLayer(t, sym("esc", "../../.."), sym("bin2", e.base)),
				entLayer(t, reg("esc/x", "l2"), reg("bin2/x", "l2 host"), hardE("esc/h", "esc/x"))}
		}},
		{name: "hardlink escape", image: func(t *testing.T, e env) (v1.Config, []*layer) {
			return appCfg, []*layer{entLayer(t,
				hardE("h1", "../../../../../../etc/passwd"), hardE("h2", filepath.Join(e.base, "x")),
				hardE("h3", "/proc/self/environ"), hardE("h4", "/etc"), hardE("h5", "h5"))}
		}, check: func(t *testing.T, e env, _ result) {
			// h1 is the image's own /etc/passwd, the others are skipped.
			expectFile(t, filepath.Join(e.exp, "root/h1"), "root:x:0:0:root:/root:/bin/sh\n")
			for _, n := range []string{"h2", "h3", "h4", "h5"} {
				if _, err := os.Lstat(filepath.Join(e.exp, "root", n)); err == nil {
					t.Errorf("%s exported", n)
				}
			}
		}},
		{name: "symlinks named dot and slash", image: one(sym(".", "/etc"), sym("/", "/tmp"), sym("./", ".."),
			reg(".", "root file"), sym("bin/..", "/x"), reg("after", "ok")),
			check: func(t *testing.T, e env, _ result) {
				expectFile(t, filepath.Join(e.exp, "root/after"), "ok")
				if fi, err := os.Lstat(filepath.Join(e.exp, "root")); err != nil || !fi.IsDir() {
					t.Errorf("export root = %v, %v; want a directory", fi, err)
				}
			}},
		{name: "symlink loops", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.Env = []string{"PATH=/loop1:/self:/bin", "LD_LIBRARY_PATH=/loop2"}
			cfg.Entrypoint = []string{"app"}
			return cfg, []*layer{entLayer(t, sym("loop1", "loop2"), sym("loop2", "loop1"), sym("self", "self"),
				reg("loop1/x", "through a loop"), sym("etc/ld.so.preload", "/etc/ld.so.preload"))}
		}},
		{name: "WorkingDir a symlink loop", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.WorkingDir = "/loop1"
			return cfg, []*layer{entLayer(t, sym("loop1", "loop2"), sym("loop2", "loop1"))}
		}, buildOnly: true, fail: []string{`WorkingDir "/loop1"`, "too many levels of symbolic links"}},
		{name: "symlink loop entrypoint", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.Entrypoint = []string{"/loop1"}
			return cfg, []*layer{entLayer(t, sym("loop1", "loop2"), sym("loop2", "/loop1"))}
		}, buildOnly: true, fail: []string{"/loop1", "too many levels of symbolic links"}},
		{name: "chain of 1000 symlinks", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			var es []ent
			for i := range 1000 {
				es = append(es, sym(fmt.Sprintf("l%d", i), fmt.Sprintf("l%d", i+1)))
			}
			es = append(es, sym("l1000", "/bin/app"))
			cfg := appCfg
			cfg.Entrypoint = []string{"/l0"}
			return cfg, []*layer{entLayer(t, es...)}
		}, buildOnly: true, fail: []string{"/l0", "too many levels of symbolic links"}},
		{name: "chain of 1000 directory symlinks", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			var es []ent
			for i := range 1000 {
				es = append(es, sym(fmt.Sprintf("d%d", i), fmt.Sprintf("d%d", i+1)))
			}
			es = append(es, dirE("d1000"), reg("d0/x", "x"))
			return appCfg, []*layer{entLayer(t, es...)}
		}},
		{name: "devices and fifos", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.Cmd = []string{"--config", "/dev/mem", "/dev/sda", "/run/fifo"}
			return cfg, []*layer{entLayer(t,
				ent{name: "dev/mem", typ: tar.TypeChar, mode: 0o640, major: 1, minor: 1},
				ent{name: "dev/sda", typ: tar.TypeBlock, mode: 0o660, major: 8},
				ent{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600},
				ent{name: "etc/app.conf", typ: tar.TypeFifo, mode: 0o644},
				ent{name: "etc/ld.so.cache", typ: tar.TypeChar, mode: 0o644, major: 1, minor: 5})}
		}, buildFlags: []string{"--include", "/dev", "--include", "/run"}, check: func(t *testing.T, e env, _ result) {
			for _, p := range []string{"dev/mem", "dev/sda", "run/fifo"} {
				if fi, err := os.Lstat(filepath.Join(e.exp, "root", p)); err == nil && !fi.Mode().IsRegular() {
					t.Errorf("export created special file %s (%v)", p, fi.Mode())
				}
			}
		}},
		{name: "sparse file of 1 TiB", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			return appCfg, []*layer{gzLayer(t, sparseBomb())}
		}, fail: []string{"big", "1099511627776 bytes", "limit exceeded"}},
		{name: "gzip bomb", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			// 1 GiB of zeros in 16 files, about 1 MiB compressed.
			return appCfg, []*layer{genLayer(t, func(tw *tar.Writer) {
				for i := range 16 {
					tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("bomb/%d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: 64 << 20})
					zeros(tw, 64<<20)
				}
			})}
		}, flags: []string{"--max-image-size", "256MiB"}, fail: []string{"content over 268435456 bytes", "limit exceeded", "--max-image-size"}},
		{name: "file over --max-file-size", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			return appCfg, []*layer{genLayer(t, func(tw *tar.Writer) {
				tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: 8 << 20})
				zeros(tw, 8<<20)
			})}
		}, flags: []string{"--max-file-size", "1MiB"}, fail: []string{`"big"`, "8388608 bytes, more than 1048576", "--max-file-size"}},
		{name: "a million empty files", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			return appCfg, []*layer{manyFiles(t, 1000)}
		}, noExport: true, timeout: 3 * time.Minute, maxRSS: 768 << 20}, // ~330 bytes of tree per entry
		// Export creates every file: 20000 here (each costs an openat with
		// O_CREAT|O_EXCL, fchown, fchmod, utimensat; linear).
		{name: "twenty thousand empty files", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			return appCfg, []*layer{manyFiles(t, 20)}
		}, timeout: 2 * time.Minute},
		{name: "a million empty files over --max-entries", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			return appCfg, []*layer{manyFiles(t, 1000)}
		}, flags: []string{"--max-entries", "10000"}, fail: []string{"more than 10000 entries", "--max-entries"}},
		{name: "path of 4096 components", image: one(reg(strings.Repeat("d/", 4096)+"f", "deep")),
			fail: []string{"path has 4097 components, more than 256", "--max-depth"}},
		{name: "path of 4096 components through symlinks", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			// each link adds 16 levels: 256 links make 4096.
			es := []ent{dirE("s0")}
			for i := range 256 {
				es = append(es, sym(fmt.Sprintf("s%d/n", i), strings.Repeat("a/", 16)+"..//"+strings.Repeat("b/", 15)+fmt.Sprintf("../../s%d", i+1)))
			}
			es = append(es, reg(strings.Repeat("s0/n/", 30)+"f", "deep"))
			return appCfg, []*layer{entLayer(t, es...)}
		}},
		{name: "duplicate entries", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			var es []ent
			for i := range 1000 {
				es = append(es, reg("dup", fmt.Sprint(i)), dirE("flip"), reg("flip/c", "c"), reg("flip", "file"), sym("flip", "/bin"))
			}
			es = append(es, reg("bin/app", staticELF()+"again"))
			return appCfg, []*layer{entLayer(t, es...)}
		}, check: func(t *testing.T, e env, _ result) {
			expectFile(t, filepath.Join(e.exp, "root/dup"), "999")
			if l, err := os.Readlink(filepath.Join(e.exp, "root/flip")); err != nil || l != "/bin" {
				t.Errorf("flip = %q, %v; want the last entry, a symlink to /bin", l, err)
			}
		}},
		{name: "truncated tar", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			b := tarOf(t, reg("a", strings.Repeat("a", 10000)), reg("b", "b"))
			return appCfg, []*layer{gzLayer(t, b[:3000])}
		}, fail: []string{"layer 1", "unexpected EOF"}},
		{name: "truncated uncompressed tar", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			b := tarOf(t, reg("a", strings.Repeat("a", 10000)), reg("b", "b"))
			return appCfg, []*layer{rawLayer(b[:3000])}
		}, fail: []string{"layer 1", "unexpected EOF"}},
		{name: "corrupt gzip", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			l := genLayer(t, func(tw *tar.Writer) {
				tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 20})
				io.WriteString(tw, strings.Repeat("pare hostile ", (1<<20)/13)+"pare hostile"[:(1<<20)%13])
			})
			l.blob[len(l.blob)/2] ^= 0xff
			l.digest = hashOf(l.blob)
			return appCfg, []*layer{l}
		}, fail: []string{"layer 1"}},
		{name: "wrong diff_id", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			l := entLayer(t, reg("f", "f"))
			l.diffID = hashOf([]byte("something else"))
			return appCfg, []*layer{l}
		}, fail: []string{"layer 1", "does not match"}},
		// A docker-archive names layers by file, not digest (its diff_ids are
		// checked above); an OCI layout names blobs by digest.
		{name: "OCI blob not matching its digest", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			l := entLayer(t, reg("f", "f"))
			l.digest = hashOf([]byte("something else"))
			return appCfg, []*layer{l}
		}, oci: true, fail: []string{"layer 1", "digest mismatch"}},
		{name: "OCI layer not matching its diff_id", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			l := entLayer(t, reg("f", "f"))
			l.diffID = hashOf([]byte("something else"))
			return appCfg, []*layer{l}
		}, oci: true, fail: []string{"layer 1", "does not match"}},
		{name: "WorkingDir under /proc/self", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.WorkingDir = "/proc/self/cwd"
			cfg.Cmd = []string{"./conf", "/proc/self/root/etc/passwd"}
			return cfg, nil
		}},
		{name: "WorkingDir under an image /proc/self link", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.WorkingDir = "/proc/self"
			cfg.Entrypoint = []string{"bin/app"}
			return cfg, []*layer{entLayer(t, dirE("proc"), sym("proc/self", "/"), sym("proc/1", "/proc/self"))}
		}},
		{name: "ELF with absurd header counts", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			return appCfg, []*layer{entLayer(t, reg("bin/app", absurdELF()))}
		}, buildOnly: true, fail: []string{"/bin/app"}},
		{name: "ELF with absurd header counts as a library", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			app := string(elftest.Build(elftest.Spec{Type: elf.ET_DYN, Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libbad.so.1"}}))
			ld := string(elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
			return appCfg, []*layer{entLayer(t, reg("bin/app", app), reg("lib64/ld-linux-x86-64.so.2", ld),
				reg("lib/x86_64-linux-gnu/libbad.so.1", absurdELF()), reg("usr/lib/libbad.so.1", absurdELF()))}
		}, buildOnly: true, fail: []string{"libbad.so.1"}},
		{name: "passwd of a million lines", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.User = "user999999"
			return cfg, []*layer{genLayer(t, func(tw *tar.Writer) {
				var b bytes.Buffer
				b.WriteString("root:x:0:0:root:/root:/bin/sh\n")
				for i := range 1000000 {
					fmt.Fprintf(&b, "user%d:x:%d:%d::/home/u%d:/bin/sh\n", i, 1000+i, 1000+i, i)
				}
				tw.WriteHeader(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(b.Len())})
				tw.Write(b.Bytes())
			})}
		}, buildOnly: true, fail: []string{"/etc/passwd", "more than the limit of 16777216"}, timeout: 2 * time.Minute},
		{name: "shell script of 100 MB", image: func(t *testing.T, _ env) (v1.Config, []*layer) {
			cfg := appCfg
			cfg.Entrypoint = []string{"/entry.sh"}
			return cfg, []*layer{genLayer(t, func(tw *tar.Writer) {
				line := "if true; then /bin/app \"$@\" | /bin/sh -c 'x=$(/bin/app)'; fi # padding\n"
				n := (100 << 20) / len(line)
				tw.WriteHeader(&tar.Header{Name: "entry.sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len("#!/bin/sh\n") + n*len(line))})
				io.WriteString(tw, "#!/bin/sh\n")
				for range n {
					io.WriteString(tw, line)
				}
			})}
		}, timeout: 2 * time.Minute},
		ldCacheCase("ld.so.cache symlinked outside", func(e env) []ent {
			return []ent{sym("etc/ld.so.cache", "../../../../../../../.."+filepath.Join(e.base, "host-ld.so.cache"))}
		}),
		ldCacheCase("ld.so.cache symlinked to the host path", func(e env) []ent {
			return []ent{sym("etc/ld.so.cache", filepath.Join(e.base, "host-ld.so.cache"))}
		}),
		ldCacheCase("ld.so.cache symlinked to itself", func(env) []ent {
			return []ent{sym("etc/ld.so.cache", "ld.so.cache")}
		}),
		ldCacheCase("ld.so.cache symlinked to a directory", func(env) []ent {
			return []ent{sym("etc/ld.so.cache", "/usr/lib")}
		}),
	}
}

// ldCacheCase is a dynamic program whose only way to find libhost.so.1 is a
// cache pare must not read: the host file beside the test's directories
// maps it to /opt/hidden/libhost.so.1. Reading it would keep that file.
func ldCacheCase(name string, cache func(e env) []ent) hcase {
	return hcase{name: name, image: func(t *testing.T, e env) (v1.Config, []*layer) {
		os.WriteFile(filepath.Join(e.base, "host-ld.so.cache"), ldcachetest.Build(ldcachetest.Spec{
			Entries: []ldcachetest.Entry{{Key: "libhost.so.1", Value: "/opt/hidden/libhost.so.1", Flags: 0x303}},
		}), 0o644)
		app := string(elftest.Build(elftest.Spec{Type: elf.ET_DYN, Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libhost.so.1"}}))
		ld := string(elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
		es := append([]ent{reg("bin/app", app), reg("lib64/ld-linux-x86-64.so.2", ld), dirE("usr/lib"),
			reg("opt/hidden/libhost.so.1", string(elftest.Build(elftest.Spec{Soname: "libhost.so.1"})))}, cache(e)...)
		return appCfg, []*layer{entLayer(t, es...)}
	}, fail: []string{"libhost.so.1"}, buildOnly: true}
}

// manyFiles is dirs directories of 1000 empty files.
func manyFiles(t *testing.T, dirs int) *layer {
	return genLayer(t, func(tw *tar.Writer) {
		for d := range dirs {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/%03d/", d), Typeflag: tar.TypeDir, Mode: 0o755})
			for f := range 1000 {
				tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/%03d/%03d", d, f), Typeflag: tar.TypeReg, Mode: 0o644})
			}
		}
	})
}

func expectFile(t *testing.T, p, want string) {
	t.Helper()
	if b, err := os.ReadFile(p); err != nil || string(b) != want {
		t.Errorf("%s = %.40q, %v; want %.40q", p, b, err, want)
	}
}

// TestHostileImages runs pare build and pare export on every case.
func TestHostileImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pare binary")
	}
	pareBin(t)
	hostPasswd, _ := os.ReadFile("/etc/passwd")
	for _, c := range cases() {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) { runCase(t, c) })
	}
	if b, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(b, hostPasswd) {
		t.Error("the host's /etc/passwd changed")
	}
}

func runCase(t *testing.T, c hcase) {
	base := t.TempDir()
	e := env{base: base, in: filepath.Join(base, "in.tar"), out: filepath.Join(base, "out"),
		exp: filepath.Join(base, "export"), tmp: filepath.Join(base, "tmp")}
	for _, d := range []string{e.out, e.exp, e.tmp, filepath.Join(base, "etc"), filepath.Join(base, "abs")} {
		os.MkdirAll(d, 0o755)
	}
	for _, s := range []string{"x", "etc/passwd", "passwd-escaped", "abs/x"} {
		os.WriteFile(filepath.Join(base, s), []byte("sentinel "+s), 0o644)
	}
	cfg, layers := c.image(t, e)
	if !c.noBase {
		layers = append([]*layer{baseLayer(t)}, layers...)
	}
	if c.oci {
		writeLayout(t, e.in, cfg, layers...)
	} else {
		writeArchive(t, e.in, cfg, layers...)
	}
	before := snapshot(t, base, e.out, e.exp, e.tmp)
	if k := os.Getenv("PARE_HOSTILE_KEEP"); k != "" { // to study a case by hand
		os.Link(e.in, filepath.Join(k, strings.ReplaceAll(c.name, " ", "_")+".tar"))
	}

	timeout, maxRSS := c.timeout, c.maxRSS
	if timeout == 0 {
		timeout = time.Minute
	}
	if maxRSS == 0 {
		maxRSS = 400 << 20
	}
	src := "docker-archive:" + e.in
	if c.oci {
		src = "oci:" + e.in
	}
	common := append([]string{"--quiet", "--temp-dir", e.tmp}, c.flags...)
	dst := filepath.Join(e.out, "out.tar")
	bargs := append(append(append([]string{"build"}, common...), c.buildFlags...), src, "docker-archive:"+dst)
	br := runPare(t, timeout, nil, bargs...)
	t.Logf("build: exit %d in %.2fs, max RSS %d MiB: %s", br.code, br.elapsed.Seconds(), br.maxRSS>>20, lastLine(br.stderr))
	expect(t, "build", br, c.fail, e, timeout, maxRSS)
	if c.fail == nil {
		checkOutput(t, dst)
	} else if got := entries(e.out); len(got) != 0 {
		t.Errorf("build failed but left %v in the output directory", got)
	}

	exportFail := c.exportFail
	if exportFail == nil && !c.buildOnly {
		exportFail = c.fail
	}
	if c.noExport {
		if got := entries(e.tmp); len(got) != 0 {
			t.Errorf("temp files left: %v", got)
		}
		return
	}
	er := runPare(t, timeout, nil, append(append([]string{"export"}, common...), src, filepath.Join(e.exp, "root"))...)
	t.Logf("export: exit %d in %.2fs, max RSS %d MiB: %s", er.code, er.elapsed.Seconds(), er.maxRSS>>20, lastLine(er.stderr))
	expect(t, "export", er, exportFail, e, timeout, maxRSS)
	if exportFail != nil {
		if got := entries(e.exp); len(got) != 0 {
			t.Errorf("export failed but left %v", got)
		}
	}
	if got := entries(e.tmp); len(got) != 0 {
		t.Errorf("temp files left: %v", got)
	}
	diffSnapshots(t, "outside pare's directories", before, snapshot(t, base, e.out, e.exp, e.tmp))
	if c.check != nil && er.code == 0 {
		c.check(t, e, br)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// expect checks one process: within its time and memory, failing with an
// error that names the input and says each of fail, or succeeding.
func expect(t *testing.T, what string, r result, fail []string, e env, timeout time.Duration, maxRSS int64) {
	t.Helper()
	if r.code == -1 {
		t.Fatalf("%s did not finish within %v: %s", what, timeout, r.stderr)
	}
	if r.maxRSS > maxRSS {
		t.Errorf("%s: max RSS %d MiB, over %d MiB", what, r.maxRSS>>20, maxRSS>>20)
	}
	if fail == nil {
		if r.code != 0 {
			t.Errorf("%s: exit %d, want success:\n%s", what, r.code, r.stderr)
		}
		return
	}
	if r.code != 1 {
		t.Errorf("%s: exit %d, want 1 (failure):\n%s", what, r.code, r.stderr)
		return
	}
	msg := strings.TrimSpace(r.stderr)
	if !strings.Contains(msg, e.in) {
		t.Errorf("%s: the error does not name the input %s: %s", what, e.in, msg)
	}
	for _, f := range fail {
		if !strings.Contains(msg, f) {
			t.Errorf("%s: the error does not say %q: %s", what, f, msg)
		}
	}
}

// checkOutput reads the written archive back: every entry of its layers is
// a clean relative path, with nothing special but what a root may hold.
func checkOutput(t *testing.T, archive string) {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Errorf("reading the output: %v", err)
		return
	}
	ls, err := img.Layers()
	if err != nil {
		t.Errorf("reading the output's layers: %v", err)
		return
	}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Errorf("reading the output's layer: %v", err)
			return
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("reading the output's layer: %v", err)
				break
			}
			n := strings.TrimSuffix(h.Name, "/")
			if n == "" || strings.HasPrefix(n, "/") || path.Clean(n) != n || n == ".." || strings.HasPrefix(n, "../") {
				t.Errorf("output entry %q is not a clean relative path", h.Name)
			}
			if h.Typeflag == tar.TypeLink && (strings.HasPrefix(h.Linkname, "/") || strings.Contains(h.Linkname, "..")) {
				t.Errorf("output hardlink %q -> %q leaves the root", h.Name, h.Linkname)
			}
		}
		rc.Close()
	}
}
