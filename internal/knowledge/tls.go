package knowledge

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// CACerts keeps the trusted CA certificates when something that verifies
// TLS is kept (see VerifiesTLS: OpenSSL, GnuTLS or NSS libraries, Go
// binaries, and the runtimes whose entries say so). It keeps SSL_CERT_FILE
// and SSL_CERT_DIR from the config, OpenSSL's default /usr/lib/ssl/cert.pem
// and /usr/lib/ssl/certs, Go's list of bundle files and directories, and the
// /etc/ssl/certs tree with every link followed (hash links to .pem links to
// /usr/share/ca-certificates), which includes Java's java/cacerts.
type CACerts struct{}

// Name implements Rule.
func (CACerts) Name() string { return "ca-certs" }

// goCertFiles and goCertDirs are where Go's crypto/x509 looks on Linux.
var goCertFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem",
}
var goCertDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}

// Apply implements Rule.
func (r CACerts) Apply(c Keeper) error {
	from := UsedBy(c, VerifiesTLS)
	if from == "" {
		return nil
	}
	why := because(r.Name(), from, "trusted CA certificates")
	if err := addPaths(c, why, envList(c, "SSL_CERT_FILE")...); err != nil {
		return err
	}
	if err := keepTrees(c, why, treeOpts{}, envList(c, "SSL_CERT_DIR")...); err != nil {
		return err
	}
	if err := addPaths(c, why, "/usr/lib/ssl/cert.pem"); err != nil {
		return err
	}
	if err := addPaths(c, why, goCertFiles...); err != nil {
		return err
	}
	if err := keepTrees(c, why, treeOpts{}, append([]string{"/usr/lib/ssl/certs"}, goCertDirs...)...); err != nil {
		return err
	}
	v := c.View()
	for _, f := range goCertFiles {
		if exists(v, f) {
			return nil
		}
	}
	if _, ok := c.Getenv("SSL_CERT_FILE"); !ok {
		c.Warn("ca-certs: %s may verify TLS but the image has no CA bundle", from)
	}
	return nil
}

// OpenSSL keeps what libcrypto loads at run time: the configuration
// (OPENSSL_CONF or OPENSSLDIR/openssl.cnf, following links such as
// /usr/lib/ssl/openssl.cnf -> /etc/ssl/openssl.cnf, and the files it
// .include-s), the provider modules (ossl-modules next to libcrypto, or
// OPENSSL_MODULES) and engines (engines-3, engines-1.1), each with its
// libraries. After a traced run (see traced.go) the module directories
// keep only the modules the configuration names (absolute, or relative to
// a module directory) beside those the run loaded: the default provider is
// part of libcrypto, and a program that loads another provider or an
// engine by name does so at start or on the request that needs it. All
// (--keep-openssl-modules) keeps every module, traced too.
type OpenSSL struct {
	// All keeps every provider and engine, traced too.
	All bool
}

// Name implements Rule.
func (OpenSSL) Name() string { return "openssl" }

var reLibcrypto = regexp.MustCompile(`^libcrypto\.so\.(\d+(\.\d+)*)$`)

// opensslDirs are OPENSSLDIR of Debian, Alpine, Red Hat and OpenSSL's own builds.
var opensslDirs = []string{"/usr/lib/ssl", "/etc/ssl", "/etc/pki/tls", "/usr/local/ssl"}

// Apply implements Rule.
func (r OpenSSL) Apply(c Keeper) error {
	v := c.View()
	for _, o := range matching(c, reLibcrypto) {
		why := dlopened(r.Name(), o.Path, "OpenSSL configuration and modules")
		var confs []string
		if f, ok := c.Getenv("OPENSSL_CONF"); ok && f != "" {
			confs = append(confs, f)
		}
		for _, d := range opensslDirs {
			if isDir(v, d) {
				confs = append(confs, d+"/openssl.cnf")
				if err := addPaths(c, why, d+"/private"); err != nil {
					return err
				}
			}
		}
		seen := map[string]bool{}
		var named []string // relative module names of the configuration
		for _, f := range confs {
			if err := r.keepConf(c, f, why, seen, &named, 0); err != nil {
				return err
			}
		}
		libdir := path.Dir(o.Path)
		var mods []string
		mods = append(mods, envList(c, "OPENSSL_MODULES")...)
		mods = append(mods, libdir+"/ossl-modules")
		for _, t := range triplets(v) {
			mods = append(mods, "/usr/lib/"+t+"/ossl-modules")
		}
		mods = append(mods, "/usr/lib/ossl-modules", "/usr/lib64/ossl-modules")
		for _, d := range []string{libdir, "/usr/lib", "/usr/lib64"} {
			for _, e := range children(v, d, reEngines) {
				mods = append(mods, d+"/"+e)
			}
		}
		if env, ok := c.Getenv("OPENSSL_ENGINES"); ok && env != "" {
			mods = append(mods, env)
		}
		trim := traced(c) && !r.All
		left := false
		for _, d := range mods {
			if trim {
				if err := keepNamedModules(c, d, named, why); err != nil {
					return err
				}
				for _, n := range children(v, d, reSharedObject) {
					left = left || !c.Has(resolvedPath(v, path.Join(d, n)))
				}
				continue
			}
			if err := keepModules(c, d, why); err != nil {
				return err
			}
		}
		if left {
			c.Warn("openssl: traced, only the provider and engine modules the run loaded and those the configuration names are kept (--keep-openssl-modules keeps them all)")
		}
	}
	return nil
}

// keepNamedModules keeps the modules of dir whose names (with or without
// the .so suffix, as OpenSSL's configuration gives them) are in names.
func keepNamedModules(c Keeper, dir string, names []string, why keptset.Reason) error {
	v := c.View()
	if !isDir(v, dir) {
		return nil
	}
	for _, n := range names {
		for _, f := range []string{n, n + ".so"} {
			p := path.Join(dir, f)
			if e, err := v.Stat(p); err == nil && e.Type != rootfs.TypeDir {
				if _, err := c.AddExecutable(p, why); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

var reEngines = regexp.MustCompile(`^engines-[0-9.]+$`)

// keepModules keeps the shared objects in dir, each with its closure.
func keepModules(c Keeper, dir string, why keptset.Reason) error {
	v := c.View()
	if !isDir(v, dir) {
		return nil
	}
	if _, err := c.AddPath(dir, why); err != nil {
		return err
	}
	for _, name := range children(v, dir, reSharedObject) {
		if _, err := c.AddExecutable(path.Join(dir, name), why); err != nil {
			return err
		}
	}
	return nil
}

var reSharedObject = regexp.MustCompile(`\.so(\.[0-9.]+)?$`)

// keepConf keeps an OpenSSL configuration file and what it includes or names
// as module paths.
func (r OpenSSL) keepConf(c Keeper, name string, why keptset.Reason, seen map[string]bool, named *[]string, depth int) error {
	v := c.View()
	res, err := v.Resolve(name, true)
	if err != nil || seen[res.Path] || depth > 8 {
		return nil
	}
	seen[res.Path] = true
	ok, err := c.AddPath(name, why)
	if err != nil || !ok {
		return err
	}
	if isDir(v, name) {
		for _, f := range children(v, name, reCnf) {
			if err := r.keepConf(c, path.Join(res.Path, f), why, seen, named, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	data := readConfig(v, name)
	base := path.Dir(res.Path)
	if inc, ok := c.Getenv("OPENSSL_CONF_INCLUDE"); ok && inc != "" {
		base = inc
	}
	for _, d := range parseOpenSSLConf(data) {
		p := d.path
		if !strings.HasPrefix(p, "/") {
			if d.module {
				// looked up in the module directories (kept whole
				// unless traced)
				*named = append(*named, p)
				continue
			}
			p = path.Join(base, p)
		}
		if d.module {
			if _, err := c.AddExecutable(p, why); err != nil {
				return err
			}
			continue
		}
		if err := r.keepConf(c, p, why, seen, named, depth+1); err != nil {
			return err
		}
	}
	return nil
}

var reCnf = regexp.MustCompile(`\.(cnf|conf)$`)

type opensslRef struct {
	path   string
	module bool // a provider or engine shared object, or its name
}

// parseOpenSSLConf returns the .include targets and the module/dynamic_path
// shared objects named by an OpenSSL configuration, and the names of the
// providers and engines its providers= and engines= sections list (a
// provider without a module line is the module <name>.so of the module
// directory; "default" is built into libcrypto and matches no file).
func parseOpenSSLConf(data []byte) []opensslRef {
	var out []opensslRef
	lists := map[string]bool{}    // sections named by providers= or engines=
	keys := map[string][]string{} // section → its keys
	sect := ""
	for line := range lines(data) {
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if rest, ok := strings.CutPrefix(line, ".include"); ok {
			rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "="))
			if rest != "" {
				out = append(out, opensslRef{path: unquote(rest)})
			}
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			sect = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, val = strings.TrimSpace(k), unquote(strings.TrimSpace(val))
		keys[sect] = append(keys[sect], k)
		switch k {
		case "module", "dynamic_path", "MODULE_PATH":
			if val != "" && !strings.Contains(val, "$") {
				out = append(out, opensslRef{path: val, module: true})
			}
		case "providers", "engines":
			lists[val] = true
		}
	}
	var names []string
	for sect := range lists {
		for _, k := range keys[sect] {
			if k != "" && !strings.ContainsAny(k, "/$") {
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, opensslRef{path: n, module: true})
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// MIMETypes keeps the media-type tables that Go's mime package and Python's
// mimetypes module read to choose a Content-Type (/etc/mime.types of Debian's
// media-types, and the other places both look), when something kept has the
// MediaTypes capability. nginx's own mime.types comes with /etc/nginx.
type MIMETypes struct{}

// Name implements Rule.
func (MIMETypes) Name() string { return "mime-types" }

var mimeFiles = []string{
	"/etc/mime.types", "/etc/apache2/mime.types", "/etc/apache/mime.types", "/etc/httpd/conf/mime.types",
	"/etc/httpd/mime.types", "/usr/share/mime/globs2", "/usr/local/share/mime/globs2", "/usr/local/etc/httpd/conf/mime.types",
}

// Apply implements Rule.
func (r MIMETypes) Apply(c Keeper) error {
	from := UsedBy(c, MediaTypes)
	if from == "" {
		return nil
	}
	return addPaths(c, because(r.Name(), from, "media types by file name"), mimeFiles...)
}
