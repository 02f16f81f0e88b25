package knowledge_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pare-dev/pare/internal/imagecfg"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/internal/testimages"
)

// issue7Fixture returns the view of fixture name, skipping while the
// fixture is not in testdata/images (the issue-7 fixtures land with their
// own branch).
func issue7Fixture(t *testing.T, name string) *knowledgetest.Keeper {
	t.Helper()
	root, err := testimages.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "testdata", "images", name, "Dockerfile")); err != nil {
		t.Skipf("fixture %s is not in this tree", name)
	}
	return knowledgetest.New(fixture(t, name))
}

// runFixture keeps exes and applies every default rule, traced or not.
func runFixture(t *testing.T, c *knowledgetest.Keeper, workdir string, traced bool, env []string, exes ...string) {
	t.Helper()
	for k, v := range imagecfg.EnvMap(env) {
		c.Env[k] = v
	}
	c.WorkDir, c.Trace = workdir, traced
	for _, e := range exes {
		if ok, err := c.AddExecutable(e, keptset.Reason{Kind: keptset.KindEntrypoint}); err != nil || !ok {
			t.Fatalf("AddExecutable(%s) = %v, %v", e, ok, err)
		}
	}
	if err := c.Run(knowledge.Default()...); err != nil {
		t.Fatal(err)
	}
}

// TestVenvFixture: the venv's site-packages (bottle installed by the
// venv's pip) is kept statically and after a trace; the standard library
// tree only statically.
func TestVenvFixture(t *testing.T) {
	t.Parallel()
	for _, traced := range []bool{false, true} {
		c := issue7Fixture(t, "venv")
		runFixture(t, c, "/app", traced, []string{"PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"/opt/venv/bin/python", "/app/app.py")
		wantKept(t, c, "/opt/venv/pyvenv.cfg", "/opt/venv/lib/python3.11/site-packages/bottle.py")
		if got := c.Kept("/usr/lib/python3.11/os.py"); got == traced {
			t.Errorf("traced=%v: standard library kept = %v", traced, got)
		}
	}
}

// TestNpmFixture: node_modules installed by npm into /app are kept,
// statically and after a trace.
func TestNpmFixture(t *testing.T) {
	t.Parallel()
	for _, traced := range []bool{false, true} {
		c := issue7Fixture(t, "npm")
		runFixture(t, c, "/app", traced, []string{bookwormPath}, "/usr/bin/node", "/app/server.js")
		wantKept(t, c, "/app/node_modules/mustache/package.json", "/app/node_modules/debug/package.json", "/app/node_modules/ms/index.js")
	}
}

// TestPerlFixture: report.conf beside the script names de_DE.UTF-8, so
// the locale archive is kept although LANG is unset.
func TestPerlFixture(t *testing.T) {
	t.Parallel()
	c := issue7Fixture(t, "perl")
	runFixture(t, c, "/", false, []string{bookwormPath}, "/usr/bin/perl", "/opt/report/report.pl")
	wantKept(t, c, "/opt/report/report.conf", "/usr/lib/locale/locale-archive")
	if r := c.Reasons("/usr/lib/locale/locale-archive"); len(r) == 0 || r[0].From != "/opt/report/report.conf" {
		t.Errorf("locale-archive kept for %+v, want the locale named in report.conf", r)
	}
}
