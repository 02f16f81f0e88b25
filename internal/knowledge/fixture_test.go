package knowledge_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// fixture exports the real fixture image name (Debian bookworm with real
// packages) into a temporary directory and returns a view of it.
func fixture(t *testing.T, name string) *rootfs.View {
	t.Helper()
	img := testimages.Require(t, name)
	id := strings.TrimSpace(testimages.Docker(t, "create", "--network", "none", img))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	dir := t.TempDir()
	export := exec.Command("docker", "export", id)
	extract := exec.Command("tar", "-x", "--no-same-owner", "--exclude=dev/*", "-C", dir)
	pipe, err := export.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	extract.Stdin = pipe
	var exportErr, extractErr strings.Builder
	export.Stderr, extract.Stderr = &exportErr, &extractErr
	if err := export.Start(); err != nil {
		t.Fatal(err)
	}
	if err := extract.Run(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", img, err, extractErr.String())
	}
	if err := export.Wait(); err != nil {
		t.Fatalf("docker export %s: %v\n%s", img, err, exportErr.String())
	}
	v, err := rootfs.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// runReal keeps the entrypoint programs (with their ELF closure) and applies
// every default rule.
func runReal(t *testing.T, v *rootfs.View, workdir string, env []string, exes ...string) *knowledgetest.Keeper {
	t.Helper()
	return runWith(t, knowledgetest.New(v, env...), workdir, exes...)
}

// runRealWhole is runReal with interpreter trees kept whole
// (--keep-interpreter-trees).
func runRealWhole(t *testing.T, v *rootfs.View, workdir string, env []string, exes ...string) *knowledgetest.Keeper {
	t.Helper()
	c := knowledgetest.New(v, env...)
	c.Whole = true
	return runWith(t, c, workdir, exes...)
}

func runWith(t *testing.T, c *knowledgetest.Keeper, workdir string, exes ...string) *knowledgetest.Keeper {
	t.Helper()
	c.WorkDir = workdir
	for _, e := range exes {
		ok, err := c.AddExecutable(e, keptset.Reason{Kind: keptset.KindEntrypoint})
		if err != nil || !ok {
			t.Fatalf("AddExecutable(%s) = %v, %v", e, ok, err)
		}
	}
	start := time.Now()
	if err := c.Run(knowledge.Default()...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d paths kept in %v; warnings: %q", len(c.Paths()), time.Since(start), c.Warnings)
	return c
}

const bookwormPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func TestPythonFixture(t *testing.T) {
	t.Parallel()
	v := fixture(t, "python")
	c := runReal(t, v, "/app", []string{bookwormPath, "PYTHONDONTWRITEBYTECODE=1"}, "/usr/bin/python3", "/app/app.py")
	wantKept(t, c,
		"/usr/lib/python3.11/os.py", "/usr/lib/python3.11/encodings/utf_8.py",
		"/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
		lib+"/libssl.so.3", lib+"/libcrypto.so.3", // via _ssl's DT_NEEDED
		lib+"/ossl-modules/legacy.so", lib+"/engines-3/afalg.so",
		"/usr/lib/python3/dist-packages/flask/__init__.py", "/usr/lib/python3/dist-packages/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so",
		"/usr/lib/locale/C.utf8/LC_CTYPE", "/etc/nsswitch.conf", "/etc/os-release", "/usr/lib/os-release",
		"/usr/share/zoneinfo/Etc/UTC", lib+"/libgcc_s.so.1", "/app/app.py",
	)
	wantDropped(t, c, "/usr/bin/perl", "/usr/lib/x86_64-linux-gnu/perl-base", "/usr/share/perl5", "/usr/lib/jvm")
	if r := c.Reasons(lib + "/libssl.so.3"); len(r) == 0 || !strings.Contains(r[0].From, "lib-dynload") {
		t.Errorf("libssl kept for %+v, want DT_NEEDED of a lib-dynload module", r)
	}

	// the packages that still own kept files
	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	remaining := map[string]pkgdb.Usage{}
	for _, u := range pkgdb.Remaining(db.Usage(v, c.Kept)) {
		remaining[u.Name] = u
	}
	for _, n := range []string{"python3.11-minimal", "libpython3.11-stdlib", "python3-flask", "libssl3", "libc6", "tzdata", "base-files"} {
		if _, ok := remaining[n]; !ok {
			t.Errorf("package %s not among the remaining ones", n)
		}
	}
	for _, n := range []string{"apt", "perl-base", "dpkg", "bash"} {
		if u, ok := remaining[n]; ok {
			t.Errorf("package %s remains: %d of %d files kept: %v", n, u.KeptFiles, u.TotalFiles, u.Kept)
		}
	}
}

func TestJavaFixture(t *testing.T) {
	t.Parallel()
	v := fixture(t, "java")
	c := runReal(t, v, "/app", []string{bookwormPath}, "/usr/bin/java")
	home := "/usr/lib/jvm/java-17-openjdk-amd64"
	wantKept(t, c,
		home+"/bin/java", home+"/lib/server/libjvm.so", home+"/lib/libjava.so", home+"/lib/libnet.so", home+"/lib/modules",
		home+"/lib/tzdb.dat", home+"/release", home+"/conf/security/java.security",
		"/etc/java-17-openjdk/security/java.security", // conf/ links into /etc
		home+"/lib/security/cacerts", "/etc/ssl/certs/java/cacerts",
		lib+"/libstdc++.so.6", lib+"/libz.so.1", "/app/App.class",
	)
}

func TestNodeFixture(t *testing.T) {
	t.Parallel()
	v := fixture(t, "node")
	c := runReal(t, v, "/app", []string{bookwormPath}, "/usr/bin/node", "/app/server.js")
	// server.js requires only built-in modules: the import graph keeps
	// nothing of Debian's module directory.
	wantKept(t, c, "/usr/bin/node", "/app/server.js", lib+"/libnode.so.108")
	wantDropped(t, c, "/usr/share/nodejs/acorn/package.json")
	c = runRealWhole(t, v, "/app", []string{bookwormPath}, "/usr/bin/node", "/app/server.js")
	wantKept(t, c, "/usr/share/nodejs/acorn/package.json")
	if !isTree(v, "/usr/share/nodejs") {
		return
	}
	for _, p := range walkSome(t, v, "/usr/share/nodejs", 5) {
		wantKept(t, c, p)
	}
}

func TestRubyFixture(t *testing.T) {
	t.Parallel()
	v := fixture(t, "ruby")
	c := runReal(t, v, "/app", []string{bookwormPath}, "/usr/bin/ruby", "/app/server.rb")
	wantKept(t, c, "/usr/lib/ruby/3.1.0/json/generic_object.rb", "/usr/lib/ruby/3.1.0/delegate.rb",
		"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/socket.so", "/app/server.rb")
	// bundler is required only inside Gem.use_gemdeps, a method of the
	// start-up library rubygems
	wantDropped(t, c, "/usr/lib/ruby/3.1.0/bundler.rb")
	found := false
	for _, p := range c.Paths() {
		if strings.HasSuffix(p, "/webrick.rb") {
			found = true
		}
	}
	if !found {
		t.Error("webrick.rb (ruby-webrick) not kept")
	}
}

func TestGoCGOFixture(t *testing.T) {
	t.Parallel()
	v := fixture(t, "gocgo")
	c := runReal(t, v, "/", []string{bookwormPath}, "/usr/local/bin/gocgo")
	wantKept(t, c, "/etc/nsswitch.conf", "/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime", libc)
	if o, ok := c.Object("/usr/local/bin/gocgo"); !ok || !o.Go || !o.CGO {
		t.Errorf("gocgo object = %+v", o)
	}
}

func isTree(v *rootfs.View, p string) bool {
	e, err := v.Stat(p)
	return err == nil && e.Type == rootfs.TypeDir
}

// walkSome returns up to n regular files below dir.
func walkSome(t *testing.T, v *rootfs.View, dir string, n int) []string {
	t.Helper()
	var out []string
	err := v.Walk(dir, func(e *rootfs.Entry) error {
		if e.Type == rootfs.TypeReg && len(out) < n {
			out = append(out, e.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
