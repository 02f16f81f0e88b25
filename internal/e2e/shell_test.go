package e2e

import (
	"strings"
	"testing"
)

// TestBuildShellEntrypoint pares an official-style docker-entrypoint.sh
// image statically: the script's trap (rm), function body (seq, wc), $(…)
// and pipeline (mktemp, ls, wc, id), and its exec gosu USER "$@" hand-off
// of the CMD's program (bc, found through PATH) must all survive, and so
// must the account gosu switches to. The pared image runs as root like the
// original, so that the gosu branch runs in both.
func TestBuildShellEntrypoint(t *testing.T) {
	p := buildPared(t, "shell-entrypoint", "pared", "--user", "0")
	ls := p.listing(t)
	for _, prog := range []string{"gosu", "bc", "rm", "seq", "wc", "ls", "mktemp", "rmdir", "id", "dash"} {
		if !hasProgram(ls, prog) {
			t.Errorf("pared image lacks %s", prog)
		}
	}
	for _, unused := range []string{"bash", "grep", "sed", "tar"} {
		if hasProgram(ls, unused) {
			t.Errorf("pared image keeps %s, which the entrypoint never runs", unused)
		}
	}
	passwd := copyFile(t, p.tag, "/etc/passwd")
	if !strings.Contains(passwd, "\nsomeuser:") && !strings.HasPrefix(passwd, "someuser:") {
		t.Errorf("/etc/passwd of the pared image lacks someuser, whom gosu switches to:\n%s", passwd)
	}
	for _, args := range [][]string{nil, {"-l", "/data/pi.bc"}} {
		want := runBatch(t, p.orig, args...)
		got := runBatch(t, p.tag, args...)
		if want.Code != 0 || !strings.Contains(want.Stdout, "left after the trap: 0\n3.14159") {
			t.Fatalf("original %s %q: exit %d, stdout %q, stderr %q", p.orig, args, want.Code, want.Stdout, want.Stderr)
		}
		if got != want {
			t.Errorf("%s %q behaves differently from %s:\noriginal: exit %d\n%s%s\npared: exit %d\n%s%s",
				p.tag, args, p.orig, want.Code, want.Stdout, want.Stderr, got.Code, got.Stdout, got.Stderr)
		}
	}
	for _, target := range []string{"/usr/bin/bc", "/usr/bin/rm"} {
		out := mustPare(t, "why", "docker-daemon:"+p.orig, target)
		first, _, _ := strings.Cut(out, "\n")
		if !strings.HasPrefix(first, target+" ← ") || !strings.Contains(first, "docker-entrypoint.sh") || !strings.HasSuffix(first, "← entrypoint") {
			t.Errorf("pare why %s printed %q, want a chain through the entrypoint script", target, out)
		}
		t.Logf("pare why %s", first)
	}
}
