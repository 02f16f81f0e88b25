package knowledge

import (
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Nginx keeps what a kept nginx reads: the /etc/nginx tree (modules-enabled
// links followed), the files and directories its configuration names
// (load_module objects with their libraries, include, root and alias trees,
// TLS certificates, log, pid and temp directories), /usr/share/nginx,
// /var/lib/nginx, /var/cache/nginx, the /var/log/nginx directory with its
// links (not old logs) and /run. The "user" directive's account is reported
// to a closure that collects accounts.
type Nginx struct{}

// Name implements Rule.
func (Nginx) Name() string { return "nginx" }

var reNginxObj = regexp.MustCompile(`^nginx(-debug)?$`)

// nginxPrefixes are the compiled-in prefixes of Debian's and nginx.org's builds.
var nginxPrefixes = []string{"/usr/share/nginx", "/etc/nginx"}

// Apply implements Rule.
func (r Nginx) Apply(c Keeper) error {
	objs := matching(c, reNginxObj)
	if len(objs) == 0 {
		return nil
	}
	from := objs[0].Path
	why := because(r.Name(), from, "nginx configuration and data")
	// modules/ links to every installed module: only load_module-d ones are kept
	o := treeOpts{skipLink: func(p string) bool { return path.Base(p) == "modules" }}
	if err := keepTrees(c, why, o, "/etc/nginx", "/usr/share/nginx", "/var/lib/nginx", "/var/cache/nginx"); err != nil {
		return err
	}
	v := c.View()
	if err := addPaths(c, why, "/var/log/nginx", "/run", "/var/run"); err != nil {
		return err
	}
	for _, f := range walkFiles(v, "/var/log/nginx") {
		if e, err := v.Lstat(f); err == nil && e.Type == rootfs.TypeSymlink {
			if _, err := c.AddPath(f, why); err != nil {
				return err
			}
		}
	}
	seen := map[string]bool{}
	return r.conf(c, "/etc/nginx/nginx.conf", from, seen, 0)
}

// conf keeps what one nginx configuration file names, recursively.
func (r Nginx) conf(c Keeper, name, from string, seen map[string]bool, depth int) error {
	v := c.View()
	res, err := v.Resolve(name, true)
	if err != nil || seen[res.Path] || depth > 16 {
		return nil
	}
	seen[res.Path] = true
	why := because(r.Name(), from, "named in "+name)
	if ok, err := c.AddPath(name, why); err != nil || !ok {
		return err
	}
	for _, d := range parseNginx(readConfig(v, name)) {
		if len(d) < 2 || strings.Contains(d[1], "$") {
			continue
		}
		if d[0] == "user" {
			if n, ok := c.(AccountNeeder); ok {
				group := ""
				if len(d) > 2 {
					group = d[2]
				}
				n.NeedAccount(d[1], group, because(r.Name(), from, "user directive in "+name))
			}
			continue
		}
		arg := d[1]
		abs := arg
		if !strings.HasPrefix(arg, "/") {
			abs = ""
			for _, p := range nginxPrefixes {
				if exists(v, path.Join(p, arg)) || path.Base(arg) != arg && isDir(v, path.Join(p, path.Dir(arg))) {
					abs = path.Join(p, arg)
					break
				}
			}
			if abs == "" {
				continue
			}
		}
		switch d[0] {
		case "load_module":
			if _, err := c.AddExecutable(abs, dlopened(r.Name(), from, "load_module in "+name)); err != nil {
				return err
			}
		case "include":
			if strings.ContainsAny(abs, "*?[") {
				for _, f := range children(v, path.Dir(abs), nil) {
					if ok, _ := path.Match(path.Base(abs), f); ok {
						if err := r.conf(c, path.Join(path.Dir(abs), f), from, seen, depth+1); err != nil {
							return err
						}
					}
				}
				continue
			}
			if err := r.conf(c, abs, from, seen, depth+1); err != nil {
				return err
			}
		case "root", "alias":
			if _, err := keepTree(c, abs, why, treeOpts{}); err != nil {
				return err
			}
		case "ssl_certificate", "ssl_certificate_key", "ssl_trusted_certificate", "ssl_client_certificate",
			"ssl_dhparam", "auth_basic_user_file", "ssl_password_file", "ssl_crl":
			if _, err := c.AddPath(abs, why); err != nil {
				return err
			}
		case "error_log", "access_log", "pid":
			if _, err := c.AddPath(path.Dir(abs), why); err != nil {
				return err
			}
			if _, err := c.AddPath(abs, why); err != nil {
				return err
			}
		case "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path", "proxy_cache_path", "fastcgi_cache_path":
			if _, err := c.AddPath(abs, why); err != nil {
				return err
			}
		}
	}
	return nil
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

// PostgreSQL keeps what a kept postgres server loads: the $libdir modules
// (/usr/lib/postgresql/N/lib/*.so, or <prefix>/lib/postgresql) with their
// libraries, the share dir (/usr/share/postgresql/N: postgres.bki, extension
// control files, timezonesets), the other programs of its bin dir (initdb,
// pg_ctl: entrypoint scripts run them), /usr/share/postgresql-common,
// /etc/postgresql, /etc/postgresql-common, /var/lib/postgresql, PGDATA and the
// socket directory /var/run/postgresql. llvmjit.so is left out: it pulls
// libLLVM (over 100 MB) and is loaded only when JIT compiles a query; without
// it PostgreSQL runs every query without JIT, the same results. Zone files
// come from the tzdata rule.
type PostgreSQL struct{}

// Name implements Rule.
func (PostgreSQL) Name() string { return "postgresql" }

var (
	rePostgresObj = regexp.MustCompile(`^postgres$`)
	reDebianPG    = regexp.MustCompile(`^/usr/lib/postgresql/([^/]+)/bin$`)
	reLLVMJIT     = regexp.MustCompile(`^llvmjit.*\.so$`)
)

// Apply implements Rule.
func (r PostgreSQL) Apply(c Keeper) error {
	v := c.View()
	for _, o := range matching(c, rePostgresObj) {
		why := because(r.Name(), o.Path, "PostgreSQL server files")
		bin := path.Dir(o.Path)
		var libs, shares []string
		if m := reDebianPG.FindStringSubmatch(bin); m != nil {
			libs = []string{"/usr/lib/postgresql/" + m[1] + "/lib"}
			shares = []string{"/usr/share/postgresql/" + m[1]}
		} else {
			prefix := path.Dir(bin)
			libs = []string{prefix + "/lib/postgresql"}
			shares = []string{prefix + "/share/postgresql"}
		}
		for _, l := range libs {
			if err := r.libdir(c, l, o.Path); err != nil {
				return err
			}
		}
		dirs := append(shares, "/usr/share/postgresql-common", "/etc/postgresql", "/etc/postgresql-common", "/var/lib/postgresql")
		dirs = append(dirs, envList(c, "PGDATA")...)
		if err := keepTrees(c, why, treeOpts{}, dirs...); err != nil {
			return err
		}
		if err := addPaths(c, why, "/var/run/postgresql", "/run/postgresql"); err != nil {
			return err
		}
		ents, _ := v.ReadDir(bin)
		for _, e := range ents {
			if e.Type == rootfs.TypeReg && e.Mode&0o111 != 0 || e.Type == rootfs.TypeSymlink {
				if _, err := c.AddExecutable(e.Path, because(r.Name(), o.Path, "PostgreSQL server program")); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// libdir keeps the loadable modules of a PostgreSQL $libdir but llvmjit.
func (r PostgreSQL) libdir(c Keeper, dir, from string) error {
	v := c.View()
	if !isDir(v, dir) {
		return nil
	}
	why := dlopened(r.Name(), from, "PostgreSQL $libdir module")
	if _, err := c.AddPath(dir, why); err != nil {
		return err
	}
	jit := false
	for _, f := range walkFiles(v, dir) {
		b := path.Base(f)
		if !strings.HasSuffix(b, ".so") {
			continue
		}
		if reLLVMJIT.MatchString(b) {
			jit = true
			continue
		}
		if strings.Contains(strings.TrimPrefix(f, dir+"/"), "/") {
			continue // bitcode/ and pgxs/ are for JIT and building extensions
		}
		if _, err := c.AddExecutable(f, why); err != nil {
			return err
		}
	}
	if jit {
		c.Warn("postgresql: %s/llvmjit.so left out (it needs libLLVM and runs only for JIT); queries run without JIT", dir)
	}
	return nil
}
