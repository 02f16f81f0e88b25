package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/testimages"
)

// Acceptance tests of issue 7, "pare on software it has never seen": every
// fixture, old and new, is pared without flags and must behave like the
// original under `pare verify` with probes that exercise it; where static
// mode cannot know what the probes need, the fixture says why and is traced
// with its probe flags only. Batch fixtures are also traced with no flags at
// all. And verify must tell a pared server that lost its config file or its
// state directory from the original, naming the probe.
//
// Every test prints one line per result,
//
//	GENERALITY <fixture> <mode> <pass|fail> pared=<bytes> <cause>
//
// for the closing table of the issue.

// genFixture is one fixture of the generality table.
type genFixture struct {
	name string
	// classes are the classes of software the fixture covers.
	classes string
	// probes are the pare verify flags that exercise a server; batch
	// fixtures get --run-to-exit instead.
	probes []string
	// batch marks a fixture whose command runs to completion.
	batch bool
	// runs are more argument sets of a batch image (`--run ARGS`, the CMD
	// of a run, the image's Entrypoint kept) that run the same program as
	// the image's own command: static mode can know what they need.
	runs []string
	// traceRuns are argument sets that run other programs of the image;
	// why says why static mode cannot know them, and then the fixture is
	// also traced with its probe flags (runs and traceRuns) only.
	traceRuns []string
	why       string
}

// probeScript returns the --probe-script flag running testdata/probes/NAME
// with args.
func probeScript(name string, args ...string) string {
	p, err := filepath.Abs(filepath.Join("testdata", "probes", name))
	if err != nil {
		panic(err)
	}
	return "--probe-script=" + strings.Join(append([]string{p}, args...), " ")
}

// genFixtures is the generality table: the fixtures that were there before
// issue 7 first, then the new ones (testdata/images/README.md).
var genFixtures = []genFixture{
	{name: "layers", batch: true, classes: "layers, whiteouts, WORKDIR files"},
	{name: "gocgo", batch: true, classes: "NSS, zoneinfo, CA pool"},
	{name: "cplugin", batch: true, classes: "RUNPATH, dlopen path in config"},
	{name: "cmusl", batch: true, classes: "musl loader path file"},
	{name: "sqlite", batch: true, classes: "application data file"},
	{name: "bashscript", batch: true, classes: "shell script commands"},
	{name: "nginx", classes: "config, www-data", probes: []string{
		"--http-probe=/healthz:8080", "--http-probe=/:8080", "--http-probe=/large.txt:8080"}},
	{name: "gostatic", classes: "static binary", probes: []string{
		"--http-probe=/:8081", "--http-probe=/sha256?s=pare:8081"}},
	{name: "python", classes: "interpreter tree", probes: []string{"--http-probe=/:8082"}},
	{name: "ruby", classes: "interpreter tree", probes: []string{"--http-probe=/:8083"}},
	{name: "node", classes: "interpreter", probes: []string{"--http-probe=/:8084"}},
	{name: "java", classes: "JVM", probes: []string{"--http-probe=/:8085"}},
	{name: "postgres", classes: "state dir, locale in config", probes: []string{
		"--tcp-probe=5432", probeScript("postgres.sh", "5432")}},
	{name: "redis", classes: "server user", probes: []string{
		"--tcp-probe=6379", probeScript("redis.sh", "6379")}},

	// New fixtures of issue 7.
	{name: "mini-httpd", classes: "application files: static files relative to the WORKDIR", probes: []string{
		"--http-probe=/:8090", "--http-probe=/style.css:8090", "--http-probe=/docs/about.txt:8090",
		"--http-probe=/nosuch:8090=404"}},
	{name: "lighttpd", classes: "config as argument naming a log dir; plugins by compiled-in path; TLS material beside the site", probes: []string{
		"--http-probe=/:8093", "--http-probe=/hello.txt:8093", "--tcp-probe=8453", probeScript("https.sh", "8453", "/hello.txt")}},
	{name: "haproxy", classes: "server user in supplementary group ssl-cert reading a key; config as argument", probes: []string{
		"--http-probe=/:8095", "--http-probe=/nosuch:8095=404", "--tcp-probe=8445", probeScript("https.sh", "8445", "/")}},
	{name: "apache2", classes: "a server no rule names: modules by LoadModule lines, relative Include lines against the ServerRoot, run/lock/log dirs named by the Env, the default site", probes: []string{
		"--http-probe=/:8098", "--http-probe=/hello.txt:8098", "--http-probe=/large.txt:8098", "--http-probe=/nosuch:8098=404"}},
	{name: "tor", classes: "config as argument naming a state dir (owner and mode checked) and a log dir", probes: []string{
		"--tcp-probe=9061", probeScript("tor-control.sh", "9061")}},
	{name: "memcached", classes: "docker-entrypoint.sh: exec gosu USER \"$@\", CMD program through PATH, $(id -u)", probes: []string{
		"--tcp-probe=11311", probeScript("memcached.sh", "11311")}},
	{name: "npm", classes: "language-installed dependencies: node_modules by npm; relative script", probes: []string{
		"--http-probe=/:8097", "--http-probe=/nosuch:8097=404",
		// Like docker exec: in the WorkingDir, as the image's user.
		`--exec=["node","-e","require('mustache'); console.log(process.cwd(), process.getuid())"]`}},
	{name: "venv", classes: "language-installed dependencies: virtualenv site-packages by pip; python through PATH; data file relative to the WORKDIR", probes: []string{
		"--http-probe=/:8096",
		// Like docker exec: python through the image's PATH, in the WorkingDir, as its user.
		`--exec=["python","-c","import bottle, os; print(bottle.__version__, os.getcwd(), os.getuid(), open('data/counts.txt').read().split())"]`}},
	{name: "git", batch: true, classes: "libexec helpers (/usr/lib/git-core); batch with several argument sets and relative paths", runs: []string{
		"clone --quiet demo.git /tmp/demo",
		"archive --format=tar --remote=demo.git HEAD",
		"-C demo.git log --format=%s",
	}},
	{name: "imagemagick", batch: true, classes: "plugins and config by compiled-in paths (coders, delegates.xml, policy.xml); alternatives link; batch with several argument sets and relative paths", runs: []string{
		"input.png -negate -format %k info:",
		"rose: -resize 50% -format %wx%h info:",
		"input.png gif:-",
	}},
	{name: "ghostscript", batch: true, classes: "data by compiled-in paths (Resource, fonts of data-only packages); batch with several argument sets and relative paths", runs: []string{
		"-sDEVICE=png16m -r36 -sOutputFile=- hello.ps",
		"-dNODISPLAY calc.ps",
		"-sDEVICE=bbox hello.ps",
	}},
	{name: "poppler", batch: true, classes: "batch with several argument sets and relative paths; other programs of the package as CMD",
		runs:      []string{"pdftotext -raw report.pdf -"},
		traceRuns: []string{"pdfinfo report.pdf", "pdffonts report.pdf"},
		why: "pdfinfo and pdffonts are other programs of poppler-utils that only the runs' CMD names: " +
			"static mode computes the closure of the image's own Entrypoint+Cmd, and a package's other executables are not its runtime payload"},
	{name: "tcl", batch: true, classes: "script reading a data file and sourcing a library beside it; init.tcl, clock, encodings by compiled-in paths"},
	{name: "erlang", batch: true, classes: "a language runtime added as one data entry (Erlang/OTP: erl launcher script, code path, ERL_LIBS); application modules relative to the WORKDIR; batch with several argument sets", runs: []string{
		"-extra 2 5 7",
	}},
	{name: "perl", batch: true, classes: "locale named in a config file (de_DE.UTF-8); script reading a data file beside it"},
}

// genResult is pare verify's JSON output, as far as the tests read it.
type genResult struct {
	Original    []probe.Result     `json:"original"`
	Pared       []probe.Result     `json:"pared"`
	Differences []probe.Difference `json:"differences"`
	Same        bool               `json:"same"`
}

// verifyFlags returns the pare verify flags of f with the argument sets runs.
func (f genFixture) verifyFlags(runs []string) []string {
	flags := slices.Clone(f.probes)
	if f.batch {
		flags = append(flags, "--run-to-exit")
	}
	for _, r := range runs {
		flags = append(flags, "--run", r)
	}
	return flags
}

// genFixtureNames returns the names of the generality table, batch ones
// only if batchOnly.
func genFixtureNames(batchOnly bool) []string {
	var names []string
	for _, f := range genFixtures {
		if f.batch || !batchOnly {
			names = append(names, f.name)
		}
	}
	return names
}

// lockPorts takes the host-wide locks on the ports of fixture name, so that
// tests of other packages do not start servers on them meanwhile.
func lockPorts(t *testing.T, name string) {
	t.Helper()
	for _, p := range testimages.AllPorts(name) {
		testimages.LockPort(t, p)
	}
}

// genBuild runs pare build ORIG pare-e2e/NAME:VARIANT FLAGS... (once per
// process) and returns the pared tag; it fails the test if the build fails.
func genBuild(t *testing.T, name, variant string, flags ...string) string {
	t.Helper()
	orig := testimages.Image(name)
	tag := testimages.TagPrefix + "pare-e2e/" + name + ":" + variant
	mu.Lock()
	_, ok := cache[tag]
	mu.Unlock()
	if ok {
		return tag
	}
	mu.Lock()
	created = append(created, tag)
	mu.Unlock()
	args := append([]string{"build", "docker-daemon:" + orig, "docker-daemon:" + tag}, flags...)
	_, errOut, code := pare(t, args...)
	if code != 0 {
		genLine(t, name, variant, "fail", "", "pare build failed: "+firstLines(errOut, 3))
		t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	mu.Lock()
	cache[tag] = &pared{name: name, orig: orig, tag: tag, flags: flags}
	mu.Unlock()
	return tag
}

// genVerify runs pare verify ORIG PARED FLAGS... --output json and returns
// its exit code and result (zero if it printed none) and standard error.
func genVerify(t *testing.T, orig, pared string, flags []string) (int, genResult, string) {
	t.Helper()
	args := append([]string{"verify", "docker-daemon:" + orig, "docker-daemon:" + pared, "--output", "json"}, flags...)
	out, errOut, code := pare(t, args...)
	var r genResult
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("pare %s: exit %d, output not JSON: %v\n%s\n%s", strings.Join(args, " "), code, err, out, errOut)
		}
	}
	return code, r, errOut
}

// checkOriginalOK fails the test unless every probe succeeded on the
// original: a comparison of two failures proves nothing.
func checkOriginalOK(t *testing.T, r genResult) bool {
	t.Helper()
	if len(r.Original) == 0 {
		t.Errorf("verify ran no probes on the original")
		return false
	}
	ok := true
	for _, o := range r.Original {
		if !o.OK {
			t.Errorf("probe %s failed on the original (the fixture or the probe is broken): %s; stderr %q", o.Name, o.Err, o.StderrHead)
			ok = false
		}
	}
	return ok
}

// genPass builds fixture f in variant with buildFlags and expects pare
// verify with verifyFlags to exit 0, every probe fine on the original.
func genPass(t *testing.T, f genFixture, variant string, buildFlags, verifyFlags []string) {
	t.Helper()
	lockPorts(t, f.name)
	tag := genBuild(t, f.name, variant, buildFlags...)
	code, r, errOut := genVerify(t, testimages.Image(f.name), tag, verifyFlags)
	size := fmt.Sprint(inspect(t, tag).Size)
	switch {
	case code != 0 && len(r.Original) == 0:
		genLine(t, f.name, variant, "fail", size, "pare verify failed: "+firstLines(errOut, 3))
		t.Fatalf("pare verify %s: exit %d\n%s", strings.Join(verifyFlags, " "), code, errOut)
	case !checkOriginalOK(t, r):
		genLine(t, f.name, variant, "fail", size, "probes fail on the original")
	case code != 0 || !r.Same:
		genLine(t, f.name, variant, "fail", size, describeDiffs(r))
		t.Errorf("pare verify: exit %d, the pared image behaves differently:\n%s", code, describeDiffs(r))
	default:
		genLine(t, f.name, variant, "pass", size, "")
	}
}

// describeDiffs lists the differences of r with what the pared image said.
func describeDiffs(r genResult) string {
	var b strings.Builder
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "%s; ", d)
	}
	for _, p := range r.Pared {
		if !p.OK {
			fmt.Fprintf(&b, "pared %s: %s, stderr %q; ", p.Name, p.Err, firstLines(p.StderrHead, 4))
		}
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

// genLine prints one result line for the closing table of issue 7.
func genLine(t *testing.T, name, mode, result, size, cause string) {
	t.Helper()
	line := fmt.Sprintf("GENERALITY %s %s %s pared=%s %s", name, mode, result, size, cause)
	t.Log(line)
	fmt.Println(line)
}

// TestGeneralityStatic: `pare build` with no flags, for every fixture, then
// pare verify under the fixture's probes (servers) or its runs (batch). For
// a fixture whose probes static mode cannot know (why), `pare build --trace`
// with the probe flags only must pass instead, and the static build is
// verified on what it can know.
func TestGeneralityStatic(t *testing.T) {
	testimages.RequireAll(t, genFixtureNames(false)...)
	for _, f := range genFixtures {
		t.Run(f.name, func(t *testing.T) {
			genPass(t, f, "gen-static", nil, f.verifyFlags(f.runs))
		})
	}
}

// TestGeneralityTracedWhereStaticCannotKnow: the fixtures that say why
// static mode cannot know what their probes need are traced with their
// probe flags only (the runs included) and must pass verify under all of them.
func TestGeneralityTracedWhereStaticCannotKnow(t *testing.T) {
	for _, f := range genFixtures {
		if f.why == "" {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			testimages.Require(t, f.name)
			t.Logf("static cannot know: %s", f.why)
			flags := f.verifyFlags(append(slices.Clone(f.runs), f.traceRuns...))
			genPass(t, f, "gen-traced-probes", append([]string{"--trace"}, flags...), flags)
		})
	}
}

// TestGeneralityTraceNoFlags: `pare build --trace` with no flags at all on
// every batch fixture (the trace must run the command to completion by
// itself) passes verify of that command. A batch image used with more
// argument sets is traced with each of them (--run, the output's CMD
// unchanged) and must pass verify of the command and of every run: a trace
// keeps what the runs it saw used, so the runs are part of the trace.
func TestGeneralityTraceNoFlags(t *testing.T) {
	testimages.RequireAll(t, genFixtureNames(true)...)
	for _, f := range genFixtures {
		if !f.batch {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			genPass(t, f, "gen-traced", []string{"--trace"}, f.verifyFlags(nil))
			if len(f.runs) > 0 {
				var runs []string
				for _, r := range f.runs {
					runs = append(runs, "--run", r)
				}
				genPass(t, f, "gen-traced-runs", append([]string{"--trace"}, runs...), f.verifyFlags(f.runs))
			}
		})
	}
}

// TestGeneralityVerifyCatchesBrokenServers: a pared server built without its
// config file, or without its state directory, behaves differently, and
// pare verify says so: exit 1, a difference naming a probe that passed on
// the original. The static build without --exclude must pass verify first,
// so that the difference is the excluded path's.
func TestGeneralityVerifyCatchesBrokenServers(t *testing.T) {
	tests := []struct {
		fixture string
		variant string
		exclude []string // --exclude globs
		gone    string   // a path the pared image must not hold
	}{
		{"lighttpd", "gen-no-config", []string{"/etc/lighttpd/lighttpd.conf"}, "/etc/lighttpd/lighttpd.conf"},
		{"lighttpd", "gen-no-state", []string{"/var/log/lighttpd", "/var/log/lighttpd/**"}, "/var/log/lighttpd"},
		{"tor", "gen-no-config", []string{"/etc/tor/torrc"}, "/etc/tor/torrc"},
		// Not /var/lib/tor: it is debian-tor's home, which pare writes itself.
		{"tor", "gen-no-state", []string{"/var/log/tor", "/var/log/tor/**"}, "/var/log/tor"},
		{"haproxy", "gen-no-config", []string{"/etc/haproxy/haproxy.cfg"}, "/etc/haproxy/haproxy.cfg"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.variant, func(t *testing.T) {
			i := slices.IndexFunc(genFixtures, func(f genFixture) bool { return f.name == tt.fixture })
			f := genFixtures[i]
			testimages.Require(t, f.name)
			lockPorts(t, f.name)
			// The baseline: the same build without --exclude passes verify;
			// else a failing verify below would prove nothing about verify.
			base := genBuild(t, f.name, "gen-static")
			baseline := "baseline passes"
			if code, r, _ := genVerify(t, testimages.Image(f.name), base, f.verifyFlags(nil)); code != 0 || !r.Same {
				baseline = "baseline FAILS"
				t.Errorf("baseline %s fails pare verify (exit %d): a difference without %s proves nothing", base, code, tt.gone)
			}
			var flags []string
			for _, g := range tt.exclude {
				flags = append(flags, "--exclude", g)
			}
			tag := genBuild(t, f.name, tt.variant, flags...)
			if _, ok := listing(t, "docker-daemon:"+tag)[tt.gone]; ok {
				t.Fatalf("%s still holds %s despite --exclude %v", tag, tt.gone, tt.exclude)
			}
			code, r, errOut := genVerify(t, testimages.Image(f.name), tag, f.verifyFlags(nil))
			size := fmt.Sprint(inspect(t, tag).Size)
			if !checkOriginalOK(t, r) {
				genLine(t, f.name, tt.variant, "fail", size, "probes fail on the original: "+firstLines(errOut, 3))
				return
			}
			named := false
			for _, d := range r.Differences {
				for _, o := range r.Original {
					if d.Name == o.Name && o.OK {
						named = true
					}
				}
			}
			if code != 1 || r.Same || !named {
				genLine(t, f.name, tt.variant, "fail", size, fmt.Sprintf("%s; verify exit %d, same=%v, differences %v", baseline, code, r.Same, r.Differences))
				t.Errorf("pare verify of %s without %s: exit %d (want 1), same=%v, differences %v (want one naming a probe)",
					f.name, tt.gone, code, r.Same, r.Differences)
				return
			}
			result := "pass"
			if t.Failed() {
				result = "fail"
			}
			genLine(t, f.name, tt.variant, result, size, baseline+"; verify exit 1: "+firstLines(describeDiffs(r), 1))
		})
	}
}
