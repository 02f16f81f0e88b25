package keep

import "strings"

// libcName reports whether base is the file name of a C library: glibc's
// libc.so.6 or musl's loader (which is its libc). A libc reached as a
// program (a traced run maps it; glibc's libc.so.6 has a PT_INTERP and runs)
// is still the libc: rules that serve its callers (NSS, libgcc_s, gconv)
// look for it.
func libcName(base string) bool {
	return strings.HasPrefix(base, "libc.so.") || strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl-")
}
