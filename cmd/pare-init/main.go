//go:build linux

// Command pare-init is a tiny init for FROM-scratch images, like tini or
// dumb-init. pare build --add-init puts it at /.pare/init and makes it the
// Entrypoint in front of the original one:
//
//	pare-init [--] PROGRAM ARGS...
//
// It runs PROGRAM (found through PATH) as its child in a process group of
// its own (given the terminal when pare-init has it), forwards SIGTERM,
// SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to that group (to
// the child alone when the group is gone), reaps every child that ends,
// orphans included (it is a child subreaper when it is not PID 1), and
// exits with the program's status: its exit code, or 128+N when signal N
// killed it. It exits 127 when PROGRAM is not found, 126 when it cannot be
// started, 2 on a usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"unsafe"
)

// forwarded are the signals passed on to the program.
var forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

const prSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER, linux/prctl.h

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: pare-init [--] PROGRAM ARGS...")
		return 2
	}
	if os.Getpid() != 1 {
		// orphans of the program are re-parented to us, not to PID 1
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
			fmt.Fprintf(stderr, "pare-init: becoming a child subreaper: %v\n", e)
		}
	}
	// before the child starts, so that no SIGCHLD or signal is missed
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD}, forwarded...)...)
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "pare-init: %v\n", err)
		if errors.Is(err, fs.ErrPermission) {
			return 126
		}
		return 127
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if foregroundTTY(0) {
		// keep job control working: the program's group owns the terminal,
		// so Ctrl-C reaches it directly
		attr.Foreground, attr.Ctty = true, 0
	}
	p, err := os.StartProcess(path, args, &os.ProcAttr{
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}, Sys: attr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "pare-init: %v\n", err)
		return 126
	}
	pid := p.Pid
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			if code, done := reap(pid); done {
				return code
			}
			continue
		}
		s := sig.(syscall.Signal)
		if err := syscall.Kill(-pid, s); err != nil {
			_ = syscall.Kill(pid, s)
		}
	}
	return 0 // not reached: sigs is never closed
}

// reap waits for every child that has ended. When the main child main is
// among them, it returns its status as an exit code and true.
func reap(main int) (int, bool) {
	code, done := 0, false
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid == main {
			code, done = status(ws), true
		}
	}
}

// status is the shell's exit code for a wait status.
func status(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 1
}

// foregroundTTY reports whether fd is a terminal whose foreground process
// group is ours.
func foregroundTTY(fd int) bool {
	var pgrp int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp))); e != 0 {
		return false
	}
	return int(pgrp) == syscall.Getpgrp()
}
