package knowledge

import (
	"bytes"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Locale keeps the glibc locale data that kept programs are told to use:
// by LANG, LC_ALL and LC_* in the image config, and by settings in kept
// configuration files (PostgreSQL's lc_messages = 'C.UTF-8', LANG=de_DE.UTF-8
// in an env file). The files scanned are the kept regular text files under
// /etc, the kept files named like configuration anywhere (*.conf, *.ini,
// *.env, ...: an application's own report.conf), and those a ConfigKeeper
// reports (arguments, files rules keep as a program's configuration); a
// setting is a line "KEY = VALUE" or
// "KEY=VALUE" whose key is LANG, LC_ALL, an LC_* category or "locale"
// (any case, after an optional "export"), and whose value has the shape of
// a locale name. C.UTF-8 reads /usr/lib/locale/C.utf8; other locales read
// their own directory there or in LOCPATH, /usr/lib/locale/locale-archive
// and /usr/share/locale/locale.alias. Nothing is kept for C, POSIX or
// unset, except C.UTF-8 for what has CoercesCLocale (Python). musl's
// MUSL_LOCPATH is kept as a whole.
type Locale struct{}

// Name implements Rule.
func (Locale) Name() string { return "locale" }

var localeVars = []string{
	"LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES",
	"LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION", "LANG",
}

// Apply implements Rule.
func (r Locale) Apply(c Keeper) error {
	if dirs := envList(c, "MUSL_LOCPATH"); len(dirs) > 0 {
		for _, o := range c.Objects() {
			if o.Musl {
				if err := keepTrees(c, because(r.Name(), o.Path, "MUSL_LOCPATH"), treeOpts{}, dirs...); err != nil {
					return err
				}
				break
			}
		}
	}
	libcs := glibcs(c)
	if len(libcs) == 0 {
		return nil
	}
	from := libcs[0].Path
	type source struct {
		what string // "LANG" or "lc_messages in /etc/x.conf"
		from string
		env  bool
	}
	names := map[string]source{}
	for _, k := range localeVars {
		if val, ok := c.Getenv(k); ok && val != "" && val != "C" && val != "POSIX" {
			names[val] = source{k, from, true}
		}
	}
	if p := UsedBy(c, CoercesCLocale); p != "" {
		if _, ok := names["C.UTF-8"]; !ok {
			names["C.UTF-8"] = source{"C locale coercion", p, false}
		}
	}
	for _, f := range configFiles(c) {
		for _, s := range LocaleSettings(readConfig(c.View(), f)) {
			if _, ok := names[s.Value]; !ok {
				names[s.Value] = source{s.Key + " in " + f, f, false}
			}
		}
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	v := c.View()
	locpath := envList(c, "LOCPATH")
	for _, n := range sorted {
		if strings.Contains(n, "/") || strings.Contains(n, "..") {
			continue // a path-like locale name is not looked up in the locale dirs
		}
		src := names[n]
		why := because(r.Name(), src.from, src.what+"="+n)
		cands := []string{n}
		if nn := NormalizeLocale(n); nn != n {
			cands = append(cands, nn)
		}
		found := false
		for _, base := range append(locpath, "/usr/lib/locale") {
			for _, cand := range cands {
				ok, err := keepTree(c, path.Join(base, cand), why, treeOpts{})
				if err != nil {
					return err
				}
				found = found || ok
			}
		}
		lang := strings.SplitN(n, ".", 2)[0]
		if lang != "C" {
			for _, f := range []string{"/usr/lib/locale/locale-archive", "/usr/share/locale/locale.alias"} {
				ok, err := c.AddPath(f, why)
				if err != nil {
					return err
				}
				found = found || (ok && strings.HasSuffix(f, "archive"))
			}
		}
		if !found && !exists(v, "/usr/lib/locale/locale-archive") {
			c.Warn("locale: %s=%s but the image has no data for it (glibc falls back to C)", src.what, n)
		}
	}
	return nil
}

// maxScanned caps the size of a kept file scanned for settings.
const maxScanned = 1 << 20

// configSuffixes are the file name endings of configuration files.
var configSuffixes = []string{".conf", ".cnf", ".cfg", ".ini", ".env", ".properties", ".toml", ".yaml", ".yml"}

// configFiles returns the kept files to scan for settings: regular files
// under /etc or named like configuration, and the configuration files c
// reports.
func configFiles(c Keeper) []string {
	seen := map[string]bool{}
	var out []string
	v := c.View()
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		e, err := v.Lstat(p)
		if err != nil || e.Type != rootfs.TypeReg || e.Size > maxScanned {
			return
		}
		out = append(out, p)
	}
	if l, ok := c.(PathLister); ok {
		for _, p := range l.Paths() {
			if strings.HasPrefix(p, "/etc/") {
				add(p)
				continue
			}
			for _, x := range configSuffixes {
				if strings.HasSuffix(p, x) {
					add(p)
					break
				}
			}
		}
	}
	if k, ok := c.(ConfigKeeper); ok {
		for _, p := range k.Configs() {
			add(p)
		}
	}
	sort.Strings(out)
	return out
}

// Setting is one key and value read from a configuration file.
type Setting struct{ Key, Value string }

var (
	reLocaleKey  = regexp.MustCompile(`(?i)^(export\s+)?(lang|lc_[a-z]+|locale)$`)
	reLocaleName = regexp.MustCompile(`^([A-Za-z]{1,8}(_[A-Za-z0-9]{2,3})?(\.[A-Za-z0-9_-]+)?(@[A-Za-z0-9]+)?)$`)
)

// LocaleSettings returns the locale names a configuration file sets: lines
// "KEY = VALUE" or "KEY=VALUE" (the value quoted or not, a trailing #
// comment dropped) whose key names a locale category and whose value is a
// locale name other than C and POSIX. Binary data gives none.
func LocaleSettings(data []byte) []Setting {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil
	}
	var out []Setting
	for line := range lines(data) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if !reLocaleKey.MatchString(k) {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) > 0 && (val[0] == '\'' || val[0] == '"') {
			if i := strings.IndexByte(val[1:], val[0]); i >= 0 {
				val = val[1 : i+1]
			}
		} else if i := strings.IndexAny(val, " \t#;"); i >= 0 {
			val = val[:i]
		}
		if val == "" || val == "C" || val == "POSIX" || !reLocaleName.MatchString(val) {
			continue
		}
		if !strings.ContainsAny(val, "_.") {
			continue // "en", "de": a language, not a locale glibc loads
		}
		key := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(k, "export"), "EXPORT"))
		out = append(out, Setting{Key: key, Value: val})
	}
	return out
}
