package tarlayer

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
)

// gzipBlock is the block size of the parallel gzip writer. Blocks are
// compressed independently (each with the previous block's last 32 KiB as
// dictionary) and concatenated in order, so the compressed bytes depend
// only on the input, the level and this size: never on how many cores
// compressed them or in which order the blocks finished.
const gzipBlock = 1 << 20

// Layer writes the items as one deterministic tar layer (see WriteTar) and
// returns it as a gzip-compressed OCI layer. The tar is compressed in one
// pass, in parallel blocks of fixed size (deterministic output on any
// number of cores), while both digests are computed. WithoutCompression
// stores the tar itself instead (one digest, which is the DiffID).
//
// The layer is kept in a temp file (images can be gigabytes)
// that is unlinked as soon as it is created, so nothing is left on disk even
// if the process dies. The returned layer also implements io.Closer: Close
// releases the file at once; otherwise it is released when the layer is
// garbage collected. The layer must not be read after Close.
func Layer(items []Item, opts ...Option) (v1.Layer, error) {
	return LayerOf(refs(items), opts...)
}

// LayerOf is Layer of entries by reference.
func LayerOf(items []Ref, opts ...Option) (v1.Layer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	pattern := "pare-layer-*.tar.gz"
	if o.raw {
		pattern = "pare-layer-*.tar"
	}
	f, err := os.CreateTemp(o.tempDir, pattern)
	if err != nil {
		return nil, fmt.Errorf("creating layer temp file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlinking layer temp file: %w", err)
	}
	write := writeLayer
	if o.raw {
		write = writeRawLayer
	}
	l, err := write(f, items, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func writeLayer(f *os.File, items []Ref, o *options) (*layer, error) {
	fw := bufio.NewWriterSize(f, 1<<20)
	digest := sha256.New()
	gz := &countWriter{w: io.MultiWriter(fw, digest)}
	zw, err := pgzip.NewWriterLevel(gz, o.level)
	if err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := zw.SetConcurrency(gzipBlock, max(2, runtime.GOMAXPROCS(0))); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	diffID := sha256.New()
	tw := bufio.NewWriterSize(io.MultiWriter(zw, diffID), 256<<10)
	if err := writeTar(tw, items, o); err != nil {
		zw.Close()
		return nil, err
	}
	if err := tw.Flush(); err != nil {
		zw.Close()
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := fw.Flush(); err != nil {
		return nil, fmt.Errorf("writing layer temp file: %w", err)
	}
	return &layer{
		tf:     &tempFile{f: f, size: gz.n},
		digest: hashOf(digest),
		diffID: hashOf(diffID),
	}, nil
}

// writeRawLayer writes the tar of items uncompressed to f, hashing it.
func writeRawLayer(f *os.File, items []Ref, o *options) (*layer, error) {
	digest := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, digest)}
	tw := bufio.NewWriterSize(cw, 1<<20)
	if err := writeTar(tw, items, o); err != nil {
		return nil, err
	}
	if err := tw.Flush(); err != nil {
		return nil, fmt.Errorf("writing layer temp file: %w", err)
	}
	h := hashOf(digest)
	return &layer{tf: &tempFile{f: f, size: cw.n}, digest: h, diffID: h, raw: true}, nil
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

type tempFile struct {
	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

func (t *tempFile) open() (io.ReadCloser, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, os.ErrClosed
	}
	return io.NopCloser(io.NewSectionReader(t.f, 0, t.size)), nil
}

func (t *tempFile) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	return t.f.Close()
}

// layer is a gzip-compressed (or, raw, uncompressed) v1.Layer backed by an
// unlinked temp file.
type layer struct {
	tf             *tempFile
	digest, diffID v1.Hash
	raw            bool
}

func (l *layer) Digest() (v1.Hash, error)           { return l.digest, nil }
func (l *layer) DiffID() (v1.Hash, error)           { return l.diffID, nil }
func (l *layer) Size() (int64, error)               { return l.tf.size, nil }
func (l *layer) Compressed() (io.ReadCloser, error) { return l.tf.open() }

func (l *layer) MediaType() (types.MediaType, error) {
	if l.raw {
		return types.OCIUncompressedLayer, nil
	}
	return types.OCILayer, nil
}

func (l *layer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.tf.open()
	if err != nil || l.raw {
		return rc, err
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("reading layer temp file: %w", err)
	}
	return zr, nil
}

// Close releases the temp file holding the layer.
func (l *layer) Close() error { return l.tf.close() }

var (
	_ v1.Layer  = (*layer)(nil)
	_ io.Closer = (*layer)(nil)
)
