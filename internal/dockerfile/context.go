package dockerfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Marker is the file that marks a directory as a context pare wrote, which
// WriteContext may replace.
const Marker = ".pare-context"

// WriteContext writes the context entries into dir: into a new directory
// beside it, renamed into place once complete. An existing dir is replaced
// only when it is empty or a context pare wrote (it holds Marker).
func WriteContext(dir string, items []tarlayer.Item) error {
	dir = filepath.Clean(dir)
	if st, err := os.Lstat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("context %s: not a directory", dir)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("reading %s: %w", dir, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, Marker)); len(ents) > 0 && err != nil {
			return fmt.Errorf("context %s exists and was not written by pare (no %s): not replacing it", dir, Marker)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("context %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("context %s: %w", dir, err)
	}
	if err := writeTree(tmp, items); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("replacing %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("renaming the context to %s: %w", dir, err)
	}
	return nil
}

func writeTree(root string, items []tarlayer.Item) error {
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, Marker), []byte("written by pare dockerfile; replaced when it runs again\n"), 0o644); err != nil {
		return err
	}
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	mkParents := func(p string) error { return os.MkdirAll(filepath.Dir(p), 0o755) }
	for _, it := range items {
		e := it.Entry
		rel := strings.TrimPrefix(e.Path, "/")
		if rel == "" || strings.Contains("/"+rel+"/", "/../") {
			return fmt.Errorf("context entry %q: not a relative path", e.Path)
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := mkParents(p); err != nil {
			return fmt.Errorf("writing the context: %w", err)
		}
		switch e.Type {
		case rootfs.TypeDir:
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("writing the context: %w", err)
			}
			dirs = append(dirs, dirMode{p, e.Mode})
		case rootfs.TypeSymlink:
			if err := os.Symlink(e.Linkname, p); err != nil {
				return fmt.Errorf("writing the context: %w", err)
			}
		case rootfs.TypeReg:
			if err := writeFile(p, it); err != nil {
				return err
			}
		default:
			return fmt.Errorf("context entry %s: cannot write a %s", e.Path, e.Type)
		}
	}
	// modes last, deepest first: a read-only directory still gets its children
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].path > dirs[j].path })
	for _, d := range dirs {
		if err := os.Chmod(d.path, goMode(d.mode)); err != nil {
			return fmt.Errorf("writing the context: %w", err)
		}
	}
	return nil
}

func writeFile(p string, it tarlayer.Item) error {
	if it.Open == nil {
		return fmt.Errorf("context entry %s: no content", it.Entry.Path)
	}
	r, err := it.Open()
	if err != nil {
		return fmt.Errorf("reading %s: %w", it.Entry.Path, err)
	}
	defer r.Close()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the context: %w", err)
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != it.Entry.Size {
		err = fmt.Errorf("%d bytes, want %d", n, it.Entry.Size)
	}
	if err != nil {
		return fmt.Errorf("writing %s into the context: %w", it.Entry.Path, err)
	}
	if err := os.Chmod(p, goMode(it.Entry.Mode)); err != nil {
		return fmt.Errorf("writing the context: %w", err)
	}
	return nil
}

// goMode is m with its setid and sticky bits as os.Chmod takes them.
func goMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
