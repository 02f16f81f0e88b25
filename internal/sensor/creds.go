//go:build linux

package sensor

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// credMatcher lets the tracer thread read tracees that run as another user.
//
// process_vm_readv and the /proc/PID/{cwd,fd,exe} links need
// ptrace_may_access, which without CAP_SYS_PTRACE (absent in a default
// container) wants the caller's user and group to equal the tracee's. Linux
// credentials are per thread, so when access is refused this thread alone
// takes the tracee's uid and gid, keeping root as its saved uid to switch
// back when the next tracee is root again. Other threads of the sensor stay
// root.
type credMatcher struct {
	enabled  bool
	uid, gid int // the tracer thread's current real and effective ids
}

func newCredMatcher() *credMatcher {
	return &credMatcher{enabled: os.Geteuid() == 0 && os.Getegid() == 0 && !hasCapSysPtrace()}
}

// match switches the calling (tracer) thread to tid's user and group and
// reports whether it did, so the refused access is worth retrying.
func (m *credMatcher) match(tid int) bool {
	if !m.enabled {
		return false
	}
	uid, gid, ok := procIDs(tid)
	if !ok || (uid == m.uid && gid == m.gid) {
		return false
	}
	if err := m.set(uid, gid); err != nil {
		m.enabled = false
		return false
	}
	return true
}

func (m *credMatcher) set(uid, gid int) error {
	// Raw per-thread system calls: Go's syscall.Setuid changes all threads.
	if m.uid != 0 {
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0); e != 0 {
			return e
		}
		m.uid = 0
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return e
	}
	m.gid = gid
	if uid != 0 {
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), 0); e != 0 {
			return e
		}
		m.uid = uid
	}
	return nil
}

// procIDs reads the user and group of tid from /proc/TID/status (readable by
// anyone); ok is false unless real, effective, saved and fs ids agree.
func procIDs(tid int) (uid, gid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	uid, gid = -1, -1
	for _, line := range strings.Split(string(data), "\n") {
		if v, found := strings.CutPrefix(line, "Uid:"); found {
			uid = sameID(v)
		} else if v, found := strings.CutPrefix(line, "Gid:"); found {
			gid = sameID(v)
		}
	}
	return uid, gid, uid >= 0 && gid >= 0
}

func sameID(fields string) int {
	f := strings.Fields(fields)
	if len(f) == 0 {
		return -1
	}
	for _, x := range f[1:] {
		if x != f[0] {
			return -1
		}
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1
	}
	return n
}

func hasCapSysPtrace() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_PTRACE) != 0
}

func denied(err error) bool {
	return err == unix.EPERM || err == unix.EACCES
}

// readlink reads a /proc link of tid, matching credentials when refused.
func (t *Tracer) readlink(tid int, name string) (string, error) {
	path := "/proc/" + strconv.Itoa(tid) + "/" + name
	p, err := os.Readlink(path)
	if err != nil {
		var errno unix.Errno
		if pe, ok := err.(*os.PathError); ok {
			errno, _ = pe.Err.(unix.Errno)
		}
		if denied(errno) && t.creds.match(tid) {
			return os.Readlink(path)
		}
	}
	return p, err
}

// readProcFile reads /proc/TID/NAME, matching credentials when refused.
func (t *Tracer) readProcFile(tid int, name string) ([]byte, error) {
	path := "/proc/" + strconv.Itoa(tid) + "/" + name
	data, err := os.ReadFile(path)
	if err != nil {
		var errno unix.Errno
		if pe, ok := err.(*os.PathError); ok {
			errno, _ = pe.Err.(unix.Errno)
		}
		if denied(errno) && t.creds.match(tid) {
			return os.ReadFile(path)
		}
	}
	return data, err
}
