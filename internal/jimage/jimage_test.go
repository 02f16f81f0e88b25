package jimage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pare-dev/pare/internal/testimages"
)

// javaHome is where the java fixture's JDK lives.
const javaHome = "/usr/lib/jvm/java-17-openjdk-amd64"

var (
	realOnce sync.Once
	realPath string
	realErr  error
)

// realModules copies lib/modules out of the java fixture (docker create and
// docker cp) once per process and returns its path.
func realModules(t *testing.T) string {
	t.Helper()
	img := testimages.Require(t, "java")
	realOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pare-jimage-")
		if err != nil {
			realErr = err
			return
		}
		out, err := exec.Command("docker", "create", "--network", "none", img).Output()
		if err != nil {
			realErr = fmt.Errorf("docker create: %w", err)
			return
		}
		id := strings.TrimSpace(string(out))
		defer exec.Command("docker", "rm", "-f", id).Run()
		realPath = filepath.Join(dir, "modules")
		if out, err := exec.Command("docker", "cp", "-L", id+":"+javaHome+"/lib/modules", realPath).CombinedOutput(); err != nil {
			realErr = fmt.Errorf("docker cp: %w: %s", err, out)
		}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if realPath != "" {
		os.RemoveAll(filepath.Dir(realPath))
	}
	os.Exit(code)
}

func openReal(t *testing.T) (*Image, []byte) {
	data, err := os.ReadFile(realModules(t))
	if err != nil {
		t.Fatal(err)
	}
	im, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return im, data
}

// resources returns the module resources of im (not the directories),
// reading from im.
func resources(t *testing.T, im *Image, keep func(module string) bool) ([]Resource, map[string]Location) {
	t.Helper()
	locs, err := im.Locations()
	if err != nil {
		t.Fatal(err)
	}
	var out []Resource
	byName := map[string]Location{}
	for _, l := range locs {
		if l.Module == "" || l.Module == "modules" || l.Module == "packages" || !keep(l.Module) {
			continue
		}
		l := l
		byName[l.Name()] = l
		out = append(out, Resource{Name: l.Name(), Size: l.Uncompressed, Read: func() ([]byte, error) { return im.Read(l) }})
	}
	return out, byName
}

func TestReadReal(t *testing.T) {
	im, _ := openReal(t)
	mods, err := im.Modules()
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, m := range mods {
		has[m] = true
	}
	for _, m := range []string{"java.base", "jdk.httpserver", "java.desktop"} {
		if !has[m] {
			t.Errorf("module %s not listed in /modules: %v", m, mods)
		}
	}
	l, ok := im.Find("/java.base/java/lang/Object.class")
	if !ok {
		t.Fatal("java/lang/Object.class not found")
	}
	data, err := im.Read(l)
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint32(data) != 0xCAFEBABE {
		t.Errorf("Object.class does not start with the class magic: % x", data[:4])
	}
	owner, all, err := im.PackageModules("com.sun.net.httpserver")
	if err != nil || owner != "jdk.httpserver" {
		t.Errorf("PackageModules(com.sun.net.httpserver) = %q, %v, %v", owner, all, err)
	}
	// every location is found by its name through the redirect table
	locs, err := im.Locations()
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != int(im.Header.TableLength) {
		t.Fatalf("%d locations, table length %d", len(locs), im.Header.TableLength)
	}
	for _, l := range locs {
		if _, ok := im.Find(l.Name()); !ok {
			t.Fatalf("%s not found by name", l.Name())
		}
	}
	if _, ok := im.Find("/java.base/java/lang/NoSuchClass.class"); ok {
		t.Error("found a class that does not exist")
	}
}

func TestRoundTripReal(t *testing.T) {
	im, orig := openReal(t)
	res, byName := resources(t, im, func(string) bool { return true })
	var buf bytes.Buffer
	if err := Write(&buf, binary.LittleEndian, res); err != nil {
		t.Fatal(err)
	}
	out, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// the same locations (the directories included), every resource byte-equal
	want, _ := im.Locations()
	got, err := out.Locations()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d locations written, %d in the source", len(got), len(want))
	}
	for i := range want {
		if got[i].Name() != want[i].Name() {
			t.Fatalf("location %d: %s, want %s", i, got[i].Name(), want[i].Name())
		}
	}
	for name, l := range byName {
		a, err := im.Read(l)
		if err != nil {
			t.Fatal(err)
		}
		nl, ok := out.Find(name)
		if !ok {
			t.Fatalf("%s missing after the round trip", name)
		}
		b, err := out.Read(nl)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs after the round trip", name)
		}
	}
	// the directories list the same children and package owners
	for _, dir := range []string{"/modules", "/modules/java.base/java/lang", "/packages"} {
		a, err := im.Children(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := out.Children(dir)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("%s: children differ after the round trip", dir)
		}
	}
	for _, pkg := range []string{"java.lang", "java.util", "javax.xml.parsers", "sun.nio.cs"} {
		o1, a1, _ := im.PackageModules(pkg)
		o2, a2, _ := out.PackageModules(pkg)
		if o1 != o2 || strings.Join(a1, ",") != strings.Join(a2, ",") {
			t.Errorf("/packages/%s: %s %v after the round trip, want %s %v", pkg, o2, a2, o1, a1)
		}
	}
	t.Logf("source %d bytes, written %d", len(orig), buf.Len())
}

func TestSubsetReal(t *testing.T) {
	im, _ := openReal(t)
	keep := map[string]bool{"java.base": true, "jdk.httpserver": true}
	res, byName := resources(t, im, func(m string) bool { return keep[m] })
	var buf bytes.Buffer
	if err := Write(&buf, binary.LittleEndian, res); err != nil {
		t.Fatal(err)
	}
	out, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	mods, err := out.Modules()
	if err != nil || strings.Join(mods, ",") != "java.base,jdk.httpserver" {
		t.Fatalf("modules of the subset: %v, %v", mods, err)
	}
	for name := range byName {
		if _, ok := out.Find(name); !ok {
			t.Fatalf("%s missing from the subset", name)
		}
	}
	if _, ok := out.Find("/java.desktop/java/awt/Frame.class"); ok {
		t.Error("java.desktop's Frame.class is in the subset")
	}
	if owner, _, _ := out.PackageModules("java.awt"); owner != "" {
		t.Errorf("package java.awt owned by %q in the subset", owner)
	}
	if owner, _, _ := out.PackageModules("com.sun.net.httpserver"); owner != "jdk.httpserver" {
		t.Errorf("package com.sun.net.httpserver owned by %q in the subset", owner)
	}
	if buf.Len() > 60<<20 {
		t.Errorf("subset of java.base and jdk.httpserver is %d bytes", buf.Len())
	}
}

func TestWriteSynthetic(t *testing.T) {
	res := []Resource{}
	add := func(name, content string) {
		res = append(res, Resource{Name: name, Size: uint64(len(content)), Read: func() ([]byte, error) { return []byte(content), nil }})
	}
	add("/m.one/module-info.class", "mi1")
	add("/m.one/a/b/C.class", "c")
	add("/m.one/a/b/d.properties", "props")
	add("/m.two/a/X.class", "x")
	add("/m.two/META-INF/services/a.S", "a.b.C\n")
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		var buf bytes.Buffer
		if err := Write(&buf, order, res); err != nil {
			t.Fatal(err)
		}
		im, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			l, ok := im.Find(r.Name)
			if !ok {
				t.Fatalf("%s not found", r.Name)
			}
			got, _ := im.Read(l)
			want, _ := r.Read()
			if !bytes.Equal(got, want) {
				t.Errorf("%s = %q, want %q", r.Name, got, want)
			}
		}
		if o, all, _ := im.PackageModules("a"); o != "m.two" || strings.Join(all, ",") != "m.one,m.two" {
			t.Errorf("/packages/a = %q %v", o, all)
		}
		if o, _, _ := im.PackageModules("a.b"); o != "m.one" {
			t.Errorf("/packages/a.b = %q", o)
		}
		if _, ok := im.Find("/packages/META-INF.services"); ok {
			t.Error("META-INF is a package")
		}
		kids, err := im.Children("/modules/m.one/a/b")
		if err != nil || strings.Join(kids, " ") != "/m.one/a/b/C.class /m.one/a/b/d.properties" {
			t.Errorf("children of /modules/m.one/a/b: %v %v", kids, err)
		}
	}
	for _, bad := range []string{"/m", "m/x", "/modules/x", "/m//x"} {
		if err := Write(&bytes.Buffer{}, binary.LittleEndian, []Resource{{Name: bad, Read: func() ([]byte, error) { return nil, nil }}}); err == nil {
			t.Errorf("Write accepted the name %q", bad)
		}
	}
}

func FuzzOpen(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, binary.LittleEndian, []Resource{
		{Name: "/m/a/B.class", Size: 3, Read: func() ([]byte, error) { return []byte("abc"), nil }},
		{Name: "/m/module-info.class", Size: 1, Read: func() ([]byte, error) { return []byte("x"), nil }},
	})
	f.Add(buf.Bytes())
	f.Add([]byte{0xda, 0xda, 0xfe, 0xca, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Parse(data)
		if err != nil {
			return
		}
		locs, err := im.Locations()
		if err != nil {
			return
		}
		for _, l := range locs {
			_, _ = im.Read(l)
			_, _ = im.Find(l.Name())
		}
		_, _ = im.Modules()
		_, _, _ = im.PackageModules("a")
	})
}

func TestModuleInfoReal(t *testing.T) {
	im, _ := openReal(t)
	mi, err := im.ModuleInfo("java.net.http")
	if err != nil {
		t.Fatal(err)
	}
	if mi.Name != "java.net.http" || len(mi.Requires) == 0 {
		t.Fatalf("java.net.http: %+v", mi)
	}
	if !strings.Contains(fmt.Sprint(mi.Exports), "java.net.http") {
		t.Errorf("java.net.http exports %v", mi.Exports)
	}
	se, err := im.ModuleInfo("java.se")
	if err != nil {
		t.Fatal(err)
	}
	transitive := 0
	for _, r := range se.Requires {
		if r.Transitive {
			transitive++
		}
	}
	if transitive < 10 {
		t.Errorf("java.se requires transitive %d modules: %+v", transitive, se.Requires)
	}
	base, err := im.ModuleInfo("java.base")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(base.Uses, " "), "java.nio.charset.spi.CharsetProvider") {
		t.Errorf("java.base uses %v", base.Uses)
	}
	cs, err := im.ModuleInfo("jdk.charsets")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Provides["java.nio.charset.spi.CharsetProvider"]) == 0 {
		t.Errorf("jdk.charsets provides %v", cs.Provides)
	}
	// a class's references: HttpServer refers to its package's classes and java.base's
	l, _ := im.Find("/jdk.httpserver/com/sun/net/httpserver/HttpServer.class")
	data, _ := im.Read(l)
	c, err := ParseClass(data)
	if err != nil {
		t.Fatal(err)
	}
	refs := strings.Join(c.Refs, " ")
	if c.Name != "com/sun/net/httpserver/HttpServer" || !strings.Contains(refs, "java/net/InetSocketAddress") ||
		!strings.Contains(refs, "com/sun/net/httpserver/spi/HttpServerProvider") {
		t.Errorf("HttpServer.class: name %s refs %s", c.Name, refs)
	}
}

func TestCutReal(t *testing.T) {
	im, _ := openReal(t)
	res, err := im.Cut(map[string]bool{"java.base": true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, binary.LittleEndian, res); err != nil {
		t.Fatal(err)
	}
	out, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Find("/java.base/jdk/internal/module/SystemModules$all.class"); ok {
		t.Error("jlink's SystemModules$all is still in the cut image")
	}
	if _, ok := out.Find("/java.base/jdk/internal/module/SystemModules.class"); !ok {
		t.Error("the SystemModules interface was dropped")
	}
	l, ok := out.Find("/java.base/jdk/internal/module/SystemModulesMap.class")
	if !ok {
		t.Fatal("no SystemModulesMap")
	}
	data, _ := out.Read(l)
	c, err := ParseClass(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "jdk/internal/module/SystemModulesMap" || strings.Contains(strings.Join(c.Refs, " "), "SystemModules$") {
		t.Errorf("rewritten SystemModulesMap: %s refs %v", c.Name, c.Refs)
	}
	if mods, _ := out.Modules(); strings.Join(mods, ",") != "java.base" {
		t.Errorf("modules of the cut image: %v", mods)
	}
}

func TestDescriptorTypes(t *testing.T) {
	var got []string
	descriptorTypes("(ILjava/util/List<Lcom/x/Y;>;[Ljava/lang/String;)Ljavax/sql/DataSource;", func(s string) { got = append(got, s) })
	if strings.Join(got, " ") != "java/util/List com/x/Y java/lang/String javax/sql/DataSource" {
		t.Errorf("descriptorTypes: %v", got)
	}
}

func FuzzParseClass(f *testing.F) {
	f.Add(systemModulesMapClass(61))
	f.Add([]byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61, 0, 2, 1, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseClass(data)
	})
}
