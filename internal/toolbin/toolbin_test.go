package toolbin_test

import (
	"os"
	"testing"

	"github.com/pare-dev/pare/internal/toolbin"
)

// TestBuild: the programs pare adds to images build as small static
// executables, and the same source gives the same bytes.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	dir := t.TempDir()
	for _, name := range []string{toolbin.Init, toolbin.Healthcheck} {
		p, err := toolbin.Build(t.Context(), name, "", dir)
		if err != nil {
			t.Fatal(err)
		}
		a, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) > 3<<20 {
			t.Errorf("%s: %d bytes, want at most 3 MiB", name, len(a))
		}
		p2, err := toolbin.Build(t.Context(), name, "", dir)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p2)
		if string(a) != string(b) {
			t.Errorf("%s: two builds differ", name)
		}
		t.Logf("%s: %d bytes", name, len(a))
	}
	if err := toolbin.Check("/bin/sh", "amd64"); err == nil {
		t.Error("Check accepted /bin/sh (dynamically linked, or not amd64)")
	}
}
