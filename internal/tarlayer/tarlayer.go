// Package tarlayer writes one deterministic image layer from a list of
// filesystem entries, and wraps it in a minimal OCI image.
//
// The same items and options always give the same layer digest: entries are
// sorted, missing parent directories are added with fixed attributes, every
// mtime is the epoch, user and group names are empty and gzip settings are
// fixed. The layer is compressed in parallel (klauspost/pgzip) in blocks of
// a fixed size, so the output is the same on any number of cores. (The
// compressed digest depends on the versions of pgzip and klauspost/compress
// in go.mod; the DiffID does not.)
package tarlayer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Item is one entry of the layer. Open is called once, for the regular file
// that carries the content (for hard-linked groups, the first in sort order);
// it must return exactly Entry.Size bytes.
type Item struct {
	Entry rootfs.Entry
	Open  func() (io.ReadCloser, error)
}

// Ref is an Item whose entry is referenced, not copied: a view's own
// entry, only read, so the layout of an image of 200k kept files holds no
// second copy of their metadata (LayerOf, WriteTarOf).
type Ref struct {
	Entry *rootfs.Entry
	Open  func() (io.ReadCloser, error)
}

// Copies returns each Ref as an Item holding a copy of its entry.
func Copies(refs []Ref) []Item {
	out := make([]Item, len(refs))
	for i, r := range refs {
		out[i] = Item{Entry: *r.Entry, Open: r.Open}
	}
	return out
}

// refs returns a Ref to each item.
func refs(items []Item) []Ref {
	out := make([]Ref, len(items))
	for i := range items {
		out[i] = Ref{Entry: &items[i].Entry, Open: items[i].Open}
	}
	return out
}

// Option configures Layer, WriteTar and NewImage.
type Option func(*options) error

type options struct {
	epoch      time.Time
	epochSet   bool
	keepTimes  bool
	level      int
	tempDir    string
	addParents bool
	ctx        context.Context
	raw        bool
}

// WithEpoch sets the mtime of every entry and the image creation time.
// By default it is $SOURCE_DATE_EPOCH if set, else the Unix epoch.
func WithEpoch(t time.Time) Option {
	return func(o *options) error {
		o.epoch = t.UTC().Truncate(time.Second)
		o.epochSet = true
		return nil
	}
}

// WithModTimes keeps each entry's own ModTime (truncated to seconds) instead
// of the epoch. Added parent directories still get the epoch.
func WithModTimes() Option {
	return func(o *options) error {
		o.keepTimes = true
		return nil
	}
}

// WithCompressionLevel sets the gzip level of the layer (default
// gzip.BestSpeed, as go-containerregistry).
func WithCompressionLevel(level int) Option {
	return func(o *options) error {
		if level < -2 || level > 9 {
			return fmt.Errorf("invalid gzip level %d", level)
		}
		o.level = level
		return nil
	}
}

// WithoutCompression makes Layer store the tar as it is, as docker save
// does: its digest is its DiffID and its media type the OCI uncompressed
// layer's. For sinks that keep layers uncompressed anyway (a docker-archive,
// the Docker daemon), compressing would be work thrown away.
func WithoutCompression() Option {
	return func(o *options) error {
		o.raw = true
		return nil
	}
}

// WithTempDir sets the directory of the layer's temp file (default os.TempDir()).
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

// WithContext makes writing a layer stop with ctx's error once ctx is done
// (checked between entries).
func WithContext(ctx context.Context) Option {
	return func(o *options) error {
		o.ctx = ctx
		return nil
	}
}

// WithoutParents disables adding missing parent directories; a missing parent
// is then an error.
func WithoutParents() Option {
	return func(o *options) error {
		o.addParents = false
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{level: 1, addParents: true}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if !o.epochSet {
		t, err := DefaultEpoch()
		if err != nil {
			return nil, err
		}
		o.epoch = t
	}
	return o, nil
}

// DefaultEpoch returns the time given by $SOURCE_DATE_EPOCH (seconds since
// the Unix epoch), or the Unix epoch when it is unset or empty.
func DefaultEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// ComparePaths orders absolute slash paths component by component in byte
// order, so parents come before their children and every subtree is
// contiguous ("/a", "/a/b", "/a-b"). It returns -1, 0 or +1.
func ComparePaths(a, b string) int {
	for {
		if a == b {
			return 0
		}
		a = strings.TrimPrefix(a, "/")
		b = strings.TrimPrefix(b, "/")
		ai := strings.IndexByte(a, '/')
		bi := strings.IndexByte(b, '/')
		ah, bh := a, b
		if ai >= 0 {
			ah = a[:ai]
		}
		if bi >= 0 {
			bh = b[:bi]
		}
		if ah != bh {
			if ah < bh {
				return -1
			}
			return 1
		}
		if ai < 0 {
			return -1 // a ended: a is a parent of b
		}
		if bi < 0 {
			return 1
		}
		a, b = a[ai:], b[bi:]
	}
}

// ErrDuplicate is returned when two items have the same path.
var ErrDuplicate = errors.New("duplicate path")

// prepare validates and sorts the items and adds missing parents. It
// returns pointers into items (and to the added parents): an image of 200k
// files is not copied again.
func prepare(items []Ref, o *options) ([]*Ref, error) {
	byPath := make(map[string]int, len(items))
	out := make([]*Ref, 0, len(items)+8)
	for i := range items {
		it := &items[i]
		if it.Entry == nil {
			return nil, fmt.Errorf("item %d has no entry", i)
		}
		p := it.Entry.Path
		if p == "" || p[0] != '/' || path.Clean(p) != p {
			return nil, fmt.Errorf("invalid path %q: must be absolute and clean", p)
		}
		if p == "/" {
			if it.Entry.Type != rootfs.TypeDir {
				return nil, fmt.Errorf("invalid entry for /: type %s", it.Entry.Type)
			}
			continue // the root is never stored in a layer
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("%w %s", ErrDuplicate, p)
		}
		byPath[p] = len(out)
		out = append(out, it)
	}
	// Check and add parents.
	n := len(out)
	for i := 0; i < n; i++ {
		p := out[i].Entry.Path
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if j, ok := byPath[dir]; ok {
				if t := out[j].Entry.Type; t != rootfs.TypeDir {
					return nil, fmt.Errorf("parent %s of %s is a %s, not a dir", dir, p, t)
				}
				continue
			}
			if !o.addParents {
				return nil, fmt.Errorf("parent %s of %s is missing", dir, p)
			}
			byPath[dir] = len(out)
			out = append(out, &Ref{Entry: &rootfs.Entry{
				Path: dir, Type: rootfs.TypeDir, Mode: 0o755, ModTime: o.epoch,
			}})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return ComparePaths(out[i].Entry.Path, out[j].Entry.Path) < 0
	})
	return out, nil
}

// WriteTar writes the items as an uncompressed tar stream to w: sorted,
// parents added, mtimes set to the epoch (unless WithModTimes), hard-link
// groups stored once. It writes the tar footer; it does not close w.
func WriteTar(w io.Writer, items []Item, opts ...Option) error {
	return WriteTarOf(w, refs(items), opts...)
}

// WriteTarOf is WriteTar of entries by reference.
func WriteTarOf(w io.Writer, items []Ref, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	return writeTar(w, items, o)
}

func writeTar(w io.Writer, items []Ref, o *options) error {
	sorted, err := prepare(items, o)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	linkTarget := map[uint64]string{}
	buf := make([]byte, 256<<10)
	for i, it := range sorted {
		if i%256 == 0 && o.ctx != nil {
			if err := o.ctx.Err(); err != nil {
				return fmt.Errorf("stopped after %d of %d entries: %w", i, len(sorted), err)
			}
		}
		e := it.Entry
		hdr, err := header(e, o)
		if err != nil {
			return err
		}
		if e.Type == rootfs.TypeReg && e.HardlinkID != 0 {
			if target, ok := linkTarget[e.HardlinkID]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = target
				hdr.Size = 0
				if err := tw.WriteHeader(hdr); err != nil {
					return fmt.Errorf("writing header of %s: %w", e.Path, err)
				}
				continue
			}
			linkTarget[e.HardlinkID] = hdr.Name
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing header of %s: %w", e.Path, err)
		}
		if e.Type == rootfs.TypeReg && e.Size > 0 {
			if err := copyContent(tw, it, buf); err != nil {
				return fmt.Errorf("writing %s: %w", e.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing tar footer: %w", err)
	}
	return nil
}

// copyContent copies the content of it to w through buf (one buffer for
// the whole layer: io.Copy would allocate one per file).
func copyContent(w io.Writer, it *Ref, buf []byte) error {
	if it.Open == nil {
		return errors.New("no content opener for regular file")
	}
	rc, err := it.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(rc, it.Entry.Size), buf)
	if err == nil && n < it.Entry.Size {
		err = io.EOF
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("content is %d bytes, want %d", n, it.Entry.Size)
		}
		return err
	}
	var one [1]byte
	if m, _ := io.ReadFull(rc, one[:]); m > 0 {
		return fmt.Errorf("content is longer than %d bytes", it.Entry.Size)
	}
	return rc.Close()
}

func header(e *rootfs.Entry, o *options) (*tar.Header, error) {
	name := strings.TrimPrefix(e.Path, "/")
	mode := int64(e.Mode.Perm())
	if e.Mode&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if e.Mode&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if e.Mode&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	mtime := o.epoch
	if o.keepTimes && !e.ModTime.IsZero() {
		mtime = e.ModTime.UTC().Truncate(time.Second)
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    mode,
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: mtime,
	}
	switch e.Type {
	case rootfs.TypeReg:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = e.Size
		if e.Size < 0 {
			return nil, fmt.Errorf("%s: negative size %d", e.Path, e.Size)
		}
	case rootfs.TypeDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case rootfs.TypeSymlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = e.Linkname
		if e.Linkname == "" {
			return nil, fmt.Errorf("%s: symlink with empty target", e.Path)
		}
	case rootfs.TypeChar:
		hdr.Typeflag = tar.TypeChar
		hdr.Devmajor, hdr.Devminor = e.Devmajor, e.Devminor
	case rootfs.TypeBlock:
		hdr.Typeflag = tar.TypeBlock
		hdr.Devmajor, hdr.Devminor = e.Devmajor, e.Devminor
	case rootfs.TypeFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, fmt.Errorf("%s: cannot store a %s in a layer", e.Path, e.Type)
	}
	if len(e.Xattrs) > 0 {
		hdr.Format = tar.FormatPAX
		hdr.PAXRecords = make(map[string]string, len(e.Xattrs))
		for k, v := range e.Xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	return hdr, nil
}
