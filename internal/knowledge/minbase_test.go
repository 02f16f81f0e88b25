package knowledge_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// minbaseDir returns the debootstrapped Debian bookworm minbase root that
// scripts/fixtures.sh caches, building it when docker is there.
func minbaseDir(t *testing.T) string {
	t.Helper()
	cache, err := testimages.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "rootfs")
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/x86_64-linux-gnu/libc.so.6")); err != nil {
		testimages.Require(t, "base")
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/x86_64-linux-gnu/libc.so.6")); err != nil {
		t.Skipf("no minbase root at %s", dir)
	}
	return dir
}

// TestMinbase runs every rule on the real bookworm minbase root for iconv
// (libc-bin), which calls iconv_open, with LANG=C.UTF-8.
func TestMinbase(t *testing.T) {
	v, err := rootfs.FromDir(minbaseDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c := runReal(t, v, "/", []string{bookwormPath, "LANG=C.UTF-8"}, "/usr/bin/iconv")
	g := lib + "/gconv"
	wantKept(t, c, g+"/gconv-modules", g+"/gconv-modules.cache", g+"/gconv-modules.d/gconv-modules-extra.conf",
		g+"/UTF-16.so", g+"/EUC-JP.so", g+"/libJIS.so", g+"/ISO8859-1.so",
		"/usr/lib/locale/C.utf8/LC_CTYPE", "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES",
		"/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/host.conf", "/etc/os-release", "/usr/lib/os-release", "/etc/debian_version",
		"/usr/share/zoneinfo/Etc/UTC", "/etc/localtime", lib+"/libgcc_s.so.1", libc, "/lib64", "/usr/lib64/ld-linux-x86-64.so.2",
	)
	wantDropped(t, c, "/usr/bin/bash", "/usr/bin/perl", "/usr/lib/x86_64-linux-gnu/perl-base", "/usr/bin/apt", "/usr/lib/locale/locale-archive")
	if o, ok := c.Object("/usr/bin/iconv"); !ok || !o.Iconv {
		t.Fatalf("iconv object = %+v", o)
	}
	if r := c.Reasons(g + "/libJIS.so"); len(r) == 0 {
		t.Error("libJIS.so has no reason")
	}
}

// debPackage returns a directory holding the data of the real Debian bookworm
// package name (apt-get download, cached under the fixture cache; dpkg-deb -x,
// nothing from it is run). Without the package and a mirror the test skips.
func debPackage(t *testing.T, name string) string {
	t.Helper()
	cache, err := testimages.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	debs := filepath.Join(filepath.Dir(cache), "debs")
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(debs, name+"_*.deb"))
		if len(m) > 0 {
			return m[len(m)-1]
		}
		return ""
	}
	deb := find()
	if deb == "" {
		if err := os.MkdirAll(debs, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", "download", name)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil || find() == "" {
			t.Skipf("apt-get download %s: %v\n%s", name, err, out)
		}
		deb = find()
	}
	dir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, dir).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x %s: %v\n%s", deb, err, out)
	}
	return dir
}

// TestNSSRealModules keeps the real libnss_systemd.so.2 and
// libnss_myhostname.so.2 (bookworm packages) with their libraries from the
// minbase root.
func TestNSSRealModules(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads Debian packages")
	}
	base := minbaseDir(t)
	root := t.TempDir()
	// a small root: usr-merge links and the libraries from minbase
	cp := exec.Command("cp", "-a", "--parents", "lib", "lib64", "bin", "sbin", "usr/lib64", "usr/lib/x86_64-linux-gnu", "etc/passwd", "etc/group", "etc/host.conf", root)
	cp.Dir = base
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("copying minbase: %v\n%s", err, out)
	}
	for _, p := range []string{"libnss-systemd", "libnss-myhostname"} {
		out, err := exec.Command("cp", "-a", debPackage(t, p)+"/.", root).CombinedOutput()
		if err != nil {
			t.Fatalf("merging %s: %v\n%s", p, err, out)
		}
	}
	conf := "passwd:         files systemd\ngroup:          files systemd\nshadow:         files\nhosts:          files myhostname mdns4_minimal [NOTFOUND=return] dns\n"
	if err := os.WriteFile(filepath.Join(root, "etc/nsswitch.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := rootfs.FromDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c := knowledgetest.New(v)
	if ok, err := c.AddExecutable(libc, keptset.Reason{Kind: keptset.KindEntrypoint}); !ok || err != nil {
		t.Fatalf("AddExecutable(libc) = %v, %v", ok, err)
	}
	if err := c.Run(knowledge.NSS{}, knowledge.LibgccS{}); err != nil {
		t.Fatal(err)
	}
	wantKept(t, c, lib+"/libnss_systemd.so.2", lib+"/libnss_myhostname.so.2",
		lib+"/libcap.so.2", lib+"/libcap.so.2.66", // DT_NEEDED of libnss_systemd
		"/etc/nsswitch.conf", "/etc/host.conf", lib+"/libgcc_s.so.1")
	// mdns4_minimal (libnss-mdns) is not installed: glibc skips it; a note says so
	if len(c.Warnings) != 1 {
		t.Errorf("warnings = %q", c.Warnings)
	}
	wantDropped(t, c, lib+"/libnss_compat.so.2", lib+"/libnss_hesiod.so.2")
}
