package knowledge

import (
	"path"
	"regexp"
	"strings"
)

// Ruby keeps what a kept Ruby (ruby, ruby3.X or libruby) loads, as whole
// trees derived from what exists: <prefix>/lib/ruby (rubylibdir, vendor and
// site dirs, gems of every version), the multiarch archdirs
// <prefix>/lib/<triplet>/ruby, /usr/share/rubygems-integration, /var/lib/gems,
// GEM_HOME, GEM_PATH, RUBYLIB, BUNDLE_PATH and BUNDLE_APP_CONFIG, and the
// application's own directory. ELF extensions come with their libraries.
type Ruby struct{}

// Name implements Rule.
func (Ruby) Name() string { return "ruby" }

var reRubyObj = regexp.MustCompile(`^(ruby(\d+\.\d+)?|libruby(-\d+\.\d+)?\.so.*)$`)

// Apply implements Rule.
func (r Ruby) Apply(c Keeper) error {
	objs := matching(c, reRubyObj)
	if len(objs) == 0 {
		return nil
	}
	v := c.View()
	elf := treeOpts{elf: true}
	for _, o := range objs {
		why := because(r.Name(), o.Path, "Ruby libraries and gems")
		prefix := path.Dir(path.Dir(o.Path))
		if strings.Contains(o.Path, "-linux-") { // libruby in /usr/lib/<triplet>
			prefix = path.Dir(prefix)
		}
		dirs := []string{prefix + "/lib/ruby", "/usr/lib/ruby", "/usr/local/lib/ruby", "/usr/local/lib/site_ruby",
			"/usr/share/rubygems-integration", "/var/lib/gems"}
		for _, t := range triplets(v) {
			dirs = append(dirs, "/usr/lib/"+t+"/ruby")
		}
		for _, k := range []string{"GEM_HOME", "GEM_PATH", "RUBYLIB", "BUNDLE_PATH", "BUNDLE_APP_CONFIG"} {
			dirs = append(dirs, envList(c, k)...)
		}
		if err := keepTrees(c, why, elf, dirs...); err != nil {
			return err
		}
	}
	return keepAppTrees(c, r.Name(), elf, ".rb", "Gemfile", ".gemspec", ".ru")
}

// Node keeps what a kept Node.js (node, nodejs or libnode) requires: Debian's
// module dirs /usr/share/nodejs, /usr/lib/nodejs, /usr/lib/<triplet>/nodejs,
// NODE_PATH, every node_modules directory above a kept file, the whole
// package directory of a kept file inside a global node_modules (npm's
// bin/npm-cli.js brings all of npm), and the application's own directory.
// Native addons (*.node) come with their libraries.
type Node struct{}

// Name implements Rule.
func (Node) Name() string { return "node" }

var reNodeObj = regexp.MustCompile(`^(node|nodejs|libnode\.so.*)$`)

// Apply implements Rule.
func (r Node) Apply(c Keeper) error {
	objs := matching(c, reNodeObj)
	if len(objs) == 0 {
		return nil
	}
	v := c.View()
	elf := treeOpts{elf: true}
	why := because(r.Name(), objs[0].Path, "Node.js modules")
	dirs := []string{"/usr/share/nodejs", "/usr/lib/nodejs"}
	for _, t := range triplets(v) {
		dirs = append(dirs, "/usr/lib/"+t+"/nodejs")
	}
	dirs = append(dirs, envList(c, "NODE_PATH")...)
	if err := keepTrees(c, why, elf, dirs...); err != nil {
		return err
	}
	// A package dir of a global node_modules with anything kept in it is kept whole.
	for _, g := range []string{"/usr/local/lib/node_modules", "/usr/lib/node_modules", "/opt/yarn"} {
		for _, p := range children(v, g, nil) {
			pkgs := []string{path.Join(g, p)}
			if strings.HasPrefix(p, "@") {
				pkgs = nil
				for _, s := range children(v, path.Join(g, p), nil) {
					pkgs = append(pkgs, path.Join(g, p, s))
				}
			}
			for _, pd := range pkgs {
				if c.Has(pd) {
					if _, err := keepTree(c, pd, why, elf); err != nil {
						return err
					}
				}
			}
		}
	}
	if l, ok := c.(PathLister); ok {
		seen := map[string]bool{}
		for _, p := range l.Paths() {
			for d := path.Dir(p); d != "/" && !seen[d]; d = path.Dir(d) {
				seen[d] = true
				if path.Base(d) == "node_modules" {
					continue
				}
				nm := path.Join(d, "node_modules")
				if appDir(nm) && isDir(v, nm) {
					if _, err := keepTree(c, nm, why, elf); err != nil {
						return err
					}
				}
			}
		}
	}
	return keepAppTrees(c, r.Name(), elf, ".js", ".mjs", ".cjs", "package.json")
}

// Java keeps the whole JDK or JRE of a kept JVM (lib/server/libjvm.so or
// bin/java): the home is the nearest directory above it holding "release" or
// lib/modules (so /usr/lib/jvm/java-17-openjdk-amd64 from the real path), with
// every link followed (conf/ into /etc/java-17-openjdk, lib/security/cacerts
// into /etc/ssl/certs/java), JAVA_HOME, and the application's own directory.
// Every ELF in the tree comes with its libraries.
type Java struct{}

// Name implements Rule.
func (Java) Name() string { return "java" }

var reJavaObj = regexp.MustCompile(`^(libjvm\.so|java|libjli\.so)$`)

// Apply implements Rule.
func (r Java) Apply(c Keeper) error {
	objs := matching(c, reJavaObj)
	if len(objs) == 0 {
		return nil
	}
	v := c.View()
	elf := treeOpts{elf: true}
	homes := map[string]string{}
	var order []string
	for _, o := range objs {
		for d := path.Dir(o.Path); d != "/"; d = path.Dir(d) {
			if exists(v, d+"/release") || exists(v, d+"/lib/modules") || exists(v, d+"/lib/rt.jar") {
				if _, ok := homes[d]; !ok {
					homes[d] = o.Path
					order = append(order, d)
				}
				break
			}
		}
	}
	if h, ok := c.Getenv("JAVA_HOME"); ok && h != "" && len(order) > 0 {
		if _, dup := homes[h]; !dup {
			homes[h] = objs[0].Path
			order = append(order, h)
		}
	}
	for _, h := range order {
		if _, err := keepTree(c, h, because(r.Name(), homes[h], "Java runtime"), elf); err != nil {
			return err
		}
	}
	return keepAppTrees(c, r.Name(), elf, ".jar", ".class", ".war")
}

// Perl keeps the @INC trees of a kept perl (perl, perl5.X.Y or libperl), as
// whole directories so no version is hard-coded: /etc/perl,
// /usr/local/lib/<triplet>/perl, /usr/local/share/perl,
// /usr/lib/<triplet>/perl5, /usr/share/perl5, /usr/lib/<triplet>/perl-base,
// /usr/lib/<triplet>/perl, /usr/share/perl, <prefix>/lib/perl5 (the official
// image's /usr/local/lib/perl5), PERL5LIB and PERLLIB. XS modules' .so come
// with their libraries.
type Perl struct{}

// Name implements Rule.
func (Perl) Name() string { return "perl" }

var rePerlObj = regexp.MustCompile(`^(perl(\d+\.\d+\.\d+)?|libperl\.so.*)$`)

// Apply implements Rule.
func (r Perl) Apply(c Keeper) error {
	objs := matching(c, rePerlObj)
	if len(objs) == 0 {
		return nil
	}
	v := c.View()
	why := because(r.Name(), objs[0].Path, "Perl @INC")
	dirs := []string{"/etc/perl", "/usr/local/share/perl", "/usr/share/perl5", "/usr/share/perl"}
	for _, t := range triplets(v) {
		dirs = append(dirs, "/usr/local/lib/"+t+"/perl", "/usr/lib/"+t+"/perl5", "/usr/lib/"+t+"/perl-base", "/usr/lib/"+t+"/perl")
	}
	for _, o := range objs {
		dirs = append(dirs, path.Dir(path.Dir(o.Path))+"/lib/perl5")
	}
	dirs = append(dirs, envList(c, "PERL5LIB")...)
	dirs = append(dirs, envList(c, "PERLLIB")...)
	if err := keepTrees(c, why, treeOpts{elf: true}, dirs...); err != nil {
		return err
	}
	return keepAppTrees(c, r.Name(), treeOpts{elf: true}, ".pl", ".pm")
}
