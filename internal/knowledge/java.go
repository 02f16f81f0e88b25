package knowledge

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/pare-dev/pare/internal/jimage"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/elfread"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// JavaModules is implemented by a Keeper that carries the user's choices
// about the JDK's module image.
type JavaModules interface {
	// KeepJimage reports whether lib/modules is kept whole (--keep-jimage).
	KeepJimage() bool
	// AddModules are modules kept beside those the analysis finds
	// (--add-modules), with what they require.
	AddModules() []string
}

// Generator is implemented by a Keeper that can keep a file with generated
// content and leave a kept file out at the end.
type Generator interface {
	// Generate keeps the regular file name with data in place of its
	// content in the image.
	Generate(name string, data []byte, why keptset.Reason) (bool, error)
	// Drop leaves the path name out of the result once the rules settled,
	// whoever kept it; why says why it is useless.
	Drop(name, why string)
}

// Commander is implemented by a Keeper that knows the image's command.
type Commander interface {
	// Args returns the effective Entrypoint and Cmd.
	Args() []string
}

// The module image of a JDK 9 or later, {prefix}/lib/modules, holds every
// module the JDK was built with (about 130 MB in Debian's
// openjdk-17-jre-headless) though an application uses a few. With
// Runtime.Jimage the rule writes a jimage of the modules the application
// needs in its place, as jlink --add-modules would:
//
//   - java.base, always;
//   - the modules of the packages the application's classes refer to (the
//     constant pools of every kept .class, .jar and .war outside the JDK:
//     class references, descriptors, and string constants that name a
//     class, as Class.forName takes them), looked up in the image's
//     /packages;
//   - the modules a modular application's module-info requires, the module
//     of java -m, the --add-modules of the java command line,
//     JDK_JAVA_OPTIONS and JAVA_TOOL_OPTIONS, and pare's --add-modules;
//   - closed over requires (transitive or not; requires static is left
//     out, as at run time);
//   - the security providers conf/security/java.security lists
//     (security.provider.N) whose module requires nothing outside the set:
//     the JDK installs them from that configuration, not through a class
//     reference (SunEC, which TLS needs, in jdk.crypto.ec). Other service
//     providers (jdk.charsets, jdk.localedata, ...) come only when a
//     reference or --add-modules names them, as with jlink's default.
//
// References to packages that neither the application nor the image define
// are reported, not guessed. The cut image drops jlink's generated
// SystemModules classes (see jimage.Cut), so the runtime reads its module
// graph from the kept modules. Left out with it: the CDS archives
// lib/server/*.jsa (dumped from the whole image, the JVM ignores them once
// lib/modules changed) and the native libraries of dropped modules (a
// module's classes name a library in System.loadLibrary; a library that
// needs one of those goes with it). --keep-jimage keeps the image whole;
// ALL-SYSTEM, ALL-DEFAULT or ALL-MODULE-PATH in --add-modules do too.
//
// A trace cannot tell which classes the JVM read: it maps lib/modules
// whole, and the class-loading log (-Xlog:class+load) would print into the
// application's output. A traced build uses the same static set.
type javaCut struct {
	prefix  string
	modules map[string]string // kept module -> why
	order   []string
	skip    map[string]bool // paths of the JDK home left out
	data    []byte          // the cut lib/modules
	whole   bool            // keep the image whole
	note    string          // why it is whole, or a warning
}

// javaState caches the work of the jimage step across the rounds of one
// build: the parsed application classes and the cut image of the last
// module set, by view.
var javaState struct {
	sync.Mutex
	v       *rootfs.View
	classes map[string][]*jimage.Class // kept application file -> its classes
	images  map[string]*javaImage      // by prefix
}

type javaImage struct {
	owners  map[string]string // dotted package -> the module holding its classes
	infos   map[string]*jimage.ModuleInfo
	natives map[string]string          // library base name -> module
	named   map[string]map[string]bool // other file of lib/ -> modules whose classes name it
	key     string                     // module set of data
	data    []byte
	err     error
}

const javaModulesFile = "lib/modules"

// reJSA matches the CDS archives of a JDK home.
var reJSA = regexp.MustCompile(`^lib/server/.*\.jsa$`)

// jimageCut decides the module set for the JDK home prefix and what of the
// home is left out; nil when the image is kept whole or there is no jimage.
func (a *applier) jimageCut(prefix, from string) *javaCut {
	c := a.c
	modPath := path.Join(prefix, javaModulesFile)
	e, err := a.v.Stat(modPath)
	if err != nil || e.Type != rootfs.TypeReg {
		return nil
	}
	if _, ok := c.(Generator); !ok {
		return nil
	}
	jm, _ := c.(JavaModules)
	if jm != nil && jm.KeepJimage() {
		return nil
	}
	cut := &javaCut{prefix: prefix, modules: map[string]string{}, skip: map[string]bool{}}
	javaState.Lock()
	defer javaState.Unlock()
	if javaState.v != a.v {
		javaState.v, javaState.classes, javaState.images = a.v, map[string][]*jimage.Class{}, map[string]*javaImage{}
	}
	ji := javaState.images[prefix]
	if ji == nil {
		ji = &javaImage{}
		javaState.images[prefix] = ji
		ji.err = ji.open(a.v, modPath, prefix)
	}
	if ji.err != nil {
		c.Warn("java: %s kept whole: %v", modPath, ji.err)
		return nil
	}
	if err := cut.choose(a, ji, jm, from); err != nil {
		c.Warn("java: %s kept whole: %v", modPath, err)
		return nil
	}
	if cut.whole {
		if cut.note != "" {
			c.Warn("java: %s kept whole: %s", modPath, cut.note)
		}
		return nil
	}
	key := strings.Join(cut.order, ",")
	if ji.key != key || ji.data == nil {
		data, err := writeCut(a.v, modPath, cut.moduleSet())
		if err == nil {
			ji.key, ji.data = key, data
		}
		if err != nil {
			c.Warn("java: %s kept whole: writing the cut image: %v", modPath, err)
			return nil
		}
	}
	cut.data = ji.data
	cut.skip[modPath] = true
	for _, f := range walkFiles(a.v, prefix) {
		rel := strings.TrimPrefix(f, prefix+"/")
		if reJSA.MatchString(rel) {
			cut.skip[f] = true
			continue
		}
		if m, ok := ji.natives[path.Base(f)]; ok && cut.modules[m] == "" {
			cut.skip[f] = true
		}
		if m, _, _ := strings.Cut(strings.TrimPrefix(rel, "legal/"), "/"); strings.HasPrefix(rel, "legal/") && ji.infos[m] != nil && cut.modules[m] == "" {
			cut.skip[f] = true // the notices of a dropped module
		}
		if ms := ji.named[path.Base(f)]; len(ms) > 0 && strings.HasPrefix(rel, "lib/") && !cut.anyOf(ms) {
			cut.skip[f] = true
		}
	}
	return cut
}

// applyCut writes the cut image in place of lib/modules and leaves the
// skipped paths out of the home's tree (static) or out of the result
// (traced: the CDS archives the run mapped).
func (a *applier) applyCut(cut *javaCut, from string, traced bool) error {
	if cut == nil {
		a.opts.skip = nil
		return nil
	}
	g := a.c.(Generator)
	modPath := path.Join(cut.prefix, javaModulesFile)
	if _, err := g.Generate(modPath, cut.data, because(a.r.ID, from, cut.detail())); err != nil {
		return err
	}
	a.opts.skip = cut.skip
	if traced {
		for p := range cut.skip {
			if p != modPath && reJSA.MatchString(strings.TrimPrefix(p, cut.prefix+"/")) {
				g.Drop(p, "a CDS archive of the whole module image, which the JVM ignores with the cut lib/modules")
			}
		}
	}
	return nil
}

// anyOf reports whether one of ms is kept.
func (c *javaCut) anyOf(ms map[string]bool) bool {
	for m := range ms {
		if _, ok := c.modules[m]; ok {
			return true
		}
	}
	return false
}

func (c *javaCut) moduleSet() map[string]bool {
	out := map[string]bool{}
	for m := range c.modules {
		out[m] = true
	}
	return out
}

func (c *javaCut) add(m, why string) bool {
	if _, ok := c.modules[m]; ok {
		return false
	}
	c.modules[m] = why
	c.order = append(c.order, m)
	return true
}

// detail is the reason text of the cut lib/modules: every kept module with
// why.
func (c *javaCut) detail() string {
	mods := append([]string(nil), c.order...)
	sort.Strings(mods)
	var parts []string
	for _, m := range mods {
		parts = append(parts, m+" ("+c.modules[m]+")")
	}
	return fmt.Sprintf("the JDK's module image cut to %d modules: %s", len(mods), strings.Join(parts, "; "))
}

// writeCut writes the jimage of the modules keep of the image at modPath.
func writeCut(v *rootfs.View, modPath string, keep map[string]bool) ([]byte, error) {
	f, err := v.Open(modPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	im, err := jimage.Open(f, f.Size())
	if err != nil {
		return nil, err
	}
	res, err := im.Cut(keep)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(f.Size() / 4))
	if err := jimage.Write(&buf, im.ByteOrder(), res); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// open reads the image's index, every module's declaration and which
// module loads which native library.
func (ji *javaImage) open(v *rootfs.View, modPath, prefix string) error {
	f, err := v.Open(modPath)
	if err != nil {
		return err
	}
	defer f.Close()
	im, err := jimage.Open(f, f.Size())
	if err != nil {
		return err
	}
	mods, err := im.Modules()
	if err != nil {
		return err
	}
	ji.infos = map[string]*jimage.ModuleInfo{}
	for _, m := range mods {
		if ji.infos[m], err = im.ModuleInfo(m); err != nil {
			return err
		}
	}
	// native libraries: lib<name>.so of the home, by the modules whose
	// classes call loadLibrary with a string constant name
	libs := map[string]string{} // name -> base name
	var libFiles []string
	for _, p := range walkFiles(v, path.Join(prefix, "lib")) {
		b := path.Base(p)
		if strings.HasPrefix(b, "lib") && strings.HasSuffix(b, ".so") {
			libs[strings.TrimSuffix(strings.TrimPrefix(b, "lib"), ".so")] = b
			libFiles = append(libFiles, p)
		}
	}
	// other files of lib/ (ct.sym, jexec, jfr/*.jfc): by the modules whose
	// classes name them; a file no class names (the VM's, the launcher's)
	// stays
	files := map[string]bool{}
	for _, p := range walkFiles(v, path.Join(prefix, "lib")) {
		b := path.Base(p)
		if rel := strings.TrimPrefix(p, prefix+"/"); rel != javaModulesFile && !reJSA.MatchString(rel) && !strings.HasSuffix(b, ".so") {
			files[b] = true
		}
	}
	ji.natives = map[string]string{}
	ji.named = map[string]map[string]bool{}
	ji.owners = map[string]string{}
	locs, err := im.Locations()
	if err != nil {
		return err
	}
	for _, l := range locs {
		if l.Module == "packages" && l.Parent == "" {
			owner, _, err := im.PackageModules(l.Base)
			if err != nil {
				return err
			}
			if owner != "" {
				ji.owners[l.Base] = owner
			}
		}
		if l.Extension != "class" || l.Module == "modules" || l.Module == "packages" {
			continue
		}
		data, err := im.Read(l)
		if err != nil {
			continue
		}
		cl, err := jimage.ParseClass(data)
		if err != nil {
			continue
		}
		loads := contains(cl.Methods, "loadLibrary")
		for _, s := range cl.Strings {
			if b, ok := libs[s]; ok && loads {
				if _, taken := ji.natives[b]; !taken {
					ji.natives[b] = l.Module
				}
			}
			b := path.Base(s)
			if files[b] {
				if ji.named[b] == nil {
					ji.named[b] = map[string]bool{}
				}
				ji.named[b][l.Module] = true
			}
		}
	}
	// a library that needs a module's library goes with it
	// (libawt_headless needs libawt)
	for _, p := range libFiles {
		b := path.Base(p)
		if _, ok := ji.natives[b]; ok {
			continue
		}
		f, err := v.Open(p)
		if err != nil {
			continue
		}
		ef, err := elfread.Parse(f, f.Size())
		f.Close()
		if err != nil {
			continue
		}
		for _, n := range ef.Needed {
			if m, ok := ji.natives[n]; ok && m != "java.base" {
				ji.natives[b] = m
				break
			}
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// reClassName matches a string constant that names a class as
// Class.forName takes it.
var reClassName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)+$`)

// choose computes the module set.
func (c *javaCut) choose(a *applier, ji *javaImage, jm JavaModules, from string) error {
	c.add("java.base", "always")
	var roots []struct{ m, why string }
	root := func(m, why string) {
		switch m {
		case "ALL-SYSTEM", "ALL-DEFAULT", "ALL-MODULE-PATH":
			c.whole, c.note = true, "--add-modules "+m+" ("+why+")"
			return
		}
		if m != "" {
			roots = append(roots, struct{ m, why string }{m, why})
		}
	}
	if jm != nil {
		for _, m := range jm.AddModules() {
			for _, x := range strings.Split(m, ",") {
				root(strings.TrimSpace(x), "pare --add-modules")
			}
		}
	}
	var args []string
	if cm, ok := a.c.(Commander); ok {
		args = cm.Args()
	}
	for _, v := range []string{"JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS"} {
		if s, ok := a.c.Getenv(v); ok {
			for _, m := range javaAddModules(strings.Fields(s)) {
				root(m, v)
			}
		}
	}
	if len(args) > 0 && path.Base(args[0]) == "java" {
		for _, m := range javaAddModules(args[1:]) {
			root(m, "--add-modules of the command line")
		}
	}
	if c.whole {
		return nil
	}
	// the application's classes
	classes, err := a.javaClasses(c.prefix)
	if err != nil {
		return err
	}
	own := map[string]bool{}
	for _, cls := range classes {
		for _, cl := range cls.classes {
			own[jimage.Package(cl.Name)] = true
		}
	}
	var unresolved []string
	seenUnresolved := map[string]bool{}
	for _, cls := range classes {
		for _, cl := range cls.classes {
			if cl.Module != nil {
				for _, r := range cl.Module.Requires {
					if !r.Static {
						root(r.Name, "required by the application's module "+cl.Module.Name)
					}
				}
				continue
			}
			for _, ref := range cl.Refs {
				pkg := jimage.Package(ref)
				if pkg == "" || own[pkg] {
					continue
				}
				owner := ji.owners[pkg]
				if owner == "" {
					if !seenUnresolved[pkg] {
						seenUnresolved[pkg] = true
						unresolved = append(unresolved, strings.ReplaceAll(ref, "/", ".")+" (from "+cls.file+")")
					}
					continue
				}
				c.add(owner, strings.ReplaceAll(ref, "/", ".")+" referenced by "+cls.file)
			}
			for _, s := range cl.Strings {
				if !reClassName.MatchString(s) {
					continue
				}
				pkg := s[:strings.LastIndexByte(s, '.')]
				if own[pkg] {
					continue
				}
				if owner := ji.owners[pkg]; owner != "" {
					c.add(owner, "class name "+s+" in "+cls.file)
				}
			}
		}
	}
	if len(unresolved) > 0 {
		sort.Strings(unresolved)
		more := ""
		if len(unresolved) > 10 {
			more = fmt.Sprintf(" and %d more", len(unresolved)-10)
			unresolved = unresolved[:10]
		}
		a.c.Warn("java: classes in no package of the application or the JDK's modules: %s%s (a missing dependency, or one found at run time: --add-modules keeps JDK modules)",
			strings.Join(unresolved, ", "), more)
	}
	for _, r := range roots {
		if ji.infos[r.m] == nil {
			a.c.Warn("java: module %s (%s) is not in %s", r.m, r.why, path.Join(c.prefix, javaModulesFile))
			continue
		}
		c.add(r.m, r.why)
	}
	// closure over requires, then the configured security providers
	providers := securityProviders(a.v, c.prefix)
	for {
		c.closeRequires(ji)
		added := false
		for _, m := range sortedKeys(ji.infos) {
			if _, ok := c.modules[m]; ok {
				continue
			}
			mi := ji.infos[m]
			for _, impl := range mi.Provides["java.security.Provider"] {
				name := impl[strings.LastIndexByte(impl, '.')+1:]
				if !providers[name] || !c.satisfied(mi) || !c.uses("java.security.Provider", ji) {
					continue
				}
				added = c.add(m, "security provider "+name+" of conf/security/java.security") || added
				break
			}
		}
		if !added {
			return nil
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *javaCut) closeRequires(ji *javaImage) {
	for i := 0; i < len(c.order); i++ {
		m := c.order[i]
		mi := ji.infos[m]
		if mi == nil {
			continue
		}
		for _, r := range mi.Requires {
			if !r.Static && ji.infos[r.Name] != nil {
				c.add(r.Name, "required by "+m)
			}
		}
	}
}

// satisfied reports whether every module mi requires is in the set.
func (c *javaCut) satisfied(mi *jimage.ModuleInfo) bool {
	for _, r := range mi.Requires {
		if _, ok := c.modules[r.Name]; !ok && !r.Static {
			return false
		}
	}
	return true
}

// uses reports whether a kept module uses the service svc.
func (c *javaCut) uses(svc string, ji *javaImage) bool {
	for m := range c.modules {
		if mi := ji.infos[m]; mi != nil && contains(mi.Uses, svc) {
			return true
		}
	}
	return false
}

// securityProviders returns the provider names security.provider.N of
// {prefix}/conf/security/java.security lists (SunEC, or the last element
// of a class name).
func securityProviders(v *rootfs.View, prefix string) map[string]bool {
	out := map[string]bool{}
	data, err := v.ReadFile(path.Join(prefix, "conf/security/java.security"), 1<<20)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "security.provider.") {
			continue
		}
		_, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		name := f[0]
		out[name[strings.LastIndexByte(name, '.')+1:]] = true
	}
	return out
}

// javaAddModules returns the modules of --add-modules options in args, up
// to the main class or -jar.
func javaAddModules(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--add-modules" && i+1 < len(args):
			out = append(out, strings.Split(args[i+1], ",")...)
			i++
		case strings.HasPrefix(a, "--add-modules="):
			out = append(out, strings.Split(strings.TrimPrefix(a, "--add-modules="), ",")...)
		case (a == "-m" || a == "--module") && i+1 < len(args):
			m, _, _ := strings.Cut(args[i+1], "/")
			out = append(out, m)
			return out
		case strings.HasPrefix(a, "--module="):
			m, _, _ := strings.Cut(strings.TrimPrefix(a, "--module="), "/")
			return append(out, m)
		case a == "-cp" || a == "-classpath" || a == "--class-path" || a == "-p" || a == "--module-path" ||
			a == "--upgrade-module-path" || a == "--limit-modules":
			i++
		case a == "-jar" || !strings.HasPrefix(a, "-"):
			return out
		}
	}
	return out
}

type appClasses struct {
	file    string
	classes []*jimage.Class
}

// javaClasses parses every kept .class, .jar and .war outside the JDK home
// prefix (cached by path for the build). Called with javaState locked.
func (a *applier) javaClasses(prefix string) ([]appClasses, error) {
	l, ok := a.c.(PathLister)
	if !ok {
		return nil, nil
	}
	var out []appClasses
	for _, p := range l.Paths() {
		if strings.HasPrefix(p, prefix+"/") || !(strings.HasSuffix(p, ".class") || strings.HasSuffix(p, ".jar") || strings.HasSuffix(p, ".war")) {
			continue
		}
		cls, ok := javaState.classes[p]
		if !ok {
			cls = readJavaFile(a.v, p)
			javaState.classes[p] = cls
		}
		if len(cls) > 0 {
			out = append(out, appClasses{file: p, classes: cls})
		}
	}
	return out, nil
}

// maxJavaFile bounds the size of an application file read for classes.
const maxJavaFile = 512 << 20

// readJavaFile returns the classes of a .class file or of the .class
// entries of a jar (nested jars of a war or a Spring Boot jar included);
// unreadable files give none.
func readJavaFile(v *rootfs.View, p string) []*jimage.Class {
	e, err := v.Stat(p)
	if err != nil || e.Type != rootfs.TypeReg || e.Size > maxJavaFile {
		return nil
	}
	data, err := v.ReadFile(p, maxJavaFile)
	if err != nil {
		return nil
	}
	if strings.HasSuffix(p, ".class") {
		if c, err := jimage.ParseClass(data); err == nil {
			return []*jimage.Class{c}
		}
		return nil
	}
	return jarClasses(data, 0)
}

func jarClasses(data []byte, depth int) []*jimage.Class {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	var out []*jimage.Class
	for _, f := range zr.File {
		isClass := strings.HasSuffix(f.Name, ".class")
		isJar := strings.HasSuffix(f.Name, ".jar") && depth < 2
		if !isClass && !isJar || f.UncompressedSize64 > maxJavaFile {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxJavaFile))
		rc.Close()
		if err != nil {
			continue
		}
		if isJar {
			out = append(out, jarClasses(b, depth+1)...)
			continue
		}
		// multi-release and versioned entries are classes too
		if c, err := jimage.ParseClass(b); err == nil {
			out = append(out, c)
		}
	}
	return out
}
