package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// backend stores the files of a view. Every path it is given is absolute,
// clean and physical: no component but possibly the last is a symlink, and
// the View has checked that each parent is a directory.
type backend interface {
	// lookup returns the entry at p without following a final symlink.
	lookup(p string) (*Entry, error)
	// readDir returns the entries directly below the directory p, sorted by name.
	readDir(p string) ([]*Entry, error)
	// open returns the content of the regular file e.
	open(e *Entry) (File, error)
	close() error
}

// View is a read-only view of an image's merged root filesystem. All methods
// resolve symlinks inside the image root and never consult host files outside
// it. A View is safe for concurrent use by multiple goroutines.
type View struct {
	b        backend
	warnings []string
	history  []string // created_by of each layer, by 0-based layer index
}

// layerer is implemented by backends that know which layer made an entry.
type layerer interface {
	// layerOf returns the 1-based layer of the entry at physical path p, or 0.
	layerOf(p string) int
}

// Layer returns the 1-based index of the image layer that last created or
// changed the entry at the physical path p, or 0 when that is unknown (a
// directory view, a path no layer listed, such as an implicit parent).
func (v *View) Layer(p string) int {
	if l, ok := v.b.(layerer); ok {
		return l.layerOf(p)
	}
	return 0
}

// LayerHistory returns, for each layer in order, the created_by of its
// history entry in the image config ("" when the config has none); nil when
// the view was not made from an image.
func (v *View) LayerHistory() []string { return v.history }

// Warnings returns what was skipped or adjusted while building the view (for
// example a symlink entry that would have replaced the root, or a hardlink to
// a missing file), one message per item naming the layer and path.
func (v *View) Warnings() []string { return v.warnings }

// Resolution is the outcome of resolving a path inside the image root.
type Resolution struct {
	// Path is the physical path: no component of it is a symlink, except the
	// last one when the final link was not followed.
	Path string
	// Links are the symlinks traversed, in order, as physical paths. A closure
	// that keeps Path must keep these too for the original name to work.
	Links []string
}

// Resolve resolves name inside the image root. Relative names are taken from
// the root. Absolute symlink targets restart at the image root, ".." stops at
// the root and is applied to the physical path, and at most MaxSymlinkHops
// symlinks are followed. When followFinal is false a final symlink is not
// followed. A missing final component is not an error: Path names it and the
// caller learns of its absence from Lstat.
func (v *View) Resolve(name string, followFinal bool) (Resolution, error) {
	if t, ok := v.b.(*tree); ok {
		res, _, err := t.resolve(name, followFinal)
		return res, err
	}
	return v.resolveGeneric(name, followFinal)
}

// resolveGeneric is Resolve for any backend: each prefix is looked up by
// its physical path.
func (v *View) resolveGeneric(name string, followFinal bool) (Resolution, error) {
	var res Resolution
	queue := splitPath(name)
	cur := "/"
	hops := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		e, err := v.b.lookup(next)
		if err != nil {
			if isNotExist(err) && len(queue) == 0 {
				res.Path = next
				return res, nil
			}
			return res, &fs.PathError{Op: "resolve", Path: name, Err: err}
		}
		if e.Type == TypeSymlink && (len(queue) > 0 || followFinal) {
			hops++
			if hops > MaxSymlinkHops {
				return res, &fs.PathError{Op: "resolve", Path: name, Err: ErrLoop}
			}
			res.Links = append(res.Links, next)
			if e.Linkname == "" {
				// Linux: an empty symlink target resolves to nothing.
				return res, &fs.PathError{Op: "resolve", Path: name, Err: ErrNotExist}
			}
			if strings.HasPrefix(e.Linkname, "/") {
				cur = "/"
			}
			queue = append(splitPath(e.Linkname), queue...)
			continue
		}
		if len(queue) > 0 && !hasMore(queue) {
			// only "." or "" remain: the name must be a directory
			if e.Type != TypeDir {
				return res, &fs.PathError{Op: "resolve", Path: name, Err: ErrNotDir}
			}
		} else if len(queue) > 0 && e.Type != TypeDir {
			return res, &fs.PathError{Op: "resolve", Path: name, Err: ErrNotDir}
		}
		cur = next
	}
	res.Path = cur
	return res, nil
}

// hasMore reports whether q holds a component other than "" and ".".
func hasMore(q []string) bool {
	for _, c := range q {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

func isNotExist(err error) bool {
	return err == ErrNotExist || errors.Is(err, fs.ErrNotExist)
}

func (v *View) entry(op, name string, followFinal bool) (*Entry, error) {
	if t, ok := v.b.(*tree); ok {
		_, n, err := t.resolve(name, followFinal)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: ErrNotExist}
		}
		return &n.entry, nil
	}
	res, err := v.Resolve(name, followFinal)
	if err != nil {
		return nil, err
	}
	e, err := v.b.lookup(res.Path)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return e, nil
}

// Lstat returns the entry at name without following a final symlink. The
// returned Entry's Path is the physical path. The Entry is the view's own,
// as are those given by Stat, ReadDir and Walk: read it, never modify it
// (copy it to change it), and compare entries by value or Path, not by
// pointer (another backend may return copies).
func (v *View) Lstat(name string) (*Entry, error) { return v.entry("lstat", name, false) }

// Stat returns the entry at name, following symlinks.
func (v *View) Stat(name string) (*Entry, error) { return v.entry("stat", name, true) }

// Readlink returns the target of the symlink at name.
func (v *View) Readlink(name string) (string, error) {
	e, err := v.Lstat(name)
	if err != nil {
		return "", err
	}
	if e.Type != TypeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.Linkname, nil
}

// ReadDir returns the entries of the directory name, sorted by name.
func (v *View) ReadDir(name string) ([]*Entry, error) {
	e, err := v.Stat(name)
	if err != nil {
		return nil, err
	}
	if e.Type != TypeDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: ErrNotDir}
	}
	ents, err := v.b.readDir(e.Path)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return ents, nil
}

// Open opens the regular file at name, following symlinks.
func (v *View) Open(name string) (File, error) {
	if t, ok := v.b.(*tree); ok {
		_, n, err := t.resolve(name, true)
		switch {
		case err != nil:
			return nil, err
		case n == nil:
			return nil, &fs.PathError{Op: "stat", Path: name, Err: ErrNotExist}
		case n.entry.Type == TypeReg:
			return t.openNode(n), nil
		}
	}
	e, err := v.Stat(name)
	if err != nil {
		return nil, err
	}
	switch e.Type {
	case TypeReg:
	case TypeDir:
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrIsDir}
	default:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file (%s)", e.Type)}
	}
	f, err := v.b.open(e)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

// ReadFile returns the content of the regular file at name. Files larger than
// limit bytes are refused, so a hostile image cannot exhaust memory.
func (v *View) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := v.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("file is %d bytes, more than the limit of %d", f.Size(), limit)}
	}
	b := make([]byte, f.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// WalkFunc is called for each entry of a walk. Returning fs.SkipDir from a
// directory skips its children.
type WalkFunc func(e *Entry) error

// Walk visits root and everything below it in lexical order without following
// symlinks (root itself is resolved, following a final symlink).
func (v *View) Walk(root string, fn WalkFunc) error {
	if t, ok := v.b.(*tree); ok {
		_, n, err := t.resolve(root, true)
		if err != nil {
			return err
		}
		if n == nil {
			return &fs.PathError{Op: "stat", Path: root, Err: ErrNotExist}
		}
		return t.walk(n, fn)
	}
	e, err := v.Stat(root)
	if err != nil {
		return err
	}
	return v.walk(e, fn)
}

func (v *View) walk(e *Entry, fn WalkFunc) error {
	if err := fn(e); err != nil {
		if err == fs.SkipDir && e.Type == TypeDir {
			return nil
		}
		return err
	}
	if e.Type != TypeDir {
		return nil
	}
	kids, err := v.b.readDir(e.Path)
	if err != nil {
		return &fs.PathError{Op: "readdir", Path: e.Path, Err: err}
	}
	for _, k := range kids {
		if err := v.walk(k, fn); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the resources of the view (temporary spool files).
func (v *View) Close() error { return v.b.close() }
