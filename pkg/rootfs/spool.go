package rootfs

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// spool is one temporary file holding the content of the regular files of
// layers that cannot be read again in place (compressed or streamed
// layers). Nodes keep (offset, size) into it, so memory holds only metadata
// however large the image is. The file is unlinked as soon as it is
// created: nothing remains on disk after the process ends. Appends reserve
// their range atomically, so layers decoded concurrently share one spool.
type spool struct {
	f    *os.File
	off  atomic.Int64
	bufs sync.Pool
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "pare-spool-*")
	if err != nil {
		return nil, fmt.Errorf("creating content spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlinking content spool: %w", err)
	}
	s := &spool{f: f}
	s.bufs.New = func() any { b := make([]byte, spoolBuf); return &b }
	return s, nil
}

// append copies exactly n bytes of r to a range of the spool reserved for
// them and returns the offset they start at. It is safe for concurrent use.
func (s *spool) append(r io.Reader, n int64) (int64, error) {
	start := s.off.Add(n) - n
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	var done int64
	for done < n {
		chunk := buf
		if rem := n - done; rem < int64(len(chunk)) {
			chunk = chunk[:rem]
		}
		k, err := io.ReadFull(r, chunk)
		if k > 0 {
			if _, werr := s.f.WriteAt(chunk[:k], start+done); werr != nil {
				return 0, fmt.Errorf("writing content spool: %w", werr)
			}
			done += int64(k)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	return start, nil
}

// spoolBuf is the copy buffer of a spool append.
const spoolBuf = 256 << 10

func (s *spool) close() error { return s.f.Close() }

// spoolFile is an open range of a host file (the spool or a layer file).
// Reads are positional, so many may be open at once and used concurrently.
type spoolFile struct {
	*io.SectionReader
	f   *os.File
	off int64
}

func (spoolFile) Close() error { return nil }

// fileRange tells Export where the bytes are, so it can use copy_file_range.
func (s spoolFile) fileRange() (*os.File, int64, int64) { return s.f, s.off, s.Size() }

// ranged is implemented by files whose content is a range of a host file.
type ranged interface {
	fileRange() (f *os.File, off, size int64)
}
