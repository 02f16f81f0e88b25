//go:build linux

package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// FromDir returns a view of the host directory root treated as an image root
// filesystem (the host's own "/" is a valid, fat, image). Every lookup opens
// the path relative to a descriptor of root with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so no host path outside root
// is ever reached, even if the tree changes meanwhile.
//
// Like tar --one-file-system, the view stays on root's filesystem: a
// directory that is a mount point of another filesystem (proc, sysfs, a
// tmpfs) appears as an empty directory, and a non-directory mounted from
// another filesystem (a bind-mounted file) is omitted.
func FromDir(root string, opts ...Option) (*View, error) {
	if _, err := makeOptions(opts); err != nil {
		return nil, err
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening root %q: %w", root, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat root %q: %w", root, err)
	}
	return &View{b: &dirBackend{fd: fd, dev: st.Dev}}, nil
}

// dirBackend reads a host directory. It is safe for concurrent use.
type dirBackend struct {
	fd        int    // O_PATH descriptor of the root
	dev       uint64 // device of the root: the view stays on it
	noOpenat2 atomic.Bool
}

const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openPath opens the physical path p (no symlink components; a final symlink
// is opened itself with O_PATH) below the root, never leaving it or its
// filesystem. Crossing a mount gives EXDEV.
func (d *dirBackend) openPath(p string, flags int) (int, error) {
	rel := strings.Trim(p, "/")
	if rel == "" {
		rel = "."
	}
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !d.noOpenat2.Load() {
		for range 16 {
			fd, err := unix.Openat2(d.fd, rel, &unix.OpenHow{Flags: uint64(flags), Resolve: resolveFlags})
			switch err {
			case unix.EAGAIN, unix.EINTR:
				continue // a concurrent rename; try again
			case unix.ENOSYS:
				d.noOpenat2.Store(true)
				return d.openWalk(rel, flags)
			}
			return fd, err
		}
		return -1, unix.EAGAIN
	}
	return d.openWalk(rel, flags)
}

// openWalk is the fallback without openat2: one component at a time with
// O_NOFOLLOW, checking the device of each.
func (d *dirBackend) openWalk(rel string, flags int) (int, error) {
	cur, err := unix.Openat(d.fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(rel, "/")
	for i, c := range parts {
		if c == "." && len(parts) == 1 {
			break
		}
		if c == "" || c == "." || c == ".." {
			unix.Close(cur)
			return -1, unix.EINVAL
		}
		fl := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			fl = flags
		}
		next, err := unix.Openat(cur, c, fl, 0)
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			return -1, err
		}
		if st.Dev != d.dev {
			unix.Close(next)
			return -1, unix.EXDEV
		}
		cur = next
	}
	if len(parts) == 1 && parts[0] == "." {
		unix.Close(cur)
		return unix.Openat(d.fd, ".", flags, 0)
	}
	return cur, nil
}

func errnoErr(err error) error {
	switch err {
	case unix.ENOENT:
		return ErrNotExist
	case unix.ENOTDIR:
		return ErrNotDir
	case unix.ELOOP:
		return fmt.Errorf("a path component is a symlink: %w", err)
	}
	return err
}

func (d *dirBackend) lookup(p string) (*Entry, error) {
	fd, err := d.openPath(p, unix.O_PATH)
	if err == unix.EXDEV {
		return d.mountPoint(p)
	}
	if err != nil {
		return nil, errnoErr(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	e := statEntry(p, &st)
	switch e.Type {
	case TypeSymlink:
		e.Linkname, err = readlinkat(fd, "")
		if err != nil {
			return nil, fmt.Errorf("readlink: %w", err)
		}
	case TypeReg:
		e.Xattrs = capXattr("/proc/self/fd/"+strconv.Itoa(fd), false)
	}
	return e, nil
}

// mountPoint handles a lookup of p that crossed onto another filesystem: if
// p itself is a directory mount point in the root's filesystem, it is an
// empty directory; anything else is absent.
func (d *dirBackend) mountPoint(p string) (*Entry, error) {
	if p == "/" {
		return nil, ErrNotExist
	}
	pfd, err := d.openPath(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, ErrNotExist
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, path.Base(p), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, ErrNotExist
	}
	return statEntry(p, &st), nil
}

func (d *dirBackend) readDir(p string) ([]*Entry, error) {
	fd, err := d.openPath(p, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == unix.EXDEV {
		return nil, nil // a mount point: shown empty
	}
	if err != nil {
		return nil, errnoErr(err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]*Entry, 0, len(names))
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT {
				continue // removed meanwhile
			}
			return nil, fmt.Errorf("stat %s: %w", name, err)
		}
		e := statEntry(path.Join(p, name), &st)
		if st.Dev != d.dev {
			if e.Type != TypeDir {
				continue
			}
		}
		switch e.Type {
		case TypeSymlink:
			if e.Linkname, err = readlinkat(fd, name); err != nil {
				return nil, fmt.Errorf("readlink %s: %w", e.Path, err)
			}
		case TypeReg:
			e.Xattrs = capXattr("/proc/self/fd/"+strconv.Itoa(fd)+"/"+name, true)
		}
		out = append(out, e)
	}
	return out, nil
}

func (d *dirBackend) open(e *Entry) (File, error) {
	fd, err := d.openPath(e.Path, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, errnoErr(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, errors.New("not a regular file")
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &dirFile{File: os.NewFile(uintptr(fd), e.Path), size: st.Size}, nil
}

// devIno returns the device and inode of p, for Export's self check.
func (d *dirBackend) devIno(p string) (uint64, uint64, error) {
	fd, err := d.openPath(p, unix.O_PATH)
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, 0, err
	}
	return st.Dev, st.Ino, nil
}

func (d *dirBackend) close() error {
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// dirFile is an open host file of a dirBackend.
type dirFile struct {
	*os.File
	size int64
}

func (f *dirFile) Size() int64                         { return f.size }
func (f *dirFile) fileRange() (*os.File, int64, int64) { return f.File, 0, f.size }

func statEntry(p string, st *unix.Stat_t) *Entry {
	e := &Entry{
		Path:    p,
		Mode:    fs.FileMode(st.Mode & 0o777),
		UID:     int(st.Uid),
		GID:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC(),
	}
	if st.Mode&unix.S_ISUID != 0 {
		e.Mode |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		e.Mode |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		e.Mode |= fs.ModeSticky
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Type = TypeReg
		e.Size = st.Size
		if st.Nlink > 1 {
			e.HardlinkID = st.Ino
		}
	case unix.S_IFDIR:
		e.Type = TypeDir
	case unix.S_IFLNK:
		e.Type = TypeSymlink
	case unix.S_IFCHR:
		e.Type = TypeChar
		e.Devmajor, e.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		e.Type = TypeBlock
		e.Devmajor, e.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		e.Type = TypeFIFO
	case unix.S_IFSOCK:
		e.Type = TypeSocket
	}
	return e
}

func readlinkat(fd int, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}

// capXattr reads security.capability of the file at the /proc/self/fd path
// p; noFollow means the final component is a plain name to not follow.
func capXattr(p string, noFollow bool) map[string]string {
	const name = "security.capability"
	buf := make([]byte, 64)
	var n int
	var err error
	if noFollow {
		n, err = unix.Lgetxattr(p, name, buf)
	} else {
		n, err = unix.Getxattr(p, name, buf)
	}
	if err != nil || n <= 0 {
		return nil
	}
	return map[string]string{name: string(buf[:n])}
}
