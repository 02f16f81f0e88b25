package rootfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// node is one entry of an in-memory tree.
type node struct {
	entry    Entry
	children map[string]*node // directories only
	data     content          // regular files only
	// layer is the 1-based index of the image layer that last created or
	// updated this node; 0 for nodes not made by a layer.
	layer int
}

// content is where a regular file's bytes live.
type content interface {
	open(size int64) (File, error)
}

// tree is a backend holding the whole directory structure in memory, with file
// content kept elsewhere (a byte slice, a spool file). It is built once and
// read-only afterwards.
type tree struct {
	root    *node
	closers []func() error
}

func newTree() *tree {
	return &tree{root: &node{
		entry:    Entry{Path: "/", Type: TypeDir, Mode: 0o755},
		children: map[string]*node{},
	}}
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
		if n.children == nil {
			return nil
		}
		n = n.children[c]
		if n == nil {
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
	e := n.entry
	return &e, nil
}

func (t *tree) layerOf(p string) int {
	if n := t.find(p); n != nil {
		return n.layer
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
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]*Entry, len(names))
	for i, name := range names {
		e := n.children[name].entry
		out[i] = &e
	}
	return out, nil
}

func (t *tree) open(e *Entry) (File, error) {
	n := t.find(e.Path)
	if n == nil || n.entry.Type != TypeReg {
		return nil, ErrNotExist
	}
	if n.data == nil {
		return newBytesFile(nil), nil
	}
	return n.data.open(n.entry.Size)
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
		k := n.children[c]
		if k == nil || k.entry.Type != TypeDir {
			k = &node{entry: Entry{Path: cur, Type: TypeDir, Mode: 0o755}, children: map[string]*node{}}
			n.children[c] = k
		}
		n = k
	}
	return n
}

// put stores e at its (clean, absolute, physical) path, replacing what was
// there; a directory put over a directory keeps the old children.
func (t *tree) put(e Entry, data content) *node {
	if e.Path == "/" {
		if e.Type == TypeDir {
			kids := t.root.children
			t.root.entry = e
			t.root.children = kids
		}
		return t.root
	}
	parent := t.parentDir(e.Path)
	name := path.Base(e.Path)
	old := parent.children[name]
	n := &node{entry: e, data: data}
	if e.Type == TypeDir {
		if old != nil && old.entry.Type == TypeDir {
			n.children = old.children
		} else {
			n.children = map[string]*node{}
		}
	}
	parent.children[name] = n
	return n
}

// bytesContent is file content held in memory.
type bytesContent []byte

func (b bytesContent) open(int64) (File, error) { return newBytesFile(b), nil }

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
	m.t.put(e, n.data)
	return nil
}

// Add stores e (with data for a regular file), replacing what was at e.Path.
func (m *Mem) Add(e Entry, data []byte) *Mem {
	e.Path = memPath(e.Path)
	if e.ModTime.IsZero() {
		e.ModTime = time.Unix(0, 0).UTC()
	}
	var c content
	if e.Type == TypeReg {
		e.Size = int64(len(data))
		c = bytesContent(data)
	}
	m.t.put(e, c)
	return m
}

// View returns a view of the filesystem built so far. Later additions are
// visible through it too; build first, then read.
func (m *Mem) View() *View { return &View{b: m.t, history: m.history} }

// SetLayer records that the entry at p was made by the 1-based layer n, as
// an image's layers would (View.Layer reports it).
func (m *Mem) SetLayer(p string, n int) *Mem {
	if nd := m.t.find(memPath(p)); nd != nil {
		nd.layer = n
	}
	return m
}

// SetHistory sets the created_by of each layer, in order (View.LayerHistory).
func (m *Mem) SetHistory(createdBy ...string) *Mem {
	m.history = createdBy
	return m
}
