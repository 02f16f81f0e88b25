package knowledge_test

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/jimage"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
)

// javaKeeper is the fake Keeper with the optional interfaces of the jimage
// cut: generated files, drops, the command and the module options.
type javaKeeper struct {
	*knowledgetest.Keeper
	args  []string
	add   []string
	whole bool
	drops map[string]string
}

func (c *javaKeeper) Generate(name string, data []byte, why keptset.Reason) (bool, error) {
	_, err := c.Set.Generate(name, data, why)
	return err == nil, err
}
func (c *javaKeeper) Drop(name, why string) { c.drops[name] = why }
func (c *javaKeeper) Args() []string        { return c.args }
func (c *javaKeeper) KeepJimage() bool      { return c.whole }
func (c *javaKeeper) AddModules() []string  { return c.add }

func TestJavaFixtureCutsTheModuleImage(t *testing.T) {
	t.Parallel()
	v := fixture(t, "java")
	home := "/usr/lib/jvm/java-17-openjdk-amd64"
	run := func(add []string, whole bool) *javaKeeper {
		c := &javaKeeper{Keeper: knowledgetest.New(v, bookwormPath), args: []string{"java", "-cp", "/app", "App"},
			add: add, whole: whole, drops: map[string]string{}}
		c.WorkDir = "/app"
		if _, err := c.AddExecutable("/usr/bin/java", keptset.Reason{Kind: keptset.KindEntrypoint}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddPath("/app/App.class", keptset.Reason{Kind: keptset.KindEntrypoint}); err != nil {
			t.Fatal(err)
		}
		if err := knowledge.Run(c, c.Set.Len, knowledge.Default()...); err != nil {
			t.Fatal(err)
		}
		return c
	}
	modules := func(c *javaKeeper) []string {
		it := c.Set.Item(home + "/lib/modules")
		if it == nil || it.Content == nil {
			t.Fatalf("lib/modules not generated: %+v", it)
		}
		im, err := jimage.Parse(it.Content)
		if err != nil {
			t.Fatal(err)
		}
		mods, err := im.Modules()
		if err != nil {
			t.Fatal(err)
		}
		return mods
	}

	c := run(nil, false)
	mods := strings.Join(modules(c), ",")
	for _, m := range []string{"java.base", "jdk.httpserver", "jdk.crypto.ec"} {
		if !strings.Contains(","+mods+",", ","+m+",") {
			t.Errorf("module %s not in the cut image: %s", m, mods)
		}
	}
	for _, m := range []string{"java.desktop", "java.sql", "jdk.compiler", "jdk.localedata"} {
		if strings.Contains(","+mods+",", ","+m+",") {
			t.Errorf("module %s in the cut image: %s", m, mods)
		}
	}
	if r := c.Reasons(home + "/lib/modules"); len(r) == 0 || !strings.Contains(r[0].Detail, "jdk.httpserver (com.sun.net.httpserver.HttpServer referenced by /app/App.class)") {
		t.Errorf("lib/modules kept for %+v", r)
	}
	wantKept(t, c.Keeper, home+"/lib/libnet.so", home+"/lib/libnio.so", home+"/lib/server/libjvm.so", home+"/lib/tzdb.dat",
		home+"/conf/security/java.security")
	// java.desktop's natives (libawt_headless goes with libawt), the CDS
	// archives of the whole image, jdk.compiler's ct.sym
	wantDropped(t, c.Keeper, home+"/lib/libawt.so", home+"/lib/libawt_headless.so", home+"/lib/libfontmanager.so",
		home+"/lib/server/classes.jsa", home+"/lib/ct.sym", home+"/legal/java.desktop/mesa3d.md")

	c = run([]string{"java.sql"}, false)
	mods = strings.Join(modules(c), ",")
	for _, m := range []string{"java.sql", "java.xml", "java.logging", "java.transaction.xa"} {
		if !strings.Contains(","+mods+",", ","+m+",") {
			t.Errorf("--add-modules java.sql: %s not in %s", m, mods)
		}
	}

	c = run(nil, true)
	if it := c.Set.Item(home + "/lib/modules"); it == nil || it.Content != nil {
		t.Errorf("--keep-jimage: lib/modules %+v", it)
	}
	wantKept(t, c.Keeper, home+"/lib/server/classes.jsa", home+"/lib/libawt.so")
}
