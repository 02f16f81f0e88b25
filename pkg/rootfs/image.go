package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OCI whiteout markers.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// FromImage applies the layers of img in order and returns a view of the
// merged root filesystem. Each layer's uncompressed stream is checked against
// the diff_id in the image config. Whiteouts and opaque directories follow the
// OCI image spec (whiteouts of a layer apply before its other entries and hide
// lower layers only); hardlinks take the content their target has when the
// link is applied; entry names are cleaned into the root and their parent
// directories resolved through symlinks inside the image. Only metadata stays
// in memory: the content of layers stored uncompressed in a host file (see
// FileLayer) is read in place; other layers' content is spooled to one
// unlinked temporary file. Layers are decoded (decompressed, hashed,
// spooled or indexed) concurrently and applied in order. Close the view to
// release the spool and the layer files.
func FromImage(ctx context.Context, img v1.Image, opts ...Option) (*View, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing image layers: %w", err)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(layers) {
		return nil, fmt.Errorf("image has %d layers but its config lists %d diff_ids", len(layers), len(diffIDs))
	}
	a := newApplier(o, nil)
	jobs := make([]*layerJob, len(layers))
	for i, l := range layers {
		jobs[i] = &layerJob{index: i, layer: l, diffID: diffIDs[i]} // decodeLayers makes recs
	}
	dctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	a.st.decodeLayers(dctx, jobs, decodeWorkers(len(jobs)), &wg)
	for i, j := range jobs {
		var progress func(int64, bool)
		if o.progress != nil {
			progress = func(b int64, done bool) {
				o.progress(Progress{Layer: i, Layers: len(jobs), DiffID: j.diffID, Bytes: b, Done: done})
			}
		}
		if err := a.consume(ctx, i+1, j, progress); err != nil {
			cancel()
			for _, j := range jobs {
				for range j.recs {
				}
			}
			wg.Wait()
			a.st.close()
			return nil, fmt.Errorf("layer %d (diff_id %s): %w", i, diffIDs[i], err)
		}
	}
	cancel()
	wg.Wait()
	freeze(a.t.root)
	a.t.closers = append(a.t.closers, a.st.close)
	return &View{b: a.t, warnings: a.warnings, history: layerHistory(cfg, len(layers))}, nil
}

// layerHistory returns the created_by of the history entry of each of n
// layers: history entries marked empty_layer make no layer. When the
// history does not match the layers, it returns nil.
func layerHistory(cfg *v1.ConfigFile, n int) []string {
	out := make([]string, 0, n)
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			out = append(out, h.CreatedBy)
		}
	}
	if len(out) != n {
		return nil
	}
	return out
}

// applier applies decoded layer entries onto an in-memory tree.
type applier struct {
	o        *options
	t        *tree
	st       *store
	layer    int // 1-based index of the layer being applied; 0 marks implicit nodes
	links    int
	nextID   uint64
	warnings []string
	// changed counts the replacements and removals of nodes; lastDir,
	// lastNode and lastChanged remember the last directory resolved (see
	// parent).
	changed     int
	lastDir     string
	lastNode    *node
	lastChanged int
}

// newApplier returns an applier whose spooled content goes to sp (nil: a
// spool made on first need in the temp dir of o).
func newApplier(o *options, sp *spool) *applier {
	t := newTree()
	t.root.entry.ModTime = epoch
	st := &store{o: o, t: t, sp: sp}
	if sp != nil {
		st.spSrc = t.addSource(source{f: sp.f})
	}
	return &applier{o: o, t: t, st: st}
}

var epoch = time.Unix(0, 0).UTC()

func (a *applier) warnf(format string, args ...any) {
	const max = 1000
	if len(a.warnings) < max {
		a.warnings = append(a.warnings, fmt.Sprintf("layer %d: ", a.layer-1)+fmt.Sprintf(format, args...))
	} else if len(a.warnings) == max {
		a.warnings = append(a.warnings, "more warnings omitted")
	}
}

// applyEntry applies one tar entry; src and off are where a regular
// file's content was placed by the decoder (src 0: empty).
func (a *applier) applyEntry(hdr *tar.Header, src uint32, off int64) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if strings.IndexByte(hdr.Name, 0) >= 0 || strings.IndexByte(hdr.Linkname, 0) >= 0 {
		a.warnf("%q: skipped an entry with a NUL byte in its name", hdr.Name)
		return nil
	}
	p := cleanAbs(hdr.Name)
	if n := strings.Count(p, "/"); n > a.o.limits.Depth {
		return fmt.Errorf("path has %d components, more than %d: %w", n, a.o.limits.Depth, ErrLimit)
	}
	dir, base := path.Split(p)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(dir, base)
	}
	e := Entry{
		Path:    p,
		Mode:    tarMode(hdr.Mode),
		UID:     hdr.Uid,
		GID:     hdr.Gid,
		ModTime: hdr.ModTime.UTC(),
		Xattrs:  tarXattrs(hdr),
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse: // the reader turns TypeRegA into TypeReg
		e.Type = TypeReg
		e.Size = hdr.Size
	case tar.TypeDir:
		e.Type = TypeDir
	case tar.TypeSymlink:
		e.Type = TypeSymlink
		e.Linkname = hdr.Linkname
	case tar.TypeLink:
		return a.hardlink(p, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		e.Type = TypeChar
		if hdr.Typeflag == tar.TypeBlock {
			e.Type = TypeBlock
		}
		e.Devmajor, e.Devminor = hdr.Devmajor, hdr.Devminor
	case tar.TypeFifo:
		e.Type = TypeFIFO
	default:
		a.warnf("%s: skipped tar entry of type %q", p, hdr.Typeflag)
		return nil
	}
	return a.put(e, src, off)
}

// cleanAbs is path.Clean("/" + name), allocating only the result for the
// names tar writers make ("usr/bin/", "./etc/passwd").
func cleanAbs(name string) string {
	s := strings.TrimPrefix(name, "./")
	for len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	if s == "" || s == "." || s[0] == '/' || strings.HasPrefix(s, "./") || strings.Contains(s, "//") || strings.Contains(s, "/./") ||
		strings.Contains(s, "..") || strings.HasSuffix(s, "/.") {
		return path.Clean("/" + name)
	}
	return "/" + s
}

// put stores e at its path, resolving the parent directory through symlinks
// inside the root. A directory over a directory updates its attributes and
// keeps the children; anything else replaces what was there.
func (a *applier) put(e Entry, src uint32, off int64) error {
	if e.Path == "/" {
		if e.Type != TypeDir {
			a.warnf("/: skipped a %s entry that would replace the root", e.Type)
			return nil
		}
		a.t.root.entry = e
		a.t.root.layer = int32(a.layer)
		return nil
	}
	dir, base := path.Split(e.Path)
	parent, err := a.parent(dir)
	if errors.Is(err, errUnresolvable) {
		a.warnf("%s: skipped: %v", e.Path, err)
		return nil
	}
	if err != nil {
		return err
	}
	if pp := parent.entry.Path; !(len(dir) == len(pp)+1 && dir[:len(pp)] == pp) && !(pp == "/" && dir == "/") {
		e.Path = joinPath(pp, base) // the entry's directory went through a symlink
	}
	old := parent.child(base)
	if old != nil && old.entry.Type == TypeDir && e.Type == TypeDir {
		old.entry = e
		old.layer = int32(a.layer)
		return nil
	}
	if old != nil {
		a.changed++
	}
	n := &node{entry: e, src: src, off: off, layer: int32(a.layer)}
	if e.Type == TypeDir {
		n.dir = newDirNode()
	}
	parent.setChild(base, n)
	return nil
}

// parent is resolveDir(dir, true), remembering the last directory: the
// entries of a directory come one after the other in a layer, and most
// entries need no walk from the root. The memory holds while nothing was
// replaced or removed (a.changed): adding a name cannot change where a
// resolved path leads, since resolving with create made every component
// of it.
func (a *applier) parent(dir string) (*node, error) {
	if a.lastNode != nil && a.lastChanged == a.changed && a.lastDir == dir {
		return a.lastNode, nil
	}
	n, err := a.resolveDir(dir, true)
	if err != nil {
		return nil, err
	}
	a.lastDir, a.lastNode, a.lastChanged = dir, n, a.changed
	return n, nil
}

// resolveDir returns the directory node at dir, following symlinks inside
// the root (absolute targets restart at the root, ".." stops there). With
// create, missing components and non-directories in the way become implicit
// directories of the current layer; without it, nil is returned for them.
func (a *applier) resolveDir(dir string, create bool) (*node, error) {
	stack := []*node{a.t.root}
	queue := splitPath(dir)
	hops := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := stack[len(stack)-1]
		k := cur.child(c)
		switch {
		case k != nil && k.entry.Type == TypeSymlink:
			hops++
			if hops > MaxSymlinkHops {
				return nil, fmt.Errorf("resolving %s: %w (%w)", dir, ErrLoop, errUnresolvable)
			}
			if k.entry.Linkname == "" {
				return nil, fmt.Errorf("resolving %s: %s is an empty symlink (%w)", dir, k.entry.Path, errUnresolvable)
			}
			if strings.HasPrefix(k.entry.Linkname, "/") {
				stack = stack[:1]
			}
			if len(queue)+strings.Count(k.entry.Linkname, "/") > 64*a.o.limits.Depth {
				return nil, fmt.Errorf("resolving %s: path too long: %w", dir, ErrLimit)
			}
			queue = append(splitPath(k.entry.Linkname), queue...)
			continue
		case k == nil || k.entry.Type != TypeDir:
			if !create {
				return nil, nil
			}
			if k != nil {
				a.changed++
			}
			k = a.implicitDir(joinPath(cur.entry.Path, c))
			cur.setChild(c, k)
		}
		stack = append(stack, k)
		if len(stack) > a.o.limits.Depth+1 {
			return nil, fmt.Errorf("resolving %s: more than %d levels of directories: %w", dir, a.o.limits.Depth, ErrLimit)
		}
	}
	return stack[len(stack)-1], nil
}

// implicitDir is a directory a layer needs but does not list (0755, root).
func (a *applier) implicitDir(p string) *node {
	return &node{
		entry: Entry{Path: p, Type: TypeDir, Mode: 0o755, ModTime: epoch},
		dir:   newDirNode(),
		layer: int32(a.layer),
	}
}

// whiteout applies a whiteout marker found in directory dir.
func (a *applier) whiteout(dir, base string) error {
	opaque := base == whiteoutOpaque
	if !opaque && strings.HasPrefix(base, whiteoutMeta) {
		return nil // other .wh..wh.* entries are ignored
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if !opaque && (name == "" || name == "." || name == "..") {
		return nil
	}
	parent, err := a.resolveDir(dir, false)
	if err != nil || parent == nil {
		return err
	}
	a.changed++
	if opaque {
		a.prune(parent)
		return nil
	}
	if k := parent.child(name); k != nil {
		a.hideLower(parent, name, k)
	}
	return nil
}

// prune removes from directory n every descendant a lower layer made,
// keeping what the current layer added (and the directories leading to it).
func (a *applier) prune(n *node) {
	for _, k := range n.children() {
		a.hideLower(n, childName(n.entry.Path, k), k)
	}
}

// hideLower removes the lower-layer content of child k (named name) of
// parent, as if the current layer's whiteout had been applied before any of
// its other entries.
func (a *applier) hideLower(parent *node, name string, k *node) {
	switch {
	case int(k.layer) == a.layer:
		if k.entry.Type == TypeDir {
			a.prune(k)
		}
	case k.entry.Type == TypeDir && a.hasCurrent(k):
		// Recreated implicitly by the current layer's entries below it.
		k.entry = Entry{Path: k.entry.Path, Type: TypeDir, Mode: 0o755, ModTime: epoch}
		k.layer = int32(a.layer)
		a.prune(k)
	default:
		parent.deleteChild(name)
	}
}

// hasCurrent reports whether the current layer added anything below n.
func (a *applier) hasCurrent(n *node) bool {
	for _, k := range n.children() {
		if int(k.layer) == a.layer || (k.entry.Type == TypeDir && a.hasCurrent(k)) {
			return true
		}
	}
	return false
}

// hardlink makes p another name of the entry at target, resolved in the
// merged tree as it is now. Nothing on the host is consulted.
func (a *applier) hardlink(p, target string) error {
	a.links++
	if a.links > a.o.limits.Hardlinks {
		return fmt.Errorf("more than %d hardlinks: %w", a.o.limits.Hardlinks, ErrLimit)
	}
	t := path.Clean("/" + target)
	var tn *node
	if t == "/" {
		tn = a.t.root
	} else {
		dir, base := path.Split(t)
		parent, err := a.resolveDir(dir, false)
		if err != nil {
			a.warnf("%s: skipped hardlink to %q: %v", p, target, err)
			return nil
		}
		if parent != nil {
			tn = parent.child(base)
		}
	}
	switch {
	case tn == nil:
		a.warnf("%s: skipped hardlink to missing %q", p, target)
		return nil
	case tn.entry.Type == TypeDir:
		a.warnf("%s: skipped hardlink to directory %q", p, target)
		return nil
	}
	if tn.entry.Type == TypeReg && tn.entry.HardlinkID == 0 {
		a.nextID++
		tn.entry.HardlinkID = a.nextID
	}
	e := tn.entry
	e.Path = p
	return a.put(e, tn.src, tn.off)
}

// tarMode converts a tar header mode to permission and special bits.
func tarMode(m int64) fs.FileMode { return UnixMode(uint32(m)) }

// UnixMode converts the permission and special bits of a Unix mode (as in
// a tar header, a dpkg statoverride or an apk database) to an fs.FileMode;
// the file type bits are ignored.
func UnixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

const paxXattr = "SCHILY.xattr."

// tarXattrs returns the extended attributes of hdr, without overlayfs ones.
func tarXattrs(hdr *tar.Header) map[string]string {
	var x map[string]string
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok || name == "" || strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		if x == nil {
			x = map[string]string{}
		}
		x[name] = v
	}
	return x
}

// errUnresolvable marks a parent path that cannot be resolved (a symlink
// loop, an empty symlink); the entry is skipped with a warning.
var errUnresolvable = errors.New("unresolvable parent")

// ErrLimit is returned (wrapped) when an image exceeds one of its Limits.
var ErrLimit = errors.New("limit exceeded")
