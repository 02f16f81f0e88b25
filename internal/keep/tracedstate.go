package keep

import (
	"io/fs"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// keepStateTree keeps a package's state tree (/var/lib/N) with its
// contents. After a traced run, the links in it that point to another
// package's files outside it are left to the trace: such a link farm
// (ghostscript's /var/lib/ghostscript/CMap over poppler-data's CMaps, font
// map links made by maintainer scripts) indexes package data, which traced
// builds leave to what the run opened like the data packages themselves;
// the state's own files, the data a program wrote, stay whole.
func (b *builder) keepStateTree(dir string, why keptset.Reason) {
	if !b.opts.Traced || b.pk == nil || b.pk.ix == nil {
		b.keepTree(dir, why, false)
		return
	}
	left := 0
	example := ""
	err := b.v.Walk(dir, func(e *rootfs.Entry) error {
		if e.Path != dir && neverNeeded(e.Path) {
			if e.Type == rootfs.TypeDir {
				return fs.SkipDir
			}
			return nil
		}
		if e.Type == rootfs.TypeSymlink && b.linkToPackageData(dir, e.Path) {
			left++
			if example == "" {
				example = e.Path
			}
			return nil
		}
		b.keepEntry(e.Path, why)
		return nil
	})
	if err != nil && !isNotExist(err) {
		b.warn("keeping %s: %v", dir, err)
	}
	if left > 0 {
		b.note("traced: %d links of the state directory %s to package data (e.g. %s) are left to the run, which opened those it used; --include %s keeps them", left, dir, example, dir)
	}
}

// linkToPackageData reports whether the link at p resolves to a regular
// file outside dir that a package owns.
func (b *builder) linkToPackageData(dir, p string) bool {
	e, err := b.v.Stat(p)
	if err != nil || e.Type != rootfs.TypeReg {
		return false
	}
	if e.Path == dir || strings.HasPrefix(e.Path, strings.TrimSuffix(dir, "/")+"/") {
		return false
	}
	return len(b.pk.ix.Owners(e.Path)) > 0
}
