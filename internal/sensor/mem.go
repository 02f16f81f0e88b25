//go:build linux

package sensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	pageSize  = 4096
	maxPath   = 4096
	maxArg    = 32 << 10
	maxArgs   = 4096
	ptrSize   = 8
	chunkArgv = 64
)

var errTooLong = errors.New("string too long")

// memReader reads tracee memory: process_vm_readv in page-bounded chunks,
// falling back to PTRACE_PEEKDATA when the kernel refuses the former
// (ptrace_may_access fails for a tracee that changed its credentials).
type memReader struct {
	buf []byte
	// retry is called when access to tid is refused and reports whether
	// trying again may succeed (credMatcher.match).
	retry func(tid int) bool
}

func newMemReader(retry func(int) bool) *memReader {
	return &memReader{buf: make([]byte, maxArg), retry: retry}
}

// read fills dst from addr in tid's memory and returns how many bytes were
// read; a short count means unreadable memory after it.
func (m *memReader) read(tid int, addr uint64, dst []byte) (int, error) {
	local := []unix.Iovec{{Base: &dst[0]}}
	local[0].SetLen(len(dst))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(dst)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if denied(err) && m.retry != nil && m.retry(tid) {
		n, err = unix.ProcessVMReadv(tid, local, remote, 0)
	}
	if denied(err) || err == unix.ENOSYS {
		// Another user we cannot become: PTRACE_PEEKDATA works for the
		// tracer as long as the tracee is dumpable.
		return unix.PtracePeekData(tid, uintptr(addr), dst)
	}
	return n, err
}

// readString reads a NUL-terminated string of at most limit bytes.
func (m *memReader) readString(tid int, addr uint64, limit int) (string, error) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	var out []byte
	for len(out) < limit {
		// Stay within one page per read so an unmapped next page does
		// not fail a string that ends before it.
		n := pageSize - int(addr%pageSize)
		if n > limit-len(out)+1 {
			n = limit - len(out) + 1
		}
		got, err := m.read(tid, addr, m.buf[:n])
		if got <= 0 {
			if err == nil {
				err = unix.EFAULT
			}
			return "", err
		}
		if i := bytes.IndexByte(m.buf[:got], 0); i >= 0 {
			out = append(out, m.buf[:i]...)
			return string(out), nil
		}
		out = append(out, m.buf[:got]...)
		addr += uint64(got)
	}
	return string(out[:limit]), errTooLong
}

// readArgv reads a NULL-terminated array of string pointers.
func (m *memReader) readArgv(tid int, addr uint64) ([]string, error) {
	if addr == 0 {
		return nil, nil
	}
	var argv []string
	var ptrs [chunkArgv * ptrSize]byte
	for len(argv) < maxArgs {
		n := len(ptrs)
		if rest := pageSize - int(addr%pageSize); rest < n {
			n = rest
		}
		got, err := m.read(tid, addr, ptrs[:n])
		if got < ptrSize {
			if err == nil {
				err = unix.EFAULT
			}
			return argv, err
		}
		for i := 0; i+ptrSize <= got; i += ptrSize {
			p := binary.NativeEndian.Uint64(ptrs[i:])
			if p == 0 {
				return argv, nil
			}
			s, err := m.readString(tid, p, maxArg)
			if err != nil && err != errTooLong {
				return argv, err
			}
			argv = append(argv, s)
		}
		addr += uint64(got - got%ptrSize)
	}
	return argv, nil
}

// readU64 reads one 64-bit word.
func (m *memReader) readU64(tid int, addr uint64) (uint64, error) {
	var b [8]byte
	n, err := m.read(tid, addr, b[:])
	if n != 8 {
		if err == nil {
			err = unix.EFAULT
		}
		return 0, err
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

// readWords reads up to max 64-bit words from addr until a zero word and
// returns them without it; the count of words read is len+1 on a zero.
func (m *memReader) readWords(tid int, addr uint64, max int) ([]uint64, bool) {
	var words []uint64
	var b [chunkArgv * ptrSize]byte
	for len(words) < max {
		n := len(b)
		if rest := pageSize - int(addr%pageSize); rest < n {
			n = rest
		}
		got, _ := m.read(tid, addr, b[:n])
		if got < ptrSize {
			return words, false
		}
		for i := 0; i+ptrSize <= got; i += ptrSize {
			w := binary.NativeEndian.Uint64(b[i:])
			if w == 0 {
				return words, true
			}
			words = append(words, w)
		}
		addr += uint64(got - got%ptrSize)
	}
	return words, false
}

// syscallInfo mirrors struct ptrace_syscall_info.
type syscallInfo struct {
	Op      uint8
	_       uint8
	_       uint16
	Arch    uint32
	IP      uint64
	SP      uint64
	Nr      uint64 // entry, seccomp; rval for exit
	Args    [6]uint64
	RetData uint32
	_       uint32
}

// rval and isError interpret an exit-op info.
func (s *syscallInfo) rval() int64   { return int64(s.Nr) }
func (s *syscallInfo) isError() bool { return uint8(s.Args[0]) != 0 }

func getSyscallInfo(tid int, info *syscallInfo) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// atExecFn is the auxiliary vector entry holding the filename given to exec.
const atExecFn = 31
