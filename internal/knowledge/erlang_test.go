package knowledge_test

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
)

// erlKeeper is a Keeper that knows the image's command.
type erlKeeper struct {
	*knowledgetest.Keeper
	args []string
}

func (c *erlKeeper) Args() []string { return c.args }

func TestErlangFixtureModuleGraph(t *testing.T) {
	t.Parallel()
	v := fixture(t, "erlang")
	const root = "/usr/lib/erlang"
	run := func(env []string, args ...string) *erlKeeper {
		c := &erlKeeper{Keeper: knowledgetest.New(v, append([]string{bookwormPath, "ERL_LIBS=/opt/erllibs", "HOME=/tmp"}, env...)...), args: args}
		c.WorkDir = "/app"
		if _, err := c.AddExecutable("/usr/bin/erl", keptset.Reason{Kind: keptset.KindEntrypoint}); err != nil {
			t.Fatal(err)
		}
		if err := knowledge.Run(c, c.Set.Len, knowledge.Default()...); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d paths kept; warnings %q", len(c.Paths()), c.Warnings)
		return c
	}
	c := run(nil, "erl", "-noshell", "-pa", "ebin", "-s", "report", "main", "-extra", "3", "4")
	erts := glob1(t, c, root+"/erts-*/bin")
	kernel := glob1(t, c, root+"/lib/kernel-*/ebin")
	stdlib := glob1(t, c, root+"/lib/stdlib-*/ebin")
	wantKept(t, c.Keeper,
		"/app/ebin/report.beam", "/opt/erllibs/shapes-1.0/ebin/shapes.beam", // entry and ERL_LIBS
		stdlib+"/lists.beam", stdlib+"/io.beam", stdlib+"/string.beam", stdlib+"/unicode_util.beam", // what report calls
		kernel+"/kernel.app", kernel+"/kernel.beam", kernel+"/error_handler.beam", kernel+"/code_server.beam", // boot script
		stdlib+"/stdlib.app", root+"/bin/start.boot",
		erts+"/beam.smp", erts+"/erlexec", erts+"/erl_child_setup", erts+"/inet_gethost",
	)
	wantDropped(t, c.Keeper,
		glob1(t, c, root+"/lib/compiler-*/ebin")+"/compile.beam", erts+"/epmd", erts+"/heart", erts+"/erlc", erts+"/typer",
		glob1(t, c, root+"/lib/sasl-*/ebin")+"/release_handler.beam", // logger names sasl, which nothing starts
		glob1(t, c, root+"/lib/erts-*/ebin")+"/erlang.beam",          // preloaded: in the emulator
		"/opt/erllibs/shapes-1.0/src/shapes.erl",
		"/usr/lib/x86_64-linux-gnu/libsystemd.so.0", "/usr/lib/x86_64-linux-gnu/libgcrypt.so.20",
	)
	if r := c.Reasons(stdlib + "/lists.beam"); len(r) == 0 {
		t.Error("lists.beam kept without a reason")
	}

	// distribution asked for by ERL_FLAGS: epmd with its libraries; heart
	d := run([]string{"ERL_FLAGS=-sname pare"}, "erl", "-noshell", "-heart", "-pa", "ebin", "-s", "report", "main")
	wantKept(t, d.Keeper, erts+"/epmd", "/usr/lib/x86_64-linux-gnu/libsystemd.so.0", kernel+"/net_kernel.beam", erts+"/heart")

	// a command that is not erl: the root whole
	w := run(nil, "/bin/sh", "-c", "erl -noshell -s report main")
	wantKept(t, w.Keeper, glob1(t, w, root+"/lib/compiler-*/ebin")+"/compile.beam", erts+"/epmd")
}

// glob1 returns the one directory matching pattern in c's view.
func glob1(t *testing.T, c *erlKeeper, pattern string) string {
	t.Helper()
	dir, base := pattern[:strings.LastIndex(pattern[:strings.Index(pattern, "*")], "/")], ""
	rest := strings.TrimPrefix(pattern, dir+"/")
	first, tail, _ := strings.Cut(rest, "/")
	prefix := strings.TrimSuffix(first, "*")
	ents, err := c.View().ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		n := e.Path[strings.LastIndex(e.Path, "/")+1:]
		if strings.HasPrefix(n, prefix) {
			base = dir + "/" + n
			if tail != "" {
				base += "/" + tail
			}
			return base
		}
	}
	t.Fatalf("nothing matches %s", pattern)
	return ""
}
