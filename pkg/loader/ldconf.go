package loader

import (
	"path"
	"strings"
)

// ld.so reads only the cache; /etc/ld.so.conf is read by ldconfig (rule 13).
// A library installed into a configured directory without running ldconfig
// is not found at run time. The hint below says so rather than "fixing" it.

// maxConfFiles caps the configuration files read through include lines.
const maxConfFiles = 256

// confDirs returns the directories of /etc/ld.so.conf and its includes.
func (r *Resolver) confDirs() []string {
	if r.confRead {
		return r.conf
	}
	r.confRead = true
	seen := map[string]bool{}
	files := 0
	var read func(file string)
	read = func(file string) {
		if seen[file] || files >= maxConfFiles {
			return
		}
		seen[file] = true
		files++
		data, err := r.v.ReadFile(file, 1<<20)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			if fields[0] == "include" {
				for _, pat := range fields[1:] {
					if !strings.HasPrefix(pat, "/") {
						pat = path.Join(path.Dir(file), pat)
					}
					for _, f := range r.glob(pat) {
						read(f)
					}
				}
				continue
			}
			if fields[0] == "hwcap" {
				continue
			}
			for _, d := range strings.FieldsFunc(line, func(c rune) bool { return strings.ContainsRune(" \t,:=", c) }) {
				if strings.HasPrefix(d, "/") {
					r.conf = append(r.conf, d)
				}
			}
		}
	}
	read("/etc/ld.so.conf")
	return r.conf
}

// glob expands a pattern whose wildcards are in the last component only.
func (r *Resolver) glob(pat string) []string {
	dir, base := path.Split(pat)
	if !strings.ContainsAny(base, "*?[") {
		return []string{pat}
	}
	ents, err := r.v.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		name := path.Base(e.Path)
		if ok, _ := path.Match(base, name); ok {
			out = append(out, path.Join(dir, name))
		}
	}
	return out
}

// ldconfigHint returns a note when name exists in a directory of
// ld.so.conf that the loader does not search without the cache.
func (r *Resolver) ldconfigHint(name string) string {
	if r.musl || strings.Contains(name, "/") {
		return ""
	}
	for _, d := range r.confDirs() {
		p := strings.TrimSuffix(d, "/") + "/" + name
		if e, err := r.v.Stat(p); err == nil && e.Type != 0 {
			return p + " exists in a directory of /etc/ld.so.conf but is not in /etc/ld.so.cache (ldconfig was not run)"
		}
	}
	return ""
}
