package knowledge

import (
	"bytes"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// TZData keeps the time zone database that kept programs can read. Always
// (once any program is kept): /etc/localtime (and the zone it links to),
// /etc/timezone, what TZ, TZDIR and ZONEINFO (Go) name. Then, in each
// zoneinfo directory (TZDIR's, /usr/share/zoneinfo):
//
//   - when a kept program can take a zone from the outside, the whole
//     directory but its right/ (leap-second variants) and posix/
//     (duplicates) subtrees, which are kept only when TZ, or a kept
//     configuration naming right/Zone, posix/Zone or a path below them,
//     selects them. A program takes a zone from the outside when it is a
//     language runtime (a Runtimes entry with application files: Python's
//     zoneinfo, Ruby's TZInfo, Perl's DateTime, Go-like APIs in every
//     language) or when a kept ELF object other than libc names "zoneinfo"
//     in its read-only data (Go's time.LoadLocation, PostgreSQL's
//     SET timezone, ICU, a JVM's default-zone search): the zone then comes
//     from a query, a request or code, not from the image;
//     The tables beside the zones (tzdata.zi, zone.tab, zone1970.tab,
//     iso3166.tab, leapseconds: every regular file of the directory's top
//     level that is not a TZif zone) are not zones: glibc, Go, CPython's
//     zoneinfo, ICU and the JVM look zones up by file name and never read
//     them; zone pickers and country listings do (tzselect, Ruby's TZInfo,
//     systemd's list-timezones). A table is kept when a kept program or
//     library names it in its read-only data, or a kept source file of a
//     language runtime (a Runtimes entry's AppFiles: .rb, .py, .pl, .js…)
//     names it;
//   - otherwise only the zones the image names: UTC, Etc/UTC, localtime,
//     posixrules (glibc reads it for a POSIX TZ without rules), the zone of
//     /etc/timezone, and every word of a kept configuration file (see
//     configFiles) or of TZ that names a zone file there (Europe/Paris,
//     EST5EDT). Such a program still reads TZ from its environment when
//     it calls localtime, so "docker run -e TZ=Asia/Tokyo" on the pared
//     image falls back to UTC for a zone not named at build time: the
//     trade-off of this rule. Name the zone in the image's Env, or keep
//     them all with All (--keep-zoneinfo).
//
// A traced run adds the zone files it opened; it then stands for the
// outside (see traced.go): a zone taker keeps only the zones the image
// names, as a program that takes none, beside those the run opened, with a
// note. Drop the rule with
// Without(rules, "tzdata") (--no-tzdata); a JVM's lib/tzdb.dat comes with
// the JVM tree.
type TZData struct {
	// All keeps every zoneinfo directory whole (--keep-zoneinfo).
	All   bool
	cache *zoneCache
}

// NewTZData returns the tzdata rule with a cache of the objects it
// scanned, for one build.
func NewTZData() TZData {
	return TZData{cache: &zoneCache{names: map[string]zoneNames{}, tables: map[string]map[string]bool{}}}
}

type zoneCache struct {
	mu     sync.Mutex
	names  map[string]zoneNames       // physical path → what its data names
	tables map[string]map[string]bool // zoneinfo directory → its tables (see zoneTables)
}

// zoneNames is what one kept file's data names: "zoneinfo" (it looks zones
// up by name) and which zone tables.
type zoneNames struct {
	zoneinfo bool
	tables   map[string]bool
}

// Name implements Rule.
func (TZData) Name() string { return "tzdata" }

// Apply implements Rule.
func (r TZData) Apply(c Keeper) error {
	objs := c.Objects()
	if len(objs) == 0 {
		return nil
	}
	why := because(r.Name(), "", "time zone database")
	if err := addPaths(c, why, "/etc/localtime", "/etc/timezone"); err != nil {
		return err
	}
	dirs := append(envList(c, "TZDIR"), "/usr/share/zoneinfo")
	if z, ok := c.Getenv("ZONEINFO"); ok && z != "" {
		if isDir(c.View(), z) {
			if _, err := keepTree(c, z, because(r.Name(), "", "ZONEINFO"), treeOpts{}); err != nil {
				return err
			}
		} else if _, err := c.AddPath(z, because(r.Name(), "", "ZONEINFO")); err != nil {
			return err
		}
	}
	tz, _ := c.Getenv("TZ")
	tz = strings.TrimPrefix(tz, ":")
	if tz != "" {
		why := because(r.Name(), "", "TZ="+tz)
		switch {
		case strings.HasPrefix(tz, "/"):
			if _, err := c.AddPath(tz, why); err != nil {
				return err
			}
		case !strings.Contains(tz, ".."):
			for _, d := range dirs {
				if _, err := c.AddPath(path.Join(d, tz), why); err != nil {
					return err
				}
			}
		}
	}
	if r.All {
		for _, d := range dirs {
			if _, err := keepTree(c, d, because(r.Name(), "", "time zone database (--keep-zoneinfo)"), treeOpts{}); err != nil {
				return err
			}
		}
		return nil
	}
	v := c.View()
	named := r.namedZones(c, dirs, tz)
	tables := map[string]map[string]bool{}
	all := map[string]bool{} // every table name, looked for in one scan of each file
	for _, d := range dirs {
		tables[d] = r.zoneTables(v, d)
		for t := range tables[d] {
			all[t] = true
		}
	}
	taker, what := r.zoneTaker(c, all)
	namedWhy := "zones the image names (no kept program takes a zone from the outside)"
	if taker != "" && traced(c) {
		// the run opened the zones it used; the image's own stay
		c.Warn("tzdata: %s can take a zone by name; traced, only the zones the run opened and those the image names are kept (--keep-zoneinfo keeps the whole zoneinfo)", taker)
		namedWhy = "zones the image names (traced: the run opened those it took by name)"
		taker = ""
	}
	for _, d := range dirs {
		if !isDir(v, d) {
			continue
		}
		if taker != "" {
			why := because(r.Name(), taker, what)
			if _, err := c.AddPath(d, why); err != nil {
				return err
			}
			var namedTables map[string]string
			if len(tables[d]) > 0 {
				namedTables = r.tablesNamed(c, tables[d], all)
			}
			for _, n := range children(v, d, nil) {
				if (n == "right" || n == "posix") && !named[d][n] {
					continue // duplicates nothing selects
				}
				if tables[d][n] {
					if by, ok := namedTables[n]; ok {
						if _, err := c.AddPath(path.Join(d, n), because(r.Name(), by, "zone table "+n+" named in "+by)); err != nil {
							return err
						}
					}
					continue
				}
				if _, err := keepTree(c, path.Join(d, n), why, treeOpts{}); err != nil {
					return err
				}
			}
			continue
		}
		zones := []string{"UTC", "Etc/UTC", "localtime", "posixrules"}
		if tzf := strings.TrimSpace(string(readConfig(v, "/etc/timezone"))); tzf != "" && !strings.Contains(tzf, "..") {
			zones = append(zones, tzf)
		}
		for z := range named[d] {
			if strings.Contains(z, "/") {
				zones = append(zones, z)
			}
		}
		sort.Strings(zones[4:])
		why := because(r.Name(), "", namedWhy)
		for _, z := range zones {
			if _, err := c.AddPath(path.Join(d, z), why); err != nil {
				return err
			}
		}
	}
	return nil
}

// namedZones returns, per zoneinfo directory, the zone names (and the
// right/posix subtree names) that TZ and the kept configuration files
// name: words with the shape of a zone that are files of that directory.
func (r TZData) namedZones(c Keeper, dirs []string, tz string) map[string]map[string]bool {
	v := c.View()
	out := map[string]map[string]bool{}
	var texts [][]byte
	texts = append(texts, []byte(tz))
	var own []string
	for _, d := range dirs {
		out[d] = map[string]bool{}
		if res, err := v.Resolve(d, true); err == nil {
			own = append(own, res.Path+"/")
		}
	}
next:
	for _, f := range configFiles(c) {
		for _, d := range own {
			if strings.HasPrefix(f, d) {
				continue next // tzdata.zi and zone.tab name every zone
			}
		}
		texts = append(texts, readConfig(v, f))
	}
	for _, t := range texts {
		for _, w := range zoneWords(t) {
			for _, d := range dirs {
				rel := w
				if strings.HasPrefix(w, d+"/") {
					rel = strings.TrimPrefix(w, d+"/")
				} else if strings.HasPrefix(w, "/") {
					continue
				}
				if rel == "" || strings.Contains(rel, "..") {
					continue
				}
				e, err := v.Stat(path.Join(d, rel))
				if err != nil || e.Type != rootfs.TypeReg {
					continue
				}
				out[d][rel] = true
				if top, _, ok := strings.Cut(rel, "/"); ok && (top == "right" || top == "posix") {
					out[d][top] = true
				}
			}
		}
	}
	return out
}

// zoneWord reports whether b may be part of a zone name or path.
func zoneWord(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '/' || b == '_' || b == '-' || b == '+'
}

// zoneWords returns the distinct words of data shaped like a zone name
// (starting with an upper-case letter: Europe/Paris, EST5EDT) or an
// absolute path, sorted.
func zoneWords(data []byte) []string {
	seen := map[string]bool{}
	byteRuns(data, zoneWord, func(w string) {
		w = strings.TrimRight(w, "/")
		if len(w) >= 2 && len(w) <= 128 && (w[0] >= 'A' && w[0] <= 'Z' || w[0] == '/' || strings.HasPrefix(w, "right/") || strings.HasPrefix(w, "posix/")) {
			seen[w] = true
		}
	})
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// zoneTaker returns the first kept object that can take a zone from the
// outside (see TZData) and why, "" when none. tables are the zone tables
// to note in the same scan of each object.
func (r TZData) zoneTaker(c Keeper, tables map[string]bool) (string, string) {
	for _, rt := range Runtimes {
		if len(rt.AppFiles) == 0 {
			continue
		}
		var objs []Object
		if rt.Programs != nil {
			objs = matching(c, rt.Programs)
		}
		objs = append(objs, launchers(c, rt.Launchers)...)
		if len(objs) > 0 {
			return objs[0].Path, "time zone database: " + rt.ID + " programs name zones at run time"
		}
	}
	objs := c.Objects()
	sortObjects(objs)
	v := c.View()
	for _, o := range objs {
		if isLibcObject(o) {
			continue
		}
		if r.scanObject(v, o.Path, tables).zoneinfo {
			return o.Path, "time zone database: " + path.Base(o.Path) + " looks zones up by name"
		}
	}
	return "", ""
}

// scanObject returns what the read-only data of the ELF object p names.
func (r TZData) scanObject(v *rootfs.View, p string, tables map[string]bool) zoneNames {
	return r.scan(p, tables, func() ([]byte, error) { return readOnlyData(v, p) })
}

// scan returns what the data of p (read by read, once per build) names:
// "zoneinfo" and which of tables.
func (r TZData) scan(p string, tables map[string]bool, read func() ([]byte, error)) zoneNames {
	if r.cache != nil {
		r.cache.mu.Lock()
		z, done := r.cache.names[p]
		r.cache.mu.Unlock()
		if done {
			return z
		}
	}
	var z zoneNames
	if data, err := read(); err == nil {
		z.zoneinfo = bytes.Contains(data, []byte("zoneinfo"))
		for t := range tables {
			if bytes.Contains(data, []byte(t)) {
				if z.tables == nil {
					z.tables = map[string]bool{}
				}
				z.tables[t] = true
			}
		}
	}
	if r.cache != nil {
		r.cache.mu.Lock()
		r.cache.names[p] = z
		r.cache.mu.Unlock()
	}
	return z
}

// zoneTables returns the top-level regular files of the zoneinfo directory
// dir that are not TZif zones (tzdata.zi, zone.tab, iso3166.tab,
// leapseconds…), once per build.
func (r TZData) zoneTables(v *rootfs.View, dir string) map[string]bool {
	if r.cache != nil {
		r.cache.mu.Lock()
		t, done := r.cache.tables[dir]
		r.cache.mu.Unlock()
		if done {
			return t
		}
	}
	out := map[string]bool{}
	for _, n := range children(v, dir, nil) {
		p := path.Join(dir, n)
		if e, err := v.Stat(p); err == nil && e.Type == rootfs.TypeReg && string(fileHead(v, p, 4)) != "TZif" {
			out[n] = true
		}
	}
	if r.cache != nil {
		r.cache.mu.Lock()
		r.cache.tables[dir] = out
		r.cache.mu.Unlock()
	}
	return out
}

// tablesNamed returns the zone tables of want that a kept ELF object (other
// than libc) names in its read-only data, or that a kept source file of a
// language runtime names, each with the first such file. all are every
// table name of the image, noted in the same scan of each file.
func (r TZData) tablesNamed(c Keeper, want, all map[string]bool) map[string]string {
	out := map[string]string{}
	v := c.View()
	note := func(p string, z zoneNames) bool {
		for t := range z.tables {
			if _, done := out[t]; !done && want[t] {
				out[t] = p
			}
		}
		return len(out) == len(want)
	}
	objs := c.Objects()
	sortObjects(objs)
	for _, o := range objs {
		if !isLibcObject(o) && note(o.Path, r.scanObject(v, o.Path, all)) {
			return out
		}
	}
	l, ok := c.(PathLister)
	if !ok {
		return out
	}
	for _, p := range l.Paths() {
		if isRuntimeSource(p) && note(p, r.scan(p, all, func() ([]byte, error) { return v.ReadFile(p, maxConfig) })) {
			return out
		}
	}
	return out
}

// isRuntimeSource reports whether p is named like a language runtime's
// application file (a Runtimes entry's AppFiles).
func isRuntimeSource(p string) bool {
	base := path.Base(p)
	for _, rt := range Runtimes {
		for _, s := range rt.AppFiles {
			if strings.HasPrefix(s, ".") && strings.HasSuffix(base, s) || base == s {
				return true
			}
		}
	}
	return false
}
