package rootfs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// node is one entry of an in-memory tree. Lookups hand out &node.entry:
// the view's own entry, never a copy (Entry's doc says it is read-only).
type node struct {
	entry Entry
	dir   *dirNode // directories only
	// off is where a regular file's bytes start in the source src (an
	// index into tree.srcs; 0: no content, an empty file).
	off int64
	src uint32
	// layer is the 1-based index of the image layer that last created or
	// updated this node; 0 for nodes not made by a layer.
	layer int32
}

// dirNode holds the children of a directory. While layers are applied
// they are in byName; freeze moves them to kids, sorted by name, and
// drops the map: a sorted slice of pointers costs 8 bytes a child where a
// map costs about 30, and it is already in the order ReadDir and Walk
// give. The name of a child is the last component of its Path, which is
// its parent's Path joined with the name (checkPaths tests it), so names
// are not stored apart.
type dirNode struct {
	kids   []*node          // sorted by name when byName is nil
	byName map[string]*node // while the tree is built; nil once frozen
}

func newDirNode() *dirNode { return &dirNode{byName: map[string]*node{}} }

// childName is the name of the child k of the directory at parentPath.
func childName(parentPath string, k *node) string {
	if parentPath == "/" {
		return k.entry.Path[1:]
	}
	return k.entry.Path[len(parentPath)+1:]
}

// child returns the child of directory n named c, or nil.
func (n *node) child(c string) *node {
	d := n.dir
	if d == nil {
		return nil
	}
	if d.byName != nil {
		return d.byName[c]
	}
	plen := len(n.entry.Path) + 1
	if plen == 2 {
		plen = 1 // the root
	}
	kids := d.kids
	lo, hi := 0, len(kids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if kids[m].entry.Path[plen:] < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(kids) && kids[lo].entry.Path[plen:] == c {
		return kids[lo]
	}
	return nil
}

// thaw makes directory n's children editable again (a Mem written after
// View).
func (d *dirNode) thaw(parentPath string) {
	if d.byName != nil {
		return
	}
	d.byName = make(map[string]*node, len(d.kids))
	for _, k := range d.kids {
		d.byName[childName(parentPath, k)] = k
	}
	d.kids = nil
}

// setChild makes k the child of directory n named c.
func (n *node) setChild(c string, k *node) {
	n.dir.thaw(n.entry.Path)
	n.dir.byName[c] = k
}

// deleteChild removes the child of directory n named c.
func (n *node) deleteChild(c string) {
	n.dir.thaw(n.entry.Path)
	delete(n.dir.byName, c)
}

// children returns the children of directory n sorted by name; the slice
// is the tree's own when n is frozen: do not modify it.
func (n *node) children() []*node {
	d := n.dir
	if d == nil {
		return nil
	}
	if d.byName == nil {
		return d.kids
	}
	out := make([]*node, 0, len(d.byName))
	for _, k := range d.byName {
		out = append(out, k)
	}
	sortNodes(out)
	return out
}

// sortNodes sorts the children of one directory by name: by Path, as they
// share the parent's.
func sortNodes(ns []*node) {
	slices.SortFunc(ns, func(a, b *node) int { return strings.Compare(a.entry.Path, b.entry.Path) })
}

// freeze moves the children of every directory below n into sorted
// slices (see dirNode).
func freeze(n *node) {
	d := n.dir
	if d == nil {
		return
	}
	if d.byName != nil {
		d.kids = n.children()
		d.byName = nil
	}
	for _, k := range d.kids {
		freeze(k)
	}
}

// source is where file content is read from: a host file (a layer stored
// in place, the spool) or bytes in memory.
type source struct {
	f *os.File
	b []byte
}

// tree is a backend holding the whole directory structure in memory, with file
// content kept elsewhere (a byte slice, a spool file). It is built once and
// read-only afterwards.
type tree struct {
	root    *node
	srcs    []source // by node.src; srcs[0] is unused
	closers []func() error
}

func newTree() *tree {
	return &tree{
		root: &node{entry: Entry{Path: "/", Type: TypeDir, Mode: 0o755}, dir: newDirNode()},
		srcs: make([]source, 1),
	}
}

// addSource registers a content source and returns its index.
func (t *tree) addSource(s source) uint32 {
	t.srcs = append(t.srcs, s)
	return uint32(len(t.srcs) - 1)
}

// find returns the node at the physical path p, or nil.
func (t *tree) find(p string) *node {
	n := t.root
	// Component by component without splitting: find runs for every
	// lookup of a build, so it must not allocate.
	for p != "" {
		var c string
		if i := strings.IndexByte(p, '/'); i >= 0 {
			c, p = p[:i], p[i+1:]
		} else {
			c, p = p, ""
		}
		if c == "" {
			continue
		}
		if n = n.child(c); n == nil {
			return nil
		}
	}
	return n
}

func (t *tree) lookup(p string) (*Entry, error) {
	n := t.find(p)
	if n == nil {
		return nil, ErrNotExist
	}
	return &n.entry, nil
}

func (t *tree) layerOf(p string) int {
	if n := t.find(p); n != nil {
		return int(n.layer)
	}
	return 0
}

func (t *tree) readDir(p string) ([]*Entry, error) {
	n := t.find(p)
	if n == nil {
		return nil, ErrNotExist
	}
	if n.entry.Type != TypeDir {
		return nil, ErrNotDir
	}
	kids := n.children()
	out := make([]*Entry, len(kids))
	for i, k := range kids {
		out[i] = &k.entry
	}
	return out, nil
}

func (t *tree) open(e *Entry) (File, error) {
	n := t.find(e.Path)
	if n == nil || n.entry.Type != TypeReg {
		return nil, ErrNotExist
	}
	return t.openNode(n), nil
}

// openNode opens the content of the regular file n.
func (t *tree) openNode(n *node) File {
	if n.src == 0 {
		return newBytesFile(nil)
	}
	s := t.srcs[n.src]
	if s.f == nil {
		return newBytesFile(s.b)
	}
	return spoolFile{io.NewSectionReader(s.f, n.off, n.entry.Size), s.f, n.off}
}

// walk calls fn for n and everything below it in lexical order, without
// the copies of readDir.
func (t *tree) walk(n *node, fn WalkFunc) error {
	if err := fn(&n.entry); err != nil {
		if err == fs.SkipDir && n.entry.Type == TypeDir {
			return nil
		}
		return err
	}
	for _, k := range n.children() {
		if err := t.walk(k, fn); err != nil {
			return err
		}
	}
	return nil
}

func (t *tree) close() error {
	var first error
	for _, c := range t.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	t.closers = nil
	return first
}

// parentDir returns the directory node that should hold physical path p,
// creating missing directories (0755, root-owned) on the way. A non-directory
// in the way is replaced by a directory, as a container runtime's layer
// application would.
func (t *tree) parentDir(p string) *node {
	n := t.root
	parts := splitPath(path.Dir(p))
	cur := "/"
	for _, c := range parts {
		if c == "" {
			continue
		}
		cur = path.Join(cur, c)
		k := n.child(c)
		if k == nil || k.entry.Type != TypeDir {
			k = &node{entry: Entry{Path: cur, Type: TypeDir, Mode: 0o755}, dir: newDirNode()}
			n.setChild(c, k)
		}
		n = k
	}
	return n
}

// put stores e at its (clean, absolute, physical) path, replacing what was
// there; a directory put over a directory keeps the old children. The new
// node takes its content from src and off.
func (t *tree) put(e Entry, src uint32, off int64) *node {
	if e.Path == "/" {
		if e.Type == TypeDir {
			t.root.entry = e
		}
		return t.root
	}
	parent := t.parentDir(e.Path)
	name := path.Base(e.Path)
	old := parent.child(name)
	n := &node{entry: e, src: src, off: off}
	if e.Type == TypeDir {
		if old != nil && old.entry.Type == TypeDir {
			n.dir = old.dir
		} else {
			n.dir = newDirNode()
		}
	}
	parent.setChild(name, n)
	return n
}

type bytesFile struct{ *bytes.Reader }

func newBytesFile(b []byte) bytesFile { return bytesFile{bytes.NewReader(b)} }
func (bytesFile) Close() error        { return nil }

// Mem builds a small in-memory view, for tests and for generated content.
// Paths are taken literally (they must not pass through symlinks); missing
// parent directories are created with mode 0755.
type Mem struct {
	t       *tree
	nextID  uint64
	history []string
}

// NewMem returns an empty in-memory filesystem holding only "/".
func NewMem() *Mem { return &Mem{t: newTree()} }

func memPath(p string) string { return path.Clean("/" + p) }

// AddFile adds a regular file owned by root.
func (m *Mem) AddFile(p string, mode fs.FileMode, data []byte) *Mem {
	return m.Add(Entry{Path: p, Type: TypeReg, Mode: mode, Size: int64(len(data))}, data)
}

// AddDir adds a directory owned by root.
func (m *Mem) AddDir(p string, mode fs.FileMode) *Mem {
	return m.Add(Entry{Path: p, Type: TypeDir, Mode: mode}, nil)
}

// AddSymlink adds a symlink to target.
func (m *Mem) AddSymlink(p, target string) *Mem {
	return m.Add(Entry{Path: p, Type: TypeSymlink, Mode: 0o777, Linkname: target}, nil)
}

// AddHardlink makes p another name of the existing regular file target.
func (m *Mem) AddHardlink(p, target string) error {
	n := m.t.find(memPath(target))
	if n == nil || n.entry.Type != TypeReg {
		return fmt.Errorf("hardlink %s: target %s is not a regular file", p, target)
	}
	if n.entry.HardlinkID == 0 {
		m.nextID++
		n.entry.HardlinkID = m.nextID
	}
	e := n.entry
	e.Path = memPath(p)
	m.t.put(e, n.src, n.off)
	return nil
}

// Add stores e (with data for a regular file), replacing what was at e.Path.
func (m *Mem) Add(e Entry, data []byte) *Mem {
	e.Path = memPath(e.Path)
	if e.ModTime.IsZero() {
		e.ModTime = time.Unix(0, 0).UTC()
	}
	var src uint32
	if e.Type == TypeReg {
		e.Size = int64(len(data))
		src = m.t.addSource(source{b: data})
	}
	m.t.put(e, src, 0)
	return m
}

// View returns a view of the filesystem built so far. Later additions are
// visible through it too; build first, then read. (A Mem's directories stay
// maps: it is small, and may be added to after View.)
func (m *Mem) View() *View { return &View{b: m.t, history: m.history} }

// SetLayer records that the entry at p was made by the 1-based layer n, as
// an image's layers would (View.Layer reports it).
func (m *Mem) SetLayer(p string, n int) *Mem {
	if nd := m.t.find(memPath(p)); nd != nil {
		nd.layer = int32(n)
	}
	return m
}

// SetHistory sets the created_by of each layer, in order (View.LayerHistory).
func (m *Mem) SetHistory(createdBy ...string) *Mem {
	m.history = createdBy
	return m
}
