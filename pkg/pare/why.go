package pare

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"

	"github.com/pare-dev/pare/internal/keep"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Reason is why one path is kept: its Kind, the path or rule that caused
// it (From, Rule) and a detail.
type Reason = keptset.Reason

// Step is one link of a chain of reasons, from a kept path to a root.
type Step = keptset.Step

// WhyAnswer explains whether and why a path is kept.
type WhyAnswer struct {
	Path string `json:"path"`
	Kept bool   `json:"kept"`
	// Chain follows the first reason from Path up to a root.
	Chain []Step `json:"chain,omitempty"`
	// Text renders the chain (or why the path is dropped) for humans.
	Text string `json:"text"`
	// Reasons are every reason the path is kept: for a library, each
	// object that needs it.
	Reasons []Reason `json:"reasons,omitempty"`
}

// Why recomputes the closure of src with o and explains name.
func Why(src *Source, name string, o BuildOptions) (*WhyAnswer, error) {
	target := path.Clean("/" + name)
	res, err := keep.Compute(src.View, src.ConfigFile.Config, o.keepOptions())
	if res == nil {
		return nil, fmt.Errorf("%s: %w", src.Ref, err)
	}
	ans := &WhyAnswer{Path: target}
	r, rerr := src.View.Resolve(target, true)
	if rerr == nil && res.Set.Has(r.Path) {
		ans.Kept = true
		ans.Chain = res.Set.Why(r.Path)
		ans.Reasons = requesters(src.View, res, r.Path)
		ans.Text = keptset.FormatChain(ans.Chain)
		if r.Path != target {
			ans.Text = target + " → " + ans.Text
		}
	} else if _, serr := src.View.Lstat(target); serr != nil {
		ans.Text = fmt.Sprintf("%s does not exist in %s", target, src.Ref)
	} else {
		ans.Text = fmt.Sprintf("%s is dropped: no program, library, rule or --include of the closure needs it", target)
	}
	return ans, nil
}

// requesters returns every reason p is kept: those the kept set recorded
// and, for a shared library, a DT_NEEDED reason for each kept object that
// needs it by one of its names (the file's name or a kept link to it), so
// that no requester is lost to the set's bound on reasons per path. A
// name that another kept file also answers to is ambiguous and left to the
// recorded reasons.
func requesters(v *rootfs.View, res *keep.Result, p string) []Reason {
	reasons := slices.Clone(res.Set.Item(p).Reasons)
	if _, isObject := res.Objects[p]; !isObject {
		return reasons
	}
	names := map[string]bool{path.Base(p): true}
	owners := map[string]int{} // base name -> kept regular files answering to it
	for _, it := range res.Set.Items() {
		if it.Entry == nil {
			continue
		}
		switch it.Entry.Type {
		case rootfs.TypeReg:
			owners[path.Base(it.Path)]++
		case rootfs.TypeSymlink:
			if r, err := v.Resolve(it.Path, true); err == nil {
				if r.Path == p {
					names[path.Base(it.Path)] = true
				} else {
					owners[path.Base(it.Path)]++
				}
			}
		}
	}
	have := map[string]bool{}
	for _, r := range reasons {
		if r.Kind == keptset.KindNeeded {
			have[r.From] = true
		}
	}
	objs := make([]string, 0, len(res.Objects))
	for o := range res.Objects {
		objs = append(objs, o)
	}
	slices.Sort(objs)
	for _, o := range objs {
		if o == p || have[o] {
			continue
		}
		for _, n := range res.Objects[o].Needed {
			if names[n] && owners[n] <= 1 {
				reasons = append(reasons, Reason{Kind: keptset.KindNeeded, From: o})
				have[o] = true
				break
			}
		}
	}
	return reasons
}

// ReadReport reads a JSON report written by pare build --report.
func ReadReport(file string) (*Report, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading report: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: not a pare build report: %w", file, err)
	}
	return &rep, nil
}

// WhyInReport explains name from a report instead of recomputing the closure.
func WhyInReport(rep *Report, name string) *WhyAnswer {
	target := path.Clean("/" + name)
	phys := target
	if res, err := rep.View().Resolve(target, true); err == nil {
		phys = res.Path
	}
	for k := range rep.KeptPaths() {
		if k.Path == phys {
			text := k.Chain
			if phys != target {
				text = target + " → " + text
			}
			return &WhyAnswer{Path: target, Kept: true, Text: text, Reasons: k.Reasons}
		}
	}
	return &WhyAnswer{Path: target, Text: fmt.Sprintf("%s is not in the pared image of %s", target, rep.Source)}
}
