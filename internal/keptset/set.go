package keptset

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Item is one kept path.
type Item struct {
	Path  string        `json:"path"` // physical path in the image
	Entry *rootfs.Entry `json:"-"`
	// Reasons are every distinct reason the path was kept for (every
	// requester of a library), in the order they came; the first is the
	// primary reason.
	Reasons []Reason        `json:"reasons"`
	seen    map[Reason]bool // Reasons as a set, once there are many
	// Content, when not nil, is generated content written in place of the
	// image's file (a JDK's lib/modules cut to the modules the application
	// needs); Entry.Size is its length.
	Content []byte `json:"-"`
}

// manyReasons is the count from which an Item indexes its reasons.
const manyReasons = 8

// Set is the set of kept paths of one image, with reasons. Every kept path
// has its parent directories kept too.
type Set struct {
	v     *rootfs.View
	items map[string]*Item
	// sorted is items in path order as of the last Items call; added holds
	// what was kept since, and stale says that something was removed since.
	// The rules' fixpoint lists the set every round, so Items sorts only
	// what is new and merges it in.
	sorted []*Item
	added  []*Item
	stale  bool
	// last is the Reasons of the path kept last with a single reason:
	// the next path kept for the same reason shares it (a walk keeps 200k
	// application files or a tree's paths for one reason; addReason never
	// writes into it, and appending to it copies, its capacity being 1).
	last []Reason
}

// NewSet returns an empty set over the view v.
func NewSet(v *rootfs.View) *Set {
	return &Set{v: v, items: map[string]*Item{}}
}

// Has reports whether the physical path p is kept.
func (s *Set) Has(p string) bool { _, ok := s.items[p]; return ok }

// Item returns the kept item at physical path p, or nil.
func (s *Set) Item(p string) *Item { return s.items[p] }

// Len is the number of kept paths.
func (s *Set) Len() int { return len(s.items) }

// Items returns the kept items sorted by path.
func (s *Set) Items() []*Item {
	byPath := func(l []*Item) { sort.Slice(l, func(i, j int) bool { return l[i].Path < l[j].Path }) }
	switch {
	case s.stale:
		s.sorted = make([]*Item, 0, len(s.items))
		for _, it := range s.items {
			s.sorted = append(s.sorted, it)
		}
		byPath(s.sorted)
	case len(s.added) > 0:
		byPath(s.added)
		merged := make([]*Item, 0, len(s.sorted)+len(s.added))
		a, b := s.sorted, s.added
		for len(a) > 0 && len(b) > 0 {
			if a[0].Path < b[0].Path {
				merged, a = append(merged, a[0]), a[1:]
			} else {
				merged, b = append(merged, b[0]), b[1:]
			}
		}
		s.sorted = append(append(merged, a...), b...)
	}
	s.added, s.stale = nil, false
	return append([]*Item(nil), s.sorted...)
}

// insert records a new item.
func (s *Set) insert(it *Item) {
	s.items[it.Path] = it
	s.added = append(s.added, it)
}

// keep records e with reason r and keeps its parents. It reports whether the
// path is new.
func (s *Set) keep(e *rootfs.Entry, r Reason) bool {
	if it, ok := s.items[e.Path]; ok {
		it.addReason(r)
		return false
	}
	if len(s.last) == 0 || s.last[0] != r {
		s.last = []Reason{r}
	}
	s.insert(&Item{Path: e.Path, Entry: e, Reasons: s.last})
	s.keepParents(e.Path)
	return true
}

// addReason appends r unless the item has it already.
func (it *Item) addReason(r Reason) {
	if it.seen != nil {
		if it.seen[r] {
			return
		}
		it.seen[r] = true
		it.Reasons = append(it.Reasons, r)
		return
	}
	for _, old := range it.Reasons {
		if old == r {
			return
		}
	}
	it.Reasons = append(it.Reasons, r)
	if len(it.Reasons) >= manyReasons {
		it.seen = make(map[Reason]bool, 2*len(it.Reasons))
		for _, old := range it.Reasons {
			it.seen[old] = true
		}
	}
}

func (s *Set) keepParents(p string) {
	child := p
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if _, ok := s.items[dir]; ok {
			return
		}
		e, err := s.v.Lstat(dir)
		if err != nil {
			// cannot happen for a physical path whose child exists
			e = &rootfs.Entry{Path: dir, Type: rootfs.TypeDir, Mode: 0o755}
		}
		s.insert(&Item{Path: dir, Entry: e, Reasons: []Reason{{Kind: KindParent, From: child}}})
		if dir == "/" {
			return
		}
		child = dir
	}
}

// Keep keeps name, resolved in the image following symlinks, together with
// every symlink traversed and all parent directories. It returns the physical
// path. A name that does not exist gives an error wrapping rootfs.ErrNotExist.
func (s *Set) Keep(name string, r Reason) (string, error) {
	return s.keepName(name, r, true)
}

// KeepLink keeps name like Keep, but a final symlink is kept as the link
// itself and its target is kept too.
func (s *Set) KeepLink(name string, r Reason) (string, error) {
	p, err := s.keepName(name, r, false)
	if err != nil {
		return "", err
	}
	if e := s.items[p].Entry; e.Type == rootfs.TypeSymlink {
		if _, err := s.Keep(p, Reason{Kind: KindSymlink, From: p, Detail: "link target"}); err != nil && !isNotExist(err) {
			return "", err
		}
	}
	return p, nil
}

func (s *Set) keepName(name string, r Reason, follow bool) (string, error) {
	res, err := s.v.Resolve(name, follow)
	if err != nil {
		return "", err
	}
	e, err := s.v.Lstat(res.Path)
	if err != nil {
		return "", err
	}
	for _, l := range res.Links {
		le, err := s.v.Lstat(l)
		if err != nil {
			return "", fmt.Errorf("keeping symlink %s: %w", l, err)
		}
		s.keep(le, Reason{Kind: KindSymlink, From: res.Path})
	}
	s.keep(e, r)
	return res.Path, nil
}

// Generate keeps the regular file name like Keep, with data as its content
// in place of the image's. A later Generate replaces the content again.
func (s *Set) Generate(name string, data []byte, r Reason) (string, error) {
	p, err := s.Keep(name, r)
	if err != nil {
		return "", err
	}
	it := s.items[p]
	if it.Entry.Type != rootfs.TypeReg {
		return "", fmt.Errorf("generating %s: not a regular file", p)
	}
	e := *it.Entry
	e.Size = int64(len(data))
	e.HardlinkID = 0 // the content is no longer the inode's
	it.Entry, it.Content = &e, data
	return p, nil
}

// KeepTree keeps the directory name (resolved) and everything below it.
// Symlinks inside the tree are kept as links and their targets are kept too.
func (s *Set) KeepTree(name string, r Reason) (string, error) {
	root, err := s.Keep(name, r)
	if err != nil {
		return "", err
	}
	var links []string
	inTree := Reason{Kind: r.Kind, From: r.From, Rule: r.Rule, Detail: "in tree " + root} // one string for the whole tree
	err = s.v.Walk(root, func(e *rootfs.Entry) error {
		if e.Path != root {
			s.keep(e, inTree)
		}
		if e.Type == rootfs.TypeSymlink {
			links = append(links, e.Path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, l := range links {
		// a dangling link inside a tree is kept as it is
		if _, err := s.Keep(l, Reason{Kind: KindSymlink, From: l, Detail: "target of a link in " + root}); err != nil && !isNotExist(err) {
			return "", err
		}
	}
	return root, nil
}

// Remove drops the physical path p (and, for a directory, everything below it).
func (s *Set) Remove(p string) {
	s.stale = true
	delete(s.items, p)
	prefix := strings.TrimSuffix(p, "/") + "/"
	for k := range s.items {
		if strings.HasPrefix(k, prefix) {
			delete(s.items, k)
		}
	}
}

// Why returns the chain of reasons that led to p: the primary reason of p,
// then the primary reason of the path that caused it, up to a root. Cycles
// stop the chain.
func (s *Set) Why(p string) []Step {
	var chain []Step
	seen := map[string]bool{}
	for p != "" && !seen[p] {
		seen[p] = true
		it := s.items[p]
		if it == nil {
			break
		}
		r := it.Reasons[0]
		chain = append(chain, Step{Path: p, Reason: r})
		p = r.From
		if r.Kind == KindTrace || r.Kind == KindSymlink && r.From == it.Path {
			break
		}
	}
	return chain
}

// Step is one link of a Why chain.
type Step struct {
	Path   string `json:"path"`
	Reason Reason `json:"reason"`
}

// FormatChain renders a Why chain as "a ← DT_NEEDED of b ← entrypoint".
func FormatChain(chain []Step) string {
	var b strings.Builder
	for i, st := range chain {
		if i == 0 {
			b.WriteString(st.Path)
		}
		b.WriteString(" ← ")
		b.WriteString(st.Reason.String())
	}
	return b.String()
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
