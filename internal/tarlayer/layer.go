package tarlayer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer writes the items as one deterministic tar layer (see WriteTar) and
// returns it as a gzip-compressed OCI layer.
//
// The tar is kept in a temp file (images can be gigabytes) that is unlinked
// as soon as it is written, so nothing is left on disk even if the process
// dies. The returned layer also implements io.Closer: Close releases the
// file at once; otherwise it is released when the layer is garbage
// collected. The layer must not be read after Close.
func Layer(items []Item, opts ...Option) (v1.Layer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(o.tempDir, "pare-layer-*.tar")
	if err != nil {
		return nil, fmt.Errorf("creating layer temp file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlinking layer temp file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := writeTar(bw, items, o); err != nil {
		f.Close()
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing layer temp file: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("writing layer temp file: %w", err)
	}
	tf := &tempFile{f: f, size: size}
	l, err := tarball.LayerFromOpener(tf.open,
		tarball.WithCompressionLevel(o.level),
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("hashing layer: %w", err)
	}
	return &layer{Layer: l, tf: tf}, nil
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

// layer is a v1.Layer backed by an unlinked temp file.
type layer struct {
	v1.Layer
	tf *tempFile
}

// Close releases the temp file holding the layer.
func (l *layer) Close() error { return l.tf.close() }

var (
	_ v1.Layer  = (*layer)(nil)
	_ io.Closer = (*layer)(nil)
)
