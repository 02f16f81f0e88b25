package report

import (
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// TestChainsMatchWhy checks that the shared-tail chains of Describe are
// exactly FormatChain(Why) for every kept path: long chains, shared tails,
// symlink steps, trace roots and a cycle of reasons.
func TestChainsMatchWhy(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/app", 0o755, nil)
	m.AddFile("/lib/a.so", 0o644, nil)
	m.AddFile("/lib/b.so", 0o644, nil)
	m.AddFile("/lib/c.so", 0o644, nil)
	m.AddSymlink("/lib/c.link", "c.so")
	m.AddFile("/x", 0o644, nil)
	m.AddFile("/y", 0o644, nil)
	m.AddFile("/t", 0o644, nil)
	for i := range 50 {
		m.AddFile("/srv/f"+string(rune('a'+i%26))+string(rune('a'+i/26)), 0o644, nil)
	}
	v := m.View()
	s := keptset.NewSet(v)
	keep := func(p string, r keptset.Reason) {
		t.Helper()
		if _, err := s.KeepLink(p, r); err != nil {
			t.Fatal(err)
		}
	}
	keep("/app", keptset.Reason{Kind: keptset.KindEntrypoint})
	keep("/lib/a.so", keptset.Reason{Kind: keptset.KindNeeded, From: "/app"})
	keep("/lib/b.so", keptset.Reason{Kind: keptset.KindNeeded, From: "/lib/a.so"})
	keep("/lib/c.link", keptset.Reason{Kind: keptset.KindDlopen, From: "/lib/b.so"})
	// a cycle: /x kept for /y, /y for /x
	keep("/x", keptset.Reason{Kind: keptset.KindKnowledge, Rule: "r", From: "/y"})
	keep("/y", keptset.Reason{Kind: keptset.KindKnowledge, Rule: "r", From: "/x"})
	keep("/t", keptset.Reason{Kind: keptset.KindTrace, From: "/app"})
	if _, err := s.KeepTree("/srv", keptset.Reason{Kind: keptset.KindKnowledge, Rule: "tree", From: "/lib/b.so"}); err != nil {
		t.Fatal(err)
	}
	c := newChains(s)
	n := 0
	for _, it := range s.Items() {
		want := keptset.FormatChain(s.Why(it.Path))
		if got := c.chain(it.Path); got != want {
			t.Errorf("chain of %s:\n got %q\nwant %q", it.Path, got, want)
		}
		n++
	}
	if n < 60 {
		t.Fatalf("only %d kept paths", n)
	}
}
