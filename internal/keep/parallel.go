package keep

import (
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// rodataResult is what rodataPaths returned for one object.
type rodataResult struct {
	strs []string
	err  error
}

// scannedObject reports whether compiledPaths scans the read-only data of
// object p (kept, not the C library or the dynamic loader).
func (b *builder) scannedObject(p string) bool {
	base := path.Base(p)
	o := b.res.Objects[p]
	return !(o.Libc || strings.HasPrefix(base, "ld-linux") || strings.HasPrefix(base, "ld-musl") || !b.set.Has(p))
}

// rodataAll reads the compiled-in path strings of the objects of paths
// that compiledPaths will scan, concurrently, at most GOMAXPROCS at a time
// (parsing the ELF files and scanning their sections is the work; the
// view is safe for concurrent reads). The caller applies the results in its
// own order, so what is kept never depends on scheduling.
func (b *builder) rodataAll(paths []string) map[string]rodataResult {
	var todo []string
	for _, p := range paths {
		if b.scannedObject(p) {
			todo = append(todo, p)
		}
	}
	res := make([]rodataResult, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(todo))) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(todo) {
					return
				}
				res[i].strs, res[i].err = b.rodataPaths(todo[i])
			}
		})
	}
	wg.Wait()
	out := make(map[string]rodataResult, len(todo))
	for i, p := range todo {
		out[p] = res[i]
	}
	return out
}

// rodataOf returns the prefetched result for p, or reads it now (an object
// kept since the prefetch, by an earlier object's compiled-in path).
func (b *builder) rodataOf(pre map[string]rodataResult, p string) ([]string, error) {
	if r, ok := pre[p]; ok {
		return r.strs, r.err
	}
	return b.rodataPaths(p)
}
