// Package sensor traces a program and every process and thread it starts,
// and records the paths they touch, the programs they execute and the system
// calls they make. It is the library behind cmd/pare-sensor, the small static
// binary that pare bind-mounts into a container as the entrypoint wrapper in
// dynamic mode.
//
// # Mechanism
//
// The tracer uses ptrace, which Docker's default seccomp profile allows on
// kernels >= 4.8 without extra capabilities, for the tracer's own children.
// Two ways of stopping at system calls are supported (Mode):
//
//   - ModeSeccomp (default): before executing the program, a second stage of
//     the sensor (the same binary re-executed, see MaybeRunStage2) sets
//     no_new_privs and installs a seccomp filter that returns
//     SECCOMP_RET_TRACE for every system call except a fixed set of hot ones
//     that never carry a path (read, write, futex, epoll_wait, ...; listed in
//     Observations.UntracedSyscalls). The tracer sets PTRACE_O_TRACESECCOMP
//     and gets one stop per traced call; only for the path-carrying calls does
//     it ask for a second stop at the exit to learn the result. The hot I/O
//     path of a server thus runs at native speed, and other calls cost one
//     stop instead of two.
//   - ModePtrace: plain PTRACE_SYSCALL, two stops for every system call.
//
// Cost of ModeSeccomp: a seccomp filter needs no_new_privs (or
// CAP_SYS_ADMIN, which containers lack), and no_new_privs stops set-user-ID
// and file-capability programs from gaining privileges. Under ptrace that is
// already so: the kernel downgrades such an exec in a tracee unless the
// tracer's recorded credentials (ptracer_cred) hold CAP_SYS_PTRACE (see
// cap_bprm_creds_from_file). With PTRACE_TRACEME those are the child's own,
// and Docker's default capability set has no CAP_SYS_PTRACE anyway. So in a
// default container the filter changes nothing for such programs (tested:
// TestPrivilegedPrograms in cmd/pare-sensor), and the speed is worth it. In
// ModePtrace, when the sensor holds CAP_SYS_PTRACE (docker run --cap-add
// SYS_PTRACE), it attaches with PTRACE_SEIZE instead of TRACEME, and
// set-user-ID and file-capability programs keep their privileges: use that
// for images whose non-root programs need them (ping with cap_net_raw, su).
//
// Both modes read the syscall number, arguments and result with
// PTRACE_GET_SYSCALL_INFO (Linux >= 5.3), which is the same on every
// architecture. Options: PTRACE_O_TRACECLONE|TRACEFORK|TRACEVFORK|TRACEEXEC|
// TRACEEXIT|TRACESYSGOOD|EXITKILL, so every thread and child is followed and
// all of them die with the tracer.
//
// Paths are resolved at syscall entry: relative ones against
// /proc/TID/cwd or the directory fd /proc/TID/fd/N, and cleaned lexically
// (symbolic links are not resolved, so "link/.." is cleaned away). mmap of a
// file records the path of its fd. At each exec the sensor also records what
// the kernel opened without a system call to see: a script's interpreter
// (from /proc/PID/exe) and the ELF interpreter (from /proc/PID/maps).
// Strings are read with process_vm_readv in page-sized chunks.
//
// Reading another process's memory and /proc links needs ptrace_may_access:
// the same user and group as the tracee, or CAP_SYS_PTRACE, which a default
// container lacks. Linux credentials are per thread, so when access is
// refused the tracer thread alone takes the tracee's uid and gid (keeping
// root as saved uid to switch back); the sensor's other threads stay root
// and write the output. A process that changed its own uid is not dumpable
// until its next exec, so nothing can read it then; the exec it then makes
// is read back from the new program's initial stack (argv and AT_EXECFN).
// When the sensor is not root, PTRACE_PEEKDATA and the cwd and fds the
// tracer tracked itself stand in.
//
// Not traced: 32-bit (i386, x32) system calls of a 64-bit kernel; a program
// that itself uses ptrace (its PTRACE_TRACEME or attach fails).
//
// Go: ptrace requests must come from the thread that is the tracer, so the
// tracer goroutine locks its OS thread, starts the child from it and makes
// every ptrace and wait call on it.
package sensor
