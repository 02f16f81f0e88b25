//go:build linux

package sensor

import (
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestReadString reads strings from this process's own memory: one that
// ends right before an unmapped page, one that crosses a page boundary, one
// too long, and argv arrays.
func TestReadString(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 3*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	// Unmap the third page so reads past the second one fault.
	if _, _, e := unix.Syscall(unix.SYS_MUNMAP, uintptr(unsafe.Pointer(&mem[2*pageSize])), pageSize, 0); e != 0 {
		t.Fatal(e)
	}
	base := uint64(uintptr(unsafe.Pointer(&mem[0])))
	put := func(off int, s string) uint64 {
		copy(mem[off:], s)
		mem[off+len(s)] = 0
		return base + uint64(off)
	}
	atEnd := put(2*pageSize-6, "tail.")
	crossing := put(pageSize-3, "across-the-boundary")
	long := put(100, strings.Repeat("x", 300))

	m := newMemReader(nil)
	pid := os.Getpid()
	for _, tc := range []struct {
		addr  uint64
		limit int
		want  string
		err   error
	}{
		{atEnd, maxPath, "tail.", nil},
		{crossing, maxPath, "across-the-boundary", nil},
		{long, maxPath, strings.Repeat("x", 300), nil},
		{long, 200, strings.Repeat("x", 200), errTooLong},
		{base + 2*pageSize, maxPath, "", unix.EFAULT},
		{0, maxPath, "", unix.EFAULT},
	} {
		got, err := m.readString(pid, tc.addr, tc.limit)
		if got != tc.want || err != tc.err {
			t.Errorf("readString(%#x, %d) = %.20q..., %v; want %.20q..., %v", tc.addr, tc.limit, got, err, tc.want, tc.err)
		}
	}

	// argv: pointers at the start of the first page, NULL-terminated.
	ptrs := []uint64{atEnd, crossing, 0}
	for i, p := range ptrs {
		*(*uint64)(unsafe.Pointer(&mem[8*i])) = p
	}
	argv, err := m.readArgv(pid, base)
	if err != nil || len(argv) != 2 || argv[0] != "tail." || argv[1] != "across-the-boundary" {
		t.Errorf("readArgv = %q, %v", argv, err)
	}
}
