// Package pkgdb reads the OS package databases of an image (Debian's dpkg
// database, Alpine's apk database), works out which packages still own files
// of a pared image, and writes the databases for the output image so that
// scanners (trivy, syft) see exactly the packages that remain: dpkg as
// distroless-style /var/lib/dpkg/status.d/<pkg> and <pkg>.md5sums files, apk
// as a rewritten lib/apk/db/installed.
package pkgdb

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Package types.
const (
	TypeDeb = "deb"
	TypeApk = "apk"
)

// maxDB caps the size of one database file read from an image.
const maxDB = 256 << 20

// Package is one installed OS package.
type Package struct {
	Type          string `json:"type"` // TypeDeb or TypeApk
	Name          string `json:"name"`
	Version       string `json:"version"`
	Arch          string `json:"arch,omitempty"`
	Source        string `json:"source,omitempty"`         // source package (dpkg Source, apk origin)
	SourceVersion string `json:"source_version,omitempty"` // when the source version differs
	License       string `json:"license,omitempty"`        // apk L:
	// Files lists the package's paths as its database names them (dpkg
	// paths, apk dir/file joined), directories included, in database order.
	Files []string `json:"-"`
	// Depends are the package's Depends and Pre-Depends (apk D:), each a
	// list of alternatives ("a | b"), names without versions or arch
	// qualifiers; apk "so:" and "cmd:" names are kept as they are.
	Depends [][]string `json:"-"`
	// Provides are the virtual names the package provides (dpkg Provides,
	// apk p:), without versions.
	Provides []string `json:"-"`
	// Conffiles are the package's conffiles as dpkg names them (obsolete
	// ones left out).
	Conffiles []string `json:"-"`
	// MultiArch is dpkg's Multi-Arch field ("same", "foreign", ...).
	MultiArch string `json:"-"`
	// Attrs holds apk's M: and a: attributes ("uid:gid:mode", mode in
	// octal) of the package's directories and files, by database path.
	Attrs map[string]string `json:"-"`

	record string // the status stanza or apk record, verbatim
	// statusFile is the status.d file of a distroless-style dpkg
	// database that holds the stanza ("" for /var/lib/dpkg/status).
	statusFile string
}

// DB is the package database of one image.
type DB struct {
	// Type is TypeDeb, TypeApk, or "" when the image has no database.
	Type     string
	Packages []*Package // sorted by name, then arch
	// Path is where the database was read ("/var/lib/dpkg", "/lib/apk/db/installed").
	Path string

	diversions map[string]diversion // dpkg: diverted path -> where it went
	// v is the view the database was read from: Files reads the md5sums
	// of the packages that remain from it, so that a database of many
	// packages is not held in memory with every checksum.
	v *rootfs.View
}

// diversion is one entry of /var/lib/dpkg/diversions: the file a package
// ships at a path lives at To, unless the package is the diverting one.
type diversion struct {
	To, By string
}

// Read reads the image's dpkg or apk database. An image with neither gives an
// empty DB and no error.
func Read(v *rootfs.View) (*DB, error) {
	if e, err := v.Stat("/var/lib/dpkg"); err == nil && e.Type == rootfs.TypeDir {
		return readDpkg(v)
	}
	for _, p := range []string{"/lib/apk/db/installed", "/usr/lib/apk/db/installed"} {
		if e, err := v.Stat(p); err == nil && e.Type == rootfs.TypeReg {
			return readApk(v, p)
		}
	}
	return &DB{}, nil
}

func readFile(v *rootfs.View, name string) ([]byte, error) {
	b, err := v.ReadFile(name, maxDB)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return b, nil
}

func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// stanzas splits control-file text into paragraphs, verbatim.
func stanzas(data []byte) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if strings.TrimSpace(line) == "" {
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// fields returns the first line of every field of a stanza ("Package" ->
// "libc6"); continuation lines are not joined.
func fields(stanza string) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(stanza, "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

func readDpkg(v *rootfs.View) (*DB, error) {
	db := &DB{Type: TypeDeb, Path: "/var/lib/dpkg", v: v}
	var recs []string
	status, err := v.ReadFile("/var/lib/dpkg/status", maxDB)
	if err != nil && !notExist(err) {
		return nil, fmt.Errorf("reading /var/lib/dpkg/status: %w", err)
	}
	recs = append(recs, stanzas(status)...)
	// distroless keeps one stanza per file in status.d, with <name>.md5sums
	ents, _ := v.ReadDir("/var/lib/dpkg/status.d")
	for _, e := range ents {
		if e.Type != rootfs.TypeReg || strings.HasSuffix(e.Path, ".md5sums") {
			continue
		}
		b, err := readFile(v, e.Path)
		if err != nil {
			return nil, err
		}
		for _, s := range stanzas(b) {
			p := parseDeb(s)
			if p != nil {
				p.statusFile = e.Path
				db.Packages = append(db.Packages, p)
			}
		}
	}
	for _, s := range recs {
		if p := parseDeb(s); p != nil {
			db.Packages = append(db.Packages, p)
		}
	}
	info := "/var/lib/dpkg/info/"
	for _, p := range db.Packages {
		for _, n := range []string{p.Name + ":" + p.Arch, p.Name} {
			b, err := v.ReadFile(info+n+".list", maxDB)
			if err != nil {
				continue
			}
			p.Files = listLines(string(b))
			break
		}
		if len(p.Files) == 0 { // distroless: the md5sums are the file list
			_, p.Files = db.md5sums(p)
		}
	}
	if b, err := v.ReadFile("/var/lib/dpkg/diversions", maxDB); err == nil {
		db.diversions = parseDiversions(b)
	}
	sortPackages(db.Packages)
	return db, nil
}

// listLines returns the non-empty lines of a dpkg file list.
func listLines(s string) []string {
	out := make([]string, 0, strings.Count(s, "\n")+1)
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// md5sums reads the md5sums file of dpkg package p (its status.d file's,
// else info/<name>:<arch>.md5sums, else info/<name>.md5sums: the first
// that can be read) and returns its lines by listed path ("/"-rooted) and
// the paths in file order. A package without one gives nil, nil.
func (db *DB) md5sums(p *Package) (lines map[string]string, order []string) {
	if db.v == nil {
		return nil, nil
	}
	var sums []string
	if p.statusFile != "" {
		sums = []string{p.statusFile + ".md5sums"}
	}
	info := "/var/lib/dpkg/info/"
	for _, n := range []string{p.Name + ":" + p.Arch, p.Name} {
		sums = append(sums, info+n+".md5sums")
	}
	for _, s := range sums {
		b, err := db.v.ReadFile(s, maxDB)
		if err != nil {
			continue
		}
		lines = map[string]string{}
		for line := range strings.SplitSeq(string(b), "\n") {
			_, f, ok := strings.Cut(line, "  ")
			if !ok {
				continue
			}
			f = "/" + strings.TrimPrefix(f, "/")
			lines[f] = line
			order = append(order, f)
		}
		return lines, order
	}
	return nil, nil
}

// parseDiversions reads dpkg's diversions file: triplets of lines "from",
// "to", "diverting package" (":" for a local diversion).
func parseDiversions(b []byte) map[string]diversion {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	out := map[string]diversion{}
	for i := 0; i+2 < len(ls); i += 3 {
		out[ls[i]] = diversion{To: ls[i+1], By: ls[i+2]}
	}
	return out
}

// parseDeb parses one status stanza; packages not installed give nil.
func parseDeb(s string) *Package {
	f := fields(s)
	if f["Package"] == "" {
		return nil
	}
	if st := strings.Fields(f["Status"]); len(st) == 3 && (st[2] == "not-installed" || st[2] == "config-files") {
		return nil
	}
	p := &Package{Type: TypeDeb, Name: f["Package"], Version: f["Version"], Arch: f["Architecture"], record: s,
		MultiArch: f["Multi-Arch"]}
	p.Depends = append(parseDebDepends(f["Pre-Depends"]), parseDebDepends(f["Depends"])...)
	for _, alts := range parseDebDepends(f["Provides"]) {
		p.Provides = append(p.Provides, alts...)
	}
	p.Conffiles = parseConffiles(s)
	if src := f["Source"]; src != "" {
		name, ver, ok := strings.Cut(src, " ")
		p.Source = name
		if ok {
			p.SourceVersion = strings.Trim(strings.TrimSpace(ver), "()")
		}
	}
	return p
}

func readApk(v *rootfs.View, name string) (*DB, error) {
	data, err := readFile(v, name)
	if err != nil {
		return nil, err
	}
	db := &DB{Type: TypeApk, Path: name}
	for _, s := range stanzas(data) {
		p := &Package{Type: TypeApk, record: s}
		dir := ""
		for _, line := range strings.Split(s, "\n") {
			if len(line) < 2 || line[1] != ':' {
				continue
			}
			val := line[2:]
			switch line[0] {
			case 'P':
				p.Name = val
			case 'V':
				p.Version = val
			case 'A':
				p.Arch = val
			case 'o':
				p.Source = val
			case 'L':
				p.License = val
			case 'D':
				for _, d := range strings.Fields(val) {
					if !strings.HasPrefix(d, "!") { // "!name" is a conflict
						p.Depends = append(p.Depends, []string{apkName(d)})
					}
				}
			case 'p':
				for _, d := range strings.Fields(val) {
					p.Provides = append(p.Provides, apkName(d))
				}
			case 'F':
				dir = val
				p.Files = append(p.Files, "/"+dir)
			case 'R':
				p.Files = append(p.Files, "/"+path.Join(dir, val))
			case 'M', 'a':
				if len(p.Files) > 0 {
					if p.Attrs == nil {
						p.Attrs = map[string]string{}
					}
					p.Attrs[p.Files[len(p.Files)-1]] = val
				}
			}
		}
		if p.Name != "" {
			db.Packages = append(db.Packages, p)
		}
	}
	sortPackages(db.Packages)
	return db, nil
}

func sortPackages(ps []*Package) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].Arch < ps[j].Arch
	})
}

// Usage says how much of one package a pared image keeps.
type Usage struct {
	*Package
	// KeptFiles and TotalFiles count the package's non-directory entries that
	// exist in the source image, kept and in all.
	KeptFiles  int `json:"kept_files"`
	TotalFiles int `json:"total_files"`
	// Partial reports that some of the package's files are left out.
	Partial bool `json:"partial"`
	// Kept lists the kept entries as the database names them.
	Kept []string `json:"-"`
}

// Usage works out, for every package, which of its files are kept. kept
// reports whether a physical path is in the pared image; each listed path is
// resolved in v without following a final symlink (so /bin/ls of a usr-merged
// image is /usr/bin/ls), and diverted paths where dpkg moved them.
// Directories, and links to directories, do not count. Packages are returned in
// database order, including those with nothing kept.
func (db *DB) Usage(v *rootfs.View, kept func(physical string) bool) []Usage {
	out := make([]Usage, 0, len(db.Packages))
	for _, p := range db.Packages {
		u := Usage{Package: p}
		for _, f := range p.Files {
			if f == "/." || f == "/" {
				continue
			}
			name := f
			if d, ok := db.diversions[f]; ok && d.By != p.Name {
				name = d.To
			}
			res, err := v.Resolve(name, false)
			if err != nil {
				continue
			}
			e, err := v.Lstat(res.Path)
			if err != nil || e.Type == rootfs.TypeDir {
				continue
			}
			if e.Type == rootfs.TypeSymlink {
				// a packaged directory that is now a link (usr-merge /bin -> usr/bin)
				if t, err := v.Stat(res.Path); err == nil && t.Type == rootfs.TypeDir {
					continue
				}
			}
			u.TotalFiles++
			if kept(res.Path) {
				u.KeptFiles++
				u.Kept = append(u.Kept, f)
			}
		}
		u.Partial = u.KeptFiles < u.TotalFiles
		out = append(out, u)
	}
	return out
}

// Remaining returns the usages with at least one kept file.
func Remaining(us []Usage) []Usage {
	var out []Usage
	for _, u := range us {
		if u.KeptFiles > 0 {
			out = append(out, u)
		}
	}
	return out
}

// File is one file to write into the output image.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// Files returns the package database files of the output image for the
// remaining packages (usages with nothing kept are skipped): for dpkg one
// /var/lib/dpkg/status.d/<name> per package holding its status stanza
// verbatim, and <name>.md5sums with the md5sums lines of its kept files (read
// from the source view now, for the remaining packages only); for
// apk one installed file at the source's path holding the remaining packages'
// records with only the kept files. The result is sorted by path.
func (db *DB) Files(us []Usage) []File {
	us = Remaining(us)
	var out []File
	switch db.Type {
	case TypeDeb:
		names := map[string]int{}
		for _, u := range us {
			names[u.Name]++
		}
		for _, u := range us {
			n := u.Name
			if names[n] > 1 {
				n += "_" + u.Arch
			}
			base := "/var/lib/dpkg/status.d/" + n
			out = append(out, File{Path: base, Mode: 0o644, Data: []byte(u.record)})
			var sums strings.Builder
			keptSet := map[string]bool{}
			for _, k := range u.Kept {
				keptSet[k] = true
			}
			md5, order := db.md5sums(u.Package)
			for _, f := range order {
				if keptSet[f] {
					sums.WriteString(md5[f])
					sums.WriteByte('\n')
				}
			}
			if sums.Len() > 0 {
				out = append(out, File{Path: base + ".md5sums", Mode: 0o644, Data: []byte(sums.String())})
			}
		}
	case TypeApk:
		var b strings.Builder
		for _, u := range us {
			b.WriteString(trimApk(u))
			b.WriteByte('\n')
		}
		out = append(out, File{Path: db.Path, Mode: 0o644, Data: []byte(b.String())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// trimApk returns the apk record of u without the R: lines (and their a:, Z:
// lines) of files that are not kept.
func trimApk(u Usage) string {
	kept := map[string]bool{}
	for _, k := range u.Kept {
		kept[k] = true
	}
	var b strings.Builder
	dir, skip := "", false
	for _, line := range strings.Split(strings.TrimRight(u.record, "\n"), "\n") {
		if len(line) >= 2 && line[1] == ':' {
			switch line[0] {
			case 'F':
				dir, skip = line[2:], false
			case 'R':
				skip = !kept["/"+path.Join(dir, line[2:])]
			case 'a', 'Z':
				// file attributes and checksum follow their R: line
			default:
				skip = false
			}
		}
		if !skip {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
