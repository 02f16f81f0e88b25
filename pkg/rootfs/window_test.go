package rootfs

import (
	"bytes"
	"io"
	"math/rand/v2"
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
