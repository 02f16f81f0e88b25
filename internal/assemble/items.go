package assemble

import (
	"sort"

	"github.com/pare-dev/pare/internal/tarlayer"
)

// layoutItems are the entries of the pared image by path: a slice indexed by
// a map of path to position, so 200k kept files are stored once and listed
// without copying them from a map.
type layoutItems struct {
	list []tarlayer.Ref
	at   map[string]int
	dead int // removed entries still in list (Entry nil)
}

func newLayoutItems(n int) *layoutItems {
	return &layoutItems{list: make([]tarlayer.Ref, 0, n+64), at: make(map[string]int, n+64)}
}

func (l *layoutItems) get(p string) (tarlayer.Ref, bool) {
	i, ok := l.at[p]
	if !ok {
		return tarlayer.Ref{}, false
	}
	return l.list[i], true
}

func (l *layoutItems) has(p string) bool { _, ok := l.at[p]; return ok }

func (l *layoutItems) set(p string, it tarlayer.Ref) {
	if i, ok := l.at[p]; ok {
		l.list[i] = it
		return
	}
	l.at[p] = len(l.list)
	l.list = append(l.list, it)
}

func (l *layoutItems) del(p string) {
	i, ok := l.at[p]
	if !ok {
		return
	}
	delete(l.at, p)
	l.list[i] = tarlayer.Ref{}
	l.dead++
}

// paths calls f for each path; f may delete it.
func (l *layoutItems) paths(f func(p string)) {
	for i := range l.list {
		if e := l.list[i].Entry; e != nil {
			f(e.Path)
		}
	}
}

// sorted returns the items sorted by path, and leaves l unusable.
func (l *layoutItems) sorted() []tarlayer.Ref {
	out := l.list
	if l.dead > 0 {
		out = out[:0]
		for _, it := range l.list {
			if it.Entry != nil {
				out = append(out, it)
			}
		}
	}
	l.list, l.at = nil, nil
	sort.Slice(out, func(i, j int) bool { return out[i].Entry.Path < out[j].Entry.Path })
	return out
}
