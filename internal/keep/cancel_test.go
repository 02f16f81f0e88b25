package keep

import (
	"context"
	"errors"
	"testing"
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
