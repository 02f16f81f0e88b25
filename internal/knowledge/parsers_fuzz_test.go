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
