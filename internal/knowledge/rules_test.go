package knowledge_test

import (
	"debug/elf"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const (
	lib  = "/usr/lib/x86_64-linux-gnu"
	libc = lib + "/libc.so.6"
)

// bookwormNSSwitch is /etc/nsswitch.conf of Debian bookworm's base-files.
const bookwormNSSwitch = `# /etc/nsswitch.conf
#
# Example configuration of GNU Name Service Switch functionality.
# If you have the ` + "`glibc-doc-reference' and `info'" + ` packages installed, try:
# ` + "`info libc \"Name Service Switch\"'" + ` for information about this file.

passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
`

// bookworm returns an in-memory tree shaped like Debian bookworm amd64:
// usr-merge links, libc, and the files the system rules look at.
func bookworm() *rootfs.Mem {
	m := rootfs.NewMem()
	m.AddDir("/usr/bin", 0o755).AddDir(lib, 0o755).AddDir("/usr/sbin", 0o755).AddDir("/usr/lib64", 0o755)
	m.AddSymlink("/bin", "usr/bin").AddSymlink("/lib", "usr/lib").AddSymlink("/lib64", "usr/lib64").AddSymlink("/sbin", "usr/sbin")
	m.AddFile(libc, 0o755, elftest.Build(elftest.Spec{Soname: "libc.so.6", Interp: ldso, Needed: []string{"ld-linux-x86-64.so.2"}}))
	m.AddFile(lib+"/ld-linux-x86-64.so.2", 0o755, elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	m.AddFile(lib+"/libgcc_s.so.1", 0o644, sharedLib("libgcc_s.so.1", "libc.so.6"))
	m.AddFile("/etc/nsswitch.conf", 0o644, []byte(bookwormNSSwitch))
	m.AddFile("/etc/host.conf", 0o644, []byte("multi on\n"))
	m.AddFile("/etc/hosts", 0o644, []byte("127.0.0.1 localhost\n"))
	m.AddFile("/etc/gai.conf", 0o644, []byte("# gai.conf\n"))
	m.AddFile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/bash\n"))
	m.AddFile("/etc/group", 0o644, []byte("root:x:0:\n"))
	m.AddFile("/etc/services", 0o644, []byte("http 80/tcp www\n"))
	m.AddFile("/etc/protocols", 0o644, []byte("tcp 6 TCP\n"))
	m.AddFile("/usr/lib/os-release", 0o644, []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"))
	m.AddSymlink("/etc/os-release", "../usr/lib/os-release")
	m.AddFile("/etc/debian_version", 0o644, []byte("12.12\n"))
	m.AddFile("/usr/bin/ls", 0o755, program("libc.so.6"))
	m.AddFile("/usr/bin/static", 0o755, elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}))
	return m
}

// ldso is the PT_INTERP of x86-64 glibc programs.
const ldso = "/lib64/ld-linux-x86-64.so.2"

// program returns a synthetic dynamic glibc program needing libraries.
func program(needed ...string) []byte {
	return elftest.Build(elftest.Spec{Interp: ldso, Needed: needed})
}

// sharedLib returns a synthetic shared object named soname.
func sharedLib(soname string, needed ...string) []byte {
	return elftest.Build(elftest.Spec{Soname: soname, Needed: needed})
}

func glibcObj() keptset.Object { return keptset.Object{Path: libc, Libc: true} }

func run(t *testing.T, v *rootfs.View, objs []keptset.Object, env []string, rules ...knowledge.Rule) *knowledgetest.Keeper {
	t.Helper()
	c := knowledgetest.New(v, env...)
	for _, o := range objs {
		c.AddObject(o)
	}
	if err := c.Run(rules...); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantKept(t *testing.T, c *knowledgetest.Keeper, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if !c.Kept(p) {
			t.Errorf("%s not kept", p)
		}
	}
}

func wantDropped(t *testing.T, c *knowledgetest.Keeper, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if c.Kept(p) {
			t.Errorf("%s kept (%v), want it left out", p, c.Reasons(p))
		}
	}
}

func TestDefaultNamesStableAndUnique(t *testing.T) {
	var names []string
	for _, r := range knowledge.Default() {
		names = append(names, r.Name())
	}
	want := []string{"os-release", "nss", "libgcc_s", "gconv", "locale", "ca-certs", "openssl", "tzdata", "mime-types"}
	// the runtimes follow in catalogue order, the first five as before
	if d := cmp.Diff([]string{"python", "ruby", "node", "java", "perl"}, runtimeNames()[:5]); d != "" {
		t.Errorf("Runtimes (-want +got):\n%s", d)
	}
	want = append(want, runtimeNames()...)
	seen := map[string]bool{}
	for _, n := range want {
		if seen[n] {
			t.Errorf("rule name %s twice", n)
		}
		seen[n] = true
	}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("Default() names (-want +got):\n%s", d)
	}
	var rest []string
	for _, r := range knowledge.Without(knowledge.Default(), "tzdata", "nss") {
		rest = append(rest, r.Name())
	}
	if slices.Contains(rest, "tzdata") || slices.Contains(rest, "nss") || len(rest) != len(want)-2 {
		t.Errorf("Without(tzdata, nss) = %v", rest)
	}
}

func runtimeNames() []string {
	var out []string
	for _, r := range knowledge.Runtimes {
		out = append(out, r.Name())
	}
	return out
}

func TestParseNSSwitch(t *testing.T) {
	got := knowledge.ParseNSSwitch([]byte("passwd: files systemd # comment\nhosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\ngroup:files systemd\n# shadow: ldap\nbogus line\n"))
	want := []knowledge.NSSService{
		{Service: "files", Databases: []string{"passwd", "hosts", "group"}},
		{Service: "systemd", Databases: []string{"passwd", "group"}},
		{Service: "mdns4_minimal", Databases: []string{"hosts"}},
		{Service: "dns", Databases: []string{"hosts"}},
		{Service: "myhostname", Databases: []string{"hosts"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseNSSwitch (-want +got):\n%s", d)
	}
}

func TestNSS(t *testing.T) {
	files := []string{"/etc/nsswitch.conf", "/etc/host.conf", "/etc/hosts", "/etc/gai.conf", "/etc/passwd", "/etc/group", "/etc/services", "/etc/protocols"}
	t.Run("bookworm default", func(t *testing.T) {
		c := run(t, bookworm().View(), []keptset.Object{glibcObj()}, nil, knowledge.NSS{})
		wantKept(t, c, files...)
		// db and nis have no module in the image, for minor databases: no note
		if len(c.Warnings) != 0 {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})
	t.Run("modules", func(t *testing.T) {
		m := bookworm()
		m.AddFile("/etc/nsswitch.conf", 0o644, []byte("passwd: files systemd\nhosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\ngroup: files ldap\n"))
		for _, s := range []string{"systemd", "mdns4_minimal", "myhostname", "compat"} {
			m.AddFile(lib+"/libnss_"+s+".so.2", 0o644, sharedLib("libnss_"+s+".so.2", "libc.so.6"))
		}
		c := run(t, m.View(), []keptset.Object{glibcObj()}, nil, knowledge.NSS{})
		wantKept(t, c, lib+"/libnss_systemd.so.2", lib+"/libnss_mdns4_minimal.so.2", lib+"/libnss_myhostname.so.2")
		wantDropped(t, c, lib+"/libnss_compat.so.2")
		r := c.Reasons(lib + "/libnss_systemd.so.2")
		if len(r) == 0 || r[0].Kind != keptset.KindDlopen || r[0].From != libc || r[0].Rule != "nss" {
			t.Errorf("reasons of libnss_systemd = %+v", r)
		}
		// group: ldap has no module: glibc skips it, as in the original; a note says so
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "libnss_ldap.so.2") {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})
	t.Run("pure Go reads the files itself", func(t *testing.T) {
		m := bookworm()
		m.AddFile("/app/server", 0o755, []byte("go"))
		m.AddFile(lib+"/libnss_db.so.2", 0o644, []byte("db"))
		c := run(t, m.View(), []keptset.Object{{Path: "/app/server", Go: true, Static: true}}, nil, knowledge.NSS{})
		wantKept(t, c, files...)
		wantDropped(t, c, lib+"/libnss_db.so.2", libc)
	})
	t.Run("no libc", func(t *testing.T) {
		c := run(t, bookworm().View(), []keptset.Object{{Path: "/usr/bin/static"}}, nil, knowledge.NSS{})
		wantDropped(t, c, files...)
	})
	t.Run("no nsswitch.conf", func(t *testing.T) {
		m := bookworm()
		m.Add(rootfs.Entry{Path: "/etc/nsswitch.conf", Type: rootfs.TypeDir, Mode: 0o755}, nil)
		c := run(t, m.View(), []keptset.Object{glibcObj()}, nil, knowledge.NSS{})
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "hosts: files dns") {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})
}

func TestLibgccS(t *testing.T) {
	c := run(t, bookworm().View(), []keptset.Object{glibcObj()}, nil, knowledge.LibgccS{})
	wantKept(t, c, lib+"/libgcc_s.so.1")
	c = run(t, bookworm().View(), []keptset.Object{{Path: "/usr/bin/static"}}, nil, knowledge.LibgccS{})
	wantDropped(t, c, lib+"/libgcc_s.so.1")
}

func localeTree() *rootfs.Mem {
	m := bookworm()
	m.AddFile("/usr/lib/locale/C.utf8/LC_CTYPE", 0o644, []byte("ctype"))
	m.AddFile("/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES", 0o644, []byte("msg"))
	m.AddFile("/usr/lib/locale/locale-archive", 0o644, []byte("archive"))
	m.AddFile("/usr/share/locale/locale.alias", 0o644, []byte("alias"))
	m.AddFile("/usr/lib/locale/de_DE.utf8/LC_CTYPE", 0o644, []byte("de"))
	return m
}

func TestLocale(t *testing.T) {
	cutf8 := []string{"/usr/lib/locale/C.utf8/LC_CTYPE", "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES"}
	archive := []string{"/usr/lib/locale/locale-archive", "/usr/share/locale/locale.alias"}
	tests := []struct {
		env        []string
		kept, gone []string
	}{
		{nil, nil, append(cutf8, archive...)},
		{[]string{"LANG=C"}, nil, append(cutf8, archive...)},
		{[]string{"LC_ALL=POSIX"}, nil, append(cutf8, archive...)},
		{[]string{"LANG=C.UTF-8"}, cutf8, archive},
		{[]string{"LC_ALL=C.utf8"}, cutf8, archive},
		{[]string{"LANG=en_US.UTF-8"}, archive, cutf8},
		{[]string{"LC_CTYPE=de_DE.UTF-8"}, append([]string{"/usr/lib/locale/de_DE.utf8/LC_CTYPE"}, archive...), cutf8},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, " "), func(t *testing.T) {
			c := run(t, localeTree().View(), []keptset.Object{glibcObj()}, tt.env, knowledge.Locale{})
			wantKept(t, c, tt.kept...)
			wantDropped(t, c, tt.gone...)
		})
	}
	t.Run("python coerces C to C.UTF-8", func(t *testing.T) {
		m := localeTree()
		m.AddFile("/usr/bin/python3.11", 0o755, []byte("py"))
		c := run(t, m.View(), []keptset.Object{glibcObj(), {Path: "/usr/bin/python3.11"}}, nil, knowledge.Locale{})
		wantKept(t, c, cutf8...)
	})
	t.Run("missing locale", func(t *testing.T) {
		c := run(t, bookworm().View(), []keptset.Object{glibcObj()}, []string{"LANG=fr_FR.UTF-8"}, knowledge.Locale{})
		if len(c.Warnings) != 1 {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})
}

func TestNormalizeLocale(t *testing.T) {
	for in, want := range map[string]string{
		"C.UTF-8": "C.utf8", "en_US.UTF-8@euro": "en_US.utf8@euro", "de_DE.ISO-8859-1": "de_DE.iso88591",
		"ja_JP.eucJP": "ja_JP.eucjp", "xx.8859": "xx.iso8859", "POSIX": "POSIX",
	} {
		if got := knowledge.NormalizeLocale(in); got != want {
			t.Errorf("NormalizeLocale(%q) = %q, want %q", in, got, want)
		}
	}
}

// caTree has the bookworm ca-certificates and openssl layout.
func caTree() *rootfs.Mem {
	m := bookworm()
	m.AddFile("/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt", 0o644, []byte("pem"))
	m.AddFile("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", 0o644, []byte("pem"))
	m.AddSymlink("/etc/ssl/certs/DigiCert_Global_Root_G2.pem", "/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt")
	m.AddSymlink("/etc/ssl/certs/607986c7.0", "DigiCert_Global_Root_G2.pem")
	m.AddSymlink("/etc/ssl/certs/ISRG_Root_X1.pem", "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt")
	m.AddSymlink("/etc/ssl/certs/4042bcee.0", "ISRG_Root_X1.pem")
	m.AddFile("/etc/ssl/certs/ca-certificates.crt", 0o644, []byte("bundle"))
	m.AddFile("/etc/ssl/certs/java/cacerts", 0o644, []byte("jks"))
	m.AddFile("/etc/ssl/openssl.cnf", 0o644, []byte("HOME = .\nopenssl_conf = openssl_init\n.include /etc/ssl/openssl.cnf.d\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\nfips = fips_sect\n[fips_sect]\nmodule = /usr/lib/x86_64-linux-gnu/ossl-modules/fips.so\n"))
	m.AddFile("/etc/ssl/openssl.cnf.d/local.cnf", 0o644, []byte(".include = extra.cnf\n"))
	m.AddFile("/etc/ssl/openssl.cnf.d/extra.cnf", 0o644, []byte("# extra\n"))
	m.AddFile("/etc/ssl/unrelated.cnf", 0o644, []byte("# not included\n"))
	m.AddDir("/etc/ssl/private", 0o700)
	m.AddDir("/usr/lib/ssl/misc", 0o755)
	m.AddFile("/usr/lib/ssl/misc/CA.pl", 0o755, []byte("#!/usr/bin/perl\n"))
	m.AddSymlink("/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt")
	m.AddSymlink("/usr/lib/ssl/certs", "/etc/ssl/certs")
	m.AddSymlink("/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf")
	m.AddSymlink("/usr/lib/ssl/private", "/etc/ssl/private")
	m.AddFile(lib+"/libssl.so.3", 0o644, []byte("ssl"))
	m.AddFile(lib+"/libcrypto.so.3", 0o644, []byte("crypto"))
	m.AddFile(lib+"/ossl-modules/legacy.so", 0o644, []byte("legacy"))
	m.AddFile(lib+"/ossl-modules/fips.so", 0o644, []byte("fips"))
	m.AddFile(lib+"/engines-3/afalg.so", 0o644, []byte("afalg"))
	m.AddFile(lib+"/engines-3/padlock.so", 0o644, []byte("padlock"))
	return m
}

func TestCACerts(t *testing.T) {
	certs := []string{
		"/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/607986c7.0", "/etc/ssl/certs/DigiCert_Global_Root_G2.pem",
		"/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt", "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
		"/usr/lib/ssl/cert.pem", "/usr/lib/ssl/certs", "/etc/ssl/certs/java/cacerts",
	}
	for name, obj := range map[string]keptset.Object{
		"libssl": {Path: lib + "/libssl.so.3"},
		"go":     {Path: "/usr/bin/ls", Go: true},
		"python": {Path: "/usr/bin/python3.11"},
	} {
		t.Run(name, func(t *testing.T) {
			m := caTree()
			m.AddFile("/usr/bin/python3.11", 0o755, []byte("py"))
			c := run(t, m.View(), []keptset.Object{obj}, nil, knowledge.CACerts{})
			wantKept(t, c, certs...)
			if len(c.Warnings) != 0 {
				t.Errorf("warnings = %q", c.Warnings)
			}
		})
	}
	t.Run("no TLS user", func(t *testing.T) {
		c := run(t, caTree().View(), []keptset.Object{glibcObj()}, nil, knowledge.CACerts{})
		wantDropped(t, c, certs...)
	})
	t.Run("SSL_CERT_FILE", func(t *testing.T) {
		m := bookworm()
		m.AddFile("/opt/ca/bundle.pem", 0o644, []byte("pem"))
		m.AddFile("/opt/ca/dir/a.pem", 0o644, []byte("pem"))
		c := run(t, m.View(), []keptset.Object{{Path: "/usr/bin/ls", Go: true}}, []string{"SSL_CERT_FILE=/opt/ca/bundle.pem", "SSL_CERT_DIR=/opt/ca/dir"}, knowledge.CACerts{})
		wantKept(t, c, "/opt/ca/bundle.pem", "/opt/ca/dir/a.pem")
		if len(c.Warnings) != 0 {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})
	t.Run("no bundle", func(t *testing.T) {
		c := run(t, bookworm().View(), []keptset.Object{{Path: "/usr/bin/ls", Go: true}}, nil, knowledge.CACerts{})
		if len(c.Warnings) != 1 {
			t.Errorf("warnings = %q", c.Warnings)
		}
	})
}

func TestOpenSSL(t *testing.T) {
	c := run(t, caTree().View(), []keptset.Object{{Path: lib + "/libcrypto.so.3"}}, nil, knowledge.OpenSSL{})
	wantKept(t, c, "/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf", "/etc/ssl/openssl.cnf.d/local.cnf", "/etc/ssl/openssl.cnf.d/extra.cnf",
		lib+"/ossl-modules/legacy.so", lib+"/ossl-modules/fips.so", lib+"/engines-3/afalg.so", lib+"/engines-3/padlock.so",
		"/usr/lib/ssl/private", "/etc/ssl/private")
	wantDropped(t, c, "/usr/lib/ssl/misc/CA.pl", "/etc/ssl/unrelated.cnf")
	r := c.Reasons(lib + "/ossl-modules/legacy.so")
	if len(r) == 0 || r[0].Kind != keptset.KindDlopen || r[0].From != lib+"/libcrypto.so.3" {
		t.Errorf("reasons of legacy.so = %+v", r)
	}
	t.Run("OPENSSL_CONF and OPENSSL_MODULES", func(t *testing.T) {
		m := caTree()
		m.AddFile("/app/ssl.cnf", 0o644, []byte("[x]\n"))
		m.AddFile("/app/mods/custom.so", 0o644, []byte("so"))
		c := run(t, m.View(), []keptset.Object{{Path: lib + "/libcrypto.so.3"}}, []string{"OPENSSL_CONF=/app/ssl.cnf", "OPENSSL_MODULES=/app/mods"}, knowledge.OpenSSL{})
		wantKept(t, c, "/app/ssl.cnf", "/app/mods/custom.so")
	})
	t.Run("no libcrypto", func(t *testing.T) {
		c := run(t, caTree().View(), []keptset.Object{{Path: lib + "/libssl.so.3"}}, nil, knowledge.OpenSSL{})
		wantDropped(t, c, "/etc/ssl/openssl.cnf", lib+"/ossl-modules/legacy.so")
	})
}

func TestOSRelease(t *testing.T) {
	c := run(t, bookworm().View(), nil, nil, knowledge.OSRelease{})
	wantKept(t, c, "/etc/os-release", "/usr/lib/os-release", "/etc/debian_version")
	m := rootfs.NewMem()
	m.AddFile("/etc/os-release", 0o644, []byte("ID=alpine\n")).AddFile("/etc/alpine-release", 0o644, []byte("3.20.0\n"))
	c = run(t, m.View(), nil, nil, knowledge.OSRelease{})
	wantKept(t, c, "/etc/os-release", "/etc/alpine-release")
}

func TestAlpineTLS(t *testing.T) {
	// Alpine 3.20: libcrypto in /lib, modules and engines in /usr/lib, OPENSSLDIR /etc/ssl
	m := rootfs.NewMem()
	m.AddFile("/lib/ld-musl-x86_64.so.1", 0o755, []byte("musl"))
	m.AddFile("/lib/libcrypto.so.3", 0o755, []byte("crypto"))
	m.AddFile("/lib/libssl.so.3", 0o755, []byte("ssl"))
	m.AddFile("/usr/lib/ossl-modules/legacy.so", 0o755, []byte("legacy"))
	m.AddFile("/usr/lib/engines-3/afalg.so", 0o755, []byte("afalg"))
	m.AddFile("/etc/ssl/openssl.cnf", 0o644, []byte("# cnf\n"))
	m.AddFile("/etc/ssl/certs/ca-certificates.crt", 0o644, []byte("bundle"))
	m.AddSymlink("/etc/ssl/cert.pem", "certs/ca-certificates.crt")
	m.AddFile("/etc/hosts", 0o644, []byte("127.0.0.1 localhost\n"))
	m.AddFile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	objs := []keptset.Object{{Path: "/lib/ld-musl-x86_64.so.1", Libc: true, Musl: true}, {Path: "/lib/libcrypto.so.3"}, {Path: "/lib/libssl.so.3"}}
	c := run(t, m.View(), objs, nil, knowledge.Default()...)
	wantKept(t, c, "/usr/lib/ossl-modules/legacy.so", "/usr/lib/engines-3/afalg.so", "/etc/ssl/openssl.cnf", "/etc/ssl/cert.pem",
		"/etc/ssl/certs/ca-certificates.crt", "/etc/hosts", "/etc/passwd")
	if len(c.Warnings) != 0 {
		t.Errorf("warnings = %q", c.Warnings)
	}
}

func TestMIMETypes(t *testing.T) {
	m := bookworm()
	m.AddFile("/etc/mime.types", 0o644, []byte("text/html html htm\n"))
	m.AddFile("/app/server", 0o755, []byte("go"))
	c := run(t, m.View(), []keptset.Object{{Path: "/app/server", Go: true}}, nil, knowledge.MIMETypes{})
	wantKept(t, c, "/etc/mime.types")
	c = run(t, m.View(), []keptset.Object{glibcObj()}, nil, knowledge.MIMETypes{})
	wantDropped(t, c, "/etc/mime.types")
}

func TestLocaleSettings(t *testing.T) {
	got := knowledge.LocaleSettings([]byte(`# LANG=fr_FR.UTF-8 is a comment
LANG=de_DE.UTF-8
export LC_ALL="en_US.UTF-8"
lc_messages = 'C.UTF-8'   # trailing comment
lc_time = 'C'
LANGUAGE=en_US:en
locale = sv_SE.ISO-8859-1
Locale=en
datestyle = 'iso, mdy'
lc_numeric = '$(whoami)'
`))
	want := []knowledge.Setting{
		{Key: "LANG", Value: "de_DE.UTF-8"}, {Key: "LC_ALL", Value: "en_US.UTF-8"},
		{Key: "lc_messages", Value: "C.UTF-8"}, {Key: "locale", Value: "sv_SE.ISO-8859-1"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("LocaleSettings (-want +got):\n%s", d)
	}
	if s := knowledge.LocaleSettings([]byte("LANG=de_DE.UTF-8\x00\x01")); s != nil {
		t.Errorf("binary data gave %v", s)
	}
}

func TestLocaleFromKeptEtcFile(t *testing.T) {
	m := localeTree()
	m.AddFile("/etc/default/locale", 0o644, []byte("LANG=de_DE.UTF-8\n"))
	m.AddFile("/etc/unkept.conf", 0o644, []byte("LANG=fr_FR.UTF-8\n"))
	m.AddFile("/opt/report/report.conf", 0o644, []byte("locale = sv_SE.UTF-8\n"))
	m.AddFile("/opt/report/notes.txt", 0o644, []byte("LANG=ja_JP.UTF-8\n"))
	m.AddFile("/usr/lib/locale/sv_SE.utf8/LC_CTYPE", 0o644, []byte("sv"))
	m.AddFile("/usr/lib/locale/ja_JP.utf8/LC_CTYPE", 0o644, []byte("ja"))
	m.AddFile("/usr/lib/locale/fr_FR.utf8/LC_CTYPE", 0o644, []byte("fr"))
	c := knowledgetest.New(m.View())
	c.AddObject(glibcObj())
	for _, p := range []string{"/etc/default/locale", "/opt/report/report.conf", "/opt/report/notes.txt"} {
		if _, err := c.AddPath(p, keptset.Reason{Kind: keptset.KindInclude}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Run(knowledge.Locale{}); err != nil {
		t.Fatal(err)
	}
	// /etc files and files named like configuration are scanned; other
	// files are not
	wantKept(t, c, "/usr/lib/locale/de_DE.utf8/LC_CTYPE", "/usr/lib/locale/locale-archive", "/usr/lib/locale/sv_SE.utf8/LC_CTYPE")
	wantDropped(t, c, "/usr/lib/locale/fr_FR.utf8/LC_CTYPE", "/usr/lib/locale/C.utf8/LC_CTYPE", "/usr/lib/locale/ja_JP.utf8/LC_CTYPE")
	if r := c.Reasons("/usr/lib/locale/de_DE.utf8"); len(r) == 0 || r[0].From != "/etc/default/locale" {
		t.Errorf("reasons = %+v, want one from /etc/default/locale", r)
	}
}
