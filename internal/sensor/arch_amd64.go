//go:build linux && amd64

package sensor

import "golang.org/x/sys/unix"

const (
	archName  = "amd64"
	auditArch = unix.AUDIT_ARCH_X86_64
	// x32Bit marks x32 ABI system call numbers on x86_64.
	x32Bit = 0x40000000
)
