//go:build linux

package rootfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Export writes the filesystem of v into the new directory dir. The tree is
// built under a temporary name next to dir and renamed into place at the end,
// so an error leaves nothing behind; dir must not exist or be an empty
// directory. Every file is created relative to a directory descriptor Export
// itself created, with O_NOFOLLOW|O_EXCL, so nothing is ever written through
// a symlink. Symlinks are written verbatim, hardlinks recreated, modes
// (setuid/setgid/sticky included), ownership, mtimes and xattrs applied
// (xattrs best effort). Device nodes, FIFOs and sockets are skipped with a
// warning.
func Export(ctx context.Context, v *View, dir string, opts ...ExportOption) (ExportStats, error) {
	o := makeExportOptions(opts)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ExportStats{}, fmt.Errorf("export dir %q: %w", dir, err)
	}
	parent, base := filepath.Split(abs)
	if base == "" {
		return ExportStats{}, fmt.Errorf("export dir %q: cannot replace the root", dir)
	}
	replace := false
	if fi, err := os.Lstat(abs); err == nil {
		if !fi.IsDir() {
			return ExportStats{}, fmt.Errorf("export dir %q exists and is not a directory", dir)
		}
		ents, err := os.ReadDir(abs)
		if err != nil {
			return ExportStats{}, fmt.Errorf("export dir %q: %w", dir, err)
		}
		if len(ents) > 0 {
			return ExportStats{}, fmt.Errorf("export dir %q exists and is not empty", dir)
		}
		replace = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return ExportStats{}, fmt.Errorf("export dir %q: %w", dir, err)
	}
	root, err := v.b.lookup("/")
	if err != nil {
		return ExportStats{}, fmt.Errorf("reading the root of the view: %w", err)
	}

	pfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ExportStats{}, fmt.Errorf("opening %q: %w", parent, err)
	}
	defer unix.Close(pfd)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := "." + base + ".pare-" + hex.EncodeToString(rnd[:])
	if err := unix.Mkdirat(pfd, tmp, 0o700); err != nil {
		return ExportStats{}, fmt.Errorf("creating %q: %w", filepath.Join(parent, tmp), err)
	}
	x := &exporter{ctx: ctx, v: v, o: o, links: map[uint64]string{}}
	err = x.export(pfd, tmp, root)
	if err == nil {
		if replace {
			err = unix.Renameat(pfd, tmp, pfd, base)
		} else {
			err = unix.Renameat2(pfd, tmp, pfd, base, unix.RENAME_NOREPLACE)
		}
		if err != nil {
			err = fmt.Errorf("renaming %q into place: %w", filepath.Join(parent, tmp), err)
		}
	}
	if err != nil {
		if rerr := removeAllAt(pfd, tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %q: %w", filepath.Join(parent, tmp), rerr))
		}
		return x.st, err
	}
	return x.st, nil
}

type exporter struct {
	ctx   context.Context
	v     *View
	o     exportOptions
	st    ExportStats
	top   int               // fd of the export root while writing
	links map[uint64]string // hardlink ID -> path of the first name written
	buf   []byte
	// self identifies the export root, so exporting a host directory into
	// itself does not recurse into the copy.
	selfDev, selfIno uint64
}

func (x *exporter) warnf(format string, args ...any) {
	x.st.Warnings = append(x.st.Warnings, fmt.Sprintf(format, args...))
}

func (x *exporter) export(pfd int, tmp string, root *Entry) error {
	fd, err := unix.Openat(pfd, tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %q: %w", tmp, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %q: %w", tmp, err)
	}
	x.top, x.selfDev, x.selfIno = fd, st.Dev, st.Ino
	return x.dir(fd, root)
}

// dir writes the children of e into the directory fd, then applies e's
// attributes to fd (after the content, so read-only modes and mtimes hold).
func (x *exporter) dir(fd int, e *Entry) error {
	kids, err := x.v.b.readDir(e.Path)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", e.Path, err)
	}
	for _, k := range kids {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		if err := x.child(fd, k); err != nil {
			return err
		}
	}
	x.st.Dirs++
	return x.attrs(fd, -1, "", e)
}

func (x *exporter) child(fd int, k *Entry) error {
	name := path.Base(k.Path)
	if name == "/" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("%s: invalid name", k.Path)
	}
	switch k.Type {
	case TypeDir:
		if x.isSelf(k) {
			x.warnf("%s: skipped the export directory itself", k.Path)
			return nil
		}
		if err := unix.Mkdirat(fd, name, 0o700); err != nil {
			return fmt.Errorf("creating directory %s: %w", k.Path, err)
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening directory %s: %w", k.Path, err)
		}
		err = x.dir(cfd, k)
		unix.Close(cfd)
		return err
	case TypeReg:
		if k.HardlinkID != 0 {
			if first, ok := x.links[k.HardlinkID]; ok {
				if err := x.link(fd, name, first); err == nil {
					x.st.Hardlinks++
					return nil
				} else {
					x.warnf("%s: could not link to %s (%v); writing a copy", k.Path, first, err)
				}
			}
		}
		if err := x.file(fd, name, k); err != nil {
			return err
		}
		if k.HardlinkID != 0 {
			if _, ok := x.links[k.HardlinkID]; !ok {
				x.links[k.HardlinkID] = k.Path
			}
		}
		x.st.Files++
		return nil
	case TypeSymlink:
		if k.Linkname == "" {
			x.st.Skipped++
			x.warnf("%s: skipped a symlink with an empty target", k.Path)
			return nil
		}
		if err := unix.Symlinkat(k.Linkname, fd, name); err != nil {
			return fmt.Errorf("creating symlink %s: %w", k.Path, err)
		}
		x.st.Symlinks++
		return x.attrs(fd, fd, name, k)
	default:
		x.st.Skipped++
		x.warnf("%s: skipped %s", k.Path, k.Type)
		return nil
	}
}

// isSelf reports whether directory entry k is the export directory itself,
// which happens when a host directory is exported into itself.
func (x *exporter) isSelf(k *Entry) bool {
	d, ok := x.v.b.(*dirBackend)
	if !ok {
		return false
	}
	dev, ino, err := d.devIno(k.Path)
	return err == nil && dev == x.selfDev && ino == x.selfIno
}

// link makes name in fd a hardlink to the file first already written.
func (x *exporter) link(fd int, name, first string) error {
	dir, base := path.Split(first)
	dfd := x.top
	if rel := strings.Trim(dir, "/"); rel != "" {
		var err error
		dfd, err = unix.Openat2(x.top, rel, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		})
		if err != nil {
			return err
		}
		defer unix.Close(dfd)
	}
	return unix.Linkat(dfd, base, fd, name, 0)
}

func (x *exporter) file(fd int, name string, e *Entry) error {
	src, err := x.v.b.open(e)
	if err != nil {
		return fmt.Errorf("opening %s: %w", e.Path, err)
	}
	defer src.Close()
	wfd, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", e.Path, err)
	}
	dst := os.NewFile(uintptr(wfd), e.Path)
	defer dst.Close()
	n, err := x.copy(dst, src)
	if err != nil {
		return fmt.Errorf("writing %s: %w", e.Path, err)
	}
	if n != e.Size {
		return fmt.Errorf("writing %s: copied %d bytes, want %d", e.Path, n, e.Size)
	}
	x.st.Bytes += n
	return x.attrs(wfd, -1, "", e)
}

// copy copies src to dst, in the kernel (copy_file_range) when src is a
// range of a host file.
func (x *exporter) copy(dst *os.File, src File) (int64, error) {
	if r, ok := src.(ranged); ok {
		f, off, size := r.fileRange()
		var done int64
		for done < size {
			o := off + done
			n, err := unix.CopyFileRange(int(f.Fd()), &o, int(dst.Fd()), nil, int(min(size-done, 1<<30)), 0)
			if err != nil {
				if done == 0 && (err == unix.EXDEV || err == unix.ENOSYS || err == unix.EINVAL || err == unix.EOPNOTSUPP) {
					break // fall back to reading
				}
				return done, err
			}
			if n == 0 {
				return done, io.ErrUnexpectedEOF
			}
			done += int64(n)
		}
		if done == size {
			return done, nil
		}
	}
	if x.buf == nil {
		x.buf = make([]byte, 1<<20)
	}
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, x.buf)
}

// attrs applies ownership, mode, xattrs and times of e. With lfd >= 0 it
// acts on the symlink name in directory lfd; otherwise on fd.
func (x *exporter) attrs(fd, lfd int, name string, e *Entry) error {
	if lfd >= 0 {
		if x.o.chown {
			if err := unix.Fchownat(lfd, name, e.UID, e.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown %s: %w", e.Path, err)
			}
		}
		ts := timespecs(e)
		if err := unix.UtimesNanoAt(lfd, name, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting times of %s: %w", e.Path, err)
		}
		return nil
	}
	if x.o.chown {
		if err := unix.Fchown(fd, e.UID, e.GID); err != nil {
			return fmt.Errorf("chown %s: %w", e.Path, err)
		}
	}
	// chmod after chown: chown clears setuid/setgid bits.
	if err := unix.Fchmod(fd, unixMode(e.Mode)); err != nil {
		return fmt.Errorf("chmod %s: %w", e.Path, err)
	}
	// xattrs after chown too: it drops security.capability.
	for _, k := range sortedKeys(e.Xattrs) {
		if err := unix.Fsetxattr(fd, k, []byte(e.Xattrs[k]), 0); err != nil {
			x.warnf("%s: xattr %s not set: %v", e.Path, k, err)
		}
	}
	ts := timespecs(e)
	if err := futimens(fd, &ts); err != nil {
		return fmt.Errorf("setting times of %s: %w", e.Path, err)
	}
	return nil
}

// futimens sets the times of the file open as fd (utimensat with a NULL path).
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func timespecs(e *Entry) [2]unix.Timespec {
	t := e.ModTime
	if t.IsZero() {
		t = epoch
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	return [2]unix.Timespec{ts, ts}
}

func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// removeAllAt removes name (a tree Export created) below dirfd, making
// directories writable first and never following symlinks.
func removeAllAt(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOTDIR || err == unix.ELOOP {
			return unix.Unlinkat(dirfd, name, 0)
		}
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	_ = unix.Fchmod(fd, 0o700)
	f := os.NewFile(uintptr(fd), name)
	names, err := f.Readdirnames(-1)
	if err != nil {
		f.Close()
		return err
	}
	var errs []error
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			errs = append(errs, removeAllAt(fd, n))
		} else if err := unix.Unlinkat(fd, n, 0); err != nil {
			errs = append(errs, err)
		}
	}
	f.Close()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}
