package keep

import (
	"context"

	"github.com/pare-dev/pare/internal/knowledge"
)

// cancelable wraps rules so that each returns ctx's error instead of
// running once ctx is done: a round of the fixpoint stops at the next rule.
func cancelable(ctx context.Context, rules []knowledge.Rule) []knowledge.Rule {
	out := make([]knowledge.Rule, len(rules))
	for i, r := range rules {
		out[i] = ctxRule{ctx, r}
	}
	return out
}

type ctxRule struct {
	ctx context.Context
	knowledge.Rule
}

func (r ctxRule) Apply(c knowledge.Keeper) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	return r.Rule.Apply(c)
}

// canceledEvery returns ctx's error on every 1024th call (n counts the
// calls): walks of big trees check it without paying for it per entry.
func (b *builder) canceledEvery(n int) error {
	if n%1024 != 0 {
		return nil
	}
	return b.ctx.Err()
}
