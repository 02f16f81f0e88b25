package dockerfile_test

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/dockerfile"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// source is a small merged-/usr image: a program in a directory kept in
// part, a data tree kept whole, a state directory of another user, a
// setuid program, names with a blank and a dollar sign, links.
func source() *rootfs.View {
	m := rootfs.NewMem()
	add := func(p string, ty rootfs.Type, mode fs.FileMode, uid, gid int, data string) {
		m.Add(rootfs.Entry{Path: p, Type: ty, Mode: mode, UID: uid, GID: gid}, []byte(data))
	}
	add("/etc", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/etc/passwd", rootfs.TypeReg, 0o644, 0, 0, "root:x:0:0:root:/root:/bin/sh\napp:x:101:101::/var/lib/app:/usr/sbin/nologin\n")
	add("/etc/group", rootfs.TypeReg, 0o644, 0, 0, "root:x:0:\napp:x:101:\n")
	add("/etc/app.conf", rootfs.TypeReg, 0o644, 0, 0, "x=1\n")
	add("/etc/unused.conf", rootfs.TypeReg, 0o644, 0, 0, "y=2\n")
	add("/usr", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/bin", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/bin/app", rootfs.TypeReg, 0o755, 0, 0, "app")
	add("/usr/bin/helper", rootfs.TypeReg, 0o755, 0, 0, "helper")
	add("/usr/bin/su", rootfs.TypeReg, fs.ModeSetuid|0o755, 0, 0, "su")
	add("/usr/bin/other", rootfs.TypeReg, 0o755, 0, 0, "other")
	m.AddSymlink("/usr/bin/app-link", "app")
	add("/usr/lib", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/lib/libx.so.1.0", rootfs.TypeReg, 0o644, 0, 0, "libx")
	m.AddSymlink("/usr/lib/libx.so.1", "libx.so.1.0")
	add("/usr/lib/liby.so.1", rootfs.TypeReg, 0o644, 0, 0, "liby")
	m.AddSymlink("/lib", "usr/lib")
	add("/usr/share", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/share/app", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/share/app/data.txt", rootfs.TypeReg, 0o644, 0, 0, "data")
	add("/usr/share/app/sub", rootfs.TypeDir, 0o750, 0, 101, "")
	add("/usr/share/app/sub/more.txt", rootfs.TypeReg, 0o640, 0, 101, "more")
	m.AddSymlink("/usr/share/app/current", "sub")
	add("/var", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/lib", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/lib/app", rootfs.TypeDir, 0o700, 101, 101, "")
	add("/var/lib/app/cache", rootfs.TypeDir, fs.ModeSetgid|0o770, 101, 101, "")
	add("/var/lib/app/cache/old", rootfs.TypeReg, 0o644, 101, 101, "old")
	add("/var/lib/misc", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/cache", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/cache/junk", rootfs.TypeReg, 0o644, 0, 0, "junk")
	add("/usr/share/doc", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/share/doc/README", rootfs.TypeReg, 0o644, 0, 0, "doc")
	add("/srv", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/srv/my site", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/srv/my site/index.html", rootfs.TypeReg, 0o644, 0, 0, "<p>")
	add("/srv/my site/draft.html", rootfs.TypeReg, 0o644, 0, 0, "draft")
	add("/srv/price$1.txt", rootfs.TypeReg, 0o644, 0, 0, "one dollar")
	add("/srv/other.txt", rootfs.TypeReg, 0o644, 0, 0, "other")
	add("/usr/local", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/local/share", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/usr/local/share/man", rootfs.TypeDir, fs.ModeSetgid|0o2775&0o777, 0, 50, "")
	add("/tmp", rootfs.TypeDir, fs.ModeSticky|0o777, 0, 0, "")
	return m.View()
}

func kept(t *testing.T, v *rootfs.View, trees []string, paths ...string) *keptset.Set {
	t.Helper()
	s := keptset.NewSet(v)
	for _, p := range trees {
		if _, err := s.KeepTree(p, keptset.Reason{Kind: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		if _, err := s.KeepLink(p, keptset.Reason{Kind: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func generate(t *testing.T, v *rootfs.View, s *keptset.Set, cf *v1.ConfigFile, o assemble.Options) *dockerfile.Output {
	t.Helper()
	l, err := assemble.Plan(v, cf, s, o)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dockerfile.Generate(dockerfile.Input{
		Source: "example/app:1", View: v, Items: tarlayer.Copies(l.Items), Generated: l.Generated, Config: l.Config.Config, Context: "pare-context",
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// describe is the Dockerfile and a listing of the context.
func describe(t *testing.T, out *dockerfile.Output) string {
	t.Helper()
	var b strings.Builder
	b.Write(out.Dockerfile)
	b.WriteString("\n---- context\n")
	for _, it := range out.Context {
		e := it.Entry
		fmt.Fprintf(&b, "%s %s %d:%d %s", e.Type, e.Mode, e.UID, e.GID, e.Path)
		switch e.Type {
		case rootfs.TypeSymlink:
			fmt.Fprintf(&b, " -> %s", e.Linkname)
		case rootfs.TypeReg:
			rc, err := it.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			fmt.Fprintf(&b, " %q", firstLine(string(data)))
		}
		b.WriteString("\n")
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./internal/dockerfile -update rewrites it):\n%s", file, got)
	}
}

func config() *v1.ConfigFile {
	return &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
		User: "app", Env: []string{"PATH=/usr/bin", `GREETING=say "hi" for $5`}, WorkingDir: "/var/lib/app",
		Entrypoint: []string{"/usr/bin/app"}, Cmd: []string{"--serve", "a b"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}}, Labels: map[string]string{"org.example.v": "1"},
		StopSignal: "SIGQUIT", Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/.pare/healthcheck", "http://127.0.0.1:8080/"}, Retries: 2},
	}}
}

func TestGolden(t *testing.T) {
	v := source()
	s := kept(t, v, []string{"/usr/share/app", "/var/lib/app", "/srv/my site/index.html", "/usr/local"},
		"/usr/bin/app", "/usr/bin/helper", "/usr/bin/su", "/usr/bin/app-link", "/lib", "/usr/lib/libx.so.1", "/usr/lib/libx.so.1.0",
		"/etc/app.conf", "/srv/price$1.txt")
	out := generate(t, v, s, config(), assemble.Options{
		Extras: []assemble.Extra{{Path: assemble.InitPath, Mode: 0o755, Data: []byte("init")}},
	})
	golden(t, "app", describe(t, out))

	df := string(out.Dockerfile)
	for _, want := range []string{
		"COPY --from=source /usr/share/app /usr/share/app\n",              // kept whole: one COPY
		"COPY --from=source /var/lib/app /var/lib/app\n",                  // owned by app, whole: COPY --from keeps owners
		`COPY --from=source ["/srv/my site/index.html", "/srv/my site/"]`, // a blank: the JSON form
		"COPY --from=source /usr/bin/app /usr/bin/helper /usr/bin/\n",     // kept in part: file by file
		"COPY --chown=101:101 chown/3/ /var/lib/\n",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	for _, never := range []string{"/usr/bin/other", "/usr/lib/liby", "draft", "/etc/unused", "/usr/bin/su", "price", "junk", "/usr/share/doc", "/var/lib/misc", "--chmod=", "--from=source /usr/local"} {
		if strings.Contains(df, never) {
			t.Errorf("Dockerfile names %q", never)
		}
	}
	ctx := map[string]rootfs.Entry{}
	for _, it := range out.Context {
		ctx[it.Entry.Path] = it.Entry
	}
	for p, want := range map[string]string{
		"/rootfs/tmp":              "dir trwxrwxrwx 0:0",
		"/rootfs/usr/bin/su":       "file -rwxr-xr-x 0:0", // setuid dropped: from the context
		"/rootfs/srv/price$1.txt":  "file -rw-r--r-- 0:0", // not nameable in COPY
		"/rootfs/lib":              "symlink -rwxrwxrwx 0:0",
		"/rootfs/usr/bin/app-link": "symlink -rwxrwxrwx 0:0",
		"/rootfs/var/lib/app":      "dir -rwx------ 0:0", // made by the root tree, owned by its group
		"/chown/3/app":             "dir -rwx------ 101:101",
		"/rootfs/.pare/init":       "file -rwxr-xr-x 0:0",
		// a tree of empty directories, kept whole, comes from the context
		"/chown/2/man": "dir grwxrwxr-x 0:50",
	} {
		e, ok := ctx[p]
		if got := fmt.Sprintf("%s %s %d:%d", e.Type, e.Mode, e.UID, e.GID); !ok || got != want {
			t.Errorf("context %s: %q (present %v), want %q", p, got, ok, want)
		}
	}
	if _, ok := ctx["/rootfs/usr/share/app/data.txt"]; ok {
		t.Errorf("a file of a directory kept whole is in the context")
	}
}

// TestWriteContext writes the context to disk with its modes: the sticky
// /tmp, a read-only directory with children, links.
func TestWriteContext(t *testing.T) {
	v := source()
	s := kept(t, v, []string{"/usr/share/app"}, "/usr/bin/app", "/usr/bin/app-link", "/usr/bin/su")
	out := generate(t, v, s, config(), assemble.Options{})
	dir := filepath.Join(t.TempDir(), "ctx")
	if err := dockerfile.WriteContext(dir, out.Context); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(filepath.Join(dir, "rootfs/tmp"))
	if err != nil || st.Mode() != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("rootfs/tmp: %v %v, want sticky 0777", st.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "rootfs/usr/bin/app-link")); err != nil || l != "app" {
		t.Errorf("app-link: %q %v", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "rootfs/usr/bin/su")); err != nil || string(b) != "su" {
		t.Errorf("su: %q %v", b, err)
	}
	// written again, it replaces its own context; never a foreign directory
	if err := dockerfile.WriteContext(dir, out.Context); err != nil {
		t.Errorf("rewriting the context: %v", err)
	}
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "keep.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dockerfile.WriteContext(foreign, out.Context); err == nil {
		t.Errorf("WriteContext replaced a directory it did not write")
	} else if _, err := os.Stat(filepath.Join(foreign, "keep.txt")); err != nil {
		t.Errorf("the foreign directory lost its file: %v", err)
	}
}
