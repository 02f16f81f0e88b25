//go:build linux

package sensor

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// stage2Arg0 is argv[0] of the sensor re-executed as the second stage.
	stage2Arg0 = "pare-sensor:stage2"
	// stage2Wait, appended to the mode, makes stage 2 wait for a byte on
	// fd 3 (the tracer attaching with PTRACE_SEIZE) before executing.
	stage2Wait = "+wait"
)

func init() {
	if len(os.Args) > 0 && os.Args[0] == stage2Arg0 {
		// Keep the main goroutine on the main thread, the one a seizing
		// tracer attached to, so that thread makes the exec.
		runtime.LockOSThread()
	}
}

// MaybeRunStage2 must be called first thing in main (and TestMain) of any
// binary used as Config.Self. When the process is the second stage started
// by the tracer, it prepares itself (seccomp filter in ModeSeccomp) and
// executes the traced program, never returning; otherwise it returns at once.
//
// Stage 2 argv: stage2Arg0 MODE -- PROGRAM ARGS...
func MaybeRunStage2() {
	if len(os.Args) < 4 || os.Args[0] != stage2Arg0 || os.Args[2] != "--" {
		return
	}
	mode, argv := os.Args[1], os.Args[3:]
	if m, ok := strings.CutSuffix(mode, stage2Wait); ok {
		mode = m
		f := os.NewFile(3, "go-ahead")
		if _, err := f.Read(make([]byte, 1)); err != nil {
			fmt.Fprintf(os.Stderr, "pare-sensor: waiting for the tracer: %v\n", err)
			os.Exit(126)
		}
		f.Close()
	}
	path, err := lookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "pare-sensor: %v\n", err)
		os.Exit(127)
	}
	if Mode(mode) == ModeSeccomp {
		if err := installFilter(); err != nil {
			fmt.Fprintf(os.Stderr, "pare-sensor: installing seccomp filter: %v\n", err)
			os.Exit(126)
		}
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "pare-sensor: executing %s: %v\n", argv[0], err)
	if err == syscall.ENOENT {
		os.Exit(127)
	}
	os.Exit(126)
}

// lookPath resolves a program name through $PATH the way Docker resolves an
// entrypoint; names with a slash are used as they are.
func lookPath(name string) (string, error) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil && p == "" {
		return "", fmt.Errorf("%s: executable file not found in $PATH", name)
	}
	return p, nil
}

// installFilter sets no_new_privs and a filter returning SECCOMP_RET_TRACE
// for every native system call but the hot ones, on all threads.
func installFilter() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	prog := buildFilter()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return errno
	}
	return nil
}

func buildFilter() []unix.SockFilter {
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	var hot []uint32
	for nr, ok := range hotByNr {
		if ok {
			hot = append(hot, uint32(nr))
		}
	}
	// seccomp_data: nr at 0, arch at 4.
	p := []unix.SockFilter{
		{Code: ldW, K: 4},
		{Code: jeq, Jt: 1, Jf: 0, K: auditArch},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW}, // foreign ABI (i386): not traced
		{Code: ldW, K: 0},
	}
	if x32Bit != 0 {
		p = append(p, unix.SockFilter{Code: jset, Jt: uint8(len(hot) + 1), Jf: 0, K: x32Bit})
	}
	for i, nr := range hot {
		p = append(p, unix.SockFilter{Code: jeq, Jt: uint8(len(hot) - i), Jf: 0, K: nr})
	}
	p = append(p,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_TRACE},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	)
	return p
}
