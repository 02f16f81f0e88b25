package knowledge_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// The runtime tests below check which trees belong to an interpreter, as
// whole-tree mode (--keep-interpreter-trees) keeps them; the import graphs that
// replace them by default are tested in internal/importgraph and the golden cases.

// runWhole is run with interpreter trees kept whole.
func runWhole(t *testing.T, v *rootfs.View, objs []keptset.Object, env []string, rules ...knowledge.Rule) *knowledgetest.Keeper {
	t.Helper()
	c := knowledgetest.New(v, env...)
	c.Whole = true
	for _, o := range objs {
		c.AddObject(o)
	}
	if err := c.Run(rules...); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPython(t *testing.T) {
	m := bookworm()
	m.AddFile("/usr/bin/python3.11", 0o755, []byte("py"))
	m.AddSymlink("/usr/bin/python3", "python3.11")
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("os"))
	m.AddFile("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", 0o644, []byte("so"))
	m.AddFile("/usr/lib/python3/dist-packages/flask/__init__.py", 0o644, []byte("flask"))
	m.AddFile("/usr/local/lib/python3.11/dist-packages/extra.py", 0o644, []byte("x"))
	m.AddFile("/usr/lib/python3.12/os.py", 0o644, []byte("other version"))
	m.AddFile("/opt/venv/pyvenv.cfg", 0o644, []byte("home = /usr/bin\n"))
	m.AddSymlink("/opt/venv/bin/python", "/usr/bin/python3")
	m.AddFile("/opt/venv/lib/python3.11/site-packages/requests/__init__.py", 0o644, []byte("r"))
	m.AddFile("/srv/lib/mymod.py", 0o644, []byte("m"))
	m.AddFile("/app/main.py", 0o644, []byte("import helper"))
	m.AddFile("/app/helper.py", 0o644, []byte("helper"))
	m.AddFile("/usr/local/bin/tool.py", 0o755, []byte("#!/usr/bin/python3"))
	m.AddFile("/usr/local/bin/other", 0o755, []byte("other"))
	c := knowledgetest.New(m.View(), "PATH=/opt/venv/bin:/usr/bin", "PYTHONPATH=/srv/lib")
	c.Whole = true
	c.AddObject(keptset.Object{Path: "/usr/bin/python3.11"})
	c.AddObject(keptset.Object{Path: "/app/main.py"})
	c.AddObject(keptset.Object{Path: "/usr/local/bin/tool.py"})
	if err := c.Run(knowledge.Python); err != nil {
		t.Fatal(err)
	}
	wantKept(t, c, "/usr/lib/python3.11/os.py", "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
		"/usr/lib/python3/dist-packages/flask/__init__.py", "/usr/local/lib/python3.11/dist-packages/extra.py",
		"/opt/venv/pyvenv.cfg", "/opt/venv/bin/python", "/opt/venv/lib/python3.11/site-packages/requests/__init__.py",
		"/srv/lib/mymod.py", "/app/helper.py")
	// another version, and a system dir holding a script, are not kept whole
	wantDropped(t, c, "/usr/lib/python3.12/os.py", "/usr/local/bin/other")

	t.Run("official image prefix /usr/local", func(t *testing.T) {
		m := rootfs.NewMem()
		m.AddFile("/usr/local/bin/python3.12", 0o755, []byte("py"))
		m.AddFile("/usr/local/lib/python3.12/os.py", 0o644, []byte("os"))
		m.AddFile("/usr/local/lib/python3.12/site-packages/pip/__init__.py", 0o644, []byte("pip"))
		m.AddFile("/usr/local/lib/python312.zip", 0o644, []byte("zip"))
		m.AddFile("/usr/lib/python3/dist-packages/debian.py", 0o644, []byte("deb"))
		c := runWhole(t, m.View(), []keptset.Object{{Path: "/usr/local/bin/python3.12"}}, nil, knowledge.Python)
		wantKept(t, c, "/usr/local/lib/python3.12/os.py", "/usr/local/lib/python3.12/site-packages/pip/__init__.py", "/usr/local/lib/python312.zip")
		wantDropped(t, c, "/usr/lib/python3/dist-packages/debian.py")
	})
	t.Run("no python", func(t *testing.T) {
		c := run(t, m.View(), []keptset.Object{glibcObj()}, nil, knowledge.Python)
		wantDropped(t, c, "/usr/lib/python3.11/os.py")
	})
}

func TestRubyPerlJava(t *testing.T) {
	m := bookworm()
	m.AddFile("/usr/bin/ruby3.1", 0o755, []byte("rb"))
	m.AddFile(lib+"/libruby-3.1.so.3.1", 0o644, []byte("so"))
	m.AddFile("/usr/lib/ruby/3.1.0/set.rb", 0o644, []byte("set"))
	m.AddFile("/usr/lib/ruby/vendor_ruby/webrick.rb", 0o644, []byte("w"))
	m.AddFile("/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", 0o644, []byte("g"))
	m.AddFile(lib+"/ruby/3.1.0/socket.so", 0o644, []byte("so"))
	m.AddFile("/usr/share/rubygems-integration/all/specifications/webrick-1.7.0.gemspec", 0o644, []byte("g"))
	m.AddFile("/bundle/gems/rack/lib/rack.rb", 0o644, []byte("rack"))

	m.AddFile("/usr/bin/perl", 0o755, []byte("pl"))
	m.AddFile("/etc/perl/Net/libnet.cfg", 0o644, []byte("cfg"))
	m.AddFile(lib+"/perl-base/strict.pm", 0o644, []byte("strict"))
	m.AddFile(lib+"/perl/5.36.0/POSIX.pm", 0o644, []byte("posix"))
	m.AddFile(lib+"/perl/5.36.0/auto/POSIX/POSIX.so", 0o644, []byte("so"))
	m.AddFile("/usr/share/perl/5.36.0/Carp.pm", 0o644, []byte("carp"))
	m.AddFile("/usr/share/perl5/Debconf/Log.pm", 0o644, []byte("d"))

	jvm := "/usr/lib/jvm/java-17-openjdk-amd64"
	m.AddFile(jvm+"/bin/java", 0o755, []byte("java"))
	m.AddFile(jvm+"/lib/server/libjvm.so", 0o644, []byte("jvm"))
	m.AddFile(jvm+"/lib/modules", 0o644, []byte("jimage"))
	m.AddFile(jvm+"/lib/tzdb.dat", 0o644, []byte("tz"))
	m.AddFile(jvm+"/release", 0o644, []byte("JAVA_VERSION=\"17.0.13\"\n"))
	m.AddSymlink(jvm+"/conf", "/etc/java-17-openjdk")
	m.AddFile("/etc/java-17-openjdk/security/java.security", 0o644, []byte("sec"))
	m.AddSymlink(jvm+"/lib/security/cacerts", "/etc/ssl/certs/java/cacerts")
	m.AddFile("/etc/ssl/certs/java/cacerts", 0o644, []byte("jks"))
	m.AddSymlink("/usr/bin/java", "/etc/alternatives/java")
	m.AddSymlink("/etc/alternatives/java", jvm+"/bin/java")
	m.AddFile("/usr/lib/jvm/java-11-openjdk-amd64/release", 0o644, []byte("11"))

	m.AddFile("/app/App.class", 0o644, []byte("class"))
	v := m.View()

	c := runWhole(t, v, []keptset.Object{{Path: "/usr/bin/ruby3.1", Needed: []string{"libruby-3.1.so.3.1"}}}, []string{"GEM_HOME=/bundle"}, knowledge.Ruby)
	wantKept(t, c, "/usr/lib/ruby/3.1.0/set.rb", "/usr/lib/ruby/vendor_ruby/webrick.rb", "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
		lib+"/ruby/3.1.0/socket.so", "/usr/share/rubygems-integration/all/specifications/webrick-1.7.0.gemspec", "/bundle/gems/rack/lib/rack.rb")
	wantDropped(t, c, "/usr/share/perl5/Debconf/Log.pm", jvm+"/release")

	c = runWhole(t, v, []keptset.Object{{Path: "/usr/bin/perl"}}, nil, knowledge.Perl)
	wantKept(t, c, "/etc/perl/Net/libnet.cfg", lib+"/perl-base/strict.pm", lib+"/perl/5.36.0/auto/POSIX/POSIX.so", "/usr/share/perl/5.36.0/Carp.pm", "/usr/share/perl5/Debconf/Log.pm")
	wantDropped(t, c, "/usr/lib/ruby/3.1.0/set.rb")

	c = knowledgetest.New(v)
	c.Whole = true
	c.WorkDir = "/app"
	c.AddObject(keptset.Object{Path: jvm + "/bin/java"})
	if err := c.Run(knowledge.Java); err != nil {
		t.Fatal(err)
	}
	wantKept(t, c, jvm+"/lib/server/libjvm.so", jvm+"/lib/modules", jvm+"/lib/tzdb.dat", jvm+"/release", jvm+"/conf",
		"/etc/java-17-openjdk/security/java.security", jvm+"/lib/security/cacerts", "/etc/ssl/certs/java/cacerts", "/app/App.class")
	wantDropped(t, c, "/usr/lib/jvm/java-11-openjdk-amd64/release")
}

func TestNode(t *testing.T) {
	m := bookworm()
	m.AddFile("/usr/bin/node", 0o755, []byte("node"))
	m.AddFile("/usr/share/nodejs/acorn/package.json", 0o644, []byte("{}"))
	m.AddFile("/usr/local/lib/node_modules/npm/bin/npm-cli.js", 0o755, []byte("#!/usr/bin/env node"))
	m.AddFile("/usr/local/lib/node_modules/npm/lib/npm.js", 0o644, []byte("npm"))
	m.AddFile("/usr/local/lib/node_modules/corepack/dist/corepack.js", 0o644, []byte("cp"))
	m.AddFile("/srv/app/dist/index.js", 0o644, []byte("require('express')"))
	m.AddFile("/srv/app/node_modules/express/index.js", 0o644, []byte("express"))
	m.AddFile("/srv/app/node_modules/express/build/Release/addon.node", 0o644, []byte("not elf"))
	c := runWhole(t, m.View(), []keptset.Object{{Path: "/usr/bin/node"}, {Path: "/usr/local/lib/node_modules/npm/bin/npm-cli.js"}, {Path: "/srv/app/dist/index.js"}}, nil, knowledge.Node)
	wantKept(t, c, "/usr/share/nodejs/acorn/package.json", "/usr/local/lib/node_modules/npm/lib/npm.js",
		"/srv/app/node_modules/express/index.js", "/srv/app/node_modules/express/build/Release/addon.node")
	wantDropped(t, c, "/usr/local/lib/node_modules/corepack/dist/corepack.js")
}

const debianNginxConf = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
include /etc/nginx/modules-enabled/*.conf;

events {
	worker_connections 768;
}

http {
	sendfile on;
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
	access_log /var/log/nginx/access.log;
	error_log /var/log/nginx/error.log;
	gzip on;
	include /etc/nginx/conf.d/*.conf;
	include /etc/nginx/sites-enabled/*;
}
`

func TestNginx(t *testing.T) {
	m := bookworm()
	m.AddFile("/usr/sbin/nginx", 0o755, []byte("nginx"))
	m.AddFile("/etc/nginx/nginx.conf", 0o644, []byte(debianNginxConf))
	m.AddFile("/etc/nginx/mime.types", 0o644, []byte("types {}"))
	m.AddSymlink("/etc/nginx/modules-enabled/50-mod-http-geoip.conf", "/usr/share/nginx/modules-available/mod-http-geoip.conf")
	m.AddFile("/usr/share/nginx/modules-available/mod-http-geoip.conf", 0o644, []byte("load_module modules/ngx_http_geoip_module.so;\n"))
	m.AddFile("/usr/share/nginx/modules-available/mod-stream.conf", 0o644, []byte("load_module modules/ngx_stream_module.so;\n"))
	m.AddSymlink("/usr/share/nginx/modules", "../../lib/nginx/modules")
	m.AddFile("/usr/lib/nginx/modules/ngx_http_geoip_module.so", 0o644, []byte("geoip"))
	m.AddFile("/usr/lib/nginx/modules/ngx_stream_module.so", 0o644, []byte("stream"))
	m.AddSymlink("/etc/nginx/sites-enabled/default", "/etc/nginx/sites-available/default")
	m.AddFile("/etc/nginx/sites-available/default", 0o644, []byte("server {\n\tlisten 80 default_server;\n\troot /var/www/html;\n\tssl_certificate \"/etc/ssl/certs/site.pem\";\n\tlocation / { try_files $uri $uri/ =404; }\n}\n"))
	m.AddFile("/var/www/html/index.nginx-debian.html", 0o644, []byte("<html>"))
	m.AddFile("/etc/ssl/certs/site.pem", 0o644, []byte("pem"))
	m.AddDir("/var/lib/nginx/body", 0o700)
	m.AddFile("/var/log/nginx/old.log.1", 0o644, []byte("old log"))
	m.AddSymlink("/var/log/nginx/access.log", "/dev/stdout")
	m.AddDir("/run", 0o755)
	c := run(t, m.View(), []keptset.Object{{Path: "/usr/sbin/nginx"}}, nil, knowledge.Nginx)
	wantKept(t, c, "/etc/nginx/mime.types", "/etc/nginx/modules-enabled/50-mod-http-geoip.conf", "/usr/share/nginx/modules-available/mod-http-geoip.conf",
		"/usr/lib/nginx/modules/ngx_http_geoip_module.so", "/etc/nginx/sites-available/default", "/var/www/html/index.nginx-debian.html",
		"/etc/ssl/certs/site.pem", "/var/lib/nginx/body", "/var/log/nginx", "/var/log/nginx/access.log", "/run")
	wantDropped(t, c, "/usr/lib/nginx/modules/ngx_stream_module.so", "/var/log/nginx/old.log.1")
	if d := cmp.Diff([]string{"www-data:"}, c.Accounts); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	r := c.Reasons("/usr/lib/nginx/modules/ngx_http_geoip_module.so")
	if len(r) == 0 || r[0].Kind != keptset.KindDlopen {
		t.Errorf("reasons of the module = %+v", r)
	}
}

func TestPostgreSQL(t *testing.T) {
	m := bookworm()
	bin := "/usr/lib/postgresql/15/bin"
	m.AddFile(bin+"/postgres", 0o755, []byte("pg"))
	m.AddFile(bin+"/initdb", 0o755, []byte("initdb"))
	m.AddFile("/usr/lib/postgresql/15/lib/plpgsql.so", 0o644, []byte("so"))
	m.AddFile("/usr/lib/postgresql/15/lib/llvmjit.so", 0o644, []byte("jit"))
	m.AddFile("/usr/lib/postgresql/15/lib/llvmjit_types.bc", 0o644, []byte("bc"))
	m.AddFile("/usr/lib/postgresql/15/lib/bitcode/plpgsql/pl_exec.bc", 0o644, []byte("bc"))
	m.AddFile("/usr/share/postgresql/15/postgres.bki", 0o644, []byte("bki"))
	m.AddFile("/usr/share/postgresql/15/extension/plpgsql.control", 0o644, []byte("ctl"))
	m.AddFile("/usr/share/postgresql-common/pg_wrapper", 0o755, []byte("#!/usr/bin/perl"))
	m.AddFile("/etc/postgresql-common/createcluster.conf", 0o644, []byte("conf"))
	m.AddFile("/data/pg/PG_VERSION", 0o600, []byte("15\n"))
	m.AddDir("/var/run/postgresql", 0o2775)
	c := run(t, m.View(), []keptset.Object{{Path: bin + "/postgres"}}, []string{"PGDATA=/data/pg"}, knowledge.PostgreSQL)
	wantKept(t, c, "/usr/lib/postgresql/15/lib/plpgsql.so", "/usr/share/postgresql/15/postgres.bki", "/usr/share/postgresql/15/extension/plpgsql.control",
		"/usr/share/postgresql-common/pg_wrapper", "/etc/postgresql-common/createcluster.conf", "/data/pg/PG_VERSION", "/var/run/postgresql", bin+"/initdb")
	wantDropped(t, c, "/usr/lib/postgresql/15/lib/llvmjit.so", "/usr/lib/postgresql/15/lib/bitcode/plpgsql/pl_exec.bc")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "llvmjit.so") {
		t.Errorf("warnings = %q", c.Warnings)
	}
}

func TestKeepTreeLinkLoop(t *testing.T) {
	// a tree whose links point back into itself and across trees terminates
	m := bookworm()
	m.AddFile("/usr/bin/python3.11", 0o755, []byte("py"))
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("os"))
	m.AddSymlink("/usr/lib/python3.11/loop", ".")
	m.AddSymlink("/usr/lib/python3.11/other", "/opt/other")
	m.AddSymlink("/opt/other/back", "/usr/lib/python3.11")
	m.AddFile("/opt/other/data.py", 0o644, []byte("d"))
	c := runWhole(t, m.View(), []keptset.Object{{Path: "/usr/bin/python3.11"}}, nil, knowledge.Python)
	wantKept(t, c, "/usr/lib/python3.11/loop", "/opt/other/data.py", "/opt/other/back")
}

func TestLauncherRuns(t *testing.T) {
	// a launcher script that execs its VM through a variable: the script
	// stands for the runtime, and the program it runs is found in PATH
	toy := &knowledge.Runtime{
		ID: "toy", What: "toy runtime", Launchers: regexp.MustCompile(`^toy$`), Runs: []string{"toyvm"},
		Prefix: knowledge.Prefix{Landmarks: []string{"lib/toy"}}, Trees: []string{"{prefix}/lib/toy"},
	}
	m := bookworm()
	m.AddFile("/usr/bin/toy", 0o755, []byte("#!/bin/sh\nexec \"$VM\" \"$@\"\n"))
	m.AddFile("/usr/bin/toyvm", 0o755, program("libc.so.6"))
	m.AddFile("/usr/lib/toy/core.toy", 0o644, []byte("core"))
	m.AddFile("/usr/lib/other/x", 0o644, []byte("x"))
	c := run(t, m.View(), []keptset.Object{{Path: "/usr/bin/toy"}}, []string{"PATH=/usr/bin"}, toy)
	wantKept(t, c, "/usr/bin/toyvm", libc, "/usr/lib/toy/core.toy")
	wantDropped(t, c, "/usr/lib/other/x")
	c = run(t, m.View(), []keptset.Object{{Path: "/usr/bin/ls"}}, []string{"PATH=/usr/bin"}, toy)
	wantDropped(t, c, "/usr/bin/toyvm", "/usr/lib/toy/core.toy")
}
