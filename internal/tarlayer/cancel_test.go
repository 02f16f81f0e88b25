package tarlayer

import (
	"context"
	"errors"
	"testing"
)

// TestLayerContext: a done context stops Layer with its error; a live one
// writes the same layer as no context.
func TestLayerContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Layer(fixture(), WithContext(ctx), WithTempDir(t.TempDir())); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: got %v, want context.Canceled", err)
	}
	a, err := Layer(fixture(), WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Layer(fixture())
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("digest with a context %s, without %s", da, db)
	}
}
