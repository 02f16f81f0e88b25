package cli

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/pkg/pare"
)

// TestDebugUsage: pare debug takes one container and a command after --.
func TestDebugUsage(t *testing.T) {
	for _, args := range [][]string{
		{"debug"},
		{"debug", "a", "b"},
		{"debug", "a", "--"},
		{"debug", "--", "ls"},
	} {
		// not run(): its --quiet would be the command after --
		var stdout, stderr bytes.Buffer
		if code := Execute(t.Context(), args, &stdout, &stderr); code != ExitUsage {
			t.Errorf("pare %q: exit %d, want %d\n%s", args, code, ExitUsage, stderr.String())
		}
	}
}

// TestDebugVariantFlags: the usage errors of --debug-variant and --busybox
// come before any work, and a variant is written from a dir: source with
// the busybox given.
func TestDebugVariantFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--busybox", "/bin/busybox"},
		{"--debug-variant", "dir:/x"},
		{"--debug-variant", "nosuch:x"},
		{"--debug-variant", "oci:" + dir + "/out:a"},
	} {
		args = append([]string{"build", "docker-daemon:pare-test/none:none", "oci:" + dir + "/out:a"}, args...)
		if _, errOut, code := run(t, args...); code != ExitUsage {
			t.Errorf("pare %q: exit %d, want %d\n%s", args, code, ExitUsage, errOut)
		}
	}

	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "app"), elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}), 0o755); err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(dir, "busybox")
	table := "\x00[\x00[[\x00ash\x00cat\x00id\x00ls\x00mkdir\x00sh\x00wget\x00\x00"
	if err := os.WriteFile(bb, append(elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}), table...), 0o755); err != nil {
		t.Fatal(err)
	}
	build := []string{"build", "dir:" + root, "oci:" + dir + "/pared:a", "--entrypoint", "/app", "--debug-variant", "oci:" + dir + "/variant:a"}
	if _, errOut, code := run(t, append(build, "--busybox", filepath.Join(dir, "none"))...); code != ExitFailure || !strings.Contains(errOut, "reading busybox") {
		t.Errorf("missing --busybox: exit %d\n%s", code, errOut)
	}
	out := mustRun(t, append(build, "--busybox", bb)...)
	if !strings.Contains(out, "debug variant: "+bb) || !strings.Contains(out, "with 9 applet links") {
		t.Errorf("pare build --debug-variant printed:\n%s", out)
	}
	src, err := pare.Open(t.Context(), "oci:"+dir+"/variant:a", pare.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, p := range []string{"/app", "/busybox/busybox", "/busybox/sh", "/busybox/["} {
		if _, err := src.View.Lstat(p); err != nil {
			t.Errorf("variant: %v", err)
		}
	}
}
