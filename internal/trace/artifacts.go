package trace

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/sensor"
)

// seccompArch maps Observations.Arch to the libseccomp architecture of the
// native syscall table. Only the native table is allowed: the sensor names
// syscalls from that table alone, and 32-bit compat calls (SCMP_ARCH_X86,
// SCMP_ARCH_ARM) that were never seen would otherwise be opened up, or
// allowed under the wrong numbers.
var seccompArch = map[string]string{
	"amd64":   "SCMP_ARCH_X86_64",
	"arm64":   "SCMP_ARCH_AARCH64",
	"386":     "SCMP_ARCH_X86",
	"arm":     "SCMP_ARCH_ARM",
	"riscv64": "SCMP_ARCH_RISCV64",
	"ppc64le": "SCMP_ARCH_PPC64LE",
	"s390x":   "SCMP_ARCH_S390X",
}

// RuntimeSyscalls are allowed in every generated profile although a trace
// of the program cannot show them. Each group says why.
var RuntimeSyscalls = map[string][]string{
	// runc init after it has loaded the filter: with Docker 20.10 and runc
	// 1.1 the filter is in place before the capability and user setup,
	// the chdir to the working dir, the CVE-2024-21626 checks (getcwd, the
	// walk of /proc/self/fd to mark fds close-on-exec), the exec fifo
	// handshake and the access check and execve of the entrypoint. Each
	// name was removed in turn from a working profile on Docker 20.10.24 /
	// runc 1.1.5, and the container then failed to start, runc naming the
	// step: prctl "unable to apply bounding set", capget/capset "unable to
	// apply caps", setgroups/setuid/setgid/fstat/newfstatat "unable to
	// setup user", chdir "chdir to cwd", getcwd "failed to verify if
	// current working directory is safe", openat/fstatfs/getdents64
	// "error closing exec fds", read "read /proc/self/status", and close,
	// write, getppid, futex with a bare "operation not permitted".
	// faccessat and faccessat2 are alternatives for the entrypoint access
	// check; one of them is needed. Compare moby#22252, runc#2097.
	"runc init": {"prctl", "capget", "capset", "setgroups", "setuid", "setgid", "fstat",
		"newfstatat", "chdir", "getcwd", "openat", "fstatfs", "getdents64", "read",
		"close", "write", "getppid", "fcntl", "faccessat", "faccessat2", "execve"},
	// runc init is a Go program: its runtime may run these at any moment
	// between the filter load and execve (futex is required, see above;
	// the others are the scheduler's, preemption signals' and the
	// allocator's calls, which may or may not happen in a given start).
	"Go runtime of runc init": {"futex", "nanosleep", "sched_yield", "rt_sigprocmask", "rt_sigreturn",
		"sigaltstack", "getpid", "gettid", "tgkill", "mmap", "munmap", "madvise"},
	// Process exit and signal delivery: a program stopped by its stop
	// signal may exit without the sensor seeing the call, and the kernel
	// itself issues restart_syscall after an interrupted sleep.
	"exit and signals": {"exit", "exit_group", "rt_sigreturn", "restart_syscall"},
}

// seccompProfile is the Docker (and Kubernetes localhost) seccomp profile format.
type seccompProfile struct {
	DefaultAction string           `json:"defaultAction"`
	Architectures []string         `json:"architectures"`
	Syscalls      []seccompSyscall `json:"syscalls"`
}

type seccompSyscall struct {
	Names    []string `json:"names"`
	Action   string   `json:"action"`
	ErrnoRet *uint    `json:"errnoRet,omitempty"`
}

// enosys is the errno libc needs to see to fall back from clone3 to clone.
var enosys uint = 38

// enosysSyscalls are answered with ENOSYS rather than EPERM unless the
// trace saw them. Docker's default profile (under which the trace runs)
// answers clone3 with ENOSYS, so glibc >= 2.34 fell back to clone during
// the trace and the sensor never saw clone3; with EPERM glibc does not fall
// back and every thread creation fails (pthread_create, Python's
// threading, libuv).
var enosysSyscalls = []string{"clone3"}

// SeccompProfile returns a Docker-format seccomp profile (usable with
// docker run --security-opt seccomp=FILE and as a Kubernetes Localhost
// profile) that allows the system calls seen in obs, those the sensor's
// seccomp mode let through untraced (obs.UntracedSyscalls), and
// RuntimeSyscalls,
// and fails every other call with EPERM (SCMP_ACT_ERRNO), except clone3,
// which fails with ENOSYS unless seen (see enosysSyscalls). Calls the
// sensor could only number ("syscall_N") are left out. The output is
// deterministic: names sorted, one allow rule, then the ENOSYS rule.
//
// The profile is only as complete as the trace: code paths the probes did
// not exercise will fail with EPERM.
func SeccompProfile(obs *sensor.Observations) ([]byte, error) {
	if obs == nil {
		return nil, fmt.Errorf("seccomp profile: no observations")
	}
	arch, ok := seccompArch[obs.Arch]
	if !ok {
		return nil, fmt.Errorf("seccomp profile: unknown architecture %q", obs.Arch)
	}
	if len(obs.Syscalls) == 0 {
		return nil, fmt.Errorf("seccomp profile: the trace saw no system calls")
	}
	set := map[string]bool{}
	for _, s := range slices.Concat(obs.Syscalls, obs.UntracedSyscalls) {
		if s != "" && !strings.HasPrefix(s, "syscall_") {
			set[s] = true
		}
	}
	for _, names := range RuntimeSyscalls {
		for _, s := range names {
			set[s] = true
		}
	}
	names := make([]string, 0, len(set))
	for s := range set {
		names = append(names, s)
	}
	sort.Strings(names)
	p := seccompProfile{
		DefaultAction: "SCMP_ACT_ERRNO",
		Architectures: []string{arch},
		Syscalls:      []seccompSyscall{{Names: names, Action: "SCMP_ACT_ALLOW"}},
	}
	var nosys []string
	for _, s := range enosysSyscalls {
		if !set[s] {
			nosys = append(nosys, s)
		}
	}
	if len(nosys) > 0 {
		p.Syscalls = append(p.Syscalls, seccompSyscall{Names: nosys, Action: "SCMP_ACT_ERRNO", ErrnoRet: &enosys})
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return append(data, '\n'), nil
}

// Writes are the paths a traced program changed and the tmpfs mounts that
// would let it run with a read-only root filesystem.
type Writes struct {
	// Paths are the absolute paths successfully written, created, removed
	// or renamed, sorted, without the engine-managed ones (/dev, /proc,
	// /sys, /etc/hosts, /etc/hostname, /etc/resolv.conf, /.pare).
	Paths []string `json:"paths"`
	// Mounts are the suggested tmpfs mount points, sorted.
	Mounts []TmpfsMount `json:"mounts"`
}

// TmpfsMount is one suggested writable mount.
type TmpfsMount struct {
	Path string `json:"path"`
	// Paths are the written paths under it.
	Paths []string `json:"paths"`
	// ImageContent is set when the program also read files under Path that
	// it had not written: the image has content there, which an empty
	// tmpfs would hide. Such a dir needs a pre-filled volume (or an
	// emptyDir populated by an init container) instead.
	ImageContent bool `json:"imageContent,omitempty"`
}

// engineManaged are paths the engine provides writable anyway.
var engineManaged = []string{"/dev", "/proc", "/sys", "/.pare", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// volatileRoots are directories that are mounted whole: a tmpfs there is
// the convention (Kubernetes emptyDir on /tmp, /run).
var volatileRoots = []string{"/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"}

// mountPoint picks the tmpfs mount point for a written path:
//   - under /tmp, /var/tmp, /run, /var/run: that directory;
//   - under /var/<a>/<b> (cache, lib, log, spool): /var/<a>/<b>, e.g.
//     /var/cache/nginx, /var/lib/postgresql;
//   - under /home/<user> or /root: that home;
//   - otherwise the written path's parent directory.
func mountPoint(p string) string {
	for _, r := range volatileRoots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return r
		}
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case parts[0] == "var" && len(parts) >= 4:
		return "/" + path.Join(parts[:3]...)
	case parts[0] == "home" && len(parts) >= 3:
		return "/" + path.Join(parts[:2]...)
	case parts[0] == "root" && len(parts) >= 2:
		return "/root"
	}
	return path.Dir(p)
}

// WrittenPaths lists what the traced programs wrote (successful opens for
// writing, creat, mkdir, unlink, rename) and groups it into suggested tmpfs
// mounts for running the pared image with a read-only root filesystem.
func WrittenPaths(obs *sensor.Observations) *Writes {
	w := &Writes{Paths: []string{}, Mounts: []TmpfsMount{}}
	if obs == nil {
		return w
	}
	written := map[string]bool{}
	for _, f := range obs.Files {
		if !f.Write || !f.OK || !path.IsAbs(f.Path) {
			continue
		}
		p := path.Clean(f.Path)
		if p == "/" || underAny(p, engineManaged) {
			continue
		}
		written[p] = true
	}
	for p := range written {
		w.Paths = append(w.Paths, p)
	}
	sort.Strings(w.Paths)

	byMount := map[string][]string{}
	for _, p := range w.Paths {
		m := mountPoint(p)
		byMount[m] = append(byMount[m], p)
	}
	// A mount inside another suggested mount is covered by the outer one.
	var points []string
	for m := range byMount {
		points = append(points, m)
	}
	sort.Strings(points)
	var kept []string
	for _, m := range points {
		if len(kept) > 0 && underAny(m, kept[len(kept)-1:]) {
			outer := kept[len(kept)-1]
			byMount[outer] = append(byMount[outer], byMount[m]...)
			continue
		}
		kept = append(kept, m)
	}
	for _, m := range kept {
		paths := byMount[m]
		sort.Strings(paths)
		tm := TmpfsMount{Path: m, Paths: slices.Compact(paths)}
		for _, f := range obs.Files {
			if f.Write || !f.OK || f.Op == sensor.OpStat || f.Op == sensor.OpAccess || f.Op == sensor.OpChdir {
				continue
			}
			if underAny(f.Path, []string{m}) && f.Path != m && !written[f.Path] {
				tm.ImageContent = true
				break
			}
		}
		w.Mounts = append(w.Mounts, tm)
	}
	return w
}
