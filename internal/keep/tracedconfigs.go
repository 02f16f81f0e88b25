package keep

import (
	"sort"

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
