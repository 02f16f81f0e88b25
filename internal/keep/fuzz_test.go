package keep

import (
	"path"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func FuzzParseShebang(f *testing.F) {
	for _, s := range []string{"#!/bin/sh\n", "#! /usr/bin/env python3 -u\nprint(1)", "#!/bin/bash\t-e\r\n",
		"#!", "#!\n", "#!   \n", "#!/usr/bin/perl -w -T", "#!/x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if !shebangMagic([]byte(h)) {
			return
		}
		interp, arg, err := parseShebang("/s", []byte(h))
		if err != nil {
			return
		}
		if interp == "" || strings.ContainsAny(interp, " \t\n") || strings.Contains(arg, "\n") {
			t.Errorf("parseShebang(%q) = %q, %q", h, interp, arg)
		}
	})
}

// FuzzPathTokens checks that the config scanner only reports clean
// absolute paths.
func FuzzPathTokens(f *testing.F) {
	for _, s := range []string{"include /etc/nginx/conf.d/*.conf;", "log_file = '/var/log/app.log' # x",
		"url=http://host/x", "PATH=/a:/b::/c", "root (/srv/{a,b}/[x]);", "<Directory \"/var/www\">",
		"; comment /x", "key: /data/$HOSTNAME/%Y.log", "/", "//", "/./../x.", "[/a, /b]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, tok := range pathTokens(configLine(line)) {
			if !strings.HasPrefix(tok, "/") || path.Clean(tok) != tok {
				t.Errorf("pathTokens(%q) gave %q", line, tok)
			}
		}
		for _, tok := range argCandidates(line) {
			_ = tok
		}
		templateDir(line)
	})
}

// FuzzCompute runs the whole closure over an image whose configuration
// file, entrypoint script, nsswitch.conf and passwd are the input: it must
// not panic and every kept path must exist in the image.
func FuzzCompute(f *testing.F) {
	f.Add([]byte("include /etc/app.d/*.conf\nlog=/var/log/app.log\n"), []byte("#!/bin/sh\nexec app \"$@\"\n"),
		[]byte("passwd: files systemd\nhosts: files dns\n"), []byte("root:x:0:0::/root:/bin/sh\n"))
	f.Add([]byte("x=/data/in.json\n"), []byte("#!/bin/sh\n. /etc/app.conf\njq . /data/in.json | sed s/a/b/\n"),
		[]byte("hosts: files [NOTFOUND=return] mdns4_minimal dns\n"), []byte("app:x:1000:1000::/home/app:/bin/sh\n+@nis\n"))
	f.Fuzz(func(t *testing.T, conf, script, nss, passwd []byte) {
		m := image()
		m.AddFile("/etc/app.conf", 0o644, conf)
		m.AddFile("/usr/local/bin/entry.sh", 0o755, script)
		m.AddFile("/etc/nsswitch.conf", 0o644, nss)
		m.AddFile("/etc/passwd", 0o644, passwd)
		v := m.View()
		res, err := Compute(v, v1.Config{Entrypoint: []string{"/usr/local/bin/entry.sh"}, Cmd: []string{"-c", "/etc/app.conf"},
			Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, WorkingDir: "/data"}, Options{AllowMissing: true})
		if err != nil {
			return
		}
		for _, it := range res.Set.Items() {
			if _, err := v.Lstat(it.Path); err != nil {
				t.Errorf("kept %s, which is not in the image: %v", it.Path, err)
			}
		}
	})
}

// FuzzRelativeTokens checks that relative config names stay below the
// prefix they are joined to, and that account settings are plain names.
func FuzzRelativeTokens(f *testing.F) {
	for _, s := range []string{"load_module modules/x.so;", "include \"conf-enabled/*.conf\"", "Include ../../etc/shadow",
		"listen 127.0.0.1:80;", "user www-data www-data;", "server.username = \"x\"", "a/./b/../../c.conf", "./", ".."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, tok := range relativeTokens(line) {
			if strings.HasPrefix(tok, "/") || tok == ".." || strings.HasPrefix(tok, "../") || path.Clean(tok) != tok ||
				!strings.HasPrefix(path.Join("/p", tok), "/p/") {
				t.Errorf("relativeTokens(%q) gave %q", line, tok)
			}
		}
		u, g := accountSetting(line)
		for _, n := range []string{u, g} {
			if n != "" && !accountName(n) {
				t.Errorf("accountSetting(%q) gave %q", line, n)
			}
		}
	})
}
