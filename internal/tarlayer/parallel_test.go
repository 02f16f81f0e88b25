package tarlayer

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// bigItems is a layer of several MiB (several gzip blocks) of content
// that compresses unevenly: text, repeated runs and pseudo-random bytes.
func bigItems() []Item {
	var items []Item
	x := uint64(88172645463325252)
	for i := range 14 {
		var b bytes.Buffer
		for b.Len() < 384<<10 {
			switch i % 3 {
			case 0:
				fmt.Fprintf(&b, "line %d of file %d of a layer\n", b.Len(), i)
			case 1:
				b.Write(bytes.Repeat([]byte{byte(i)}, 4096))
			default:
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				b.WriteByte(byte(x))
			}
		}
		items = append(items, file(fmt.Sprintf("/data/f%02d", i), b.String(), 0o644))
	}
	return items
}

// TestParallelGzipDeterministic builds the same multi-block layer with
// GOMAXPROCS 1, 2 and 8: the compressed bytes (digest, size) must not
// depend on how many cores compressed them.
func TestParallelGzipDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	items := bigItems()
	var want v1.Hash
	var wantSize int64
	for _, procs := range []int{1, 2, 8} {
		runtime.GOMAXPROCS(procs)
		l, err := Layer(items, WithTempDir(t.TempDir()), WithEpoch(time.Unix(0, 0)))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		size, _ := l.Size()
		rc, _ := l.Compressed()
		raw, _ := io.ReadAll(rc)
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != d.String() || int64(len(raw)) != size {
			t.Errorf("GOMAXPROCS=%d: compressed bytes hash to %s (%d bytes); layer says %s (%d)", procs, got, len(raw), d, size)
		}
		if err := validate.Layer(l); err != nil {
			t.Errorf("GOMAXPROCS=%d: %v", procs, err)
		}
		if u, _ := l.Uncompressed(); u != nil {
			n, _ := io.Copy(io.Discard, u)
			if n < 4*gzipBlock {
				t.Fatalf("layer is %d bytes uncompressed, fewer than 4 gzip blocks", n)
			}
		}
		l.(io.Closer).Close()
		if procs == 1 {
			want, wantSize = d, size
			continue
		}
		if d != want || size != wantSize {
			t.Errorf("GOMAXPROCS=%d: digest %s (%d bytes), GOMAXPROCS=1 gave %s (%d)", procs, d, size, want, wantSize)
		}
	}
}
