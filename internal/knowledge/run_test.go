package knowledge_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/internal/knowledge/knowledgetest"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// chain keeps /f/N+1 once /f/N is kept: one more file per round, up to /f/n.
type chain struct{ n, last int }

func (*chain) Name() string { return "chain" }

func (r *chain) Apply(c knowledge.Keeper) error {
	if r.last >= r.n || !c.Has(fmt.Sprintf("/f/%d", r.last)) {
		return nil
	}
	r.last++
	_, err := c.AddPath(fmt.Sprintf("/f/%d", r.last), keptset.Reason{Kind: keptset.KindKnowledge, Rule: "chain"})
	return err
}

// still adds nothing.
type still struct{}

func (still) Name() string                 { return "still" }
func (still) Apply(knowledge.Keeper) error { return nil }

func TestRunSettlesPastOldLimit(t *testing.T) {
	// a chain of 50 dependencies needs 50 rounds, far past the old 8
	m := rootfs.NewMem()
	for i := 0; i <= 50; i++ {
		m.AddFile(fmt.Sprintf("/f/%d", i), 0o644, nil)
	}
	c := knowledgetest.New(m.View())
	c.AddObject(keptset.Object{Path: "/f/0"})
	if err := c.Run(still{}, &chain{n: 50}); err != nil {
		t.Fatal(err)
	}
	wantKept(t, c, "/f/50")
}

func TestRunNamesRulesThatDoNotSettle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs MaxRounds rounds")
	}
	m := rootfs.NewMem()
	n := knowledge.MaxRounds + 5
	for i := 0; i <= n; i++ {
		m.AddFile(fmt.Sprintf("/f/%d", i), 0o644, nil)
	}
	c := knowledgetest.New(m.View())
	c.AddObject(keptset.Object{Path: "/f/0"})
	err := c.Run(still{}, &chain{n: n})
	if err == nil || !strings.Contains(err.Error(), "still growing: chain") {
		t.Fatalf("err = %v, want one naming the rule chain", err)
	}
}

func TestRuleFuncRunsEveryRound(t *testing.T) {
	// a step that keeps /f/N+1 for each kept /f/N, with a rule that
	// needs the step's output: Run settles over both
	m := rootfs.NewMem()
	for i := 0; i <= 5; i++ {
		m.AddFile(fmt.Sprintf("/f/%d", i), 0o644, nil)
	}
	c := knowledgetest.New(m.View())
	c.AddObject(keptset.Object{Path: "/f/0"})
	ch := &chain{n: 5}
	if err := c.Run(knowledge.RuleFunc("step", ch.Apply)); err != nil {
		t.Fatal(err)
	}
	wantKept(t, c, "/f/5")
}
