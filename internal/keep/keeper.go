package keep

import (
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// The optional knowledge.Keeper interfaces that need more than keep.go's
// core: traced mode and configuration files.

var (
	_ knowledge.Tracer       = (*builder)(nil)
	_ knowledge.ConfigKeeper = (*builder)(nil)
)

// KeepInterpreterTrees implements knowledge.WholeTrees.
func (b *builder) KeepInterpreterTrees() bool { return b.opts.KeepInterpreterTrees }

// Traced implements knowledge.Tracer.
func (b *builder) Traced() bool { return b.opts.Traced }

// KeepConfig implements knowledge.ConfigKeeper.
func (b *builder) KeepConfig(name string, why keptset.Reason) (bool, error) {
	p, err := b.set.Keep(name, why)
	if isNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if b.configs == nil {
		b.configs = map[string]bool{}
	}
	b.configs[p] = true
	return true, nil
}

// Configs implements knowledge.ConfigKeeper: the files rules kept as
// configuration, and the regular files named as arguments of a root
// program that are neither ELF objects nor scripts.
func (b *builder) Configs() []string {
	var out []string
	for p := range b.configs {
		out = append(out, p)
	}
	for _, it := range b.set.Items() {
		if b.configs[it.Path] || it.Entry.Type != rootfs.TypeReg {
			continue
		}
		for _, r := range it.Reasons {
			if r.Kind == keptset.KindEntrypoint && strings.HasPrefix(r.Detail, "argument ") && !b.isELF(it.Path) && !b.isScript(it.Path) {
				out = append(out, it.Path)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}
