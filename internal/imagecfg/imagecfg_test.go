package imagecfg

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/pkg/rootfs"
)

func TestArgv(t *testing.T) {
	ep, cmd := []string{"/entry.sh"}, []string{"server", "-v"}
	for _, tc := range []struct {
		name string
		o    Override
		want []string
	}{
		{"image", Override{}, []string{"/entry.sh", "server", "-v"}},
		{"new cmd", Override{Cmd: []string{"other"}, CmdSet: true}, []string{"/entry.sh", "other"}},
		{"new entrypoint clears cmd", Override{Entrypoint: []string{"/bin/sh"}, EntrypointSet: true}, []string{"/bin/sh"}},
		{"both", Override{Entrypoint: []string{"/bin/sh"}, EntrypointSet: true, Cmd: []string{"-c", "x"}, CmdSet: true}, []string{"/bin/sh", "-c", "x"}},
		{"empty entrypoint", Override{EntrypointSet: true, Cmd: []string{"x"}, CmdSet: true}, []string{"x"}},
	} {
		if got := Argv(ep, cmd, tc.o); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: Argv = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPathAndLookPath(t *testing.T) {
	if got := Path([]string{"A=1"}); got != DefaultPath {
		t.Errorf("Path without PATH = %q", got)
	}
	if got := Path([]string{"PATH=/a", "PATH=/b:/c"}); got != "/b:/c" {
		t.Errorf("Path = %q, want the last PATH", got)
	}
	m := rootfs.NewMem()
	m.AddFile("/a/data", 0o644, []byte("x"))
	m.AddFile("/b/data", 0o755, []byte("x"))
	m.AddFile("/app/tool", 0o755, []byte("x"))
	v := m.View()
	if got, err := LookPath(v, "/a:/b", "/", "data"); err != nil || got != "/b/data" {
		t.Errorf("LookPath(data) = %q, %v: want the first executable", got, err)
	}
	if got, err := LookPath(v, "/a::/b", "/app", "tool"); err != nil || got != "/app/tool" {
		t.Errorf("LookPath(tool) = %q, %v: an empty PATH entry is the working directory", got, err)
	}
	if got, _ := LookPath(v, "/a", "/app", "./x/y"); got != "/app/x/y" {
		t.Errorf("LookPath(./x/y) = %q", got)
	}
	if _, err := LookPath(v, "/a", "/", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookPath(nope) error = %v", err)
	}
}
