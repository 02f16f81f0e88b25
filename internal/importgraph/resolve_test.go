package importgraph

import (
	"sort"
	"strings"
	"testing"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// mem builds a view from path → content ("" content for a directory when
// the path ends in '/').
func mem(files map[string]string) *rootfs.View {
	m := rootfs.NewMem()
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if strings.HasSuffix(p, "/") {
			m.AddDir(strings.TrimSuffix(p, "/"), 0o755)
			continue
		}
		m.AddFile(p, 0o644, []byte(files[p]))
	}
	return m.View()
}

// kept returns the kept paths of res (trees marked with a trailing /).
func kept(res *Result) map[string]bool {
	out := map[string]bool{}
	for _, e := range res.Edges {
		p := e.Path
		if e.Tree {
			p += "/"
		}
		out[p] = true
	}
	return out
}

func expect(t *testing.T, got map[string]bool, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s not kept", w)
		}
	}
	for _, n := range not {
		if got[n] {
			t.Errorf("%s kept", n)
		}
	}
}

func TestPythonGraph(t *testing.T) {
	const lib = "/usr/lib/python3.11"
	const site = "/usr/lib/python3/dist-packages"
	v := mem(map[string]string{
		"/app/main.py": `import json
from pkg import sub, attr
from ns import portion
try:
    import fastjson
except ImportError:
    import slowjson
import helper
`,
		"/app/helper.py":          "",
		lib + "/json/__init__.py": "from .decoder import JSONDecoder\n",
		lib + "/json/decoder.py":  "from json import scanner\n",
		lib + "/json/scanner.py":  "try:\n    from _json import make_scanner\nexcept ImportError:\n    pass\n",
		lib + "/json/tool.py":     "",
		lib + "/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so": "ELF",
		lib + "/unused.py":                           "",
		lib + "/slowjson.py":                         "",
		lib + "/site.py":                             "import os\ndef f():\n    import sitecustomize\n",
		lib + "/os.py":                               "",
		lib + "/encodings/__init__.py":               "def search(name):\n    return __import__('encodings.' + name)\n",
		lib + "/encodings/utf_8.py":                  "",
		lib + "/encodings/cp1252.py":                 "",
		lib + "/_sysconfigdata__x86_64-linux-gnu.py": "",
		site + "/pkg/__init__.py":                    "attr = 1\n",
		site + "/pkg/sub.py":                         "from . import _impl\nimportlib.import_module(name)\n",
		site + "/pkg/_impl.py":                       "",
		site + "/pkg/other.py":                       "",
		site + "/pkg/data.json":                      "{}",
		site + "/pkg/templates/t.html":               "",
		site + "/pkg/tests/__init__.py":              "",
		site + "/ns/portion.py":                      "",
		site + "/extra.pth":                          "import hook\n/opt/extra\n",
		site + "/hook.py":                            "",
		site + "/pkg-1.0.dist-info/METADATA":         "",
		"/opt/extra/fastjson.py":                     "",
	})
	py := &Python{V: v, Quiet: func(p string) bool { return strings.HasPrefix(p, lib+"/") }}
	dirs, _, _ := SitePaths(v, site)
	if len(dirs) != 1 || dirs[0] != "/opt/extra" {
		t.Fatalf("SitePaths dirs = %v", dirs)
	}
	py.Variants = []PythonPaths{{Path: append([]string{"/app", lib, lib + "/lib-dynload", site}, dirs...), Sites: []string{site}}}
	res := py.Graph([]string{"/app/main.py"}, []string{"encodings", "encodings.utf_8", "site", "_sysconfigdata_*"})
	got := kept(res)
	expect(t, got, []string{
		"/app/helper.py", lib + "/json/__init__.py", lib + "/json/decoder.py", lib + "/json/scanner.py",
		lib + "/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", lib + "/slowjson.py", "/opt/extra/fastjson.py",
		lib + "/site.py", lib + "/os.py", lib + "/encodings/", lib + "/_sysconfigdata__x86_64-linux-gnu.py",
		site + "/pkg/__init__.py", site + "/pkg/sub.py", site + "/pkg/_impl.py", site + "/pkg/data.json",
		site + "/pkg/templates/", site + "/ns", site + "/ns/portion.py", site + "/extra.pth", site + "/hook.py",
		site + "/pkg-1.0.dist-info/",
	}, []string{lib + "/json/tool.py", lib + "/unused.py", site + "/pkg/other.py", site + "/pkg/tests/", site + "/pkg/tests/__init__.py"})
	for _, e := range res.Edges {
		if strings.HasSuffix(e.Path, ".so") && !e.ELF {
			t.Errorf("%s not an ELF edge", e.Path)
		}
	}
	if len(res.Warnings) != 1 || res.Warnings[0].File != site+"/pkg/sub.py" || res.Warnings[0].Line != 2 {
		t.Errorf("warnings = %v, want one for pkg/sub.py:2 (the standard library's are quiet)", res.Warnings)
	}
}

func TestRubyGraph(t *testing.T) {
	const rlib = "/usr/lib/ruby/3.1.0"
	const arch = "/usr/lib/x86_64-linux-gnu/ruby/3.1.0"
	const gems = "/var/lib/gems/3.1.0"
	v := mem(map[string]string{
		"/app/server.rb":                            "require 'json'\nrequire 'rack'\nrequire_relative 'lib/util'\nrequire 'zlib'\nrequire 'set'\n",
		"/app/lib/util.rb":                          "",
		rlib + "/json.rb":                           "require 'json/common'\n",
		rlib + "/json/common.rb":                    "",
		rlib + "/unused.rb":                         "",
		rlib + "/rubygems.rb":                       "require \"rubygems/defaults/#{RUBY_ENGINE}\"\nmodule Gem\n  def self.use_gemdeps\n    require 'bundler'\n  end\nend\n",
		rlib + "/bundler.rb":                        "",
		rlib + "/set.rb":                            "class Set\n  def to_json\n    require 'lazyset'\n  end\nend\n",
		rlib + "/lazyset.rb":                        "",
		rlib + "/rubygems/defaults/ruby.rb":         "",
		arch + "/zlib.so":                           "ELF",
		arch + "/enc/encdb.so":                      "ELF",
		arch + "/enc/euc_jp.so":                     "ELF",
		arch + "/enc/trans/japanese.so":             "ELF",
		gems + "/specifications/rack-3.0.gemspec":   "Gem::Specification.new do |s|\n  s.require_paths = [\"lib\".freeze]\nend\n",
		gems + "/specifications/other-1.0.gemspec":  "",
		gems + "/gems/rack-3.0/lib/rack.rb":         "autoload :Builder, 'rack/builder'\nrequire name\n",
		gems + "/gems/rack-3.0/lib/rack/builder.rb": "",
		gems + "/gems/other-1.0/lib/other.rb":       "",
	})
	rb := &Ruby{V: v, LoadPath: []string{rlib, arch}, SpecDirs: []string{gems + "/specifications"}, WorkDir: "/app",
		Quiet: func(p string) bool { return strings.HasPrefix(p, rlib+"/") }}
	res := rb.Graph([]string{"/app/server.rb", rlib + "/rubygems.rb"}, []string{"rubygems", "enc/encdb", "enc/*"})
	expect(t, kept(res), []string{
		rlib + "/json.rb", rlib + "/json/common.rb", "/app/lib/util.rb", arch + "/zlib.so", rlib + "/rubygems/defaults/",
		arch + "/enc/encdb.so", arch + "/enc/euc_jp.so", gems + "/gems/rack-3.0/lib/rack.rb",
		gems + "/gems/rack-3.0/lib/rack/builder.rb", gems + "/specifications/rack-3.0.gemspec", gems + "/specifications/other-1.0.gemspec",
		// a require in a method of a library the application requires
		rlib + "/lazyset.rb",
		// roots include the start-up files kept in an earlier round
		rlib + "/rubygems.rb",
	}, []string{rlib + "/unused.rb", arch + "/enc/trans/japanese.so", gems + "/gems/other-1.0/lib/other.rb",
		// a require in a method of a start-up library (Gem.use_gemdeps)
		rlib + "/bundler.rb"})
	if len(res.Warnings) != 1 || !strings.HasSuffix(res.Warnings[0].File, "rack.rb") || res.Warnings[0].Line != 2 {
		t.Errorf("warnings = %v, want rack.rb:2", res.Warnings)
	}
}

func TestNodeGraph(t *testing.T) {
	v := mem(map[string]string{
		"/app/package.json":                  `{"name": "app", "type": "commonjs"}`,
		"/app/server.js":                     "const a = require('./lib');\nconst b = require('dep');\nimport('esm-only');\nrequire('fs');\nrequire('node:path');\nrequire('./data.json');\nrequire('@scope/pkg/sub');\nrequire('./locale/' + lang);\n",
		"/app/lib/index.js":                  "module.exports = require('../util')\n",
		"/app/util.js":                       "",
		"/app/data.json":                     "{}",
		"/app/locale/de.js":                  "",
		"/app/unused.js":                     "",
		"/app/node_modules/dep/package.json": `{"main": "./main"}`,
		"/app/node_modules/dep/main.js":      "require('nested')\n",
		"/app/node_modules/dep/node_modules/nested/index.js": "",
		"/app/node_modules/dep/other.js":                     "",
		"/app/node_modules/esm-only/package.json":            `{"exports": {".": {"import": "./index.mjs", "require": "./index.cjs", "types": "./index.d.ts"}, "./package.json": "./package.json"}}`,
		"/app/node_modules/esm-only/index.mjs":               "export * from './impl.mjs'\n",
		"/app/node_modules/esm-only/impl.mjs":                "",
		"/app/node_modules/esm-only/index.cjs":               "",
		"/app/node_modules/esm-only/index.d.ts":              "",
		"/usr/share/nodejs/@scope/pkg/package.json":          `{"exports": {"./sub": "./lib/sub.js", "./x/*": "./lib/x/*.js"}}`,
		"/usr/share/nodejs/@scope/pkg/lib/sub.js":            "require('@scope/pkg/x/y')\n",
		"/usr/share/nodejs/@scope/pkg/lib/x/y.js":            "",
		"/usr/share/nodejs/@scope/pkg/lib/x/z.js":            "",
		"/app/node_modules/addon/build/a.node":               "ELF",
	})
	nd := &Node{V: v, Globals: []string{"/usr/share/nodejs"}}
	res := nd.Graph([]string{"/app/server.js"})
	expect(t, kept(res), []string{
		"/app/package.json", "/app/lib/index.js", "/app/util.js", "/app/data.json", "/app/locale/",
		"/app/node_modules/dep/package.json", "/app/node_modules/dep/main.js", "/app/node_modules/dep/node_modules/nested/index.js",
		"/app/node_modules/esm-only/index.mjs", "/app/node_modules/esm-only/impl.mjs", "/app/node_modules/esm-only/index.cjs",
		"/usr/share/nodejs/@scope/pkg/lib/sub.js", "/usr/share/nodejs/@scope/pkg/lib/x/y.js", "/usr/share/nodejs/@scope/pkg/package.json",
	}, []string{"/app/unused.js", "/app/node_modules/dep/other.js", "/app/node_modules/esm-only/index.d.ts",
		"/usr/share/nodejs/@scope/pkg/lib/x/z.js", "/app/node_modules/addon/build/a.node"})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %v", res.Warnings)
	}
	v2 := mem(map[string]string{"/app/a.js": "require(x)\n"})
	res = (&Node{V: v2}).Graph([]string{"/app/a.js"})
	if len(res.Warnings) != 1 || res.Warnings[0].String() != "/app/a.js:1: require with an argument that is not a literal" {
		t.Errorf("warnings = %v", res.Warnings)
	}
}

// After a trace, a start-up hook of a .pth file is followed for what its
// module imports when loaded, not for what its functions import; unless the
// application imports it itself.
func TestPythonHooksEager(t *testing.T) {
	const site = "/venv/lib/python3.11/site-packages"
	files := map[string]string{
		"/app/main.py":        "import json\n",
		"/app/uses_hook.py":   "import hook\n",
		site + "/hook.pth":    "import hook; hook.install()\n",
		site + "/hook.py":     "import small\ndef install():\n    import heavy\n",
		site + "/small.py":    "",
		site + "/heavy.py":    "",
		"/usr/lib/py/json.py": "",
	}
	graph := func(eager bool, roots ...string) map[string]bool {
		py := &Python{V: mem(files), HooksEager: eager, Variants: []PythonPaths{{Path: []string{"/app", "/usr/lib/py", site}, Sites: []string{site}}}}
		return kept(py.Graph(roots, nil))
	}
	// hook.py is a root as well: kept by the trace, as every kept module is
	expect(t, graph(false, "/app/main.py", site+"/hook.py"), []string{site + "/hook.py", site + "/small.py", site + "/heavy.py"}, nil)
	expect(t, graph(true, "/app/main.py", site+"/hook.py"), []string{site + "/hook.py", site + "/small.py"}, []string{site + "/heavy.py"})
	expect(t, graph(true, "/app/main.py", "/app/uses_hook.py", site+"/hook.py"), []string{site + "/heavy.py"}, nil)
}
