package knowledge

import "regexp"

// Runtimes are the language runtimes pare knows, in a stable order.
// Adding one is one entry here (or in a file of its own) and one folder of
// golden tests under testdata/golden. Servers have no entries: what a
// server needs is derived from its package, its binary and its
// configuration (internal/keep); the one part that cannot be derived is
// data in OptionalPlugins.
var Runtimes = []*Runtime{Python, Ruby, Node, Java, Perl, Erlang, R, Tcl}

// Python is CPython (python3.X, or libpython3.X embedded). Its standard
// library <prefix>/lib/python3.X (with lib-dynload) is found like CPython
// does, from the executable's real path upwards to lib/python3.X/os.py, or
// from PYTHONHOME; with it the zip, Debian's <prefix>/lib/python3/dist-packages,
// PYTHONPATH, pip's site directories, virtual environments (a pyvenv.cfg
// above the interpreter, a PATH entry or VIRTUAL_ENV) and the application's
// own directory. ELF modules (lib-dynload/_ssl*.so, numpy's .so) come with
// their libraries.
var Python = &Runtime{
	ID:       "python",
	What:     "Python {version} modules",
	Programs: regexp.MustCompile(`^(python\d+\.\d+[a-z]*|libpython\d+\.\d+[a-z]*\.so.*)$`),
	Version:  regexp.MustCompile(`python(\d+\.\d+)[a-z]*(\.so[.0-9]*)?$`),
	Prefix:   Prefix{Env: "PYTHONHOME", Landmarks: []string{"lib/python{version}/os.py"}, Default: "/usr"},
	Trees:    []string{"{prefix}/lib/python{version}", "{prefix}/lib/python3/dist-packages"},
	Files:    []string{"{prefix}/lib/python{version_nodot}.zip"},
	Env:      []EnvPath{{Name: "PYTHONPATH"}},
	Deps: []Dep{
		{Path: "{prefix}/lib/python{version}/site-packages", Resolved: true},
		{Path: "/usr/local/lib/python{version}/dist-packages", Resolved: true},
		{Path: "/usr/local/lib/python{version}/site-packages", Resolved: true},
		{Path: "{env:PYTHONUSERBASE}/lib/python{version}/site-packages", Resolved: true},
		{Path: "/root/.local/lib/python{version}/site-packages", Resolved: true},
		{Marker: "pyvenv.cfg", MarkerEnv: "VIRTUAL_ENV", Resolved: true, Searched: "lib/python{version}/site-packages"},
	},
	Imports: &ImportGraph{
		Lang: "python",
		// What the interpreter imports before site runs a line of Python
		// (python -X importtime -c pass: encodings and the codec of the
		// UTF-8 stdio, io and abc, site), and the _sysconfigdata module
		// sysconfig imports under a computed name. What they import is
		// parsed: site brings sitecustomize, usercustomize. os is also the
		// landmark by which the interpreter finds its prefix.
		Startup: []string{"encodings", "encodings.utf_8", "io", "abc", "os", "site", "_sysconfigdata_*"},
		Path: []string{"{prefix}/lib/python{version_nodot}.zip", "{prefix}/lib/python{version}",
			"{prefix}/lib/python{version}/lib-dynload"},
		// site.getsitepackages, Debian's and upstream's, and the user site.
		Sites: []string{"/usr/local/lib/python{version}/dist-packages", "{prefix}/lib/python3/dist-packages",
			"{prefix}/lib/python{version}/dist-packages", "{prefix}/lib/python{version}/site-packages",
			"/usr/local/lib/python{version}/site-packages",
			"{env:PYTHONUSERBASE}/lib/python{version}/site-packages", "/root/.local/lib/python{version}/site-packages"},
		Quiet:   []string{"{prefix}/lib/python{version}"},
		Sources: regexp.MustCompile(`\.py$`),
	},
	AppFiles:         []string{".py", ".pyc", ".pth"},
	Uses:             []Capability{VerifiesTLS, MediaTypes, CoercesCLocale},
	TraceReplaceable: true,
}

// Ruby is ruby, ruby3.X or libruby: <prefix>/lib/ruby (rubylibdir, vendor
// and site dirs, gems of every version), the multiarch archdirs
// /usr/lib/<triplet>/ruby, /usr/share/rubygems-integration, gem install's
// /var/lib/gems, GEM_HOME, GEM_PATH, RUBYLIB, BUNDLE_PATH and
// BUNDLE_APP_CONFIG, Bundler's vendor/bundle (or the BUNDLE_PATH of the
// application's .bundle/config), a lib/ beside the script, and the
// application's own directory. ELF extensions come with their libraries.
var Ruby = &Runtime{
	ID:       "ruby",
	What:     "Ruby libraries and gems",
	Programs: regexp.MustCompile(`^(ruby(\d+\.\d+)?|libruby(-\d+\.\d+)?\.so.*)$`),
	Prefix:   Prefix{Landmarks: []string{"lib/ruby"}},
	Trees: []string{"{prefix}/lib/ruby", "/usr/lib/ruby", "/usr/local/lib/ruby", "/usr/share/rubygems-integration",
		"/usr/lib/{triplet}/ruby"},
	Env: []EnvPath{{Name: "GEM_HOME"}, {Name: "GEM_PATH"}, {Name: "RUBYLIB"}, {Name: "BUNDLE_PATH"}, {Name: "BUNDLE_APP_CONFIG"}},
	Deps: []Dep{
		{Path: "/var/lib/gems", Resolved: true},
		{Path: "/usr/local/lib/site_ruby", Resolved: true},
		{Beside: "vendor/bundle"},
		{ConfigFile: ".bundle/config", ConfigKey: "BUNDLE_PATH"},
		{Beside: "lib"},
	},
	AppFiles: []string{".rb", "Gemfile", "Gemfile.lock", ".gemspec", ".ru"},
	Imports: &ImportGraph{
		Lang: "ruby",
		// gem_prelude's requires, the encoding databases ruby loads at
		// start-up, and the encodings of enc/ (Encoding loads them by
		// computed names); the transcoders of enc/trans are left to a
		// trace (see the note the rule gives).
		Startup: []string{"rubygems", "did_you_mean", "error_highlight", "syntax_suggest",
			"enc/encdb", "enc/trans/transdb", "enc/*"},
		// $LOAD_PATH: site, vendor, rubylibdir and archdir, Debian's and
		// upstream's layouts ({prefix}/lib/ruby/3.1.0/x86_64-linux).
		Path: []string{"/usr/local/lib/site_ruby/[0-9]*", "/usr/local/lib/{triplet}/site_ruby", "/usr/local/lib/site_ruby",
			"{prefix}/lib/ruby/site_ruby/[0-9]*", "{prefix}/lib/ruby/site_ruby/[0-9]*/*-linux*", "{prefix}/lib/ruby/site_ruby",
			"{prefix}/lib/ruby/vendor_ruby/[0-9]*", "{prefix}/lib/{triplet}/ruby/vendor_ruby/[0-9]*", "{prefix}/lib/ruby/vendor_ruby",
			"{prefix}/lib/ruby/[0-9]*", "{prefix}/lib/{triplet}/ruby/[0-9]*", "{prefix}/lib/ruby/[0-9]*/*-linux*"},
		// RubyGems' specification directories (Gem.path).
		Sites: []string{"{env:GEM_HOME}/specifications", "{env:GEM_PATH}/specifications",
			"/var/lib/gems/*/specifications", "/usr/local/lib/ruby/gems/*/specifications",
			"{prefix}/lib/ruby/gems/*/specifications", "{prefix}/lib/ruby/gems/*/specifications/default",
			"/usr/lib/{triplet}/ruby/gems/*/specifications", "/usr/share/rubygems-integration/*/specifications",
			"/usr/lib/{triplet}/rubygems-integration/*/specifications"},
		Quiet:   []string{"{prefix}/lib/ruby/[0-9]*", "{prefix}/lib/{triplet}/ruby/[0-9]*"},
		Sources: regexp.MustCompile(`\.rb$`),
		Note: "the transcoders of enc/trans are not kept (String#encode between two non-Unicode charsets loads one by a computed name): " +
			"--trace keeps those a run uses, --keep-interpreter-trees all",
	},
	Uses:             []Capability{VerifiesTLS},
	TraceReplaceable: true,
}

// Node is Node.js (node, nodejs or libnode): Debian's module dirs
// /usr/share/nodejs, /usr/lib/nodejs and /usr/lib/<triplet>/nodejs,
// NODE_PATH, every node_modules directory in or above the application's
// directories, the whole package directory of a kept file inside a global
// node_modules, and the application's own directory. Native addons (*.node)
// come with their libraries.
var Node = &Runtime{
	ID:       "node",
	What:     "Node.js modules",
	Programs: regexp.MustCompile(`^(node|nodejs|libnode\.so.*)$`),
	Trees:    []string{"/usr/share/nodejs", "/usr/lib/nodejs", "/usr/lib/{triplet}/nodejs"},
	Env:      []EnvPath{{Name: "NODE_PATH"}},
	Packages: []string{
		"/usr/local/lib/node_modules/[^@]*", "/usr/local/lib/node_modules/@*/*",
		"/usr/lib/node_modules/[^@]*", "/usr/lib/node_modules/@*/*", "/opt/yarn*",
	},
	Deps:     []Dep{{Beside: "node_modules", Resolved: true, Bin: ".bin"}},
	AppFiles: []string{".js", ".mjs", ".cjs", "package.json"},
	Imports: &ImportGraph{
		Lang: "node",
		// The global folders (after NODE_PATH): Debian's module dirs.
		// Node's own library is in the binary: nothing at start-up.
		Path:    []string{"/usr/share/nodejs", "/usr/lib/nodejs", "/usr/lib/{triplet}/nodejs"},
		Sources: regexp.MustCompile(`\.(js|mjs|cjs)$`),
	},
	Uses:             []Capability{VerifiesTLS},
	TraceReplaceable: true,
}

// Java is a JVM (bin/java, libjvm.so, libjli.so): its home is the nearest
// directory above it holding release, lib/modules or lib/rt.jar (so
// /usr/lib/jvm/java-17-openjdk-amd64 from the real path), kept whole with
// every link followed (conf/ into /etc/java-17-openjdk, lib/security/cacerts
// into /etc/ssl/certs/java), JAVA_HOME, and the application's own directory.
// Its lib/modules is cut to the modules the application needs (see
// javaCut; --keep-jimage keeps it whole).
var Java = &Runtime{
	ID:               "java",
	What:             "Java runtime",
	Programs:         regexp.MustCompile(`^(libjvm\.so|java|libjli\.so)$`),
	Prefix:           Prefix{Landmarks: []string{"release", "lib/modules", "lib/rt.jar"}, Extra: "JAVA_HOME"},
	Trees:            []string{"{prefix}"},
	AppFiles:         []string{".jar", ".class", ".war"},
	Uses:             []Capability{VerifiesTLS},
	TraceReplaceable: true,
	Jimage:           true,
}

// Perl is perl, perl5.X.Y or libperl. With its import graph (the default)
// the modules reachable from the scripts are kept (see ImportGraph);
// without it the @INC trees as whole directories, so no version is
// hard-coded (/etc/perl, /usr/local/lib/<triplet>/perl,
// /usr/local/share/perl, /usr/lib/<triplet>/perl5, /usr/share/perl5,
// /usr/lib/<triplet>/perl-base, /usr/lib/<triplet>/perl, /usr/share/perl,
// <prefix>/lib/perl5 of the official image), PERL5LIB, PERLLIB, Carton's
// local/lib/perl5 and a lib/ beside the script. XS modules come with their
// libraries.
var Perl = &Runtime{
	ID:       "perl",
	What:     "Perl @INC",
	Programs: regexp.MustCompile(`^(perl(\d+\.\d+\.\d+)?|libperl\.so.*)$`),
	Prefix:   Prefix{Landmarks: []string{"lib/perl5"}},
	Trees: []string{"/etc/perl", "/usr/local/share/perl", "/usr/share/perl5", "/usr/share/perl",
		"/usr/local/lib/{triplet}/perl", "/usr/lib/{triplet}/perl5", "/usr/lib/{triplet}/perl-base", "/usr/lib/{triplet}/perl",
		"{prefix}/lib/perl5"},
	Env:      []EnvPath{{Name: "PERL5LIB"}, {Name: "PERLLIB"}},
	Deps:     []Dep{{Beside: "local/lib/perl5"}, {Beside: "lib"}},
	AppFiles: []string{".pl", ".pm"},
	Imports: &ImportGraph{
		Lang: "perl",
		// perl loads no module before the script; sitecustomize.pl runs
		// when perl was built with it and the file exists.
		Startup: []string{"sitecustomize.pl"},
		// @INC: Debian's order (/etc/perl, site, vendor, perl-base, core,
		// site_perl), then upstream's ({prefix}/lib/perl5 of the official
		// image); Config.pm's directories are added when it is found.
		Path: []string{"/etc/perl", "/usr/local/lib/{triplet}/perl/[0-9]*", "/usr/local/share/perl/[0-9]*",
			"/usr/lib/{triplet}/perl5/[0-9]*", "/usr/share/perl5", "/usr/lib/{triplet}/perl-base",
			"/usr/lib/{triplet}/perl/[0-9]*", "/usr/share/perl/[0-9]*", "/usr/local/lib/site_perl",
			"{prefix}/lib/perl5/site_perl/[0-9]*/*-linux*", "{prefix}/lib/perl5/site_perl/[0-9]*",
			"{prefix}/lib/perl5/vendor_perl/[0-9]*/*-linux*", "{prefix}/lib/perl5/vendor_perl/[0-9]*",
			"{prefix}/lib/perl5/[0-9]*/*-linux*", "{prefix}/lib/perl5/[0-9]*"},
		// perl's own library (its dynamic requires are its machinery);
		// vendor and site modules are not quiet.
		Quiet: []string{"/usr/lib/{triplet}/perl-base", "/usr/lib/{triplet}/perl/[0-9]*", "/usr/share/perl/[0-9]*",
			"{prefix}/lib/perl5/[0-9]*"},
		Sources: regexp.MustCompile(`\.(pl|pm)$`),
	},
	TraceReplaceable: true,
}
