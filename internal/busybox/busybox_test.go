package busybox

import (
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
)

// table is an applet name table as busybox lays it out: sorted names, each
// NUL-terminated, between other strings.
var table = "[\x00[[\x00ash\x00busybox\x00cat\x00ls\x00mkfs.ext2\x00run-parts\x00sh\x00ssl_client\x00"

func withTable(t *testing.T, spec elftest.Spec, extra string) string {
	t.Helper()
	data := append(elftest.Build(spec), []byte("\x00usage: %s [-a]\x00zz\x00aa\x00bb\x00cc\x00dd\x00\x00"+table+"\x00Copyright\x00"+extra)...)
	p := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var static = elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}

func TestLoad(t *testing.T) {
	b, err := Load(withTable(t, static, ""), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[", "[[", "ash", "cat", "ls", "mkfs.ext2", "run-parts", "sh", "ssl_client"}
	if !slices.Equal(b.Applets, want) {
		t.Errorf("applets %q, want %q", b.Applets, want)
	}
	// a longer sorted run elsewhere is taken instead: the longest wins
	long := "a1\x00a2\x00a3\x00a4\x00a5\x00a6\x00a7\x00a8\x00a9\x00b1\x00b2\x00"
	b, err = Load(withTable(t, static, long), "amd64")
	if err != nil || len(b.Applets) != 11 || b.Applets[0] != "a1" {
		t.Errorf("longest run: %v %v", b, err)
	}

	for _, tc := range []struct {
		name string
		spec elftest.Spec
		arch string
		err  string
	}{
		{"dynamic", elftest.Spec{Type: elf.ET_EXEC, Interp: "/lib64/ld-linux-x86-64.so.2", Needed: []string{"libc.so.6"}}, "amd64", "not a static executable"},
		{"shared object", elftest.Spec{Needed: []string{"libc.so.6"}}, "amd64", "not a static executable"},
		{"other machine", elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true, Machine: elf.EM_AARCH64}, "amd64", "machine"},
	} {
		if _, err := Load(withTable(t, tc.spec, ""), tc.arch); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
	p := filepath.Join(t.TempDir(), "notbusybox")
	os.WriteFile(p, elftest.Build(static), 0o755)
	if _, err := Load(p, "amd64"); err == nil || !strings.Contains(err.Error(), "no applet name table") {
		t.Errorf("no table: err %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none"), "amd64"); err == nil {
		t.Error("missing file: no error")
	}
}

// TestDebianBusybox reads the host's busybox-static when it is installed
// (scripts/test.sh installs it): a static executable with a shell and the
// usual applets.
func TestDebianBusybox(t *testing.T) {
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skipf("%s: %v (apt-get install busybox-static)", DefaultPath, err)
	}
	b, err := Load("", runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "ls", "id", "cat", "ps", "wget", "vi"} {
		if !slices.Contains(b.Applets, a) {
			t.Errorf("applet %s missing from %d applets", a, len(b.Applets))
		}
	}
	if !slices.IsSorted(b.Applets) || len(b.Applets) < 100 {
		t.Errorf("%d applets, sorted %v", len(b.Applets), slices.IsSorted(b.Applets))
	}
	t.Logf("%s: %d bytes, %d applets", b.Path, len(b.Data), len(b.Applets))
}
