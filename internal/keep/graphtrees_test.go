package keep

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
)

// A virtual environment under /opt and a node_modules under /app are
// application files, but the trees the runtimes' import graphs search are
// left to the graphs: only what the application imports is kept from them,
// while the application's own files and the rest of the environment stay.
func TestGraphTreesLeftOutOfApplicationFiles(t *testing.T) {
	m := image()
	m.SetHistory("import base", "/bin/sh -c apt-get update && apt-get install -y python3 nodejs", "/bin/sh -c python3 -m venv /opt/venv && /opt/venv/bin/pip install bottle", "COPY dir:abc in /app")
	add := func(p string, layer int, data string) {
		m.AddFile(p, 0o644, []byte(data))
		m.SetLayer(p, layer)
	}
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("import abc\n"))
	m.AddFile("/usr/lib/python3.11/abc.py", 0o644, []byte(""))
	sp := "/opt/venv/lib/python3.11/site-packages"
	add("/opt/venv/pyvenv.cfg", 3, "home = /usr/bin\ninclude-system-site-packages = false\n")
	m.AddSymlink("/opt/venv/bin/python", "/usr/bin/python3")
	m.SetLayer("/opt/venv/bin/python", 3)
	add("/opt/venv/bin/activate", 3, "# source me\n")
	add(sp+"/bottle.py", 3, "import json\n")
	add(sp+"/bottle-0.12.dist-info/METADATA", 3, "Name: bottle\n")
	add(sp+"/pip/__init__.py", 3, "from pip._internal import main\n")
	add(sp+"/pip/_internal/__init__.py", 3, "")
	add(sp+"/setuptools/__init__.py", 3, "")
	add("/app/app.py", 4, "import bottle\n")
	add("/app/data/counts.txt", 4, "a 1\n")
	c := cfg("/opt/venv/bin/python", "app.py")
	c.WorkingDir = "/app"
	c.Env = append(c.Env, "PATH=/opt/venv/bin:/usr/bin")
	rules := []knowledge.Rule{knowledge.Python}

	res := pkgClosure(t, m, c, Options{Rules: rules})
	for _, p := range []string{"/app/app.py", "/app/data/counts.txt", "/opt/venv/pyvenv.cfg", "/opt/venv/bin/activate", sp + "/bottle.py"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{sp + "/pip/__init__.py", sp + "/pip/_internal/__init__.py", sp + "/setuptools/__init__.py"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %s", p, keptset.FormatChain(res.Set.Why(p)))
		}
	}
	if !hasNote(res, sp+" left to the python import graph") {
		t.Errorf("no note of the tree left to the graph: %q", res.Notes)
	}

	// with the graphs off, the environment is kept whole again
	res = pkgClosure(t, m, c, Options{Rules: rules, KeepInterpreterTrees: true})
	if !res.Set.Has(sp + "/pip/_internal/__init__.py") {
		t.Error("--keep-interpreter-trees: the environment's site-packages not kept whole")
	}
	// without the runtime's rule nothing resolves the environment: the
	// application files keep it
	res = pkgClosure(t, m, c, Options{Rules: []knowledge.Rule{}})
	if !res.Set.Has(sp + "/pip/__init__.py") {
		t.Error("no python rule: the environment not kept as application files")
	}
}

func TestNodeModulesLeftToTheGraph(t *testing.T) {
	m := image()
	m.SetHistory("import base", "/bin/sh -c apt-get update && apt-get install -y nodejs", "COPY dir:abc in /app")
	add := func(p string, data string) {
		m.AddFile(p, 0o644, []byte(data))
		m.SetLayer(p, 3)
	}
	m.AddFile("/usr/bin/node", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000}))
	add("/app/server.js", "const t = require('tmpl');\n")
	add("/app/views/index.html", "<p>{{x}}</p>")
	add("/app/package.json", `{"name": "app"}`)
	nm := "/app/node_modules"
	add(nm+"/tmpl/package.json", `{"main": "lib/tmpl.js"}`)
	add(nm+"/tmpl/lib/tmpl.js", "module.exports = require('fs').readFileSync(__dirname + '/default.tpl')\n")
	add(nm+"/tmpl/lib/default.tpl", "{{x}}")
	add(nm+"/tmpl/bin/tmpl", "#!/usr/bin/env node\nrequire('../lib/cli.js')\n")
	m.AddFile(nm+"/tmpl/bin/tmpl", 0o755, []byte("#!/usr/bin/env node\nrequire('../lib/cli.js')\n"))
	add(nm+"/tmpl/lib/cli.js", "require('argparse')\n")
	add(nm+"/argparse/index.js", "")
	add(nm+"/unused/index.js", "")
	m.AddSymlink(nm+"/.bin/tmpl", "../tmpl/bin/tmpl")
	m.SetLayer(nm+"/.bin/tmpl", 3)
	c := cfg("/usr/bin/node", "server.js")
	c.WorkingDir = "/app"
	res := pkgClosure(t, m, c, Options{Rules: []knowledge.Rule{knowledge.Node}})
	for _, p := range []string{"/app/server.js", "/app/views/index.html", nm + "/tmpl/lib/tmpl.js",
		nm + "/tmpl/lib/default.tpl",                                        // the package's data, beside its module
		nm + "/.bin/tmpl", nm + "/tmpl/bin/tmpl", nm + "/argparse/index.js", // a program on npm run's PATH, and its imports
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if res.Set.Has(nm + "/unused/index.js") {
		t.Errorf("%s kept: %s", nm+"/unused/index.js", keptset.FormatChain(res.Set.Why(nm+"/unused/index.js")))
	}
}

func hasNote(res *Result, s string) bool {
	for _, n := range res.Notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
