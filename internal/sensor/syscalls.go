//go:build linux

package sensor

import (
	"fmt"
	"sort"
)

// pathArg locates one path argument: the index of its dirfd argument (-1
// for the current directory) and of the string pointer; write marks the
// path written by a call that otherwise only reads (link's new name).
type pathArg struct {
	dirfd, path int
	write       bool
}

// spec says how to find the paths of one system call.
type spec struct {
	op      string
	paths   []pathArg
	fd      int  // index of an fd argument naming the file (fchdir, mmap), or -1
	flags   int  // index of open(2) flags, or -1
	openHow bool // openat2: flags are the first field of the struct at arg 2
	atFlags int  // index of AT_* flags (AT_EMPTY_PATH), or -1
	write   bool // always a write
	argv    int  // exec: index of argv, or -1
	mmap    bool // mmap: fd at arg 4 unless MAP_ANONYMOUS in arg 3
	sock    bool // bind, connect: AF_UNIX path in the sockaddr at arg 1
}

func mk(op string, paths ...pathArg) *spec {
	return &spec{op: op, paths: paths, fd: -1, flags: -1, atFlags: -1, argv: -1}
}

var (
	cwd0 = pathArg{dirfd: -1, path: 0}
	cwd1 = pathArg{dirfd: -1, path: 1}
	at01 = pathArg{dirfd: 0, path: 1}
	at12 = pathArg{dirfd: 1, path: 2}
	at23 = pathArg{dirfd: 2, path: 3}
)

func written(p pathArg) pathArg { p.write = true; return p }

// specsByName lists the system calls whose paths are recorded.
var specsByName = func() map[string]*spec {
	m := map[string]*spec{}
	with := func(s *spec, f func(*spec)) *spec { f(s); return s }
	m["open"] = with(mk(OpOpen, cwd0), func(s *spec) { s.flags = 1 })
	m["openat"] = with(mk(OpOpen, at01), func(s *spec) { s.flags = 2 })
	m["openat2"] = with(mk(OpOpen, at01), func(s *spec) { s.openHow = true })
	m["creat"] = with(mk(OpOpen, cwd0), func(s *spec) { s.write = true })
	m["execve"] = with(mk(OpExec, cwd0), func(s *spec) { s.argv = 1 })
	m["execveat"] = with(mk(OpExec, at01), func(s *spec) { s.argv = 2; s.atFlags = 4 })
	m["stat"] = mk(OpStat, cwd0)
	m["lstat"] = mk(OpStat, cwd0)
	m["newfstatat"] = with(mk(OpStat, at01), func(s *spec) { s.atFlags = 3 })
	m["fstatat64"] = m["newfstatat"]
	m["statx"] = with(mk(OpStat, at01), func(s *spec) { s.atFlags = 2 })
	m["access"] = mk(OpAccess, cwd0)
	m["faccessat"] = mk(OpAccess, at01)
	m["faccessat2"] = with(mk(OpAccess, at01), func(s *spec) { s.atFlags = 3 })
	m["readlink"] = mk(OpReadlink, cwd0)
	m["readlinkat"] = mk(OpReadlink, at01)
	m["chdir"] = mk(OpChdir, cwd0)
	m["fchdir"] = with(mk(OpChdir), func(s *spec) { s.fd = 0 })
	m["mkdir"] = with(mk(OpMkdir, cwd0), func(s *spec) { s.write = true })
	m["mkdirat"] = with(mk(OpMkdir, at01), func(s *spec) { s.write = true })
	m["unlink"] = with(mk(OpUnlink, cwd0), func(s *spec) { s.write = true })
	m["rmdir"] = m["unlink"]
	m["unlinkat"] = with(mk(OpUnlink, at01), func(s *spec) { s.write = true })
	m["rename"] = with(mk(OpRename, cwd0, cwd1), func(s *spec) { s.write = true })
	m["renameat"] = with(mk(OpRename, at01, at23), func(s *spec) { s.write = true })
	m["renameat2"] = m["renameat"]
	m["mmap"] = with(mk(OpMmap), func(s *spec) { s.fd = 4; s.mmap = true })

	// Changes that fail on a read-only root filesystem.
	wr := func(s *spec) { s.write = true }
	m["link"] = mk(OpLink, cwd0, written(cwd1))
	m["linkat"] = with(mk(OpLink, at01, written(at23)), func(s *spec) { s.atFlags = 4 })
	m["symlink"] = mk(OpSymlink, written(cwd1)) // the target is text, not a path
	m["symlinkat"] = mk(OpSymlink, written(at12))
	m["chmod"] = with(mk(OpChmod, cwd0), wr)
	m["fchmodat"] = with(mk(OpChmod, at01), wr)
	m["fchmodat2"] = with(mk(OpChmod, at01), func(s *spec) { s.write = true; s.atFlags = 3 })
	m["fchmod"] = with(mk(OpChmod), func(s *spec) { s.write = true; s.fd = 0 })
	m["chown"] = with(mk(OpChown, cwd0), wr)
	m["lchown"] = m["chown"]
	m["fchownat"] = with(mk(OpChown, at01), func(s *spec) { s.write = true; s.atFlags = 4 })
	m["fchown"] = with(mk(OpChown), func(s *spec) { s.write = true; s.fd = 0 })
	m["utime"] = with(mk(OpUtime, cwd0), wr)
	m["utimes"] = m["utime"]
	m["utimensat"] = with(mk(OpUtime, at01), wr) // a NULL path (futimens) is skipped
	m["futimesat"] = with(mk(OpUtime, at01), wr)
	m["truncate"] = with(mk(OpTruncate, cwd0), wr)
	m["mknod"] = with(mk(OpMknod, cwd0), wr)
	m["mknodat"] = with(mk(OpMknod, at01), wr)
	m["setxattr"] = with(mk(OpXattr, cwd0), wr)
	m["lsetxattr"] = m["setxattr"]
	m["removexattr"] = m["setxattr"]
	m["lremovexattr"] = m["setxattr"]
	// Reads of metadata.
	m["getxattr"] = mk(OpXattr, cwd0)
	m["lgetxattr"] = m["getxattr"]
	m["listxattr"] = m["getxattr"]
	m["llistxattr"] = m["getxattr"]
	m["statfs"] = mk(OpStat, cwd0)
	// Unix sockets named by a path.
	m["bind"] = with(mk(OpBind), func(s *spec) { s.sock = true; s.write = true })
	m["connect"] = with(mk(OpConnect), func(s *spec) { s.sock = true })
	return m
}()

// hotSyscalls never carry a path and are the bulk of a busy program's calls;
// in ModeSeccomp the filter lets them through without a stop.
var hotSyscalls = []string{
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "lseek", "close", "fstat",
	"futex", "sched_yield", "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday",
	"getpid", "gettid", "rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "poll", "ppoll", "select", "pselect6",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg",
	"madvise", "munmap", "mprotect", "brk", "getrandom",
}

const maxNr = 1024

var (
	specByNr [maxNr]*spec
	hotByNr  [maxNr]bool
	nrByName = map[string]uint64{}
)

func init() {
	for nr, name := range syscallNames {
		nrByName[name] = nr
		if nr < maxNr {
			specByNr[nr] = specsByName[name]
		}
	}
	for _, name := range hotSyscalls {
		if nr, ok := nrByName[name]; ok && nr < maxNr {
			hotByNr[nr] = true
		}
	}
}

// SyscallName returns the kernel name of system call nr on this
// architecture, or "syscall_N" for an unknown number.
func SyscallName(nr uint64) string {
	if name, ok := syscallNames[nr]; ok {
		return name
	}
	return fmt.Sprintf("syscall_%d", nr)
}

// untracedNames returns the sorted names of the hot system calls of this
// architecture.
func untracedNames() []string {
	var names []string
	for _, name := range hotSyscalls {
		if _, ok := nrByName[name]; ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
