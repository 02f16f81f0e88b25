package keep

import (
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// unreadConfig reports whether, after a traced run, the kept configuration
// file p is one the run never opened and nothing names as configuration
// to be read (an argument, an include line, a rule's configuration file):
// a package's other conffiles (lighttpd's conf-available/*.conf, a
// README), kept as the package's files. The paths such a file names are
// not followed then, since the programs that read configuration did not
// read it: a conf-available file's include_shell script, and the Perl it
// needs, stay out. A build without a trace follows them (every file may
// be read by some run). Configuration read only on some request is seen by
// the trace when a probe makes that request; --include keeps the rest.
func (b *builder) unreadConfig(it *keptset.Item) bool {
	if !b.opts.Traced || it.Entry.Type != rootfs.TypeReg || b.named().configs[it.Path] || b.configs[it.Path] {
		return false
	}
	for _, r := range it.Reasons {
		if r.Kind == keptset.KindTrace {
			return false
		}
	}
	return true
}

// noteUnreadConfigs says in the report which configuration files were kept
// without following what they name (see unreadConfig).
func (b *builder) noteUnreadConfigs() {
	if b.namedState == nil || len(b.namedState.unread) == 0 {
		return
	}
	var files []string
	for p := range b.namedState.unread {
		files = append(files, p)
	}
	sort.Strings(files)
	b.note("traced: %d kept configuration files the run did not read (e.g. %s) are kept without the paths they name; --include keeps a path, a build without --trace follows them all", len(files), files[0])
}

// unusedNamedDir reports whether, after a traced run, the directory dir
// (physical) that the Env or a configuration names is one the run used
// nothing below: an Alias of icons no probe asked for, a log directory of
// a server logging to stdout. Only the directory itself is kept then (its
// owner and mode, for a program that writes there); a tree the run used
// (a document root it served from, a data directory) is kept whole, and a
// build without a trace keeps every named tree.
func (b *builder) unusedNamedDir(dir string) bool {
	if !b.opts.Traced {
		return false
	}
	np := b.named()
	if !np.usedDone {
		np.usedDone = true
		for _, ob := range b.opts.Observed {
			if res, err := b.v.Resolve(ob.Path, false); err == nil {
				np.used = append(np.used, res.Path)
			} else if res, err := b.v.Resolve(path.Dir(ob.Path), true); err == nil {
				// created by the run: it used the directory
				np.used = append(np.used, path.Join(res.Path, path.Base(ob.Path)))
			}
		}
		sort.Strings(np.used)
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	i := sort.SearchStrings(np.used, prefix)
	return i == len(np.used) || !strings.HasPrefix(np.used[i], prefix)
}

// noteUnusedNamedDirs says in the report which named directories were kept
// without their trees (see unusedNamedDir).
func (b *builder) noteUnusedNamedDirs() {
	if b.namedState == nil || len(b.namedState.unusedDirs) == 0 {
		return
	}
	dirs := b.namedState.unusedDirs
	sort.Strings(dirs)
	b.note("traced: %d directories the configuration or Env names were not used by the run (e.g. %s): kept without their contents; --include DIR keeps a tree, a build without --trace keeps them whole", len(dirs), dirs[0])
}
