package keep

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/loader"
)

// TestComputeContextCanceled: a done context stops Compute with its error;
// a live one computes the same closure as Compute.
func TestComputeContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ComputeContext(ctx, image().View(), cfg("/usr/bin/app"), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: got %v, want context.Canceled", err)
	}
	res, err := ComputeContext(context.Background(), image().View(), cfg("/usr/bin/app"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Compute(image().View(), cfg("/usr/bin/app"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Set.Len() != want.Set.Len() || !res.Set.Has("/usr/lib/x86_64-linux-gnu/libfoo.so.1.2") {
		t.Fatalf("ComputeContext kept %d paths, Compute %d", res.Set.Len(), want.Set.Len())
	}
}

// TestIncludeContextCanceled: the --include walks (a glob over a big tree,
// a tree kept whole) stop with ctx's error once ctx is done, before keeping
// the whole tree or looking for ELF files in it.
func TestIncludeContextCanceled(t *testing.T) {
	m := image()
	const files = 5000
	for i := range files {
		m.AddFile(fmt.Sprintf("/srv/tree/d%02d/f%04d.txt", i%50, i), 0o644, []byte("x"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, pat := range []string{"/srv/**/*.txt", "/srv/tree"} {
		v := m.View()
		b := &builder{ctx: ctx, v: v, set: keptset.NewSet(v), done: map[string]bool{}, libDone: map[string]bool{},
			scripted: map[string]*ShellScan{}, resolvers: map[string]*loader.Resolver{}}
		b.res = &Result{Set: b.set, Objects: map[string]keptset.Object{}}
		if err := b.include(pat); !errors.Is(err, context.Canceled) {
			t.Fatalf("--include %s: got %v, want context.Canceled", pat, err)
		}
		if pat != "/srv/tree" && b.set.Len() >= files {
			t.Errorf("--include %s: kept %d paths after the cancel: the walk did not stop", pat, b.set.Len())
		}
	}
	// a live context includes them all
	res, err := ComputeContext(context.Background(), m.View(), cfg("/usr/bin/app"), Options{Includes: []string{"/srv/**/*.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Set.Has("/srv/tree/d07/f4957.txt") {
		t.Error("--include /srv/**/*.txt did not keep /srv/tree/d07/f4957.txt")
	}
}
