package keep

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Application files: what the image's own layers added outside any package
// is the application (a server's static files relative to its WorkingDir,
// TLS material installed beside a program, a script's data file). Static
// reading cannot tell which of them a program opens, so all of them are
// kept, under the application roots:
//
//   - the WorkingDir tree and the directory of the entrypoint program, unless
//     they are shared system directories (/, /usr/bin, ...);
//   - /app, /srv, /opt, /usr/local and every /home/NAME (in traced mode not
//     /opt and /usr/local, where official images install runtimes outside
//     packages: the trace sees which of their files are used);
//   - absolute paths named in the config Env (PYTHONPATH=/code/lib, ...).
//
// A path is left out when a package lists it or the package manager made it
// (alternatives), when it is a cache a build leaves behind (.cache, .npm,
// .node-gyp, .pnpm-store, VCS metadata such as .git). A directory is kept for
// itself (an empty upload directory) only when a layer after the first made
// it and that layer installs no packages (apt-get install, dpkg -i, apk
// add): the base's skeleton (/usr/local/games) and maintainer-script output
// (ca-certificates' /usr/local/share/ca-certificates) are kept only as
// parents of kept files.
// Files of layers that install packages and also copy the application (the
// usual RUN apt-get install ... && mkdir /srv/www && ...) are kept.
//
// A tree that a runtime's import graph searches (a virtual environment's
// site-packages, an application's node_modules, an interpreter's library
// installed under /usr/local; see knowledge.GraphTrees) is left out: the
// graph keeps the modules reachable from the application's scripts and
// their packages' data, and a trace what the run loaded. The rest of the
// application's tree (its sources, data, a virtual environment's bin) stays.
//
// ELF files among them get their loader closure (a native addon, a vendored
// binary). Every kept application file has the reason kind "app", so the
// report can total them and --exclude drops what the user knows is unneeded.

// cacheNames are directory names of build caches.
var cacheNames = map[string]bool{
	".cache": true, ".npm": true, ".node-gyp": true, ".pnpm-store": true, ".yarn-cache": true,
	".git": true, ".svn": true, ".hg": true, ".pytest_cache": true, ".mypy_cache": true, ".ruff_cache": true,
	".tox": true, ".gradle": true, ".cargo": true, ".rustup": true,
}

// installCmd matches a layer's created_by that installs OS packages.
var installCmd = regexp.MustCompile(`\b(apt-get|apt|aptitude)\s+(-\S+\s+)*install\b|\bdpkg\s+(-\S+\s+)*(-i|--install)\b|\bapk\s+(-\S+\s+)*add\b`)

func (b *builder) appRoots() []string {
	var roots []string
	add := func(p string) {
		if p == "" || !strings.HasPrefix(p, "/") {
			return
		}
		e, err := b.v.Stat(p)
		if err != nil || e.Type != rootfs.TypeDir {
			return
		}
		if isSystemDir(e.Path) && e.Path != "/opt" && e.Path != "/usr/local" || hierarchyDir(e.Path) && !fixedAppRoot[e.Path] {
			return
		}
		roots = append(roots, e.Path)
	}
	fixed := []string{"/app", "/srv", "/opt", "/usr/local"}
	if !b.static() {
		// runtimes installed outside packages live there (an official
		// image's /usr/local/lib/python3.12, /opt/java/openjdk): the trace
		// sees which of their files are used
		fixed = fixed[:2]
	}
	for _, r := range fixed {
		add(r)
	}
	if ents, err := b.v.ReadDir("/home"); err == nil {
		for _, e := range ents {
			if e.Type == rootfs.TypeDir {
				add(e.Path)
			}
		}
	}
	add(b.cfg.WorkingDir)
	if len(b.res.Roots) > 0 {
		add(path.Dir(b.res.Roots[0]))
	}
	keys := make([]string, 0, len(b.env))
	for k := range b.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "PATH" || k == "HOME" {
			continue // PATH names the system's program dirs; HOME is a /home root or the WorkingDir
		}
		for _, piece := range strings.Split(b.env[k], ":") {
			if strings.HasPrefix(piece, "/") {
				b.appEnvPath(piece, k)
				add(piece)
			}
		}
	}
	sort.Strings(roots)
	// drop roots inside other roots
	var out []string
	for _, r := range roots {
		if len(out) > 0 && (r == out[len(out)-1] || strings.HasPrefix(r, strings.TrimSuffix(out[len(out)-1], "/")+"/")) {
			continue
		}
		out = append(out, r)
	}
	return out
}

var fixedAppRoot = map[string]bool{"/app": true, "/srv": true, "/opt": true, "/usr/local": true}

// appEnvPath keeps a regular file named by the Env when no package owns it.
func (b *builder) appEnvPath(p, key string) {
	e, err := b.v.Stat(p)
	if err != nil || e.Type != rootfs.TypeReg || b.packaged(e.Path) {
		return
	}
	if _, err := b.set.Keep(p, keptset.Reason{Kind: keptset.KindApp, Detail: "named by " + key + " in the Env"}); err != nil {
		b.warn("keeping %s: %v", p, err)
	}
}

// packaged reports whether a package lists p or the package manager made it.
func (b *builder) packaged(p string) bool {
	ix := b.pk.ix
	if ix == nil {
		return false
	}
	if ix.Listed(p) {
		return true
	}
	_, ok := ix.Managed(p)
	return ok
}

func (b *builder) appFiles() {
	hist := b.v.LayerHistory()
	installLayer := func(n int) bool {
		return n > 0 && n <= len(hist) && installCmd.MatchString(hist[n-1])
	}
	for _, root := range b.appRoots() {
		var elfs, left []string
		n := 0
		details := map[int]string{} // appDetail by layer: one string for all the files of a layer
		walked := 0
		err := b.v.Walk(root, func(e *rootfs.Entry) error {
			walked++
			if err := b.canceledEvery(walked); err != nil {
				return err
			}
			if e.Path != root && e.Type == rootfs.TypeDir && cacheNames[path.Base(e.Path)] {
				return fs.SkipDir
			}
			if e.Path != root && e.Type == rootfs.TypeDir && b.graphTrees[e.Path] != "" {
				// (a root that is itself such a tree was named as the
				// application's: the WorkingDir, the Env)
				left = append(left, e.Path)
				return fs.SkipDir
			}
			if b.packaged(e.Path) {
				return nil // a package's file: the package closure decides
			}
			layer := b.v.Layer(e.Path)
			if e.Type == rootfs.TypeDir && (layer == 1 || installLayer(layer)) {
				// the base's skeleton (/usr/local/games) or maintainer-script
				// output (/usr/local/share/ca-certificates): such a directory
				// is kept only as the parent of kept files
				return nil
			}
			d, ok := details[layer]
			if !ok {
				d = appDetail(root, layer, hist)
				details[layer] = d
			}
			why := keptset.Reason{Kind: keptset.KindApp, Detail: d}
			b.keepEntry(e.Path, why)
			n++
			if e.Type == rootfs.TypeReg && (e.Mode&0o111 != 0 || isSharedLibName(e.Path) || strings.HasSuffix(e.Path, ".node")) {
				elfs = append(elfs, e.Path)
			}
			return nil
		})
		if b.ctx.Err() != nil {
			return // the rules loop returns the error
		}
		if err != nil && !isNotExist(err) {
			b.warn("application files in %s: %v", root, err)
		}
		for _, d := range left {
			b.note("application files: %s left to the %s import graph", d, b.graphTrees[d])
		}
		for _, p := range elfs {
			if b.isELF(p) {
				if _, err := b.addProgram(p, keptset.Reason{Kind: keptset.KindApp, Detail: "application program in " + root}); err != nil {
					b.warn("application file %s: %v", p, err)
				}
			}
		}
	}
}

var _ knowledge.GraphTrees = (*builder)(nil)

// LeaveToGraph implements knowledge.GraphTrees.
func (b *builder) LeaveToGraph(dir, runtime string) {
	res, err := b.v.Resolve(dir, true)
	if err != nil {
		return
	}
	if b.graphTrees == nil {
		b.graphTrees = map[string]string{}
	}
	if b.graphTrees[res.Path] == "" {
		b.graphTrees[res.Path] = runtime
	}
}

func appDetail(root string, layer int, hist []string) string {
	s := "application file under " + root
	if layer > 0 && layer <= len(hist) {
		cb := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(hist[layer-1]), "/bin/sh -c"))
		cb = strings.TrimSpace(strings.TrimPrefix(cb, "#(nop)"))
		if len(cb) > 60 {
			cb = cb[:57] + "..."
		}
		s += fmt.Sprintf(", layer %d (%s)", layer, cb)
	}
	return s
}
