package rootfs

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// The window reader reads and seeks like an io.SectionReader of the same
// range, and reports a range past the end of the data as truncated.
func TestWindowReader(t *testing.T) {
	data := make([]byte, 1<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	src := bytes.NewReader(data)
	w := newWindowReader(src, 100, int64(len(data))-200)
	s := io.NewSectionReader(src, 100, int64(len(data))-200)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		if rng.IntN(3) == 0 {
			off := rng.Int64N(int64(len(data)))
			a, _ := w.Seek(off, io.SeekStart)
			b, _ := s.Seek(off, io.SeekStart)
			if a != b {
				t.Fatalf("seek %d: %d vs %d", off, a, b)
			}
		}
		n := []int{1, 511, 512, 4096, 300 << 10}[rng.IntN(5)]
		p, q := make([]byte, n), make([]byte, n)
		a, errA := io.ReadFull(w, p)
		b, errB := io.ReadFull(s, q)
		if a != b || !bytes.Equal(p[:a], q[:b]) || (errA == nil) != (errB == nil) {
			t.Fatalf("read %d: %d %v vs %d %v", n, a, errA, b, errB)
		}
	}
	short := newWindowReader(bytes.NewReader(data[:1000]), 0, 5000)
	short.Seek(2000, io.SeekStart)
	if _, err := short.Read(make([]byte, 10)); err != io.ErrUnexpectedEOF {
		t.Errorf("reading past the data: %v, want io.ErrUnexpectedEOF", err)
	}
}

// A hashing window reader hashes every byte of its range once, in order,
// however it is read, sought and skipped, and counts them.
func TestWindowReaderHashes(t *testing.T) {
	data := make([]byte, 1<<20+321)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 60 {
		base, size := int64(rng.IntN(1000)), int64(len(data)-2000)
		w := newWindowReader(bytes.NewReader(data), base, size)
		if i%2 == 0 {
			w.buf = make([]byte, 4096+rng.IntN(1<<16)) // windows smaller than the reads
		}
		h := sha256.New()
		var count atomic.Int64
		w.hashWith(t.Context(), h, &count)
		for range rng.IntN(50) {
			switch rng.IntN(3) {
			case 0:
				w.Seek(rng.Int64N(size), io.SeekStart)
			case 1:
				w.block(rng.Int64N(size))
			}
			io.ReadFull(w, make([]byte, []int{1, 512, 70000}[rng.IntN(3)]))
		}
		if err := w.finish(); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(data[base : base+size])
		if !bytes.Equal(h.Sum(nil), want[:]) || count.Load() != size || w.hashed != size {
			t.Fatalf("case %d: hash or count (%d, %d of %d) wrong", i, count.Load(), w.hashed, size)
		}
	}
	// a range longer than the data: finish reports the truncation
	w := newWindowReader(bytes.NewReader(data[:1000]), 0, 5000)
	var count atomic.Int64
	w.hashWith(t.Context(), sha256.New(), &count)
	if err := w.finish(); err != io.ErrUnexpectedEOF {
		t.Errorf("finish past the data: %v, want io.ErrUnexpectedEOF", err)
	}
}
