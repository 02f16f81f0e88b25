package keep

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const interp = "/lib64/ld-linux-x86-64.so.2"

// image is a tiny usr-merged glibc image with synthetic ELF files.
func image() *rootfs.Mem {
	m := rootfs.NewMem()
	m.AddSymlink("/lib", "usr/lib")
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddSymlink("/bin", "usr/bin")
	lib := "/usr/lib/x86_64-linux-gnu/"
	m.AddFile(lib+"ld-linux-x86-64.so.2", 0o755, elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	m.AddFile(lib+"libc.so.6", 0o755, elftest.Build(elftest.Spec{Soname: "libc.so.6", Needed: []string{"ld-linux-x86-64.so.2"}}))
	m.AddFile(lib+"libfoo.so.1.2", 0o644, elftest.Build(elftest.Spec{Soname: "libfoo.so.1", Needed: []string{"libc.so.6"}}))
	m.AddSymlink(lib+"libfoo.so.1", "libfoo.so.1.2")
	m.AddFile(lib+"libunused.so.1", 0o644, elftest.Build(elftest.Spec{Soname: "libunused.so.1"}))
	exe := func(needed ...string) []byte {
		return elftest.Build(elftest.Spec{Interp: interp, Needed: needed, Flags1: 0x08000000})
	}
	m.AddFile("/usr/bin/app", 0o755, exe("libfoo.so.1", "libc.so.6"))
	m.AddFile("/usr/bin/jq", 0o755, exe("libc.so.6"))
	m.AddFile("/usr/bin/sed", 0o755, exe("libc.so.6"))
	m.AddFile("/usr/bin/bash", 0o755, exe("libc.so.6"))
	m.AddSymlink("/usr/bin/sh", "bash")
	m.AddFile("/usr/bin/python3.11", 0o755, exe("libc.so.6"))
	m.AddSymlink("/usr/bin/python3", "python3.11")
	m.AddFile("/usr/bin/env", 0o755, exe("libc.so.6"))
	m.AddFile("/usr/bin/broken", 0o755, exe("libmissing.so.9", "libc.so.6"))
	m.AddFile("/usr/local/bin/run.sh", 0o755, []byte("#!/bin/sh\nset -e\nFOO=1 jq -r .x /data/in.json | sed s/a/b/ > /tmp/out\nexec app \"$@\"\n"))
	m.AddFile("/usr/local/bin/tool.py", 0o755, []byte("#!/usr/bin/env python3\nprint(1)\n"))
	m.AddFile("/data/in.json", 0o644, []byte(`{"x":"a"}`))
	m.AddFile("/etc/app.conf", 0o644, []byte("x=1\n"))
	m.AddFile("/usr/share/doc/app/README", 0o644, []byte("docs"))
	return m
}

func cfg(ep ...string) v1.Config {
	return v1.Config{Entrypoint: ep, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}
}

func closureOf(t *testing.T, c v1.Config, o Options) *Result {
	t.Helper()
	if o.Rules == nil {
		o.Rules = []knowledge.Rule{}
	}
	res, err := Compute(image().View(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestELFEntrypoint(t *testing.T) {
	res := closureOf(t, cfg("app", "--config", "/etc/app.conf"), Options{})
	for _, p := range []string{
		"/usr/bin/app", "/lib64", "/lib", "/usr/lib64/ld-linux-x86-64.so.2",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
		"/usr/lib/x86_64-linux-gnu/libfoo.so.1.2", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/app.conf",
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if res.Set.Has("/etc/ld.so.cache") {
		t.Error("an image without ld.so.cache cannot keep one")
	}
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libunused.so.1", "/usr/bin/jq", "/usr/share/doc/app/README"} {
		if res.Set.Has(p) {
			t.Errorf("%s kept: %v", p, res.Set.Why(p))
		}
	}
	got := keptset.FormatChain(res.Set.Why("/usr/lib/x86_64-linux-gnu/libfoo.so.1.2"))
	if !strings.HasSuffix(got, "← entrypoint") || !strings.Contains(got, "DT_NEEDED of /usr/bin/app") {
		t.Errorf("why libfoo = %q", got)
	}
}

func TestShellScriptEntrypoint(t *testing.T) {
	res := closureOf(t, cfg("/usr/local/bin/run.sh"), Options{})
	for _, p := range []string{"/usr/local/bin/run.sh", "/usr/bin/sh", "/usr/bin/bash", "/usr/bin/jq", "/usr/bin/sed", "/usr/bin/app", "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if got := res.Set.Why("/usr/bin/jq")[0].Reason; got.Kind != keptset.KindShell || got.From != "/usr/local/bin/run.sh" {
		t.Errorf("jq reason = %+v", got)
	}
	if len(res.Notes) != 0 {
		t.Errorf("unexpected notes: %v", res.Notes)
	}
}

func TestShellFormCommand(t *testing.T) {
	res := closureOf(t, cfg("/bin/sh", "-c", "jq . /data/in.json && exec app"), Options{})
	for _, p := range []string{"/usr/bin/bash", "/usr/bin/jq", "/usr/bin/app"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
}

func TestEnvShebang(t *testing.T) {
	res := closureOf(t, cfg("tool.py"), Options{})
	for _, p := range []string{"/usr/local/bin/tool.py", "/usr/bin/env", "/usr/bin/python3", "/usr/bin/python3.11"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
}

func TestMissingLibrary(t *testing.T) {
	_, err := Compute(image().View(), cfg("broken"), Options{Rules: []knowledge.Rule{}})
	var me *MissingError
	if !errors.As(err, &me) || len(me.Missing) != 1 || me.Missing[0].Name != "libmissing.so.9" || me.Missing[0].By != "/usr/bin/broken" {
		t.Fatalf("err = %v", err)
	}
	res := closureOf(t, cfg("broken"), Options{AllowMissing: true})
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "libmissing.so.9") {
		t.Errorf("warnings = %v", res.Warnings)
	}
}

func TestOverridesIncludesExcludes(t *testing.T) {
	res := closureOf(t, cfg("broken"), Options{
		EntrypointSet: true, Entrypoint: []string{"/usr/bin/app"},
		Includes:    []string{"/usr/share/doc/**/README"},
		IncludeExes: []string{"jq"},
		Excludes:    []string{"/etc/**"},
	})
	if res.Set.Has("/usr/bin/broken") || !res.Set.Has("/usr/bin/app") {
		t.Error("--entrypoint did not replace the image entrypoint")
	}
	if !res.Set.Has("/usr/share/doc/app/README") || !res.Set.Has("/usr/bin/jq") {
		t.Error("--include / --include-exe not kept")
	}
	if _, err := Compute(image().View(), cfg("app"), Options{Rules: []knowledge.Rule{}, Includes: []string{"/nope/*"}}); err == nil {
		t.Error("an --include that matches nothing should fail")
	}
	if _, err := Compute(image().View(), v1.Config{}, Options{}); err == nil {
		t.Error("an image without a command should fail")
	}
	if got := Args(v1.Config{Entrypoint: []string{"a"}, Cmd: []string{"b"}}, Options{EntrypointSet: true, Entrypoint: []string{"x"}}); strings.Join(got, " ") != "x" {
		t.Errorf("--entrypoint must clear Cmd like docker run: %v", got)
	}
}

func TestObservedPaths(t *testing.T) {
	res := closureOf(t, cfg("app"), Options{Observed: []Observation{
		{Path: "/usr/share/doc/app/README", By: "/usr/bin/app", Detail: "open by pid 1"},
		{Path: "/usr/bin/jq", Exec: true, By: "/usr/bin/app"},
		{Path: "/created/at/runtime", By: "/usr/bin/app"},
	}})
	if !res.Set.Has("/usr/share/doc/app/README") || res.Set.Why("/usr/share/doc/app/README")[0].Reason.Kind != keptset.KindTrace {
		t.Error("traced file not kept with a trace reason")
	}
	if !res.Set.Has("/usr/bin/jq") {
		t.Error("traced exec not kept")
	}
}

func TestOrphanBytecodeDropped(t *testing.T) {
	m := image()
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("x"))
	m.AddFile("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", 0o644, []byte("x"))
	m.AddFile("/usr/lib/python3.11/__pycache__/gone.cpython-311.pyc", 0o644, []byte("x"))
	res, err := Compute(m.View(), cfg("app"), Options{Rules: []knowledge.Rule{}, Observed: []Observation{
		{Path: "/usr/lib/python3.11/os.py"},
		{Path: "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc"},
		{Path: "/usr/lib/python3.11/__pycache__/gone.cpython-311.pyc"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Set.Has("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc") {
		t.Error("bytecode with its source dropped")
	}
	if res.Set.Has("/usr/lib/python3.11/__pycache__/gone.cpython-311.pyc") {
		t.Error("bytecode without its source kept")
	}
}

func TestScriptEntrypointRunsItsArgument(t *testing.T) {
	m := image()
	m.AddFile("/usr/local/bin/docker-entrypoint.sh", 0o755, []byte("#!/bin/sh\nset -e\nexec \"$@\"\n"))
	c := cfg("docker-entrypoint.sh")
	c.Cmd = []string{"app", "--flag"}
	res, err := Compute(m.View(), c, Options{Rules: []knowledge.Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Set.Has("/usr/bin/app") || !res.Set.Has("/usr/lib/x86_64-linux-gnu/libfoo.so.1.2") {
		t.Error("the program a script entrypoint execs from its arguments is not kept")
	}
}

// A JVM dlopens lib/server/libjvm.so by path before the libraries that name
// libjvm.so in DT_NEEDED: a plugin's missing dependency that the process
// loads later is not missing.
func TestLaterLoadedDependency(t *testing.T) {
	m := image()
	m.AddFile("/usr/lib/jvm/lib/libjava.so", 0o644, elftest.Build(elftest.Spec{Soname: "libjava.so", Needed: []string{"libjvm.so", "libc.so.6"}}))
	m.AddFile("/usr/lib/jvm/lib/server/libjvm.so", 0o644, elftest.Build(elftest.Spec{Soname: "libjvm.so", Needed: []string{"libc.so.6"}}))
	res, err := Compute(m.View(), cfg("app"), Options{Rules: []knowledge.Rule{}, Observed: []Observation{
		{Path: "/usr/lib/jvm/lib/libjava.so", By: "/usr/bin/app"},
		{Path: "/usr/lib/jvm/lib/server/libjvm.so", By: "/usr/bin/app"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Set.Has("/usr/lib/jvm/lib/server/libjvm.so") {
		t.Error("libjvm.so not kept")
	}
	_, err = Compute(m.View(), cfg("app"), Options{Rules: []knowledge.Rule{}, Observed: []Observation{
		{Path: "/usr/lib/jvm/lib/libjava.so", By: "/usr/bin/app"},
	}})
	var me *MissingError
	if !errors.As(err, &me) || me.Missing[0].Name != "libjvm.so" {
		t.Errorf("a dependency no object provides must stay missing: %v", err)
	}
}
