package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{0, minMemoryLimit},
		{120 << 20, minMemoryLimit}, // 180 MiB with headroom: the floor holds
		{200 << 20, 300 << 20},
		{1 << 30, 3 << 29},
	} {
		if got := memoryLimit(c.live); got != c.want {
			t.Errorf("memoryLimit(%d MiB) = %d MiB, want %d MiB", c.live>>20, got>>20, c.want>>20)
		}
	}
}

// TestWatchLiveHeap: after a collection the limit is set from the live
// heap (here small: the floor).
func TestWatchLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	watchLiveHeap()
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) != minMemoryLimit {
		if time.Now().After(deadline) {
			t.Fatalf("limit still %d after collections, want %d", debug.SetMemoryLimit(-1), minMemoryLimit)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
