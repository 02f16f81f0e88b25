package loader

import (
	"debug/elf"
	"strings"
	"sync"

	"github.com/pare-dev/pare/pkg/ldcache"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// subdir is a directory below each search directory that ld.so tries before
// the directory itself (glibc-hwcaps and legacy hwcap subdirectories).
type subdir struct {
	path string // "glibc-hwcaps/x86-64-v3/", "tls/", "" for the directory itself
	// certain is true when every CPU of the architecture searches it, so a
	// hit there ends the search. Other hits are kept as variants and the
	// search goes on.
	certain bool
}

// archInfo is what glibc's ld.so of one architecture uses to search.
type archInfo struct {
	name     string // Go-style: "amd64"
	triplet  string // multiarch tuple: "x86_64-linux-gnu"
	platform string // $PLATFORM (AT_PLATFORM)
	cache    ldcache.Arch
	cacheOK  bool
	// dirs are the built-in default directories, lib the $LIB value; both
	// depend on the image's layout (Debian multiarch, lib64, plain lib).
	dirs    []string
	lib     string
	subdirs []subdir
	// muslArch is $ARCH in /etc/ld-musl-$ARCH.path.
	muslArch string
}

// newArch derives the loader configuration from an executable's header and
// the layout of the image.
func newArch(v *rootfs.View, class elf.Class, data elf.Data, machine elf.Machine) *archInfo {
	a := &archInfo{}
	a.cache, a.cacheOK = ldcache.ArchFor(class, data, machine)
	is64 := class == elf.ELFCLASS64
	switch {
	case machine == elf.EM_X86_64 && is64:
		a.name, a.triplet, a.platform, a.muslArch = "amd64", "x86_64-linux-gnu", "x86_64", "x86_64"
	case machine == elf.EM_X86_64:
		a.name, a.triplet, a.platform, a.muslArch = "x32", "x86_64-linux-gnux32", "x86_64", "x32"
	case machine == elf.EM_AARCH64:
		a.name, a.triplet, a.platform, a.muslArch = "arm64", "aarch64-linux-gnu", "aarch64", "aarch64"
		if data == elf.ELFDATA2MSB {
			a.triplet, a.muslArch = "aarch64_be-linux-gnu", "aarch64_be"
		}
	case machine == elf.EM_386:
		a.name, a.triplet, a.platform, a.muslArch = "386", "i386-linux-gnu", "i686", "i386"
	case machine == elf.EM_ARM:
		a.name, a.triplet, a.platform, a.muslArch = "arm", "arm-linux-gnueabihf", "v7l", "armhf"
	case machine == elf.EM_PPC64:
		a.name, a.triplet, a.platform, a.muslArch = "ppc64le", "powerpc64le-linux-gnu", "power8", "powerpc64le"
		if data == elf.ELFDATA2MSB {
			a.name, a.triplet, a.muslArch = "ppc64", "powerpc64-linux-gnu", "powerpc64"
		}
	case machine == elf.EM_S390:
		a.name, a.triplet, a.platform, a.muslArch = "s390x", "s390x-linux-gnu", "z900", "s390x"
	case machine == elf.EM_RISCV:
		a.name, a.triplet, a.platform, a.muslArch = "riscv64", "riscv64-linux-gnu", "", "riscv64"
	case machine == elf.EM_MIPS:
		a.name, a.triplet, a.platform, a.muslArch = "mips", "mips-linux-gnu", "", "mips"
	default:
		a.name = strings.ToLower(strings.TrimPrefix(machine.String(), "EM_"))
	}

	// Default directories (SYSTEM_DIRS): Debian's multiarch layout when the
	// image has it, else Red Hat's lib64 for 64-bit programs, else lib.
	isDir := func(p string) bool {
		e, err := v.Stat(p)
		return err == nil && e.Type == rootfs.TypeDir
	}
	switch {
	case a.triplet != "" && (isDir("/lib/"+a.triplet) || isDir("/usr/lib/"+a.triplet)):
		a.dirs = []string{"/lib/" + a.triplet, "/usr/lib/" + a.triplet, "/lib", "/usr/lib"}
		a.lib = "lib/" + a.triplet
	case is64 && (isDir("/lib64") || isDir("/usr/lib64")):
		a.dirs = []string{"/lib64", "/usr/lib64"}
		a.lib = "lib64"
	default:
		a.dirs = []string{"/lib", "/usr/lib"}
		a.lib = "lib"
	}
	a.subdirs = subdirsFor(a)
	return a
}

var (
	subdirsMu    sync.Mutex
	subdirsCache = map[string][]subdir{}
)

// subdirsFor returns the (shared, read-only) subdirectory list of a's
// architecture.
func subdirsFor(a *archInfo) []subdir {
	subdirsMu.Lock()
	defer subdirsMu.Unlock()
	if l, ok := subdirsCache[a.name]; ok {
		return l
	}
	l := legacySubdirs(a)
	subdirsCache[a.name] = l
	return l
}

// legacySubdirs lists the subdirectories glibc 2.36 searches inside each
// directory, in its order. On x86-64 it depends on the CPU: glibc-hwcaps
// levels, the platform (AT_PLATFORM "x86_64", or "haswell"/"xeon_phi" on
// some Intel CPUs) and the avx512_1 hwcap; only combinations every x86-64
// CPU searches are certain.
func legacySubdirs(a *archInfo) []subdir {
	var out []subdir
	seen := map[string]int{}
	add := func(p string, certain bool) {
		if i, ok := seen[p]; ok {
			if certain {
				out[i].certain = true
			}
			return
		}
		seen[p] = len(out)
		out = append(out, subdir{p, certain})
	}
	switch a.name {
	case "amd64":
		for _, l := range []string{"x86-64-v4", "x86-64-v3", "x86-64-v2"} {
			add("glibc-hwcaps/"+l+"/", false)
		}
		// Subsets of [tls, platform, avx512_1, x86_64] in glibc's order
		// (descending, tls most significant), for each possible platform.
		type comp struct {
			name    string
			certain bool
		}
		var all [][]subdir
		for _, plat := range []string{"haswell", "xeon_phi", "x86_64"} {
			comps := []comp{{"tls", true}, {plat, false}, {"avx512_1", false}, {"x86_64", true}}
			var list []subdir
			for mask := 1<<len(comps) - 1; mask >= 0; mask-- {
				var parts []string
				certain := true
				for i, c := range comps {
					if mask&(1<<(len(comps)-1-i)) != 0 {
						parts = append(parts, c.name)
						certain = certain && c.certain
					}
				}
				p := strings.Join(parts, "/")
				if p != "" {
					p += "/"
				}
				// "x86_64" alone is certain whichever component it stands for.
				if p == "x86_64/" {
					certain = true
				}
				list = append(list, subdir{p, certain})
			}
			all = append(all, list)
		}
		// Interleave: keep glibc's order within each platform's list.
		for i := range all[0] {
			for _, list := range all {
				add(list[i].path, list[i].certain)
			}
		}
	case "arm64":
		for _, p := range []string{"tls/aarch64/", "tls/", "aarch64/", ""} {
			add(p, true)
		}
	default:
		add("tls/", true)
		add("", true)
	}
	if _, ok := seen[""]; !ok {
		add("", true)
	}
	return out
}

// muslDefaultPath is musl's built-in library path.
const muslDefaultPath = "/lib:/usr/local/lib:/usr/lib"
