package knowledge

import (
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
)

// Nginx is nginx: the /etc/nginx tree (modules-enabled links followed, the
// modules/ link to every installed module not), what its configuration
// names (load_module objects with their libraries, include, root and alias
// trees, TLS certificates, log, pid and temp directories, the "user"
// directive's account), /usr/share/nginx, /var/lib/nginx, /var/cache/nginx,
// the /var/log/nginx directory with its links (not old logs) and /run.
// Traced, /usr/share/nginx is left to the run; the configuration and state
// trees and what the configuration names stay.
var Nginx = &Runtime{
	ID:               "nginx",
	What:             "nginx configuration and data",
	Programs:         regexp.MustCompile(`^nginx(-debug)?$`),
	Trees:            []string{"/usr/share/nginx"},
	State:            []string{"/etc/nginx", "/var/lib/nginx", "/var/cache/nginx"},
	TraceReplaceable: true,
	SkipLinks:        []string{"modules"},
	Dirs:             []string{"/var/log/nginx", "/run", "/var/run"},
	LinksIn:          []string{"/var/log/nginx"},
	Config: &ConfigSyntax{
		Files: []string{"/etc/nginx/nginx.conf"},
		Parse: parseNginx,
		// the compiled-in prefixes of Debian's and nginx.org's builds
		Prefixes: []string{"/usr/share/nginx", "/etc/nginx"},
		Directives: map[string]Action{
			"user":                    NeedsAccount,
			"load_module":             LoadsModule,
			"include":                 Includes,
			"root":                    NamesTree,
			"alias":                   NamesTree,
			"ssl_certificate":         NamesFile,
			"ssl_certificate_key":     NamesFile,
			"ssl_trusted_certificate": NamesFile,
			"ssl_client_certificate":  NamesFile,
			"ssl_dhparam":             NamesFile,
			"ssl_password_file":       NamesFile,
			"ssl_crl":                 NamesFile,
			"auth_basic_user_file":    NamesFile,
			"error_log":               NamesFileInDir,
			"access_log":              NamesFileInDir,
			"pid":                     NamesFileInDir,
			"client_body_temp_path":   NamesFile,
			"proxy_temp_path":         NamesFile,
			"fastcgi_temp_path":       NamesFile,
			"uwsgi_temp_path":         NamesFile,
			"scgi_temp_path":          NamesFile,
			"proxy_cache_path":        NamesFile,
			"fastcgi_cache_path":      NamesFile,
		},
	},
}

// PostgreSQL is the postgres server: the $libdir modules
// (/usr/lib/postgresql/N/lib/*.so, or <prefix>/lib/postgresql) with their
// libraries, the share dir (/usr/share/postgresql/N: postgres.bki,
// extension control files, timezonesets), the other programs of its bin dir
// (initdb, pg_ctl: entrypoint scripts run them), /usr/share/postgresql-common,
// /etc/postgresql, /etc/postgresql-common, /var/lib/postgresql, PGDATA, its
// postgresql.conf files (which name locales) and the socket directory.
// llvmjit.so is left out: it pulls libLLVM (over 100 MB) and is loaded only
// when JIT compiles a query; without it PostgreSQL runs every query without
// JIT, the same results. Zone files come from the tzdata rule. Traced, the
// share dirs, the $libdir modules and the programs beside postgres are left
// to the run (it opened the catalog files, extension scripts and modules it
// used, and executed the tools it ran; those a kept entrypoint script names
// come with the script); configuration, /var/lib/postgresql and PGDATA stay
// whole: they are the database.
var PostgreSQL = &Runtime{
	ID:       "postgresql",
	What:     "PostgreSQL server files",
	Programs: regexp.MustCompile(`^postgres$`),
	Version:  regexp.MustCompile(`^/usr/lib/postgresql/([^/]+)/bin/`),
	Trees:    []string{"/usr/share/postgresql/{version}", "{prefix}/share/postgresql", "/usr/share/postgresql-common"},
	State:    []string{"/etc/postgresql", "/etc/postgresql-common", "/var/lib/postgresql", "{env:PGDATA}"},
	Dirs:     []string{"/var/run/postgresql", "/run/postgresql"},
	Modules: []Modules{
		{Dir: "/usr/lib/postgresql/{version}/lib", Exclude: reLLVMJIT, ExcludeNote: pgJITNote},
		{Dir: "{prefix}/lib/postgresql", Exclude: reLLVMJIT, ExcludeNote: pgJITNote},
	},
	Siblings:         true,
	TraceReplaceable: true,
	Configs: []string{"{env:PGDATA}/postgresql.conf", "{env:PGDATA}/postgresql.auto.conf",
		"/etc/postgresql/*/*/postgresql.conf"},
}

var reLLVMJIT = regexp.MustCompile(`^llvmjit.*\.so$`)

const pgJITNote = "{dir}/llvmjit.so left out (it needs libLLVM and runs only for JIT); queries run without JIT"

// Action says what a configuration directive's first argument names.
type Action int

// Directive actions.
const (
	// Includes: another configuration file (or a glob of them), followed.
	Includes Action = iota + 1
	// NamesFile: a file or directory kept as it is.
	NamesFile
	// NamesFileInDir: a file kept with its directory (a log, a pid file).
	NamesFileInDir
	// NamesTree: a directory kept whole (a document root).
	NamesTree
	// LoadsModule: a shared object the server dlopens.
	LoadsModule
	// NeedsAccount: a user (and group, second argument) to switch to.
	NeedsAccount
)

// ConfigSyntax describes a server's configuration language: where it
// starts, how to split it into directives, and what each directive names.
// Only the tokenizer is code; which directives matter is data.
type ConfigSyntax struct {
	// Files are the root configuration files (templates).
	Files []string
	// Parse splits a file into directives, each a name and its arguments.
	Parse func([]byte) [][]string
	// Prefixes are where relative arguments are looked up, in order.
	Prefixes []string
	// Directives maps directive names to what their argument names.
	Directives map[string]Action
}

// maxInclude bounds the include depth of a configuration.
const maxInclude = 16

func (s *ConfigSyntax) apply(c Keeper, rule, from string, vars map[string]string) error {
	seen := map[string]bool{}
	for _, t := range s.Files {
		for _, f := range expand(c, t, vars) {
			if err := s.file(c, rule, f, from, seen, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// file keeps one configuration file and what it names, recursively.
func (s *ConfigSyntax) file(c Keeper, rule, name, from string, seen map[string]bool, depth int) error {
	v := c.View()
	res, err := v.Resolve(name, true)
	if err != nil || seen[res.Path] || depth > maxInclude {
		return nil
	}
	seen[res.Path] = true
	why := because(rule, from, "named in "+name)
	if ok, err := keepConfig(c, name, why); err != nil || !ok {
		return err
	}
	for _, d := range s.Parse(readConfig(v, name)) {
		act := s.Directives[d[0]]
		if act == 0 || len(d) < 2 || strings.Contains(d[1], "$") {
			continue
		}
		if act == NeedsAccount {
			if n, ok := c.(AccountNeeder); ok {
				group := ""
				if len(d) > 2 {
					group = d[2]
				}
				n.NeedAccount(d[1], group, because(rule, from, d[0]+" directive in "+name))
			}
			continue
		}
		abs := s.abs(c, d[1])
		if abs == "" {
			continue
		}
		if err := s.directive(c, rule, act, abs, name, from, why, seen, depth); err != nil {
			return err
		}
	}
	return nil
}

func (s *ConfigSyntax) directive(c Keeper, rule string, act Action, abs, name, from string, why keptset.Reason, seen map[string]bool, depth int) error {
	v := c.View()
	switch act {
	case LoadsModule:
		_, err := c.AddExecutable(abs, dlopened(rule, from, "load_module in "+name))
		return err
	case Includes:
		for _, f := range glob(v, abs) {
			if err := s.file(c, rule, f, from, seen, depth+1); err != nil {
				return err
			}
		}
	case NamesTree:
		_, err := keepTree(c, abs, why, treeOpts{})
		return err
	case NamesFile:
		_, err := c.AddPath(abs, why)
		return err
	case NamesFileInDir:
		return addPaths(c, why, path.Dir(abs), abs)
	}
	return nil
}

// abs returns the absolute path a directive argument names: as it is, or
// below the first prefix where it (or, for a new file, its directory)
// exists; "" when none.
func (s *ConfigSyntax) abs(c Keeper, arg string) string {
	if strings.HasPrefix(arg, "/") {
		return arg
	}
	v := c.View()
	for _, p := range s.Prefixes {
		if exists(v, path.Join(p, arg)) || path.Base(arg) != arg && isDir(v, path.Join(p, path.Dir(arg))) {
			return path.Join(p, arg)
		}
		if strings.ContainsAny(arg, "*?[") && len(glob(v, path.Join(p, arg))) > 0 {
			return path.Join(p, arg)
		}
	}
	return ""
}

// parseNginx splits an nginx configuration into simple directives (name and
// arguments, quotes removed); block openers count as directives too.
func parseNginx(data []byte) [][]string {
	var out [][]string
	var cur []string
	var tok strings.Builder
	inTok, quote := false, byte(0)
	flush := func() {
		if inTok {
			cur = append(cur, tok.String())
			tok.Reset()
			inTok = false
		}
	}
	end := func() {
		flush()
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for i := 0; i < len(data); i++ {
		ch := data[i]
		if quote != 0 {
			switch {
			case ch == '\\' && i+1 < len(data):
				i++
				tok.WriteByte(data[i])
			case ch == quote:
				quote = 0
			default:
				tok.WriteByte(ch)
			}
			continue
		}
		switch ch {
		case '#':
			flush()
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case '"', '\'':
			quote, inTok = ch, true
		case ';', '{', '}':
			end()
		case ' ', '\t', '\n', '\r':
			flush()
		default:
			tok.WriteByte(ch)
			inTok = true
		}
	}
	end()
	return out
}
