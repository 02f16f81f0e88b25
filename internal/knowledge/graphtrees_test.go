package knowledge_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// graphKeeper records what the rules leave to their import graphs.
type graphKeeper struct {
	*knowledgetest.Keeper
	left map[string]string
}

func (c *graphKeeper) LeaveToGraph(dir, runtime string) { c.left[dir] = runtime }

var _ knowledge.GraphTrees = (*graphKeeper)(nil)

func graphImage() *rootfs.Mem {
	m := rootfs.NewMem()
	m.AddFile("/usr/bin/python3.11", 0o755, []byte("py"))
	m.AddSymlink("/usr/bin/python3", "python3.11")
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("import abc\n"))
	m.AddFile("/usr/lib/python3.11/abc.py", 0o644, nil)
	m.AddFile("/usr/lib/python3.11/collections/__init__.py", 0o644, []byte("from _collections import deque\n"))
	m.AddFile("/opt/venv/pyvenv.cfg", 0o644, []byte("home = /usr/bin\n"))
	m.AddSymlink("/opt/venv/bin/python", "/usr/bin/python3")
	m.AddFile("/opt/venv/bin/activate", 0o644, []byte("# source me\n"))
	sp := "/opt/venv/lib/python3.11/site-packages"
	m.AddFile(sp+"/pkg/__init__.py", 0o644, []byte("import collections\n"))
	m.AddFile(sp+"/pkg/_collections.py", 0o644, []byte("# pkg's own, imported as pkg._collections\n"))
	m.AddFile(sp+"/dyn/__init__.py", 0o644, []byte("import importlib\nplugin = importlib.import_module(name)\n"))
	m.AddFile(sp+"/dyn/plugins/a.py", 0o644, nil)
	m.AddFile("/app/main.py", 0o644, []byte("import pkg\nimport dyn\n"))
	m.AddFile("/usr/bin/node", 0o755, []byte("node"))
	m.AddFile("/app/server.js", 0o644, []byte("require('a')\n"))
	m.AddFile("/app/node_modules/a/index.js", 0o644, nil)
	return m
}

func runGraph(t *testing.T, m *rootfs.Mem, setup func(*knowledgetest.Keeper), objs ...string) *graphKeeper {
	t.Helper()
	c := &graphKeeper{Keeper: knowledgetest.New(m.View(), "PATH=/opt/venv/bin:/usr/bin"), left: map[string]string{}}
	c.WorkDir = "/app"
	if setup != nil {
		setup(c.Keeper)
	}
	for _, o := range objs {
		c.AddObject(keptset.Object{Path: o})
	}
	if err := knowledge.Run(c, c.Set.Len, knowledge.Python, knowledge.Node); err != nil {
		t.Fatal(err)
	}
	return c
}

// With the import graphs on, the runtimes name the trees their graphs
// search: the library trees, a virtual environment's site-packages (not
// the environment's root, whose bin stays an application's), the
// application's node_modules.
func TestLeaveToGraph(t *testing.T) {
	c := runGraph(t, graphImage(), nil, "/usr/bin/python3.11", "/app/main.py", "/usr/bin/node", "/app/server.js")
	want := map[string]string{
		"/usr/lib/python3.11":                    "python",
		"/opt/venv/lib/python3.11/site-packages": "python",
		"/app/node_modules":                      "node",
	}
	if d := cmp.Diff(want, c.left); d != "" {
		t.Errorf("left to the graphs (-want +got):\n%s", d)
	}
	// graphs off: nothing is left to them
	c = runGraph(t, graphImage(), func(k *knowledgetest.Keeper) { k.Whole = true }, "/usr/bin/python3.11", "/app/main.py", "/usr/bin/node", "/app/server.js")
	if len(c.left) != 0 {
		t.Errorf("--keep-interpreter-trees: left to the graphs: %v", c.left)
	}
}

// A module kept from site-packages is a root of the graph, but its
// directory is not on sys.path: the stdlib's "from _collections import"
// is the built-in module, not pkg/_collections.py.
func TestPythonModuleDirectoryNotSearched(t *testing.T) {
	c := runGraph(t, graphImage(), nil, "/usr/bin/python3.11", "/app/main.py")
	sp := "/opt/venv/lib/python3.11/site-packages"
	wantKept(t, c.Keeper, sp+"/pkg/__init__.py", "/usr/lib/python3.11/collections/__init__.py")
	wantDropped(t, c.Keeper, sp+"/pkg/_collections.py")
}

// A package with an import of a computed name is kept whole without a
// trace; with one, the trace saw what the import loaded: the package is
// left to it, and the import is still reported.
func TestComputedImportFallbackTraced(t *testing.T) {
	sp := "/opt/venv/lib/python3.11/site-packages"
	warned := func(c *graphKeeper, s string) bool {
		for _, w := range c.Warnings {
			if strings.Contains(w, sp+"/dyn/__init__.py:2") && strings.Contains(w, s) {
				return true
			}
		}
		return false
	}
	c := runGraph(t, graphImage(), nil, "/usr/bin/python3.11", "/app/main.py")
	wantKept(t, c.Keeper, sp+"/dyn/plugins/a.py")
	if !warned(c, "kept "+sp+"/dyn whole") {
		t.Errorf("static: no warning of the package kept whole: %q", c.Warnings)
	}
	c = runGraph(t, graphImage(), func(k *knowledgetest.Keeper) { k.Trace = true }, "/usr/bin/python3.11", "/app/main.py")
	wantKept(t, c.Keeper, sp+"/dyn/__init__.py")
	wantDropped(t, c.Keeper, sp+"/dyn/plugins/a.py")
	if !warned(c, "left "+sp+"/dyn to the trace") {
		t.Errorf("traced: the dynamic import is not reported: %q", c.Warnings)
	}
}
