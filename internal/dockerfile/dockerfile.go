// Package dockerfile writes a multi-stage Dockerfile tail that rebuilds a
// pared image from its source with COPY --from, plus the small build
// context it needs: the directories, symbolic links and files pare
// generates (accounts, /tmp, homes, the rewritten package database, its own
// programs) or changes (setid bits dropped).
//
// The Dockerfile needs nothing but Docker's classic builder (docker 20.10
// without BuildKit): COPY --from and --chown, no --chmod, no --link, no
// RUN (the stage is FROM scratch). What the classic builder does, and what
// the output relies on:
//
//   - COPY --from keeps the owner, mode and symbolic links of what it copies;
//     a directory source copies its contents, never the directory itself,
//     so an existing destination directory keeps its own metadata;
//   - COPY from the context keeps modes (sticky /tmp) and makes every entry
//     0:0, or --chown's owner; a directory entry of the copied tree replaces
//     the owner and mode of an existing directory;
//   - a source that is a symbolic link is followed, so links are never
//     named as sources: they come from the context.
//
// The lines are, in order: the context's root-owned tree (every directory
// with its mode, every link and generated file) onto /; one COPY --chown per
// group of entries with another owner, shallowest first; then the source's
// files: a directory kept whole (every entry of the source's tree, same
// metadata) as one COPY, other files grouped by directory.
package dockerfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Input is a pared image's layout and where its files come from.
type Input struct {
	// Source is the image name the Dockerfile starts FROM (a name the
	// builder can resolve: a local tag or a registry reference).
	Source string
	// View is the source image's files.
	View *rootfs.View
	// Items are the entries of the pared image (assemble.Layout).
	Items []tarlayer.Item
	// Generated are the paths of regular files whose content pare made.
	Generated map[string]bool
	// Config is the pared image's config.
	Config v1.Config
	// Context is the build context directory as the header names it in the
	// docker build command.
	Context string
	// File is the Dockerfile's name in that command ("" is Dockerfile).
	File string
	// Comment lines are added to the header (without "# ").
	Comment []string
}

// Output is the Dockerfile and the files of its build context.
type Output struct {
	Dockerfile []byte
	// Context are the entries of the build context, with paths relative
	// to its root ("/rootfs/etc/passwd"); WriteContext writes them.
	Context []tarlayer.Item
	// Copies is the number of COPY instructions (each is a layer).
	Copies int
	// Warnings are entries the Dockerfile cannot reproduce.
	Warnings []string
}

// Context directories: the root-owned tree and the owner groups.
const (
	RootTree  = "rootfs"
	ChownTree = "chown"
)

// maxLayers is a safe number of layers for overlay2 (128 lower dirs).
const maxLayers = 120

type node struct {
	it       tarlayer.Item
	children []string
}

// Generate writes the Dockerfile and its context for in.
func Generate(in Input) (*Output, error) {
	if in.Source == "" {
		return nil, fmt.Errorf("no source image name to start FROM")
	}
	out := &Output{}
	layout := map[string]*node{"/": {it: tarlayer.Item{Entry: rootfs.Entry{Path: "/", Type: rootfs.TypeDir, Mode: 0o755}}}}
	var paths []string
	for _, it := range in.Items {
		p := it.Entry.Path
		if p == "/" {
			continue
		}
		if _, dup := layout[p]; dup {
			return nil, fmt.Errorf("%w %s", tarlayer.ErrDuplicate, p)
		}
		layout[p] = &node{it: it}
		paths = append(paths, p)
	}
	// parents the layer writer would add, with its attributes
	for _, p := range append([]string(nil), paths...) {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := layout[d]; ok {
				break
			}
			layout[d] = &node{it: tarlayer.Item{Entry: rootfs.Entry{Path: d, Type: rootfs.TypeDir, Mode: 0o755}}}
			paths = append(paths, d)
		}
	}
	sort.Slice(paths, func(i, j int) bool { return tarlayer.ComparePaths(paths[i], paths[j]) < 0 })
	for _, p := range paths {
		par := layout[path.Dir(p)]
		if par.it.Entry.Type != rootfs.TypeDir {
			return nil, fmt.Errorf("parent %s of %s is a %s, not a dir", path.Dir(p), p, par.it.Entry.Type)
		}
		par.children = append(par.children, p)
	}
	whole, err := wholeDirs(in, layout)
	if err != nil {
		return nil, err
	}

	// Classify every entry: copied from the source (alone or with a
	// whole directory) or written into the context.
	var wholeTops []string
	filesByDir := map[string][]string{}
	var dirsWithFiles []string
	var ctx []string
	under := map[string]bool{} // entries inside a whole directory
	for _, p := range paths {
		if under[path.Dir(p)] {
			under[p] = true
			continue
		}
		e := layout[p].it.Entry
		switch {
		case e.Type == rootfs.TypeDir:
			ctx = append(ctx, p)
			if whole[p] && holdsNonDir(layout, p) { // a tree of empty directories comes from the context
				wholeTops = append(wholeTops, p)
				under[p] = true
			}
		case e.Type == rootfs.TypeSymlink:
			ctx = append(ctx, p)
		case e.Type == rootfs.TypeReg:
			if in.Generated[p] || !sameAsSource(in.View, &e) || !plainPath(p) {
				ctx = append(ctx, p)
				continue
			}
			d := path.Dir(p)
			if filesByDir[d] == nil {
				dirsWithFiles = append(dirsWithFiles, d)
			}
			filesByDir[d] = append(filesByDir[d], p)
		default:
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: a %s cannot be made by COPY; left out", p, e.Type))
		}
	}

	// Context: root-owned entries in one tree, the others in groups of
	// one owner under one parent.
	type group struct {
		parent   string
		uid, gid int
		dir      string
	}
	var groups []*group
	groupKey := map[string]*group{}
	groupOf := map[string]*group{} // context entry → its group (nil: root tree)
	ctxSet := map[string]bool{}
	for _, p := range ctx {
		ctxSet[p] = true
	}
	var items []tarlayer.Item
	ctxItem := func(at string, e rootfs.Entry, open func() (io.ReadCloser, error)) {
		src := e.Path
		e.Path, e.HardlinkID = at, 0
		it := tarlayer.Item{Entry: e}
		if e.Type == rootfs.TypeReg {
			it.Open = open
			if it.Open == nil {
				it.Open = func() (io.ReadCloser, error) { return in.View.Open(src) }
			}
		}
		items = append(items, it)
	}
	for _, p := range ctx {
		n := layout[p]
		e := n.it.Entry
		if e.UID == 0 && e.GID == 0 {
			ctxItem("/"+RootTree+p, e, n.it.Open)
			continue
		}
		// the root tree still holds a directory, for its children; its
		// group's COPY sets the owner
		if e.Type == rootfs.TypeDir {
			d := e
			d.UID, d.GID = 0, 0
			ctxItem("/"+RootTree+p, d, nil)
		}
		par := path.Dir(p)
		g := groupOf[par]
		if g == nil || g.uid != e.UID || g.gid != e.GID || !ctxSet[par] {
			key := fmt.Sprintf("%s\x00%d:%d", par, e.UID, e.GID)
			if g = groupKey[key]; g == nil {
				g = &group{parent: par, uid: e.UID, gid: e.GID, dir: fmt.Sprintf("%s/%d", ChownTree, len(groups)+1)}
				groupKey[key] = g
				groups = append(groups, g)
			}
		}
		groupOf[p] = g
		rel := strings.TrimPrefix(strings.TrimPrefix(p, g.parent), "/")
		ctxItem("/"+g.dir+"/"+rel, e, n.it.Open)
	}
	sort.SliceStable(groups, func(i, j int) bool { return depth(groups[i].parent) < depth(groups[j].parent) })
	sort.Slice(items, func(i, j int) bool { return tarlayer.ComparePaths(items[i].Entry.Path, items[j].Entry.Path) < 0 })
	out.Context = items

	// The Dockerfile.
	var b bytes.Buffer
	var copies []string
	copies = append(copies, "COPY "+RootTree+"/ /")
	for _, g := range groups {
		copies = append(copies, fmt.Sprintf("COPY --chown=%d:%d %s/ %s", g.uid, g.gid, g.dir, dirDest(g.parent)))
	}
	// source copies in path order: whole directories and file groups
	type srcCopy struct {
		at   string
		line string
	}
	var sc []srcCopy
	for _, d := range wholeTops {
		sc = append(sc, srcCopy{d, copyLine([]string{d}, d)})
	}
	for _, d := range dirsWithFiles {
		sc = append(sc, srcCopy{d + "/", copyLine(filesByDir[d], dirDest(d))})
	}
	sort.SliceStable(sc, func(i, j int) bool { return tarlayer.ComparePaths(sc[i].at, sc[j].at) < 0 })
	for _, c := range sc {
		copies = append(copies, c.line)
	}
	out.Copies = len(copies)
	if len(copies) > maxLayers {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d COPY instructions make %d layers: more than overlay2 stacks (about 125)", len(copies), len(copies)))
	}

	ctxName := in.Context
	if ctxName == "" {
		ctxName = "CONTEXT"
	}
	fmt.Fprintf(&b, "# Generated by pare dockerfile: the files of the pared image, copied from %s.\n", in.Source)
	file := in.File
	if file == "" {
		file = "Dockerfile"
	}
	fmt.Fprintf(&b, "# Build: docker build --network host -f %s %s\n", shellQuote(file), shellQuote(ctxName))
	fmt.Fprintf(&b, "# Needs only Docker's classic builder (docker 20.10, no BuildKit): COPY --from and\n")
	fmt.Fprintf(&b, "# --chown, no --chmod (modes come from the source and the context); written and\n")
	fmt.Fprintf(&b, "# tested for it. The context (%s) holds the directories, links and\n", RootTree+"/, "+ChownTree+"/")
	fmt.Fprintf(&b, "# files pare generates or changes; pare dockerfile writes it with this file.\n")
	for _, c := range in.Comment {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	fmt.Fprintf(&b, "FROM %s AS source\n\nFROM scratch\n", in.Source)
	for _, c := range copies {
		b.WriteString(c + "\n")
	}
	writeConfig(&b, in.Config)
	out.Dockerfile = b.Bytes()
	return out, nil
}

// holdsNonDir reports whether the tree at p holds anything but directories.
func holdsNonDir(layout map[string]*node, p string) bool {
	for _, c := range layout[p].children {
		if layout[c].it.Entry.Type != rootfs.TypeDir || holdsNonDir(layout, c) {
			return true
		}
	}
	return false
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// dirDest is a directory destination: with a trailing slash.
func dirDest(d string) string {
	if d == "/" {
		return "/"
	}
	return d + "/"
}

// plainPath reports whether p can be named in a COPY instruction: no
// variable, wildcard, escape or quote character, only printable ASCII and
// spaces (written in the JSON form). Other files come from the context.
func plainPath(p string) bool {
	for _, r := range p {
		if r < 0x20 || r >= 0x7f || strings.ContainsRune("$*?[]\\\"'`", r) {
			return false
		}
	}
	return true
}

// copyLine is one COPY --from=source of srcs to dst; the JSON form when a
// path has a blank.
func copyLine(srcs []string, dst string) string {
	all := append(append([]string(nil), srcs...), dst)
	for _, p := range all {
		if strings.ContainsAny(p, " \t") {
			return "COPY --from=source " + jsonArray(all)
		}
	}
	if len(srcs) <= 2 {
		return "COPY --from=source " + strings.Join(all, " ")
	}
	var b strings.Builder
	b.WriteString("COPY --from=source")
	for _, p := range all {
		b.WriteString(" \\\n    " + p)
	}
	return b.String()
}

func jsonArray(s []string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if s == nil {
		s = []string{}
	}
	_ = enc.Encode(s) // strings always encode
	return strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), `","`, `", "`)
}

// sameAsSource reports whether the source has a regular file at e's path
// with e's owner and mode, so that COPY --from reproduces it.
func sameAsSource(v *rootfs.View, e *rootfs.Entry) bool {
	s, err := v.Lstat(e.Path)
	return err == nil && s.Path == e.Path && sameMeta(s, e)
}

func sameMeta(s, e *rootfs.Entry) bool {
	return s.Type == e.Type && s.Mode == e.Mode && s.UID == e.UID && s.GID == e.GID &&
		(s.Type != rootfs.TypeSymlink || s.Linkname == e.Linkname) && (s.Type != rootfs.TypeReg || s.Size == e.Size)
}

// wholeDirs returns the layout directories that hold exactly the source's
// directory of that path: the same entries with the same metadata, none
// generated, and the same for every subdirectory.
func wholeDirs(in Input, layout map[string]*node) (map[string]bool, error) {
	whole := map[string]bool{}
	var check func(p string) (bool, error)
	check = func(p string) (bool, error) {
		n := layout[p]
		e := n.it.Entry
		s, err := in.View.Lstat(p)
		if err != nil || s.Path != p || !sameMeta(s, &e) || !plainPath(p) {
			return false, nil
		}
		src, err := in.View.ReadDir(p)
		if err != nil {
			return false, fmt.Errorf("reading %s of the source: %w", p, err)
		}
		ok := len(src) == len(n.children)
		for _, se := range src {
			c, in2 := layout[se.Path]
			if !in2 || in.Generated[se.Path] || !sameMeta(se, &c.it.Entry) {
				ok = false
			}
		}
		for _, c := range n.children {
			if layout[c].it.Entry.Type == rootfs.TypeDir {
				w, err := check(c)
				if err != nil {
					return false, err
				}
				ok = ok && w
			}
		}
		whole[p] = ok
		return ok, nil
	}
	for _, c := range layout["/"].children {
		if layout[c].it.Entry.Type == rootfs.TypeDir {
			if _, err := check(c); err != nil {
				return nil, err
			}
		}
	}
	return whole, nil
}

// writeConfig writes the config instructions of c.
func writeConfig(b *bytes.Buffer, c v1.Config) {
	b.WriteString("\n")
	if c.User != "" {
		fmt.Fprintf(b, "USER %s\n", c.User)
	}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(b, "ENV %s=%s\n", k, quote(v))
	}
	if c.WorkingDir != "" {
		fmt.Fprintf(b, "WORKDIR %s\n", quote(c.WorkingDir))
	}
	if len(c.ExposedPorts) > 0 {
		var ports []string
		for p := range c.ExposedPorts {
			ports = append(ports, p)
		}
		sort.Strings(ports)
		fmt.Fprintf(b, "EXPOSE %s\n", strings.Join(ports, " "))
	}
	if len(c.Volumes) > 0 {
		var vols []string
		for v := range c.Volumes {
			vols = append(vols, v)
		}
		sort.Strings(vols)
		fmt.Fprintf(b, "VOLUME %s\n", jsonArray(vols))
	}
	if len(c.Labels) > 0 {
		var keys []string
		for k := range c.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "LABEL %s=%s\n", quote(k), quote(c.Labels[k]))
		}
	}
	if c.StopSignal != "" {
		fmt.Fprintf(b, "STOPSIGNAL %s\n", c.StopSignal)
	}
	if h := c.Healthcheck; h != nil && len(h.Test) > 0 {
		switch h.Test[0] {
		case "NONE":
			b.WriteString("HEALTHCHECK NONE\n")
		case "CMD", "CMD-SHELL":
			var opts []string
			for _, o := range []struct {
				name string
				d    time.Duration
			}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start-period", h.StartPeriod}} {
				if o.d > 0 {
					opts = append(opts, fmt.Sprintf("--%s=%s", o.name, o.d))
				}
			}
			if h.Retries > 0 {
				opts = append(opts, "--retries="+strconv.Itoa(h.Retries))
			}
			cmd := jsonArray(h.Test[1:])
			if h.Test[0] == "CMD-SHELL" {
				cmd = strings.Join(h.Test[1:], " ")
			}
			fmt.Fprintf(b, "HEALTHCHECK %sCMD %s\n", strings.Join(append(opts, ""), " "), cmd)
		}
	}
	if c.Entrypoint != nil {
		fmt.Fprintf(b, "ENTRYPOINT %s\n", jsonArray(c.Entrypoint))
	}
	if c.Cmd != nil {
		fmt.Fprintf(b, "CMD %s\n", jsonArray(c.Cmd))
	}
}

// quote is a double-quoted Dockerfile word: no variable is expanded.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$\\`*?[]#;&|<>()") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
