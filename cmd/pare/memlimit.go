package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Go's collector lets the heap grow to twice what is live before it runs:
// the live heap of a 3 GB image of 280k entries peaks at about 120 MiB, so
// without a limit the process reaches ~280 MiB. pare therefore sets a soft
// memory limit of minMemoryLimit, under which the collector runs more often
// near the peak instead (a few % of CPU). So that an image whose live heap
// comes near the limit (millions of entries) does not make the collector run
// all the time, the limit follows the live heap after each collection: at
// least half of it again above it (Go's default leaves all of it).
const (
	minMemoryLimit = 200 << 20
	limitHeadroom  = 2 // the limit is at least live + live/limitHeadroom
)

// setMemoryLimit applies the adaptive soft limit unless the user has chosen
// one with GOMEMLIMIT (a size such as 512MiB, or "off").
func setMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	debug.SetMemoryLimit(minMemoryLimit)
	watchLiveHeap()
}

// watchLiveHeap raises or lowers the limit after every collection: a
// cleanup attached to a fresh object runs once a collection has found it
// unreachable, and arms the next one.
func watchLiveHeap() {
	sentinel := &struct{ p *int }{} // holds a pointer: never in the tiny allocator
	runtime.AddCleanup(sentinel, func(struct{}) {
		debug.SetMemoryLimit(memoryLimit(liveHeap()))
		watchLiveHeap()
	}, struct{}{})
}

// memoryLimit is the soft limit for a live heap of live bytes.
func memoryLimit(live uint64) int64 {
	return max(minMemoryLimit, int64(live+live/limitHeadroom))
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
