package sensor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// FormatVersion is the version of the observation file format written by
// this package. Readers reject files with a different version.
const FormatVersion = 1

// File names written into the --out directory.
const (
	// ObservationsFile is the file written for the traced main program.
	ObservationsFile = "observations.json"
	// ExecFilePrefix starts the file name written by `pare-sensor exec`
	// (exec-<pid>.json, pid of the sensor in its container).
	ExecFilePrefix = "exec-"
)

// Operations recorded in FileAccess.Op.
const (
	OpOpen     = "open"     // open, openat, openat2, creat
	OpStat     = "stat"     // stat, lstat, newfstatat, fstatat64, statx
	OpExec     = "exec"     // execve, execveat
	OpReadlink = "readlink" // readlink, readlinkat
	OpMmap     = "mmap"     // file mapped with mmap (path of the fd)
	OpChdir    = "chdir"    // chdir, fchdir
	OpMkdir    = "mkdir"    // mkdir, mkdirat
	OpUnlink   = "unlink"   // unlink, unlinkat, rmdir
	OpRename   = "rename"   // rename, renameat, renameat2 (source and target)
	OpAccess   = "access"   // access, faccessat, faccessat2
	OpLink     = "link"     // link, linkat: the new name is a write
	OpSymlink  = "symlink"  // symlink, symlinkat: the link created (a write)
	OpChmod    = "chmod"    // chmod, fchmod, fchmodat, fchmodat2 (writes)
	OpChown    = "chown"    // chown, lchown, fchown, fchownat (writes)
	OpUtime    = "utime"    // utime, utimes, utimensat, futimesat (writes)
	OpTruncate = "truncate" // truncate (a write)
	OpMknod    = "mknod"    // mknod, mknodat (writes)
	OpXattr    = "xattr"    // get/list (reads), set/remove (writes) xattr
	OpBind     = "bind"     // bind of a unix socket path (a write)
	OpConnect  = "connect"  // connect to a unix socket path
)

// Observations is everything the sensor saw while one command ran.
type Observations struct {
	// Version is FormatVersion.
	Version int `json:"version"`
	// Command is the argv the sensor started.
	Command []string `json:"command"`
	// Complete is false while the program still runs (periodic flush) and
	// true once it has exited and every event is recorded.
	Complete bool `json:"complete"`
	// ExitCode is the exit status of the program; 128+N when killed by
	// signal N; -1 when it could not be started or is still running.
	ExitCode int `json:"exitCode"`
	// Signal names the signal that killed the program ("SIGTERM"), if any.
	Signal string `json:"signal,omitempty"`
	// Error says why the program could not be started or traced, if so.
	Error string `json:"error,omitempty"`
	// Arch is the architecture whose syscall table named Syscalls ("amd64").
	Arch string `json:"arch"`
	// Files are the deduplicated path accesses, sorted by Path, Op, Write, OK, Exe.
	Files []FileAccess `json:"files"`
	// Execs are the execve/execveat calls in the order they were made.
	Execs []Exec `json:"execs"`
	// Syscalls are the sorted names of every system call seen (for a seccomp
	// profile). Unknown numbers appear as "syscall_N".
	Syscalls []string `json:"syscalls"`
	// UntracedSyscalls are the names the seccomp filter let through without
	// a stop (ModeSeccomp). They may or may not have been used: a seccomp
	// profile built from Syscalls should allow them too.
	UntracedSyscalls []string `json:"untracedSyscalls,omitempty"`
	// Mode is the tracing mechanism used ("seccomp" or "ptrace").
	Mode string `json:"mode"`
}

// FileAccess is one path touched by the traced programs. Accesses are
// deduplicated by (Path, Op, Write, OK, Exe); PID is the first process that
// made it and Count how many times it was made.
type FileAccess struct {
	// Path is absolute and lexically clean, resolved against the process cwd
	// or the dirfd at syscall entry; symlinks in it are not resolved. It is
	// left relative in the rare case that its base could not be found.
	Path string `json:"path"`
	// Op is one of the Op* constants.
	Op string `json:"op"`
	// Write is true for opens with O_WRONLY, O_RDWR, O_CREAT or O_TRUNC, creat,
	// mkdir, unlink, rename (source and target), and the other changes that
	// would fail on a read-only file system (see the Op* constants).
	Write bool `json:"write,omitempty"`
	// OK is true when the syscall succeeded.
	OK bool `json:"ok"`
	// Errno names the error when the syscall failed ("ENOENT").
	Errno string `json:"errno,omitempty"`
	// PID is the first process (thread group id) seen making the access.
	PID int `json:"pid"`
	// Exe is the path of the executable of that process.
	Exe string `json:"exe,omitempty"`
	// Count is how many times the access was seen.
	Count int `json:"count"`
}

// Exec is one execve or execveat call.
type Exec struct {
	PID  int `json:"pid"`
	PPID int `json:"ppid"`
	// Path is the absolute path of the program as resolved at entry.
	Path string   `json:"path"`
	Argv []string `json:"argv"`
	OK   bool     `json:"ok"`
	// Errno names the error when the exec failed.
	Errno string `json:"errno,omitempty"`
}

// accessKey is the deduplication key of a FileAccess.
type accessKey struct {
	Path, Op string
	Write    bool
	OK       bool
	Exe      string
}

// SortFiles sorts accesses in the canonical order of the file format.
func SortFiles(files []FileAccess) {
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		if a.Write != b.Write {
			return !a.Write
		}
		if a.OK != b.OK {
			return a.OK
		}
		return a.Exe < b.Exe
	})
}

// ReadObservations reads an observation file written by the sensor.
func ReadObservations(path string) (*Observations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading observations: %w", err)
	}
	var o Observations
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("parsing observations %s: %w", path, err)
	}
	if o.Version != FormatVersion {
		return nil, fmt.Errorf("observations %s: version %d, want %d", path, o.Version, FormatVersion)
	}
	return &o, nil
}

// WriteObservations writes o as JSON to path atomically: into a temporary
// file in the same directory, synced, then renamed over path.
func WriteObservations(path string, o *Observations) error {
	data, err := json.MarshalIndent(o, "", " ")
	if err != nil {
		return fmt.Errorf("encoding observations: %w", err)
	}
	data = append(data, '\n')
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing observations: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing observations %s: %w", path, err)
	}
	return nil
}
