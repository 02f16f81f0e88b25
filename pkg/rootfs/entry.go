// Package rootfs presents the merged root filesystem of a container image as a
// read-only view. Every path is resolved inside the image root, like a chroot:
// absolute symlink targets are relative to the image root, ".." stops at the
// root, and nothing ever reads a host file outside the view.
package rootfs

import (
	"errors"
	"io"
	"io/fs"
	"time"
)

// Type is the kind of a filesystem entry.
type Type uint8

// Entry types.
const (
	TypeReg Type = iota + 1
	TypeDir
	TypeSymlink
	TypeChar
	TypeBlock
	TypeFIFO
	TypeSocket
)

func (t Type) String() string {
	switch t {
	case TypeReg:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeChar:
		return "char"
	case TypeBlock:
		return "block"
	case TypeFIFO:
		return "fifo"
	case TypeSocket:
		return "socket"
	}
	return "unknown"
}

// Entry describes one file of the merged view. Paths are absolute and clean
// ("/usr/bin/ls"; the root is "/"). The entries a View hands out are its
// own (one per file, shared by every lookup): they must not be modified.
type Entry struct {
	Path     string
	Type     Type
	Mode     fs.FileMode // permission bits plus fs.ModeSetuid, fs.ModeSetgid, fs.ModeSticky
	UID, GID int
	Size     int64  // content size of regular files, 0 otherwise
	Linkname string // symlink target, verbatim
	ModTime  time.Time
	// Xattrs holds extended attributes carried by the image (for example
	// "security.capability"), keyed by attribute name. Overlay xattrs are dropped.
	Xattrs   map[string]string
	Devmajor int64
	Devminor int64
	// HardlinkID is non-zero for regular files that share content with other
	// entries through hard links; entries with the same ID are one inode.
	HardlinkID uint64
}

// File is an open regular file of the view.
type File interface {
	io.Reader
	io.ReaderAt
	io.Closer
	// Size is the content length in bytes.
	Size() int64
}

// Errors returned by view operations. They are wrapped in *fs.PathError
// naming the image path.
var (
	ErrNotExist = fs.ErrNotExist
	ErrLoop     = errors.New("too many levels of symbolic links")
	ErrNotDir   = errors.New("not a directory")
	ErrIsDir    = errors.New("is a directory")
)

// MaxSymlinkHops is the number of symlinks followed while resolving one path,
// as in Linux (ELOOP after 40).
const MaxSymlinkHops = 40
