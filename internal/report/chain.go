package report

import (
	"slices"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
)

// chains formats the why-chain of every kept path (keptset.FormatChain of
// Set.Why) without walking and formatting the shared part of each chain
// again: paths kept for the same reason from the same path share the chain
// above it, so the text of that tail and of every reason is computed once.
// 200k application files cost 200k concatenations, not 200k chain walks.
type chains struct {
	set     *keptset.Set
	tails   map[string]tail
	reasons map[keptset.Reason]string
}

// tail is the chain above a path q: the text of its steps (" ← reason"
// each) and the paths of those steps.
type tail struct {
	text  string
	paths []string
}

func newChains(set *keptset.Set) *chains {
	return &chains{set: set, tails: map[string]tail{}, reasons: map[keptset.Reason]string{}}
}

func (c *chains) reason(r keptset.Reason) string {
	s, ok := c.reasons[r]
	if !ok {
		s = r.String()
		c.reasons[r] = s
	}
	return s
}

// chain returns keptset.FormatChain(set.Why(p)) for the kept path p.
func (c *chains) chain(p string) string {
	it := c.set.Item(p)
	if it == nil || len(it.Reasons) == 0 {
		return keptset.FormatChain(c.set.Why(p))
	}
	r := it.Reasons[0]
	head := p + " ← " + c.reason(r)
	q := r.From
	if q == "" || q == p || r.Kind == keptset.KindTrace || r.Kind == keptset.KindSymlink {
		// a root, a self-reference, or a step after which Why stops (a
		// symlink's chain stops at From == the link itself; other symlink
		// steps are rare: computed directly)
		if r.Kind == keptset.KindSymlink && q != p && q != "" {
			return keptset.FormatChain(c.set.Why(p))
		}
		return head
	}
	t, ok := c.tails[q]
	if !ok {
		var b strings.Builder
		steps := c.set.Why(q)
		t.paths = make([]string, len(steps))
		for i, st := range steps {
			t.paths[i] = st.Path
			b.WriteString(" ← ")
			b.WriteString(c.reason(st.Reason))
		}
		t.text = b.String()
		c.tails[q] = t
	}
	if slices.Contains(t.paths, p) {
		// a cycle through p: Why(p) stops where it meets p again
		return keptset.FormatChain(c.set.Why(p))
	}
	return head + t.text
}
