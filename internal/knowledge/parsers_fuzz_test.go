package knowledge

import (
	"strings"
	"testing"
)

func FuzzParseNSSwitch(f *testing.F) {
	for _, s := range []string{"passwd: files systemd\ngroup: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n",
		"# comment\nhosts:files dns # trailing\n", "passwd compat\n", ": x\n", "hosts: [!UNAVAIL=return\n", "a:b:c d\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, conf []byte) {
		for _, s := range ParseNSSwitch(conf) {
			if s.Service == "" || strings.ContainsAny(s.Service, " \t\n[]") || len(s.Databases) == 0 {
				t.Errorf("service %+v", s)
			}
		}
	})
}

func FuzzParseNginx(f *testing.F) {
	for _, s := range []string{"user www-data;\ninclude /etc/nginx/modules-enabled/*.conf;\nhttp { root \"/var/www/html\"; }\n",
		"load_module modules/ngx_http_geoip_module.so; # c\n", "a 'b;c' \"d\\\"e\" {", "}}}{{{;;;", "\"unterminated", "x \\; y;"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range parseNginx(data) {
			if len(d) == 0 {
				t.Errorf("empty directive from %q", data)
			}
		}
	})
}

func FuzzParseOpenSSLConf(f *testing.F) {
	for _, s := range []string{"openssl_conf = openssl_init\n.include /etc/ssl/openssl.cnf.d\n[provider_sect]\nlegacy = legacy_sect\n[legacy_sect]\nmodule = /usr/lib/ossl-modules/legacy.so\nactivate = 1\n",
		"[engine]\ndynamic_path = $ENV::X/e.so\n.include=relative.cnf\n", "[[\n=\n.include\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range parseOpenSSLConf(data) {
			if r.path == "" {
				t.Errorf("empty reference from %q", data)
			}
		}
	})
}
