package rootfs

import (
	"fmt"
	"io"
	"os"
)

// spool is one temporary file holding the content of every regular file of
// a view, appended in order. Nodes keep (offset, size) into it, so memory
// holds only metadata however large the image is. The file is unlinked as
// soon as it is created: nothing remains on disk after the process ends.
type spool struct {
	f   *os.File
	off int64
	buf []byte
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
	return &spool{f: f}, nil
}

// append copies exactly n bytes of r to the end of the spool and returns the
// offset they start at.
func (s *spool) append(r io.Reader, n int64) (int64, error) {
	start := s.off
	if int64(len(s.buf)) < n && len(s.buf) < spoolBuf {
		s.buf = make([]byte, min(spoolBuf, max(n, 64<<10)))
	}
	var done int64
	for done < n {
		chunk := s.buf
		if rem := n - done; rem < int64(len(chunk)) {
			chunk = chunk[:rem]
		}
		k, err := io.ReadFull(r, chunk)
		if k > 0 {
			if _, werr := s.f.WriteAt(chunk[:k], s.off); werr != nil {
				return 0, fmt.Errorf("writing content spool: %w", werr)
			}
			s.off += int64(k)
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

// spoolBuf is the largest copy buffer of a spool.
const spoolBuf = 1 << 20

func (s *spool) close() error {
	s.buf = nil
	return s.f.Close()
}

// spoolData is the content of one regular file in the spool.
type spoolData struct {
	s   *spool
	off int64
}

func (d spoolData) open(size int64) (File, error) {
	return spoolFile{io.NewSectionReader(d.s.f, d.off, size), d.s.f, d.off}, nil
}

// spoolFile is an open file of the spool. Reads are positional, so many may
// be open at once and used concurrently.
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
