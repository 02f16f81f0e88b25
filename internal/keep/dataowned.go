package keep

// ownedDirs returns ruleOwned with its answers cached for one call site: a
// data-only dependency's files in a directory a knowledge rule keeps from
// (tzdata's /usr/share/zoneinfo, whose rule leaves out right/ and posix/
// and the zones nothing names) are left to that rule, as private trees and
// compiled-in trees are.
func (b *builder) ownedDirs() func(dir string) bool {
	memo := map[string]bool{}
	return func(dir string) bool {
		v, ok := memo[dir]
		if !ok {
			v = b.ruleOwned(dir)
			memo[dir] = v
		}
		return v
	}
}
