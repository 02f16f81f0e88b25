package knowledge_test

import (
	"slices"
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

const gconvDir = lib + "/gconv"

// gconvTree is a bookworm-like image with a small gconv configuration:
// ISO-8859-2 (one module), EUC-JP (a module needing libJIS.so through
// $ORIGIN), a direct EUC-CN → BIG5 step, and a general converter program.
func gconvTree() *rootfs.Mem {
	m := bookworm()
	m.AddFile(gconvDir+"/gconv-modules", 0o644, []byte(`# glibc's list
alias	ISO-IR-101//	ISO-8859-2//
alias	LATIN2//	ISO-8859-2//
module	ISO-8859-2//	INTERNAL	ISO8859-2	1
module	INTERNAL	ISO-8859-2//	ISO8859-2	1
alias	EUCJP//		EUC-JP//
module	EUC-JP//	INTERNAL	EUC-JP		1
module	INTERNAL	EUC-JP//	EUC-JP		1
`))
	m.AddFile(gconvDir+"/gconv-modules.cache", 0o644, []byte("cache"))
	m.AddFile(gconvDir+"/gconv-modules.d/gconv-modules-extra.conf", 0o644, []byte(`alias	CN-BIG5//	BIG5//
module	BIG5//		INTERNAL	BIG5		1
module	INTERNAL	BIG5//		BIG5		1
module	EUC-CN//	BIG5//		GBBIG5		1
module	EUC-CN//	INTERNAL	EUC-CN		1
`))
	so := func(name string, needed ...string) []byte {
		return elftest.Build(elftest.Spec{Soname: name, Needed: append(needed, "libc.so.6"), Runpath: "$ORIGIN"})
	}
	m.AddFile(gconvDir+"/ISO8859-2.so", 0o644, so("ISO8859-2.so"))
	m.AddFile(gconvDir+"/EUC-JP.so", 0o644, so("EUC-JP.so", "libJIS.so"))
	m.AddFile(gconvDir+"/libJIS.so", 0o644, so("libJIS.so"))
	m.AddFile(gconvDir+"/BIG5.so", 0o644, so("BIG5.so"))
	m.AddFile(gconvDir+"/GBBIG5.so", 0o644, so("GBBIG5.so"))
	m.AddFile(gconvDir+"/EUC-CN.so", 0o644, so("EUC-CN.so"))
	// a program calling iconv_open itself: charsets come from its input
	m.AddFile("/usr/bin/iconv", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libc.so.6"}, Strings: []string{"iconv_open"}}))
	return m
}

var gconvConfig = []string{gconvDir + "/gconv-modules", gconvDir + "/gconv-modules.cache", gconvDir + "/gconv-modules.d/gconv-modules-extra.conf"}

var gconvModules = []string{gconvDir + "/ISO8859-2.so", gconvDir + "/EUC-JP.so", gconvDir + "/libJIS.so",
	gconvDir + "/BIG5.so", gconvDir + "/GBBIG5.so", gconvDir + "/EUC-CN.so"}

// library adds a shared library to m that references iconv_open and holds
// strs in its dynamic strings (elftest writes no section headers, so the
// whole file is scanned).
func library(m *rootfs.Mem, p string, strs ...string) keptset.Object {
	m.AddFile(p, 0o644, elftest.Build(elftest.Spec{Soname: "x.so", Needed: []string{"libc.so.6"}, Strings: append(strs, "iconv_open")}))
	return keptset.Object{Path: p, Iconv: true}
}

func TestGconvGeneralConverter(t *testing.T) {
	c := run(t, gconvTree().View(), []keptset.Object{glibcObj(), {Path: "/usr/bin/iconv", Iconv: true}}, nil, knowledge.NewGconv())
	wantKept(t, c, append(gconvConfig, gconvModules...)...)
	// libc.so.6 defines iconv_open itself: it alone does not bring gconv
	c = run(t, gconvTree().View(), []keptset.Object{{Path: libc, Libc: true, Iconv: true}, {Path: "/usr/bin/ls"}}, nil, knowledge.NewGconv())
	wantDropped(t, c, append(gconvConfig, gconvModules...)...)
	// GCONV_PATH adds a directory
	m := gconvTree()
	m.AddFile("/opt/gconv/gconv-modules", 0o644, []byte("x"))
	c = run(t, m.View(), []keptset.Object{glibcObj(), {Path: "/usr/bin/iconv", Iconv: true}}, []string{"GCONV_PATH=/opt/gconv"}, knowledge.NewGconv())
	wantKept(t, c, append(gconvConfig, "/opt/gconv/gconv-modules")...)
}

func TestGconvNamedCharsets(t *testing.T) {
	// a library naming latin2 (an alias, any case) and UTF-16 (built in):
	// only ISO8859-2.so and the configuration
	m := gconvTree()
	o := library(m, lib+"/libxml2.so.2", "latin2", "UTF-16LE", "en_US")
	c := run(t, m.View(), []keptset.Object{glibcObj(), o}, nil, knowledge.NewGconv())
	wantKept(t, c, append(gconvConfig, gconvDir+"/ISO8859-2.so")...)
	wantDropped(t, c, gconvModules[1:]...)

	// only built-in charsets: no module, no configuration
	m = gconvTree()
	o = library(m, lib+"/libunistring.so.2", "UTF-8", "ASCII", "UCS-4")
	c = run(t, m.View(), []keptset.Object{glibcObj(), o}, nil, knowledge.NewGconv())
	wantDropped(t, c, append(gconvConfig, gconvModules...)...)

	// a short alias counts only as spelled in the configuration: "cn-big5"
	// in lower case does not, "EUC-CN" brings its direct step to BIG5 and
	// BIG5's module
	m = gconvTree()
	o = library(m, lib+"/libfoo.so.1", "EUC-CN")
	c = run(t, m.View(), []keptset.Object{glibcObj(), o}, nil, knowledge.NewGconv())
	wantKept(t, c, gconvDir+"/EUC-CN.so", gconvDir+"/GBBIG5.so", gconvDir+"/BIG5.so")
	wantDropped(t, c, gconvDir+"/EUC-JP.so", gconvDir+"/ISO8859-2.so")

	// a locale's codeset (LANG) names EUC-JP; its module comes with the
	// library it needs (libJIS.so, through $ORIGIN)
	m = gconvTree()
	o = library(m, lib+"/libfoo.so.1")
	c = run(t, m.View(), []keptset.Object{glibcObj(), o}, []string{"LANG=ja_JP.eucJP"}, knowledge.NewGconv())
	wantKept(t, c, gconvDir+"/EUC-JP.so", gconvDir+"/libJIS.so")
	wantDropped(t, c, gconvDir+"/ISO8859-2.so", gconvDir+"/BIG5.so")

	// a kept configuration file naming a charset
	m = gconvTree()
	o = library(m, lib+"/libfoo.so.1")
	m.AddFile("/etc/app.conf", 0o644, []byte("input_charset = \"ISO-IR-101\"\n"))
	c = run(t, m.View(), []keptset.Object{glibcObj(), o}, nil, keepRule("/etc/app.conf"), knowledge.NewGconv())
	wantKept(t, c, gconvDir+"/ISO8859-2.so")

	// a data library that nothing converting links to (ICU's data, for
	// its own converters) names charsets for nobody; a program linked to
	// the iconv user names them for it
	m = gconvTree()
	o = library(m, lib+"/libstdc++.so.6")
	m.AddFile(lib+"/libicudata.so.72", 0o644, elftest.Build(elftest.Spec{Soname: "libicudata.so.72", Strings: []string{"BIG5", "EUC-JP"}}))
	m.AddFile("/usr/bin/app", 0o755, elftest.Build(elftest.Spec{Interp: ldso, Needed: []string{"libx.so.1", "libc.so.6"}, Strings: []string{"ISO-8859-2"}}))
	m.AddFile(lib+"/libx.so.1", 0o644, elftest.Build(elftest.Spec{Soname: "libx.so.1", Needed: []string{"x.so", "libc.so.6"}}))
	c = run(t, m.View(), []keptset.Object{glibcObj(), o, {Path: lib + "/libicudata.so.72"}, {Path: lib + "/libx.so.1"}, {Path: "/usr/bin/app"}}, nil, knowledge.NewGconv())
	wantKept(t, c, gconvDir+"/ISO8859-2.so")
	wantDropped(t, c, gconvDir+"/BIG5.so", gconvDir+"/EUC-JP.so")

	// --keep-gconv keeps every module
	m = gconvTree()
	o = library(m, lib+"/libfoo.so.1")
	c = run(t, m.View(), []keptset.Object{glibcObj(), o}, nil, knowledge.Gconv{All: true})
	wantKept(t, c, append(gconvConfig, gconvModules...)...)
}

// keepRule keeps the given paths, as another rule or the closure would.
func keepRule(paths ...string) knowledge.Rule {
	return knowledge.RuleFunc("keep", func(c knowledge.Keeper) error {
		for _, p := range paths {
			if _, err := c.AddPath(p, keptset.Reason{Kind: keptset.KindKnowledge, Rule: "keep"}); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestParseGconvModules(t *testing.T) {
	m := gconvTree()
	v := m.View()
	files := []string{gconvDir + "/gconv-modules", gconvDir + "/gconv-modules.d/gconv-modules-extra.conf"}
	tab := knowledge.ParseGconvModules(files, func(n string) []byte { b, _ := v.ReadFile(n, 1<<20); return b })
	for name, want := range map[string]string{"latin2": "ISO-8859-2", "ISO-IR-101//": "ISO-8859-2", "cn-big5": "BIG5",
		"EUC-JP": "EUC-JP", "UTF-8": "", "INTERNAL": "", "KOI8-R": ""} {
		if got := tab.Canonical(name); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", name, got, want)
		}
	}
	if !tab.Knows("CN-BIG5") || tab.Knows("cn-big5x") || !tab.Knows("latin2") {
		t.Error("Knows: want the spelled alias and a name with a digit")
	}
	var got []string
	for _, x := range tab.Modules(map[string]string{"EUC-CN": "test"}) {
		got = append(got, x.File)
	}
	if want := []string{"BIG5.so", "EUC-CN.so", "GBBIG5.so"}; !slices.Equal(got, want) {
		t.Errorf("Modules(EUC-CN) = %v, want %v", got, want)
	}
}

func TestGconvValidCacheStandsForTheConfiguration(t *testing.T) {
	// glibc reads a valid gconv-modules.cache of its own directory instead
	// of the text configuration, unless GCONV_PATH is set
	valid := func() *rootfs.Mem {
		m := gconvTree()
		m.AddFile(gconvDir+"/gconv-modules.cache", 0o644, []byte{0x24, 0x03, 0x01, 0x20, 0, 0, 0, 0})
		return m
	}
	text := []string{gconvDir + "/gconv-modules", gconvDir + "/gconv-modules.d/gconv-modules-extra.conf"}
	m := valid()
	o := library(m, lib+"/libxml2.so.2", "latin2")
	c := run(t, m.View(), []keptset.Object{glibcObj(), o}, nil, knowledge.NewGconv())
	wantKept(t, c, gconvDir+"/gconv-modules.cache", gconvDir+"/ISO8859-2.so")
	wantDropped(t, c, text...)

	m = valid()
	o = library(m, lib+"/libxml2.so.2", "latin2")
	c = run(t, m.View(), []keptset.Object{glibcObj(), o}, []string{"GCONV_PATH=/opt/gconv"}, knowledge.NewGconv())
	wantKept(t, c, append(text, gconvDir+"/gconv-modules.cache", gconvDir+"/ISO8859-2.so")...)
}
