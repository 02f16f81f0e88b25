// Package layerstats measures where an image's layer bytes go: how much
// content each layer adds and how much of it never reaches the merged
// filesystem because a later layer overwrote it, deleted it with a whiteout
// or hid it under an opaque directory.
//
// Bytes are the sizes of regular files as the layer tars record them; a
// hardlink carries no bytes of its own and keeps its inode's content
// reachable while any of its names survives. So the bytes that reach the
// merged filesystem are Total - Wasted, each inode counted once.
package layerstats

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// How a copy of a file was lost.
const (
	Overwritten = "overwritten" // a later layer wrote an entry at its path (or at a parent's)
	Deleted     = "deleted"     // a whiteout of it or of a parent directory
	Opaque      = "opaque"      // a parent became an opaque directory
)

// Layer is what one layer holds.
type Layer struct {
	DiffID   v1.Hash
	Files    int   // regular files (hardlinks not counted)
	Bytes    int64 // content bytes of those files
	TarBytes int64 // size of the uncompressed tar
	// Whiteouts counts whiteout entries, opaque markers included.
	Whiteouts int
	// Wasted are the bytes of this layer's files that a later layer hides.
	Wasted int64
	// Hidden are the bytes of earlier layers' files that this layer hides.
	Hidden int64
}

// Copy is one layer's copy of a file that does not reach the merged
// filesystem.
type Copy struct {
	Path  string
	Layer int // index of the layer holding the content
	Bytes int64
	By    int    // index of the layer that hid it
	How   string // Overwritten, Deleted or Opaque
}

// Stats is the measure of an image's layers.
type Stats struct {
	Layers []Layer
	Total  int64  // content bytes of all layers
	Wasted int64  // content bytes that do not reach the merged filesystem
	Copies []Copy // the wasted copies, in the order they were hidden
}

// Efficiency is 1 - Wasted/Total: the share of the layers' content bytes
// that reaches the merged filesystem (1 for an image without content).
func (s *Stats) Efficiency() float64 {
	if s.Total == 0 {
		return 1
	}
	return 1 - float64(s.Wasted)/float64(s.Total)
}

// File sums the wasted copies of one path.
type File struct {
	Path   string
	Bytes  int64
	Copies int
	Layers []int // layers holding the wasted copies
}

// Files sums the wasted copies by path, largest first (then by path).
func (s *Stats) Files() []File {
	idx := map[string]int{}
	var out []File
	for _, c := range s.Copies {
		i, ok := idx[c.Path]
		if !ok {
			i = len(out)
			idx[c.Path] = i
			out = append(out, File{Path: c.Path})
		}
		f := &out[i]
		f.Bytes += c.Bytes
		f.Copies++
		f.Layers = append(f.Layers, c.Layer)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// inode is one layer's file content, shared by its hardlinks.
type inode struct {
	path  string // the entry that carried the content
	layer int
	bytes int64
	names int
}

type node struct {
	dir      bool
	children map[string]*node
	ino      *inode // regular files and hardlinks
}

// measure applies layers in order.
type measure struct {
	root  *node
	stats *Stats
}

// Compute reads every layer's uncompressed tar, lowest first. progress,
// when not nil, is called after each layer with its index.
func Compute(ctx context.Context, layers []v1.Layer, progress func(i int)) (*Stats, error) {
	m := &measure{root: &node{dir: true, children: map[string]*node{}}, stats: &Stats{}}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ly, err := m.layer(i, l)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		ly.DiffID, _ = l.DiffID()
		if progress != nil {
			progress(i)
		}
	}
	return m.stats, nil
}

type entry struct {
	path string
	typ  byte
	size int64
	link string
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (m *measure) layer(i int, l v1.Layer) (*Layer, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("opening: %w", err)
	}
	defer rc.Close()
	cr := &counter{r: rc}
	tr := tar.NewReader(cr)
	var whiteouts, opaques []string
	var entries []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		p := clean(h.Name)
		if p == "/" {
			continue
		}
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			opaques = append(opaques, path.Clean(dir))
		case strings.HasPrefix(base, ".wh..wh."):
			// aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not content
		case strings.HasPrefix(base, ".wh."):
			whiteouts = append(whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
		default:
			e := entry{path: p, typ: h.Typeflag, link: h.Linkname}
			if h.Typeflag == tar.TypeReg { // the reader turns the old TypeRegA into TypeReg
				e.typ, e.size = tar.TypeReg, h.Size
			}
			entries = append(entries, e)
		}
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("reading tar: %w", err)
	}
	m.stats.Layers = append(m.stats.Layers, Layer{TarBytes: cr.n, Whiteouts: len(whiteouts) + len(opaques)})
	ly := &m.stats.Layers[i]
	// whiteouts and opaque markers hide what lower layers hold, whatever
	// their order in the tar; then the layer's own entries are applied
	for _, p := range opaques {
		if n := m.lookup(p); n != nil && n.dir {
			m.dropChildren(n, i, Opaque)
			n.children = map[string]*node{}
		}
	}
	for _, p := range whiteouts {
		parent, name := m.lookup(path.Dir(p)), path.Base(p)
		if parent == nil || !parent.dir {
			continue
		}
		if c := parent.children[name]; c != nil {
			m.drop(c, i, Deleted)
			delete(parent.children, name)
		}
	}
	inodes := map[string]*inode{}
	for _, e := range entries {
		n := m.place(e.path, i, e.typ == tar.TypeDir)
		switch e.typ {
		case tar.TypeReg:
			ino := &inode{path: e.path, layer: i, bytes: e.size, names: 1}
			inodes[e.path] = ino
			n.ino = ino
			ly.Files++
			ly.Bytes += e.size
			m.stats.Total += e.size
		case tar.TypeLink:
			target := clean(e.link)
			ino := inodes[target]
			if ino == nil {
				// a link to a file of a lower layer shares its content
				if t := m.lookup(target); t != nil && t.ino != nil {
					ino = t.ino
				}
			}
			if ino != nil {
				ino.names++
				n.ino = ino
			}
		}
	}
	return ly, nil
}

// lookup returns the node at p, or nil.
func (m *measure) lookup(p string) *node {
	n := m.root
	for _, c := range components(p) {
		if !n.dir {
			return nil
		}
		if n = n.children[c]; n == nil {
			return nil
		}
	}
	return n
}

// place makes the node for an entry of layer i at p: parents become
// directories, and what was at p is replaced unless both are directories.
func (m *measure) place(p string, i int, dir bool) *node {
	n := m.root
	cs := components(p)
	for k, c := range cs {
		last := k == len(cs)-1
		child := n.children[c]
		if child != nil && (!child.dir || (last && !dir)) {
			m.drop(child, i, Overwritten)
			child = nil
		}
		if child == nil {
			child = &node{dir: !last || dir}
			if child.dir {
				child.children = map[string]*node{}
			}
			n.children[c] = child
		}
		n = child
	}
	return n
}

// drop removes the subtree n: every inode whose last name goes is
// content that no longer reaches the merged filesystem.
func (m *measure) drop(n *node, by int, how string) {
	if n.ino != nil {
		n.ino.names--
		if n.ino.names == 0 && n.ino.bytes > 0 {
			ino := n.ino
			m.stats.Copies = append(m.stats.Copies, Copy{Path: ino.path, Layer: ino.layer, Bytes: ino.bytes, By: by, How: how})
			m.stats.Wasted += ino.bytes
			m.stats.Layers[ino.layer].Wasted += ino.bytes
			m.stats.Layers[by].Hidden += ino.bytes
		}
		n.ino = nil
	}
	m.dropChildren(n, by, how)
}

// dropChildren drops n's children in name order.
func (m *measure) dropChildren(n *node, by int, how string) {
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m.drop(n.children[name], by, how)
	}
}

func clean(name string) string {
	return path.Clean("/" + strings.TrimPrefix(name, "./"))
}

func components(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
