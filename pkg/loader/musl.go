package loader

import (
	"slices"
	"strings"
)

// musl 1.2.3 (ldso/dynlink.c load_library), rule 17.

// muslReserved are the names musl's dynamic linker answers itself.
var muslReserved = []string{"c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."}

func (r *Resolver) muslMapObject(name string, requester *lmap, o mapOpts) (*lmap, *Missing) {
	if strings.HasPrefix(name, "lib") {
		for _, res := range muslReserved {
			if strings.HasPrefix(name[3:], res) {
				if !slices.Contains(r.res.Builtin, name) {
					r.res.Builtin = append(r.res.Builtin, name)
				}
				return r.interp, nil
			}
		}
	}
	if r.interp != nil && name == r.interp.obj.OpenedAs {
		return r.interp, nil
	}
	s := &search{r: r, name: name, requester: requester, opts: o}
	var h *hit
	if strings.Contains(name, "/") {
		h = s.direct()
	} else {
		// already loaded under this short name?
		for _, l := range r.maps {
			if l.isMain || l == r.interp {
				continue
			}
			if strings.HasSuffix(l.obj.OpenedAs, "/"+name) || l.obj.OpenedAs == name {
				return l, nil
			}
		}
		if len(name) > 255 {
			return nil, &Missing{Name: name, By: requester.phys}
		}
		h = s.muslRun()
	}
	if s.fatal != "" {
		return nil, &Missing{Name: name, By: requester.phys, Err: s.fatal}
	}
	if h == nil {
		return nil, &Missing{Name: name, By: requester.phys}
	}
	return r.add(name, requester, h, o.preload, ""), nil
}

// muslRun searches LD_LIBRARY_PATH, then the RPATH/RUNPATH of the requester
// and up its loading chain, then /etc/ld-musl-$ARCH.path or the default.
func (s *search) muslRun() *hit {
	r := s.r
	if dirs := r.libraryPath(); dirs != nil {
		if h := s.openPath(dirs, HowLibraryPath); h != nil || s.fatal != "" {
			return h
		}
	}
	for l := s.requester; l != nil; l = l.loader {
		dirs, how := r.muslRpath(l)
		if dirs != nil {
			if h := s.openPath(dirs, how); h != nil || s.fatal != "" {
				return h
			}
		}
	}
	return s.openPath(r.muslSysPath(), HowMuslPath)
}

// muslRpath returns the decomposed DT_RUNPATH (preferred) or DT_RPATH of l.
// Only $ORIGIN is supported; any other '$' voids the path.
func (r *Resolver) muslRpath(l *lmap) ([]string, How) {
	raw, how := "", HowRpath
	switch {
	case l.f.HasRunpath:
		raw, how = l.f.Runpath, HowRunpath
	case l.f.HasRpath:
		raw = l.f.Rpath
	default:
		return nil, how
	}
	if strings.Contains(raw, "$") {
		var b strings.Builder
		rest := raw
		for {
			i := strings.IndexByte(rest, '$')
			if i < 0 {
				b.WriteString(rest)
				break
			}
			var n int
			switch {
			case strings.HasPrefix(rest[i:], "$ORIGIN"):
				n = 7
			case strings.HasPrefix(rest[i:], "${ORIGIN}"):
				n = 9
			default:
				return nil, how
			}
			if l.isMain && r.opts.Secure {
				return nil, how
			}
			b.WriteString(rest[:i])
			b.WriteString(l.origin)
			rest = rest[i+n:]
		}
		raw = b.String()
	}
	return splitMusl(raw), how
}

// splitMusl splits a musl path list on ':' and newlines, dropping empty
// elements.
func splitMusl(s string) []string {
	return append([]string{}, strings.FieldsFunc(s, func(c rune) bool { return c == ':' || c == '\n' })...)
}

// muslSysPath reads <prefix>/etc/ld-musl-$ARCH.path, prefix being the
// parent of the directory holding the dynamic linker; an unreadable file
// gives an empty path, a missing one the default.
func (r *Resolver) muslSysPath() []string {
	if r.muslRead {
		return r.muslPath
	}
	r.muslRead = true
	prefix := ""
	if r.interp != nil {
		name := r.interp.obj.OpenedAs
		if strings.HasPrefix(name, "/") {
			// everything before the second-to-last '/'
			last := strings.LastIndexByte(name, '/')
			prev := strings.LastIndexByte(name[:last], '/')
			if prev > 0 {
				prefix = name[:prev]
			}
		}
	}
	file := prefix + "/etc/ld-musl-" + r.arch.muslArch + ".path"
	data, err := r.v.ReadFile(file, 1<<20)
	if !isNotExist(err) {
		r.res.ConfigFiles = append(r.res.ConfigFiles, file)
	}
	switch {
	case err == nil:
		r.muslPath = splitMusl(string(data))
	case isNotExist(err):
		r.muslPath = splitMusl(muslDefaultPath)
	default:
		r.muslPath = []string{}
	}
	return r.muslPath
}
