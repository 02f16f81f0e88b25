package jimage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Resource is one resource to write: its full name (/module/path) and
// content.
type Resource struct {
	Name string
	Size uint64
	// Read returns the content (Size bytes).
	Read func() ([]byte, error)
}

// Write writes a jimage holding res, uncompressed, with the /modules and
// /packages directories a JDK image has, in byte order order. Names must
// be /module/path with a non-empty module and path; META-INF and
// module-root resources belong to no package.
func Write(w io.Writer, order binary.AppendByteOrder, res []Resource) error {
	res = append([]Resource(nil), res...)
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	t := newTree()
	for i, r := range res {
		if i > 0 && res[i-1].Name == r.Name {
			return fmt.Errorf("resource %s given twice", r.Name)
		}
		if err := t.add(r.Name); err != nil {
			return err
		}
	}
	// Locations: the resources, then the directories, with their content
	// laid out in that order after the index.
	var locs []Location
	var off uint64
	for _, r := range res {
		locs = append(locs, splitName(r.Name, off, r.Size))
		off += r.Size
	}
	dirs := t.dirs()
	for _, d := range dirs {
		size := uint64(4 * len(d.kids))
		if d.pkg {
			size = uint64(8 * len(d.refs))
		}
		locs = append(locs, splitName(d.name, off, size))
		off += size
	}
	sw := newStrings()
	var stream []byte
	locOff := make([]uint32, len(locs))
	for i, l := range locs {
		locOff[i] = uint32(len(stream))
		stream = appendAttrs(stream, [attrCount]uint64{
			attrModule: sw.add(l.Module), attrParent: sw.add(l.Parent), attrBase: sw.add(l.Base),
			attrExtension: sw.add(l.Extension), attrOffset: l.Offset, attrUncompressed: l.Uncompressed,
		})
	}
	byName := make(map[string]uint32, len(locs))
	names := make([]string, len(locs))
	for i, l := range locs {
		names[i] = l.Name()
		byName[names[i]] = locOff[i]
	}
	// directory contents need the module names' strings: add them before
	// the strings are written
	dirData := make([][]byte, len(dirs))
	for i, d := range dirs {
		var b []byte
		if d.pkg {
			for _, r := range d.refs {
				empty := uint32(1)
				if !r.empty {
					empty = 0
				}
				b = order.AppendUint32(b, empty)
				b = order.AppendUint32(b, uint32(sw.add(r.module)))
			}
		} else {
			for _, k := range d.kids {
				o, ok := byName[k]
				if !ok {
					return fmt.Errorf("jimage writer: no location for %s", k)
				}
				b = order.AppendUint32(b, o)
			}
		}
		dirData[i] = b
	}
	redirect, slots, err := perfectHash(names)
	if err != nil {
		return err
	}
	n := uint32(len(locs))
	bw := bufio.NewWriterSize(w, 1<<20)
	hdr := []uint32{Magic, 1 << 16, 0, n, n, uint32(len(stream)), uint32(len(sw.data))}
	var b []byte
	for _, v := range hdr {
		b = order.AppendUint32(b, v)
	}
	for _, v := range redirect {
		b = order.AppendUint32(b, uint32(v))
	}
	for _, s := range slots {
		b = order.AppendUint32(b, locOff[s])
	}
	b = append(b, stream...)
	b = append(b, sw.data...)
	if _, err := bw.Write(b); err != nil {
		return fmt.Errorf("writing the jimage index: %w", err)
	}
	for _, r := range res {
		data, err := r.Read()
		if err != nil {
			return fmt.Errorf("reading %s: %w", r.Name, err)
		}
		if uint64(len(data)) != r.Size {
			return fmt.Errorf("%s: read %d bytes, want %d", r.Name, len(data), r.Size)
		}
		if _, err := bw.Write(data); err != nil {
			return fmt.Errorf("writing %s: %w", r.Name, err)
		}
	}
	for _, d := range dirData {
		if _, err := bw.Write(d); err != nil {
			return fmt.Errorf("writing the jimage directories: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the jimage: %w", err)
	}
	return nil
}

// splitName splits a full name into a location's parts as jlink's
// ImageLocationWriter does: /modules/<rest> and /packages/<rest> have the
// module "modules" or "packages" and the base <rest>; others are
// /module/parent/base.extension.
func splitName(name string, off, size uint64) Location {
	l := Location{Offset: off, Uncompressed: size}
	for _, top := range []string{"modules", "packages"} {
		if rest, ok := strings.CutPrefix(name, "/"+top+"/"); ok {
			l.Module, l.Base = top, rest
			return l
		}
	}
	if len(name) >= 2 && name[0] == '/' {
		if i := strings.IndexByte(name[1:], '/'); i >= 0 {
			l.Module, name = name[1:1+i], name[2+i:]
		}
	}
	if i := strings.LastIndexByte(name, '/'); i > 1 {
		l.Parent, name = name[:i], name[i+1:]
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		l.Base, l.Extension = name[:i], name[i+1:]
	} else {
		l.Base = name
	}
	return l
}

// appendAttrs appends the attribute stream of a: each non-zero attribute as
// a byte kind<<3|(length-1) and its value in length big-endian bytes, then
// the end byte.
func appendAttrs(b []byte, a [attrCount]uint64) []byte {
	for kind := attrEnd + 1; kind < attrCount; kind++ {
		v := a[kind]
		if v == 0 {
			continue
		}
		n := 1
		for v>>(8*n) != 0 && n < 8 {
			n++
		}
		b = append(b, byte(kind<<3|(n-1)))
		for i := n - 1; i >= 0; i-- {
			b = append(b, byte(v>>(8*i)))
		}
	}
	return append(b, attrEnd)
}

// stringsWriter is the strings table under construction: "" at offset 0,
// every other string once.
type stringsWriter struct {
	data []byte
	at   map[string]uint64
}

func newStrings() *stringsWriter {
	return &stringsWriter{data: []byte{0}, at: map[string]uint64{"": 0}}
}

func (s *stringsWriter) add(v string) uint64 {
	if o, ok := s.at[v]; ok {
		return o
	}
	o := uint64(len(s.data))
	s.data = append(append(s.data, v...), 0)
	s.at[v] = o
	return o
}

// perfectHash builds the redirect table over names as jlink's
// PerfectHashBuilder does: names are put in buckets by their hash with the
// default seed; a bucket of several gets the first seed (from 1) under which
// its names fall into distinct free slots, its redirect entry the seed; a
// bucket of one takes the next free slot, its entry -1-slot. slots[i] is
// the index into names of slot i.
func perfectHash(names []string) (redirect []int32, slots []int, err error) {
	n := int32(len(names))
	redirect = make([]int32, n)
	slots = make([]int, n)
	for i := range slots {
		slots[i] = -1
	}
	if n == 0 {
		return redirect, slots, nil
	}
	buckets := map[int32][]int{}
	for i, s := range names {
		h := hash(s, hashMultiplier) % n
		buckets[h] = append(buckets[h], i)
	}
	keys := make([]int32, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := buckets[keys[i]], buckets[keys[j]]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return keys[i] < keys[j]
	})
	taken := make([]int32, 0, 8)
	for _, k := range keys {
		b := buckets[k]
		if len(b) == 1 {
			continue
		}
		found := false
		for seed := int32(1); seed > 0 && seed < 1<<24; seed++ {
			taken = taken[:0]
			ok := true
			for _, i := range b {
				s := hash(names[i], seed) % n
				if slots[s] != -1 || contains(taken, s) {
					ok = false
					break
				}
				taken = append(taken, s)
			}
			if ok {
				for j, i := range b {
					slots[taken[j]] = i
				}
				redirect[k] = seed
				found = true
				break
			}
		}
		if !found {
			return nil, nil, errors.New("jimage writer: no perfect hash seed found")
		}
	}
	free := int32(0)
	for _, k := range keys {
		b := buckets[k]
		if len(b) != 1 {
			continue
		}
		for slots[free] != -1 {
			free++
		}
		slots[free] = b[0]
		redirect[k] = -1 - free
	}
	return redirect, slots, nil
}

func contains(l []int32, v int32) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// tree is the /modules and /packages directories of a set of resources, as
// jlink's ImageResourcesTree builds them.
type tree struct {
	nodes map[string]*dirNode // by full name (/modules/java.base/java)
	files map[string]bool     // the resources' names
	// owner and present: for each dotted package, the module holding its
	// resources and every module with a directory of that name.
	owner   map[string]map[string]bool
	present map[string]map[string]bool
}

type dirNode struct {
	name string
	kids []string // full names of the children (resources by their own name)
	seen map[string]bool
	pkg  bool
	refs []pkgRef
}

type pkgRef struct {
	module string
	empty  bool
}

func newTree() *tree {
	t := &tree{nodes: map[string]*dirNode{}, files: map[string]bool{}, owner: map[string]map[string]bool{}, present: map[string]map[string]bool{}}
	t.node("/modules")
	return t
}

func (t *tree) node(name string) *dirNode {
	d := t.nodes[name]
	if d == nil {
		d = &dirNode{name: name, seen: map[string]bool{}}
		t.nodes[name] = d
	}
	return d
}

func (d *dirNode) child(name string) {
	if !d.seen[name] {
		d.seen[name] = true
		d.kids = append(d.kids, name)
	}
}

func mark(m map[string]map[string]bool, pkg, module string) {
	if m[pkg] == nil {
		m[pkg] = map[string]bool{}
	}
	m[pkg][module] = true
}

// add records the resource name (/module/dir/.../file).
func (t *tree) add(name string) error {
	parts := strings.Split(name, "/")
	if len(parts) < 3 || parts[0] != "" || parts[1] == "" || parts[len(parts)-1] == "" ||
		parts[1] == "modules" || parts[1] == "packages" {
		return fmt.Errorf("jimage writer: bad resource name %q", name)
	}
	module := parts[1]
	dir := "/modules/" + module
	t.node("/modules").child(dir)
	for i, p := range parts[2 : len(parts)-1] {
		if p == "" {
			return fmt.Errorf("jimage writer: bad resource name %q", name)
		}
		sub := dir + "/" + p
		if t.files[strings.TrimPrefix(sub, "/modules")] {
			return fmt.Errorf("jimage writer: %s is both a file and a directory", strings.TrimPrefix(sub, "/modules"))
		}
		t.node(dir).child(sub)
		dir = sub
		pkg := strings.Join(parts[2:3+i], ".")
		if !strings.HasPrefix(pkg, "META-INF") {
			mark(t.present, pkg, module)
		}
	}
	if t.nodes["/modules"+name] != nil {
		return fmt.Errorf("jimage writer: %s is both a file and a directory", name)
	}
	t.node(dir).child(name)
	t.files[name] = true
	if len(parts) > 3 {
		if pkg := strings.Join(parts[2:len(parts)-1], "."); !strings.HasPrefix(pkg, "META-INF") {
			mark(t.owner, pkg, module)
		}
	}
	return nil
}

// dirs returns every directory of the tree with its content, sorted by
// name, the /packages entries included.
func (t *tree) dirs() []*dirNode {
	pkgs := map[string]bool{}
	for p := range t.present {
		pkgs[p] = true
	}
	for p := range t.owner {
		pkgs[p] = true
	}
	root := t.node("/packages")
	var names []string
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		d := t.node("/packages/" + p)
		d.pkg = true
		mods := map[string]bool{}
		for m := range t.present[p] {
			mods[m] = true
		}
		for m := range t.owner[p] {
			mods[m] = true
		}
		var ms []string
		for m := range mods {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for _, m := range ms {
			d.refs = append(d.refs, pkgRef{module: m, empty: !t.owner[p][m]})
		}
		root.child(d.name)
	}
	out := make([]*dirNode, 0, len(t.nodes))
	for _, d := range t.nodes {
		// children in the order of their own names, as jlink's tree
		sort.Slice(d.kids, func(i, j int) bool { return path.Base(d.kids[i]) < path.Base(d.kids[j]) })
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
