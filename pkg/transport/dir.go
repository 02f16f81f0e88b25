package transport

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// DefaultPath is the PATH of images read from dir: references.
const DefaultPath = "PATH=" + imagecfg.DefaultPath

// readDir returns a single-layer image of the directory tree at root. The
// layer is a tar streamed from the directory each time it is read; nothing
// is read before the first use. See WalkDir for what the tar holds.
func readDir(root string) (v1.Image, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	epoch, err := tarlayer.DefaultEpoch()
	if err != nil {
		return nil, err
	}
	l := &dirLayer{root: root, epoch: epoch}
	return tarlayer.NewImage(l, tarlayer.ImageConfig{
		OS:           "linux",
		Architecture: runtime.GOARCH,
		Variant:      DefaultPlatform().Variant,
		Config:       v1.Config{Env: []string{DefaultPath}},
		CreatedBy:    "pare dir:" + root,
	}, tarlayer.WithEpoch(epoch))
}

// WalkDir lists the tree at root as layer items, in tar order: entries are
// read with Lstat (symlinks are never followed), the walk stays on root's
// filesystem (a mount point is listed as an empty directory), sockets are
// skipped, files keep uid, gid, mode, mtime and their security.capability
// and user.* xattrs, and hard-linked files share a HardlinkID. Items' Open
// refuses to follow a symlink swapped in after the walk, and pads or cuts
// content to the size seen by the walk, as GNU tar does for files changing
// while read.
func WalkDir(root string) ([]tarlayer.Item, error) {
	var rootDev uint64
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		rootDev = uint64(s.Dev)
	}
	type inode struct{ dev, ino uint64 }
	links := map[inode]uint64{}
	var items []tarlayer.Item
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s, _ := fi.Sys().(*syscall.Stat_t)
		e := rootfs.Entry{
			Path:    "/" + filepath.ToSlash(rel),
			Mode:    fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			ModTime: fi.ModTime(),
		}
		if s != nil {
			e.UID, e.GID = int(s.Uid), int(s.Gid)
		}
		skipDir := false
		switch t := fi.Mode().Type(); {
		case t == 0:
			e.Type = rootfs.TypeReg
			e.Size = fi.Size()
			if s != nil && s.Nlink > 1 {
				k := inode{uint64(s.Dev), uint64(s.Ino)}
				if links[k] == 0 {
					links[k] = uint64(len(links) + 1)
				}
				e.HardlinkID = links[k]
			}
		case t == fs.ModeDir:
			e.Type = rootfs.TypeDir
			if s != nil && uint64(s.Dev) != rootDev {
				skipDir = true // a mount point: keep the directory, not its contents
			}
		case t == fs.ModeSymlink:
			e.Type = rootfs.TypeSymlink
			if e.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
		case t == fs.ModeDevice|fs.ModeCharDevice:
			e.Type = rootfs.TypeChar
		case t == fs.ModeDevice:
			e.Type = rootfs.TypeBlock
		case t == fs.ModeNamedPipe:
			e.Type = rootfs.TypeFIFO
		default:
			return nil // sockets and anything else a tar cannot hold
		}
		if (e.Type == rootfs.TypeChar || e.Type == rootfs.TypeBlock) && s != nil {
			e.Devmajor = int64(unix.Major(uint64(s.Rdev)))
			e.Devminor = int64(unix.Minor(uint64(s.Rdev)))
		}
		if e.Type != rootfs.TypeSymlink {
			e.Xattrs = xattrs(p)
		}
		it := tarlayer.Item{Entry: e}
		if e.Type == rootfs.TypeReg {
			size := e.Size
			it.Open = func() (io.ReadCloser, error) {
				f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
				if err != nil {
					return nil, err
				}
				return &exactReader{r: io.LimitReader(f, size), f: f, left: size}, nil
			}
		}
		items = append(items, it)
		if skipDir {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// xattrs returns the xattrs a layer keeps: security.capability and user.*.
func xattrs(p string) map[string]string {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz <= 0 {
		return nil
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	var out map[string]string
	for _, k := range strings.Split(string(buf[:sz]), "\x00") {
		if k != "security.capability" && !strings.HasPrefix(k, "user.") {
			continue
		}
		vsz, err := unix.Lgetxattr(p, k, nil)
		if err != nil || vsz < 0 {
			continue
		}
		v := make([]byte, vsz)
		vsz, err = unix.Lgetxattr(p, k, v)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = string(v[:vsz])
	}
	return out
}

// exactReader returns exactly the size seen by the walk: content past it is
// cut, missing content is zero-filled.
type exactReader struct {
	r    io.Reader
	f    *os.File
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	if err == io.EOF && n == 0 {
		// The file shrank: pad with zeros.
		clear(p)
		n, err = len(p), nil
	}
	e.left -= int64(n)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

func (e *exactReader) Close() error { return e.f.Close() }

// dirLayer is a layer streamed from a directory. Digest, DiffID and Size
// are computed together in one pass on first use.
type dirLayer struct {
	root  string
	epoch time.Time

	once   sync.Once
	err    error
	digest v1.Hash
	diffID v1.Hash
	size   int64
}

var _ v1.Layer = (*dirLayer)(nil)

func (l *dirLayer) writeTar(w io.Writer) error {
	items, err := WalkDir(l.root)
	if err != nil {
		return fmt.Errorf("walking %s: %w", l.root, err)
	}
	if err := tarlayer.WriteTar(w, items, tarlayer.WithModTimes(), tarlayer.WithEpoch(l.epoch)); err != nil {
		return fmt.Errorf("dir:%s: %w", l.root, err)
	}
	return nil
}

func (l *dirLayer) compute() error {
	l.once.Do(func() {
		diff := sha256.New()
		dig := sha256.New()
		cw := &countWriter{w: dig}
		zw, err := gzip.NewWriterLevel(cw, gzip.BestSpeed)
		if err != nil {
			l.err = err
			return
		}
		if err := l.writeTar(io.MultiWriter(diff, zw)); err != nil {
			l.err = err
			return
		}
		if err := zw.Close(); err != nil {
			l.err = err
			return
		}
		l.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))}
		l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(dig.Sum(nil))}
		l.size = cw.n
	})
	return l.err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Digest returns the sha256 of the gzip-compressed tar.
func (l *dirLayer) Digest() (v1.Hash, error) {
	if err := l.compute(); err != nil {
		return v1.Hash{}, err
	}
	return l.digest, nil
}

// DiffID returns the sha256 of the tar.
func (l *dirLayer) DiffID() (v1.Hash, error) {
	if err := l.compute(); err != nil {
		return v1.Hash{}, err
	}
	return l.diffID, nil
}

// Size returns the size of the compressed tar.
func (l *dirLayer) Size() (int64, error) {
	if err := l.compute(); err != nil {
		return 0, err
	}
	return l.size, nil
}

// MediaType returns the OCI gzip layer type.
func (l *dirLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// Uncompressed streams the tar of the directory.
func (l *dirLayer) Uncompressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(l.writeTar(pw)) }()
	return pr, nil
}

// Compressed streams the gzip-compressed tar of the directory.
func (l *dirLayer) Compressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		zw, err := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		if err == nil {
			err = l.writeTar(zw)
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
