package knowledge_test

import (
	"regexp"
	"testing"

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
