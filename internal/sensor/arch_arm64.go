//go:build linux && arm64

package sensor

import "golang.org/x/sys/unix"

const (
	archName  = "arm64"
	auditArch = unix.AUDIT_ARCH_AARCH64
	x32Bit    = 0
)
