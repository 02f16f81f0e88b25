package rootfs

import (
	"io/fs"
	"strings"
)

// resolveTree is Resolve for the in-memory tree: one walk from the root
// carrying the current node and its ancestors (for ".."), taking the
// components of name and of the symlink targets met on the way without
// splitting them, so that resolving a path without symlinks allocates
// nothing. It also returns the node at the resolved path (nil when the
// final component is missing). Its results are those of resolveGeneric,
// which the tests check on random trees.
func (t *tree) resolve(name string, followFinal bool) (Resolution, *node, error) {
	var res Resolution
	// pending holds what is left of name and of each symlink target
	// being followed, innermost last, each trimmed of its outer slashes
	// (as splitPath would) and never exhausted: a string with no slash
	// left is its own last component.
	var pendingBuf [8]string
	pending := append(pendingBuf[:0], strings.Trim(name, "/"))
	// stack is the current directory and its ancestors, root first.
	var stackBuf [32]*node
	stack := append(stackBuf[:0], t.root)
	hops := 0
	for len(pending) > 0 {
		top := len(pending) - 1
		var c string
		if i := strings.IndexByte(pending[top], '/'); i >= 0 {
			c, pending[top] = pending[top][:i], pending[top][i+1:]
		} else {
			c = pending[top]
			pending = pending[:top]
		}
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		more := len(pending) > 0
		cur := stack[len(stack)-1]
		k := cur.child(c)
		if k == nil {
			if !more {
				res.Path = joinPath(cur.entry.Path, c)
				return res, nil, nil
			}
			return res, nil, &fs.PathError{Op: "resolve", Path: name, Err: ErrNotExist}
		}
		if k.entry.Type == TypeSymlink && (more || followFinal) {
			hops++
			if hops > MaxSymlinkHops {
				return res, nil, &fs.PathError{Op: "resolve", Path: name, Err: ErrLoop}
			}
			res.Links = append(res.Links, k.entry.Path)
			target := k.entry.Linkname
			if target == "" {
				// Linux: an empty symlink target resolves to nothing.
				return res, nil, &fs.PathError{Op: "resolve", Path: name, Err: ErrNotExist}
			}
			if target[0] == '/' {
				stack = stack[:1]
			}
			pending = append(pending, strings.Trim(target, "/"))
			continue
		}
		if more && k.entry.Type != TypeDir {
			return res, nil, &fs.PathError{Op: "resolve", Path: name, Err: ErrNotDir}
		}
		stack = append(stack, k)
	}
	n := stack[len(stack)-1]
	res.Path = n.entry.Path
	return res, n, nil
}

// joinPath is path.Join(dir, name) for a clean absolute dir and a name
// that is one component (no slash, not "." or "..").
func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
