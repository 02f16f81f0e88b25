package keep

import (
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
)

// The optional knowledge.Keeper interfaces of the JDK module image:
// generated files, paths left out once the rules settled, the command and
// the user's module choices.

var (
	_ knowledge.Generator   = (*builder)(nil)
	_ knowledge.JavaModules = (*builder)(nil)
	_ knowledge.Commander   = (*builder)(nil)
)

// Generate implements knowledge.Generator.
func (b *builder) Generate(name string, data []byte, why keptset.Reason) (bool, error) {
	if _, err := b.set.Generate(name, data, why); err != nil {
		if isNotExist(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Drop implements knowledge.Generator.
func (b *builder) Drop(name, why string) {
	if b.drops == nil {
		b.drops = map[string]string{}
	}
	b.drops[name] = why
}

// applyDrops leaves out what rules dropped.
func (b *builder) applyDrops() {
	for p, why := range b.drops {
		if b.set.Has(p) {
			b.set.Remove(p)
			delete(b.res.Objects, p)
			b.note("left out %s: %s", p, why)
		}
	}
}

// KeepJimage implements knowledge.JavaModules.
func (b *builder) KeepJimage() bool { return b.opts.KeepJimage }

// AddModules implements knowledge.JavaModules.
func (b *builder) AddModules() []string { return b.opts.AddModules }

// Args implements knowledge.Commander.
func (b *builder) Args() []string { return b.res.Args }
