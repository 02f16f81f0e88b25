//go:build linux

package sensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mode is the way the tracer stops at system calls.
type Mode string

// Tracing modes; see the package documentation.
const (
	ModeSeccomp Mode = "seccomp"
	ModePtrace  Mode = "ptrace"
)

// Config describes the program to trace.
type Config struct {
	// Argv is the program and its arguments; a name without a slash is
	// looked up in $PATH of Env.
	Argv []string
	// Env is the environment of the program; nil means os.Environ().
	Env []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Credential, if set, is the user the program runs as.
	Credential *syscall.Credential
	// Mode defaults to ModeSeccomp.
	Mode Mode
	// Self is a binary that calls MaybeRunStage2 first thing in main;
	// empty means os.Executable().
	Self string
	// Stdin, Stdout and Stderr default to the sensor's own.
	Stdin, Stdout, Stderr *os.File
}

// Tracer runs one program under ptrace and collects its Observations.
type Tracer struct {
	cfg     Config
	pid     int
	started chan error
	done    chan struct{}
	mem     *memReader
	creds   *credMatcher

	// Owned by the tracer goroutine.
	threads map[int]*thread

	mu       sync.Mutex // guards the fields below
	files    map[accessKey]*FileAccess
	execs    []Exec
	seen     [maxNr]bool
	complete bool
	exitCode int
	signal   string
	err      error
}

type proc struct {
	pid, ppid int
	exe       string
	armed     bool // past the stage-2 exec: record everything
	cwd       string
	fds       map[int]string
}

type thread struct {
	tid     int
	proc    *proc // nil while the creating event is not yet seen
	held    bool  // stopped at its first stop, waiting for its parent's event
	started bool  // its first SIGSTOP was consumed
	pending *call
}

type call struct {
	spec   *spec
	paths  []string
	writes []bool // per path, with write
	write  bool
	argv   []string
}

func (c *call) addPath(p string, write bool) {
	c.paths = append(c.paths, p)
	c.writes = append(c.writes, write)
}

// Start starts cfg.Argv under the tracer and returns once it is stopped at
// its first instruction and traced, or with the error that prevented it.
func Start(cfg Config) (*Tracer, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("no program to trace")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeSeccomp
	}
	if cfg.Mode != ModeSeccomp && cfg.Mode != ModePtrace {
		return nil, fmt.Errorf("unknown tracing mode %q", cfg.Mode)
	}
	if cfg.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the sensor binary: %w", err)
		}
		cfg.Self = self
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	t := &Tracer{
		cfg:      cfg,
		started:  make(chan error, 1),
		done:     make(chan struct{}),
		threads:  map[int]*thread{},
		files:    map[accessKey]*FileAccess{},
		exitCode: -1,
	}
	t.creds = newCredMatcher()
	t.mem = newMemReader(t.creds.match)
	go t.run()
	if err := <-t.started; err != nil {
		return nil, err
	}
	return t, nil
}

// Pid is the process id of the traced program.
func (t *Tracer) Pid() int { return t.pid }

// Signal sends sig to the traced program.
func (t *Tracer) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(t.pid, sig); err != nil {
		return fmt.Errorf("signalling pid %d: %w", t.pid, err)
	}
	return nil
}

// Done is closed when the program has exited.
func (t *Tracer) Done() <-chan struct{} { return t.done }

// Wait waits for the program to exit and returns the final observations.
func (t *Tracer) Wait() *Observations {
	<-t.done
	return t.Snapshot()
}

// Snapshot returns the observations so far; Complete is false until the
// program has exited.
func (t *Tracer) Snapshot() *Observations {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := &Observations{
		Version:  FormatVersion,
		Command:  append([]string(nil), t.cfg.Argv...),
		Complete: t.complete,
		ExitCode: t.exitCode,
		Signal:   t.signal,
		Arch:     archName,
		Mode:     string(t.cfg.Mode),
		Files:    make([]FileAccess, 0, len(t.files)),
		Execs:    append([]Exec{}, t.execs...),
		Syscalls: []string{},
	}
	if t.err != nil {
		o.Error = t.err.Error()
	}
	for _, f := range t.files {
		o.Files = append(o.Files, *f)
	}
	SortFiles(o.Files)
	for nr, ok := range t.seen {
		if ok {
			o.Syscalls = append(o.Syscalls, SyscallName(uint64(nr)))
		}
	}
	sort.Strings(o.Syscalls)
	if t.cfg.Mode == ModeSeccomp {
		o.UntracedSyscalls = untracedNames()
	}
	return o
}

const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC |
	unix.PTRACE_O_TRACEEXIT | unix.PTRACE_O_EXITKILL

func (t *Tracer) run() {
	// ptrace requests must come from the tracer thread. The lock is never
	// released: the thread may change its credentials (credMatcher), and a
	// locked goroutine's thread exits with it.
	runtime.LockOSThread()
	defer close(t.done)

	if err := t.start(); err != nil {
		t.started <- fmt.Errorf("starting %s under ptrace: %w", t.cfg.Argv[0], err)
		return
	}
	t.started <- nil

	var ws unix.WaitStatus
	for {
		tid, err := wait4(-1, &ws)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.mu.Lock()
			t.err = fmt.Errorf("waiting for traced processes: %w", err)
			t.complete = true
			t.mu.Unlock()
			return
		}
		t.mu.Lock()
		finished := t.handle(tid, ws)
		t.mu.Unlock()
		if finished {
			return
		}
	}
}

// start starts stage 2 of the sensor and attaches to it.
//
// Usually the child asks to be traced (PTRACE_TRACEME) before it executes
// stage 2. The kernel then records the child's own credentials as the
// tracer's (ptracer_cred), and since it has no CAP_SYS_PTRACE, set-user-ID
// and file-capability programs executed later lose their privileges. In
// ModePtrace, when the sensor holds CAP_SYS_PTRACE, the sensor instead
// attaches with PTRACE_SEIZE while stage 2 waits on a pipe, so those
// programs keep working as they would untraced.
func (t *Tracer) start() error {
	opts := ptraceOptions
	if t.cfg.Mode == ModeSeccomp {
		opts |= unix.PTRACE_O_TRACESECCOMP
	}
	seize := t.cfg.Mode == ModePtrace && hasCapSysPtrace()
	attr := &os.ProcAttr{
		Dir:   t.cfg.Dir,
		Env:   t.cfg.Env,
		Files: []*os.File{t.cfg.Stdin, t.cfg.Stdout, t.cfg.Stderr},
		Sys:   &syscall.SysProcAttr{Ptrace: !seize, Credential: t.cfg.Credential},
	}
	mode := string(t.cfg.Mode)
	var goAhead *os.File
	if seize {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer w.Close()
		attr.Files = append(attr.Files, r)
		goAhead = w
		mode += stage2Wait
	}
	args := append([]string{stage2Arg0, mode, "--"}, t.cfg.Argv...)
	p, err := os.StartProcess(t.cfg.Self, args, attr)
	if err != nil {
		if errors.Is(err, syscall.EPERM) {
			err = fmt.Errorf("%w (ptrace refused: a seccomp profile without ptrace, kernel < 4.8 under Docker's default profile, or Yama ptrace_scope >= 2)", err)
		}
		return err
	}
	t.pid = p.Pid
	if seize {
		_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(t.pid), 0, uintptr(opts), 0, 0)
		if e != 0 {
			p.Kill()
			return fmt.Errorf("PTRACE_SEIZE: %w", e)
		}
		if _, err := goAhead.Write([]byte{1}); err != nil {
			p.Kill()
			return fmt.Errorf("releasing stage 2: %w", err)
		}
	} else {
		var ws unix.WaitStatus
		if _, err := wait4(t.pid, &ws); err != nil || !ws.Stopped() {
			p.Kill()
			return fmt.Errorf("no initial stop (%v, status %#x)", err, ws)
		}
		if err := unix.PtraceSetOptions(t.pid, opts); err != nil {
			p.Kill()
			return fmt.Errorf("setting ptrace options: %w", err)
		}
	}
	cwd := t.cfg.Dir
	if cwd == "" {
		cwd, _ = os.Getwd()
	}
	root := &proc{pid: t.pid, ppid: os.Getpid(), cwd: cwd, fds: map[int]string{}}
	th := &thread{tid: t.pid, proc: root, started: true}
	t.threads[t.pid] = th
	if !seize {
		t.resume(th, 0) // a seized stage 2 was never stopped
	}
	return nil
}

func wait4(pid int, ws *unix.WaitStatus) (int, error) {
	for {
		wpid, err := unix.Wait4(pid, ws, unix.WALL, nil)
		if err != unix.EINTR {
			return wpid, err
		}
	}
}

// resume restarts a stopped thread, asking for a syscall-exit stop when a
// call is pending (always in ModePtrace).
func (t *Tracer) resume(th *thread, sig int) {
	if t.cfg.Mode == ModePtrace || th.pending != nil {
		unix.PtraceSyscall(th.tid, sig)
	} else {
		unix.PtraceCont(th.tid, sig)
	}
}

// handle processes one wait status and reports whether the program exited.
func (t *Tracer) handle(tid int, ws unix.WaitStatus) bool {
	th := t.threads[tid]
	switch {
	case ws.Exited() || ws.Signaled():
		delete(t.threads, tid)
		if tid != t.pid {
			return false
		}
		t.complete = true
		if ws.Exited() {
			t.exitCode = ws.ExitStatus()
		} else {
			t.exitCode = 128 + int(ws.Signal())
			t.signal = unix.SignalName(ws.Signal())
		}
		return true
	case !ws.Stopped():
		return false
	}
	sig := ws.StopSignal()
	ev := int(ws>>16) & 0xff // PTRACE_EVENT_* in the status' third byte
	if th == nil {
		// A new thread or child reported before its parent's event. Its
		// first stop is SIGSTOP, or PTRACE_EVENT_STOP under PTRACE_SEIZE.
		th = &thread{tid: tid, held: true, started: sig == unix.SIGSTOP || ev == unix.PTRACE_EVENT_STOP}
		t.threads[tid] = th
		return false
	}
	switch {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(th)
		t.resume(th, 0)
	case ev == unix.PTRACE_EVENT_STOP:
		// First stop of a seized thread, or a group-stop (not kept: we
		// do not PTRACE_LISTEN).
		th.started = true
		t.resume(th, 0)
	case sig == unix.SIGTRAP && ev != 0:
		t.event(th, ev)
	case sig == unix.SIGSTOP && !th.started:
		th.started = true
		t.resume(th, 0)
	default:
		if isStopSignal(sig) {
			var si unix.Siginfo
			if err := ptraceGetSiginfo(tid, &si); err == unix.EINVAL {
				// Group-stop: let it continue (we do not PTRACE_LISTEN).
				t.resume(th, 0)
				return false
			}
		}
		t.resume(th, int(sig))
	}
	return false
}

func isStopSignal(s syscall.Signal) bool {
	return s == unix.SIGSTOP || s == unix.SIGTSTP || s == unix.SIGTTIN || s == unix.SIGTTOU
}

func ptraceGetSiginfo(tid int, si *unix.Siginfo) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(si)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (t *Tracer) event(th *thread, ev int) {
	switch ev {
	case unix.PTRACE_EVENT_SECCOMP:
		t.syscallStop(th)
	case unix.PTRACE_EVENT_EXEC:
		t.execEvent(th)
		th = t.threads[th.tid]
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
		msg, err := unix.PtraceGetEventMsg(th.tid)
		if err == nil && th.proc != nil {
			t.newThread(th, int(msg), ev)
		}
	}
	t.resume(th, 0)
}

func (t *Tracer) newThread(parent *thread, tid, ev int) {
	pp := parent.proc
	p := pp
	if ev != unix.PTRACE_EVENT_CLONE || tgidOf(tid) != pp.pid {
		p = &proc{pid: tid, ppid: pp.pid, exe: pp.exe, armed: pp.armed, cwd: pp.cwd,
			fds: make(map[int]string, len(pp.fds))}
		for fd, path := range pp.fds {
			p.fds[fd] = path
		}
	}
	th := t.threads[tid]
	if th == nil {
		t.threads[tid] = &thread{tid: tid, proc: p}
		return
	}
	th.proc = p
	if th.held {
		th.held = false
		t.resume(th, 0)
	}
}

// tgidOf reads the thread group id of tid from /proc; 0 if unknown.
func tgidOf(tid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// execEvent records a successful exec. The thread that called it now has
// the process id as its thread id.
func (t *Tracer) execEvent(th *thread) {
	if msg, err := unix.PtraceGetEventMsg(th.tid); err == nil && int(msg) != th.tid {
		if old := t.threads[int(msg)]; old != nil {
			delete(t.threads, int(msg))
			old.tid = th.tid
			old.started = true
			t.threads[th.tid] = old
			th = old
		}
	}
	p, c := th.proc, th.pending
	th.pending = nil
	if p == nil {
		return
	}
	if !p.armed && t.isSelf(th.tid) {
		// The exec of stage 2 itself, seen when attached by PTRACE_SEIZE.
		return
	}
	path := ""
	var argv []string
	if c != nil && len(c.paths) > 0 {
		path, argv = c.paths[0], c.argv
	} else {
		// The exec's arguments were unreadable at entry (the caller had
		// changed its credentials, so was not dumpable): read them from
		// the new program's initial stack.
		path, argv = t.execFromStack(th)
	}
	if path != "" {
		t.add(th, OpExec, path, false, true, "")
	}
	exe, err := t.readlink(th.tid, "exe")
	if err != nil || exe == "" {
		exe = path
	}
	if path == "" {
		path = exe
	}
	t.execs = append(t.execs, Exec{PID: p.pid, PPID: p.ppid, Path: path, Argv: argv, OK: true})
	if exe != "" && exe != path {
		// A script's interpreter, or the target of a symbolic link.
		t.add(th, OpExec, exe, false, true, "")
	}
	p.exe = exe
	p.armed = true
	// The kernel mapped the program and its ELF interpreter (ld.so)
	// without a system call to see.
	for _, f := range t.mappedFiles(th.tid) {
		if f != exe {
			t.add(th, OpMmap, f, false, true, "")
		}
	}
}

// isSelf reports whether tid runs the sensor binary (stage 2).
func (t *Tracer) isSelf(tid int) bool {
	self, err := os.Stat(t.cfg.Self)
	if err != nil {
		return false
	}
	exe, err := os.Stat("/proc/" + strconv.Itoa(tid) + "/exe")
	return err == nil && os.SameFile(self, exe)
}

// mappedFiles lists the files mapped into tid's memory, in address order.
func (t *Tracer) mappedFiles(tid int) []string {
	data, err := t.readProcFile(tid, "maps")
	if err != nil {
		return nil
	}
	var files []string
	for _, line := range strings.Split(string(data), "\n") {
		// address perms offset dev inode pathname
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[5], "/") || f[4] == "0" {
			continue
		}
		path := strings.Join(f[5:], " ")
		if !slices.Contains(files, path) {
			files = append(files, path)
		}
	}
	return files
}

// execFromStack reads argv and AT_EXECFN from the initial stack of a process
// stopped at PTRACE_EVENT_EXEC: argc, argv..., 0, envp..., 0, auxv pairs.
func (t *Tracer) execFromStack(th *thread) (string, []string) {
	var info syscallInfo
	if getSyscallInfo(th.tid, &info) != nil || info.SP == 0 {
		return "", nil
	}
	sp := info.SP
	argc, err := t.mem.readU64(th.tid, sp)
	if err != nil || argc > maxArgs {
		return "", nil
	}
	argv, _ := t.mem.readArgv(th.tid, sp+ptrSize)
	envp, ok := t.mem.readWords(th.tid, sp+ptrSize*(argc+2), 1<<16)
	if !ok {
		return "", argv
	}
	auxv := sp + ptrSize*(argc+2) + ptrSize*uint64(len(envp)+1)
	for i := uint64(0); i < 64; i++ {
		typ, err := t.mem.readU64(th.tid, auxv+16*i)
		if err != nil || typ == 0 {
			break
		}
		if typ != atExecFn {
			continue
		}
		val, err := t.mem.readU64(th.tid, auxv+16*i+8)
		if err != nil {
			break
		}
		if fn, err := t.mem.readString(th.tid, val, maxPath); err == nil && fn != "" {
			return t.resolve(th, unix.AT_FDCWD, fn), argv
		}
		break
	}
	return "", argv
}

// syscallStop handles a syscall-entry, syscall-exit or seccomp stop.
func (t *Tracer) syscallStop(th *thread) {
	var info syscallInfo
	if th.proc == nil || getSyscallInfo(th.tid, &info) != nil {
		return
	}
	switch info.Op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY, unix.PTRACE_SYSCALL_INFO_SECCOMP:
		th.pending = nil
		if info.Arch == auditArch && info.Nr < maxNr {
			t.entry(th, &info)
		}
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		if c := th.pending; c != nil {
			th.pending = nil
			t.exit(th, c, &info)
		}
	}
}

func (t *Tracer) entry(th *thread, info *syscallInfo) {
	sp := specByNr[info.Nr]
	if !th.proc.armed {
		// Stage 2 of the sensor itself: only its exec of the program counts.
		if sp == nil || sp.op != OpExec {
			return
		}
	}
	t.seen[info.Nr] = true
	if sp == nil {
		return
	}
	a := &info.Args
	c := &call{spec: sp, write: sp.write}
	switch {
	case sp.flags >= 0:
		c.write = c.write || openWrites(a[sp.flags])
	case sp.openHow:
		if flags, err := t.mem.readU64(th.tid, a[2]); err == nil {
			c.write = openWrites(flags)
		}
	}
	switch {
	case sp.mmap:
		fd := int32(a[sp.fd])
		if a[3]&unix.MAP_ANONYMOUS != 0 || fd < 0 {
			return
		}
		if p := t.fdPath(th, int(fd)); strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "/memfd:") {
			c.addPath(p, false)
		}
	case sp.fd >= 0:
		// Not pipes, sockets or anonymous inodes ("pipe:[1234]").
		if p := t.fdPath(th, int(int32(a[sp.fd]))); strings.HasPrefix(p, "/") {
			c.addPath(p, false)
		}
	case sp.sock:
		if p := t.unixSocketPath(th, a[1], a[2]); p != "" {
			c.addPath(p, false)
		}
	}
	for _, pa := range sp.paths {
		s, err := t.mem.readString(th.tid, a[pa.path], maxPath)
		if err != nil {
			continue
		}
		dirfd := unix.AT_FDCWD
		if pa.dirfd >= 0 {
			dirfd = int(int32(a[pa.dirfd]))
		}
		if s == "" {
			// With AT_EMPTY_PATH the call acts on dirfd itself: record
			// it for fexecve and changes; fstat and the like add nothing.
			if sp.atFlags < 0 || a[sp.atFlags]&unix.AT_EMPTY_PATH == 0 || !(sp.op == OpExec || sp.write) {
				continue
			}
			if p := t.fdPath(th, dirfd); strings.HasPrefix(p, "/") {
				c.addPath(p, pa.write)
			}
			continue
		}
		c.addPath(t.resolve(th, dirfd, s), pa.write)
	}
	if len(c.paths) == 0 {
		return
	}
	if sp.argv >= 0 {
		c.argv, _ = t.mem.readArgv(th.tid, a[sp.argv])
	}
	th.pending = c
}

// unixSocketPath returns the resolved path of an AF_UNIX sockaddr of len
// bytes at addr; "" for other families and abstract sockets.
func (t *Tracer) unixSocketPath(th *thread, addr, length uint64) string {
	const sunPath = 2 // offsetof(struct sockaddr_un, sun_path)
	if addr == 0 || length <= sunPath+1 || length > 110 {
		return ""
	}
	var b [110]byte
	n, _ := t.mem.read(th.tid, addr, b[:length])
	if n <= sunPath+1 || binary.NativeEndian.Uint16(b[:]) != unix.AF_UNIX || b[sunPath] == 0 {
		return ""
	}
	name := b[sunPath:n]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return t.resolve(th, unix.AT_FDCWD, string(name))
}

// Kernel-internal errnos of a system call interrupted by a signal
// (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ENOIOCTLCMD,
// ERESTART_RESTARTBLOCK: 512-516), seen only by tracers.
const (
	erestartFirst = 512
	erestartLast  = 516
)

func openWrites(flags uint64) bool {
	return flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC) != 0
}

func (t *Tracer) exit(th *thread, c *call, info *syscallInfo) {
	ok, errno := true, ""
	if info.isError() && -info.rval() >= erestartFirst && -info.rval() <= erestartLast {
		// Interrupted by a signal, to be restarted: the call enters again.
		return
	}
	if info.isError() {
		ok = false
		errno = unix.ErrnoName(syscall.Errno(-info.rval()))
		if errno == "" {
			errno = "errno_" + strconv.FormatInt(-info.rval(), 10)
		}
	}
	p := th.proc
	for i, path := range c.paths {
		t.add(th, c.spec.op, path, c.write || c.writes[i], ok, errno)
	}
	switch {
	case !ok && c.spec.op == OpExec:
		t.execs = append(t.execs, Exec{PID: p.pid, PPID: p.ppid, Path: c.paths[0], Argv: c.argv, Errno: errno})
	case ok && c.spec.op == OpOpen:
		p.fds[int(info.rval())] = c.paths[0]
	case ok && c.spec.op == OpChdir:
		p.cwd = c.paths[0]
	}
}

// add records one access, deduplicated.
func (t *Tracer) add(th *thread, op, path string, write, ok bool, errno string) {
	p := th.proc
	k := accessKey{Path: path, Op: op, Write: write, OK: ok, Exe: p.exe}
	if f := t.files[k]; f != nil {
		f.Count++
		return
	}
	t.files[k] = &FileAccess{Path: path, Op: op, Write: write, OK: ok, Errno: errno,
		PID: p.pid, Exe: p.exe, Count: 1}
}

// resolve makes path absolute against dirfd (or the cwd) of thread th.
// When the base cannot be found the path is returned as it is, relative.
func (t *Tracer) resolve(th *thread, dirfd int, path string) string {
	if strings.HasPrefix(path, "/") {
		return filepath.Clean(path)
	}
	var base string
	if dirfd == unix.AT_FDCWD {
		base = t.cwd(th)
	} else {
		base = t.fdPath(th, dirfd)
	}
	if !strings.HasPrefix(base, "/") {
		return path
	}
	return filepath.Join(base, path)
}

func (t *Tracer) cwd(th *thread) string {
	if p, err := t.readlink(th.tid, "cwd"); err == nil {
		th.proc.cwd = p
		return p
	}
	return th.proc.cwd
}

func (t *Tracer) fdPath(th *thread, fd int) string {
	if fd < 0 {
		return ""
	}
	if p, err := t.readlink(th.tid, "fd/"+strconv.Itoa(fd)); err == nil {
		return p
	}
	return th.proc.fds[fd]
}
