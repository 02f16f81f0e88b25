package importgraph

import (
	"path"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Perl resolves use, no, require and do as perl does: a module Foo::Bar is
// Foo/Bar.pm in the first directory of @INC that has it, a file is looked
// up in @INC unless it is a path (/x, ./x, ../x: against the working
// directory), and use lib puts directories in front of @INC. A module's
// XS object and AutoLoader files are the files of auto/Foo/Bar/ in the
// first directory of @INC that has that directory (DynaLoader's and
// AutoLoader's search), kept with the module.
type Perl struct {
	V *rootfs.View
	// INC is @INC without use lib: PERL5LIB and PERLLIB, then perl's own
	// directories (site, vendor, core) in order.
	INC []string
	// WorkDir is the directory relative paths are resolved against.
	WorkDir string
	Quiet   func(string) bool

	lib []string // what use lib added, in front of INC
}

type plResolver struct {
	p *Perl
	f fsys
}

// Graph returns the closure of the source files roots and the modules
// startup (Foo::Bar names, or files such as "sitecustomize.pl").
func (p *Perl) Graph(roots, startup []string) *Result {
	r := &plResolver{p: p, f: newFS(p.V)}
	p.lib = nil
	// use lib acts at compile time, before the modules after it are
	// loaded: the roots' directories are added first
	for _, root := range roots {
		for _, im := range r.f.imports(root, ParsePerl) {
			if im.Kind == "lib" && !im.Dynamic {
				r.addLib(root, im.Name)
			}
		}
	}
	var edges []Edge
	for _, root := range roots {
		edges = append(edges, Edge{Path: root, Detail: "script", Script: true})
	}
	for _, m := range startup {
		kind := "use"
		if strings.Contains(m, ".") || strings.Contains(m, "/") {
			kind = "file"
		}
		edges = append(edges, r.resolve("", Import{Name: m, Kind: kind})...)
	}
	return walk(p.V, r, edges, p.Quiet)
}

func (r *plResolver) parse(src []byte) []Import { return ParsePerl(src) }

// source reports whether p is Perl code: anything but a shared object and
// AutoLoader's index.
func (r *plResolver) source(p string) bool {
	return !strings.HasSuffix(p, ".so") && !strings.HasSuffix(p, ".ix")
}

func (r *plResolver) addLib(file, dir string) {
	if rest, ok := strings.CutPrefix(dir, "$FindBin::Bin"); ok {
		dir = path.Dir(file) + rest
	}
	if !strings.HasPrefix(dir, "/") {
		if r.p.WorkDir == "" {
			return
		}
		dir = path.Join(r.p.WorkDir, dir)
	}
	dir = path.Clean(dir)
	for _, d := range r.p.lib {
		if d == dir {
			return
		}
	}
	r.p.lib = append([]string{dir}, r.p.lib...)
}

func (r *plResolver) inc() []string {
	return append(append([]string(nil), r.p.lib...), r.p.INC...)
}

// resolve implements resolver.
func (r *plResolver) resolve(file string, im Import) []Edge {
	detail := im.Kind + " " + im.Name
	switch im.Kind {
	case "lib":
		if !im.Dynamic {
			r.addLib(file, im.Name)
		}
		return nil
	case "file":
		name := im.Name
		if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
			if !strings.HasPrefix(name, "/") {
				if r.p.WorkDir == "" {
					return nil
				}
				name = path.Join(r.p.WorkDir, name)
			}
			if r.f.isFile(name) {
				return []Edge{{Path: path.Clean(name), From: file, Detail: detail}}
			}
			return nil
		}
		for _, d := range r.inc() {
			if p := path.Join(d, name); r.f.isFile(p) {
				return []Edge{{Path: p, From: file, Detail: detail}}
			}
		}
		return nil
	}
	rel := strings.ReplaceAll(im.Name, "::", "/")
	var out []Edge
	for _, d := range r.inc() {
		if p := path.Join(d, rel+".pm"); r.f.isFile(p) {
			out = append(out, Edge{Path: p, From: file, Detail: detail})
			break
		}
	}
	if len(out) == 0 {
		return nil
	}
	out = append(out, r.data(out[0].Path)...)
	for _, d := range r.inc() {
		ad := path.Join(d, "auto", rel)
		if !r.f.isDir(ad) {
			continue
		}
		for _, n := range r.f.names(ad) {
			if p := path.Join(ad, n); r.f.isFile(p) {
				out = append(out, Edge{Path: p, From: out[0].Path, ELF: strings.HasSuffix(n, ".so"),
					Detail: "auto/" + rel + " of " + im.Name + " (XS object, AutoLoader files)"})
			}
		}
		break
	}
	return out
}

// data returns the files beside module file f that are not Perl code
// (Net/libnet.cfg beside Net/Config.pm, which reads it through __FILE__),
// unless f is directly in a directory of @INC.
func (r *plResolver) data(f string) []Edge {
	dir := path.Dir(f)
	for _, d := range r.inc() {
		if d == dir {
			return nil
		}
	}
	var out []Edge
	for _, n := range r.f.names(dir) {
		switch path.Ext(n) {
		case ".pm", ".pl", ".pod", ".al", ".ix", ".so", ".bs", ".h":
			continue
		}
		if p := path.Join(dir, n); r.f.isFile(p) {
			out = append(out, Edge{Path: p, From: f, Detail: "data beside " + path.Base(f)})
		}
	}
	return out
}
