package rootfs

import (
	"archive/tar"
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// modelEntry is a path's state in the reference model of layer application.
type modelEntry struct {
	dir  bool
	body string
	mode int64
}

// modelApply is the OCI rule written the slow, obvious way: first every
// whiteout and opaque marker of the layer removes from the lower state, then
// the other entries apply in order (dir over dir updates, anything else
// replaces; missing or non-directory parents become 0755 directories).
func modelApply(state map[string]modelEntry, layer []te) {
	removeBelow := func(p string, self bool) {
		for q := range state {
			if (self && q == p) || strings.HasPrefix(q, strings.TrimSuffix(p, "/")+"/") {
				delete(state, q)
			}
		}
	}
	for _, e := range layer {
		p := path.Clean("/" + e.name)
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		if base == whiteoutOpaque {
			if d, ok := state[dir]; ok && d.dir || dir == "/" {
				removeBelow(dir, false)
			}
		} else if x, ok := strings.CutPrefix(base, whiteoutPrefix); ok && !strings.HasPrefix(base, whiteoutMeta) {
			removeBelow(path.Join(dir, x), true)
		}
	}
	for _, e := range layer {
		p := path.Clean("/" + e.name)
		if strings.HasPrefix(path.Base(p), whiteoutPrefix) {
			continue
		}
		var parents []string
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if d, ok := state[parents[i]]; !ok || !d.dir {
				removeBelow(parents[i], true)
				state[parents[i]] = modelEntry{dir: true, mode: 0o755}
			}
		}
		ne := modelEntry{dir: e.typ == tar.TypeDir, body: e.body, mode: e.mode}
		if old, ok := state[p]; ok && old.dir && ne.dir {
			state[p] = ne
			continue
		}
		removeBelow(p, true)
		state[p] = ne
	}
}

func randomLayer(r *rand.Rand) []te {
	names := []string{"a", "b", "a/b", "a/c", "b/a", "a/b/c", "a/b/d", "c/a/b"}
	var l []te
	for range 1 + r.IntN(7) {
		n := names[r.IntN(len(names))]
		switch r.IntN(6) {
		case 0, 1:
			l = append(l, file(n, fmt.Sprint("f", r.IntN(100))))
		case 2:
			l = append(l, withMode(dir(n), int64(0o700+r.IntN(0o77))))
		case 3:
			l = append(l, whiteout(path.Join(path.Dir(n), ".wh."+path.Base(n))))
		case 4:
			l = append(l, whiteout(path.Join(path.Dir(n), whiteoutOpaque)))
		case 5:
			l = append(l, whiteout(whiteoutOpaque))
		}
	}
	return l
}

// TestLayerModel compares layer application with the reference model on
// random sequences of files, directories, whiteouts and opaque markers.
func TestLayerModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tmp := t.TempDir()
	n := 3000
	if testing.Short() {
		n = 500
	}
	for i := range n {
		var layers [][]te
		for range 1 + r.IntN(3) {
			layers = append(layers, randomLayer(r))
		}
		state := map[string]modelEntry{}
		o, _ := makeOptions(nil)
		sp, err := newSpool(tmp)
		if err != nil {
			t.Fatal(err)
		}
		a := newApplier(o, sp)
		for li, l := range layers {
			modelApply(state, l)
			if err := a.applyLayer(context.Background(), li+1, strings.NewReader(string(layerTar(t, l...)))); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]string{}
		for p, e := range state {
			if e.dir {
				want[p] = fmt.Sprintf("dir %o", e.mode)
			} else {
				want[p] = "file " + e.body
			}
		}
		if i%2 == 1 {
			freeze(a.t.root) // as FromImage leaves it
		}
		got := map[string]string{}
		v := &View{b: a.t}
		v.Walk("/", func(e *Entry) error {
			if e.Path == "/" {
				return nil
			}
			if e.Type == TypeDir {
				got[e.Path] = fmt.Sprintf("dir %o", e.Mode.Perm())
			} else {
				b, _ := v.ReadFile(e.Path, 100)
				got[e.Path] = "file " + string(b)
			}
			return nil
		})
		sp.close()
		if d := cmp.Diff(want, got); d != "" {
			var desc []string
			for li, l := range layers {
				var names []string
				for _, e := range l {
					s := e.name
					if e.typ == tar.TypeDir {
						s += "/"
					}
					names = append(names, s)
				}
				desc = append(desc, fmt.Sprintf("L%d: %s", li+1, strings.Join(names, " ")))
			}
			sort.Strings(desc)
			t.Fatalf("case %d:\n%s\n(-model +got):\n%s", i, strings.Join(desc, "\n"), d)
		}
	}
}
