package rootfs

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FileLayer is implemented by layers whose uncompressed tar stream is
// stored as is in a host file that can be read again at any time: a layer
// of a docker save archive, an uncompressed blob of an OCI layout.
// FromImage indexes such a layer in place: the view records where each
// regular file's bytes are in that file and reads them from there, instead
// of copying them into its spool. The stream is still hashed against the
// layer's diff_id.
type FileLayer interface {
	// UncompressedFile returns where the uncompressed stream is, or nil
	// (and no error) when this layer is not stored uncompressed.
	UncompressedFile() (*LayerFile, error)
}

// LayerFile is a range of a host file holding a layer's uncompressed tar.
type LayerFile struct {
	File   *os.File
	Offset int64
	Size   int64
	// Release, if not nil, is called when the view no longer reads File
	// (at View.Close, or when FromImage fails).
	Release func() error
}

// store places the content of regular files, for all layers at once: in
// place for layers read from a FileLayer, in the spool otherwise. It also
// counts the entries and bytes the limits cap, over all layers.
type store struct {
	o       *options
	t       *tree // where content sources are registered
	mu      sync.Mutex
	sp      *spool
	spSrc   uint32 // sp's index in t.srcs
	entries atomic.Int64
	bytes   atomic.Int64
	// releases are the LayerFile releases, run by close.
	releases []func() error
}

func (s *store) spool() (*spool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sp == nil {
		sp, err := newSpool(s.o.tempDir)
		if err != nil {
			return nil, err
		}
		s.sp = sp
		s.spSrc = s.t.addSource(source{f: sp.f})
	}
	return s.sp, nil
}

// addSource registers f as a content source (see tree.srcs).
func (s *store) addSource(f *os.File) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.addSource(source{f: f})
}

func (s *store) addRelease(f func() error) {
	s.mu.Lock()
	s.releases = append(s.releases, f)
	s.mu.Unlock()
}

// close releases the spool and the layer files; call it once no decoder runs.
func (s *store) close() error {
	var first error
	if s.sp != nil {
		first = s.sp.close()
	}
	for _, r := range s.releases {
		if err := r(); err != nil && first == nil {
			first = err
		}
	}
	s.releases = nil
	return first
}

// rec is one decoded tar entry: its header and, for a regular file, where
// its content is (an index into tree.srcs, 0 for none, and an offset).
type rec struct {
	hdr *tar.Header
	src uint32
	off int64
}

// recBatch is how many entries a decoder sends at once: a channel
// operation per entry costs more than applying it.
const recBatch = 256

// batcher collects a decoder's entries and sends them in batches on out.
type batcher struct {
	out chan<- []rec
	b   []rec
}

func (b *batcher) add(ctx context.Context, r rec) error {
	if b.b == nil {
		b.b = make([]rec, 0, recBatch)
	}
	b.b = append(b.b, r)
	if len(b.b) == recBatch {
		return b.flush(ctx)
	}
	return nil
}

// flush sends the entries collected so far.
func (b *batcher) flush(ctx context.Context) error {
	if len(b.b) == 0 {
		return nil
	}
	err := send(ctx, b.out, b.b)
	b.b = nil
	return err
}

// layerJob is one layer being decoded. The decoder sends its entries in
// order on recs and closes it; err is set before the close.
type layerJob struct {
	index  int // 0-based
	layer  v1.Layer
	diffID v1.Hash
	recs   chan []rec
	read   atomic.Int64 // uncompressed bytes hashed so far
	err    error
	// For a layer stored in place: where it is (or why that failed).
	lf    *LayerFile
	lfSrc uint32 // lf.File's index in tree.srcs
	lfErr error
}

// recBuffer is how many batches of decoded entries of a streamed layer
// may wait for the applier: layers ahead of the one being applied keep
// decoding meanwhile.
const recBuffer = (16 << 10) / recBatch

// decodeLayers starts decoding jobs concurrently. Layers stored in place
// are read once each, hashed and indexed in the same pass, by a pool of
// GOMAXPROCS workers (see indexLayers): hashing every byte is most of the
// work. Their channels hold every batch a layer can make (one per
// recBatch headers of at least a block each, and no more than the entry
// limit allows), so a worker never waits for the applier. Other layers are decoded at most workers at a time, in
// order (so the layer the applier waits for always runs).
func (s *store) decodeLayers(ctx context.Context, jobs []*layerJob, workers int, wg *sync.WaitGroup) {
	var inPlace, streamed []*layerJob
	for _, j := range jobs {
		if ctx.Err() == nil && j.locate(s) {
			j.recs = make(chan []rec, min(j.lf.Size/(blockSize*recBatch), int64(s.o.limits.Entries/recBatch))+2)
			inPlace = append(inPlace, j)
		} else {
			j.recs = make(chan []rec, recBuffer)
			streamed = append(streamed, j)
		}
	}
	s.indexLayers(ctx, inPlace, wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sem := make(chan struct{}, workers)
		for _, j := range streamed {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				j.err = ctx.Err()
				close(j.recs)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer close(j.recs)
				j.err = s.decodeImageLayer(ctx, j)
			}()
		}
	}()
}

// locate finds where job j's layer is stored uncompressed, if it is, and
// reports whether it is (then j.lf is set).
func (j *layerJob) locate(s *store) bool {
	if j.diffID.Algorithm != "sha256" {
		return false // decodeImageLayer reports it
	}
	fl, ok := j.layer.(FileLayer)
	if !ok {
		return false
	}
	lf, err := fl.UncompressedFile()
	if err != nil {
		j.lfErr = err
		return false
	}
	if lf == nil {
		return false
	}
	if lf.Release != nil {
		s.addRelease(lf.Release)
	}
	j.lf = lf
	j.lfSrc = s.addSource(lf.File)
	return true
}

// indexLayers indexes and hashes the in-place layers jobs (in layer
// order) with GOMAXPROCS workers: one takes them in order, so the applier
// always has the next layer coming; the others take the largest left, so
// that a large layer late in the image does not start last and finish
// alone.
func (s *store) indexLayers(ctx context.Context, jobs []*layerJob, wg *sync.WaitGroup) {
	q := &layerQueue{jobs: jobs, taken: make([]bool, len(jobs))}
	for w := range min(len(jobs), max(1, runtime.GOMAXPROCS(0))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, hashWindow)
			for {
				j := q.take(w == 0)
				if j == nil {
					return
				}
				j.err = s.indexInPlace(ctx, j, buf)
				close(j.recs)
			}
		}()
	}
}

// layerQueue hands out each of its jobs once: the first one left, or the
// largest one left.
type layerQueue struct {
	mu    sync.Mutex
	jobs  []*layerJob
	taken []bool
}

func (q *layerQueue) take(first bool) *layerJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	best := -1
	for i, j := range q.jobs {
		if q.taken[i] {
			continue
		}
		if first {
			best = i
			break
		}
		if best < 0 || j.lf.Size > q.jobs[best].lf.Size {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	q.taken[best] = true
	return q.jobs[best]
}

// decodeWorkers is how many layers are decoded at once.
func decodeWorkers(layers int) int {
	return max(1, min(layers, max(2, runtime.GOMAXPROCS(0))))
}

func (s *store) decodeImageLayer(ctx context.Context, j *layerJob) error {
	if j.diffID.Algorithm != "sha256" {
		return fmt.Errorf("unsupported diff_id algorithm %q", j.diffID.Algorithm)
	}
	if j.lfErr != nil {
		return fmt.Errorf("opening: %w", j.lfErr)
	}
	rc, err := j.layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	defer rc.Close()
	hr := &hashReader{r: rc, h: sha256.New(), n: &j.read}
	if err := s.decodeStream(ctx, j.recs, hr); err != nil {
		return err
	}
	// Whatever follows the end-of-archive marker is part of the digest too.
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return checkDigest(hr.h.Sum(nil), j.diffID, hr.n.Load())
}

func checkDigest(sum []byte, diffID v1.Hash, n int64) error {
	if got := hex.EncodeToString(sum); got != diffID.Hex {
		return fmt.Errorf("content does not match the diff_id: got sha256:%s (%d bytes read)", got, n)
	}
	return nil
}

// hashReader hashes and counts what is read through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n *atomic.Int64
}

func (p *hashReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.h.Write(b[:n])
		p.n.Add(int64(n))
	}
	return n, err
}

// decodeStream reads the tar r, copying regular file content to the spool,
// and sends its entries on out.
func (s *store) decodeStream(ctx context.Context, out chan<- []rec, r io.Reader) error {
	tr := tar.NewReader(r)
	b := batcher{out: out}
	for {
		hdr, err := s.next(ctx, tr)
		if err == io.EOF {
			return b.flush(ctx)
		}
		if err != nil {
			return err
		}
		r := rec{hdr: hdr}
		if wantsContent(hdr) {
			if r.src, r.off, err = s.spoolContent(tr, hdr); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		}
		if err := b.add(ctx, r); err != nil {
			return err
		}
	}
}

// indexInPlace reads the layer file range of j once, through a window
// buf that hashes every byte: it parses the tar headers in it and records
// where each file's content starts, and checks the hash against the
// diff_id at the end; sparse files, whose bytes are not stored
// contiguously, are spooled.
func (s *store) indexInPlace(ctx context.Context, j *layerJob, buf []byte) error {
	lf := j.lf
	h := sha256.New()
	w := newWindowReader(lf.File, lf.Offset, lf.Size)
	w.buf = buf
	w.hashWith(ctx, h, &j.read)
	hs := newHeaderScanner(w)
	b := batcher{out: j.recs}
	for {
		hdr, pos, tr, err := s.nextInPlace(ctx, hs)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r := rec{hdr: hdr}
		if wantsContent(hdr) {
			if tr != nil {
				r.src, r.off, err = s.spoolContent(tr, hdr)
			} else {
				err = s.checkContent(hdr)
				if err == nil && hdr.Size > 0 {
					if pos+hdr.Size > lf.Size {
						return fmt.Errorf("reading tar: entry %q: %w", hdr.Name, io.ErrUnexpectedEOF)
					}
					r.src, r.off = j.lfSrc, lf.Offset+pos
				}
			}
			if err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		}
		if err := b.add(ctx, r); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	// Whatever follows the end-of-archive marker is part of the digest too.
	if err := w.finish(); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return checkDigest(h.Sum(nil), j.diffID, w.hashed)
}

func send(ctx context.Context, out chan<- []rec, r []rec) error {
	select {
	case out <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nextInPlace is next for a layer read in place.
func (s *store) nextInPlace(ctx context.Context, hs *headerScanner) (*tar.Header, int64, *tar.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, nil, err
	}
	hdr, pos, tr, err := hs.next()
	if err == io.EOF {
		return nil, 0, nil, err
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("reading tar: %w", err)
	}
	if s.entries.Add(1) > int64(s.o.limits.Entries) {
		return nil, 0, nil, fmt.Errorf("more than %d entries: %w", s.o.limits.Entries, ErrLimit)
	}
	return hdr, pos, tr, nil
}

// next returns the next tar header, counting it against the entry limit.
func (s *store) next(ctx context.Context, tr *tar.Reader) (*tar.Header, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hdr, err := tr.Next()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading tar: %w", err)
	}
	if s.entries.Add(1) > int64(s.o.limits.Entries) {
		return nil, fmt.Errorf("more than %d entries: %w", s.o.limits.Entries, ErrLimit)
	}
	return hdr, nil
}

// wantsContent reports whether the applier will store hdr as a regular
// file (see applyEntry), so its content must be placed.
func wantsContent(hdr *tar.Header) bool {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse:
	default:
		return false
	}
	if strings.IndexByte(hdr.Name, 0) >= 0 || strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return false
	}
	return !strings.HasPrefix(cleanBase(hdr.Name), whiteoutPrefix)
}

// cleanBase is path.Base(path.Clean("/" + name)) without building the
// clean path when the last component of name is a plain name.
func cleanBase(name string) string {
	s := strings.TrimRight(name, "/")
	b := s[strings.LastIndexByte(s, '/')+1:]
	if b == "" || b == "." || b == ".." {
		return path.Base(path.Clean("/" + name))
	}
	return b
}

// sparse reports whether hdr is a sparse file (GNU old format or PAX).
func sparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// checkContent checks a regular file's size against the limits.
func (s *store) checkContent(hdr *tar.Header) error {
	if hdr.Size < 0 {
		return fmt.Errorf("negative size %d", hdr.Size)
	}
	if hdr.Size > s.o.limits.FileSize {
		return fmt.Errorf("file is %d bytes, more than %d: %w", hdr.Size, s.o.limits.FileSize, ErrLimit)
	}
	if s.bytes.Add(hdr.Size) > s.o.limits.TotalBytes {
		return fmt.Errorf("content over %d bytes: %w", s.o.limits.TotalBytes, ErrLimit)
	}
	return nil
}

// spoolContent copies a regular file's content to the spool.
func (s *store) spoolContent(r io.Reader, hdr *tar.Header) (src uint32, off int64, err error) {
	if err := s.checkContent(hdr); err != nil || hdr.Size == 0 {
		return 0, 0, err
	}
	sp, err := s.spool()
	if err != nil {
		return 0, 0, err
	}
	off, err = sp.append(r, hdr.Size)
	if err != nil {
		return 0, 0, fmt.Errorf("reading content: %w", err)
	}
	return s.spSrc, off, nil
}

// consume applies the entries of job j as layer number layer (1-based),
// then reports the job's error. Progress is reported from this goroutine.
func (a *applier) consume(ctx context.Context, layer int, j *layerJob, progress func(int64, bool)) error {
	a.layer = layer
	var last int64
	for batch := range j.recs {
		if progress != nil {
			if n := j.read.Load(); n-last >= 4<<20 {
				last = n
				progress(n, false)
			}
		}
		for _, r := range batch {
			if err := a.applyEntry(r.hdr, r.src, r.off); err != nil {
				return fmt.Errorf("entry %q: %w", r.hdr.Name, err)
			}
		}
	}
	if j.err != nil {
		return j.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if progress != nil {
		progress(j.read.Load(), true)
	}
	return nil
}

// applyLayer applies one uncompressed layer tar as layer number layer
// (1-based), decoding it in a goroutine as FromImage does.
func (a *applier) applyLayer(ctx context.Context, layer int, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	j := &layerJob{recs: make(chan []rec, 4)}
	go func() {
		defer close(j.recs)
		j.err = a.st.decodeStream(ctx, j.recs, r)
	}()
	err := a.consume(ctx, layer, j, nil)
	cancel()
	for range j.recs {
	}
	if err == nil {
		err = j.err
	}
	return err
}

// windowReader reads the range [base, base+size) of an io.ReaderAt through
// a window buffer, and seeks without reading. archive/tar reads each header
// in 512-byte blocks and skips content by seeking (then reads its last
// byte): through the window, a layer of small files costs one pread per
// window instead of two per file. With hashWith, every byte of the range
// goes through the hash exactly once, in order, whatever is read or
// skipped: the one read of a layer both indexes and verifies it.
type windowReader struct {
	r          io.ReaderAt
	base, size int64
	pos        int64 // relative to base
	buf        []byte
	bufOff     int64 // relative offset of buf[0]
	n          int   // valid bytes in buf
	// Hashing (see hashWith): h has seen the bytes before hashed.
	ctx    context.Context
	h      hash.Hash
	hashed int64
	count  *atomic.Int64
}

// hashWindow is the window of a hashing reader: it reads every byte.
const hashWindow = 1 << 20

func newWindowReader(r io.ReaderAt, base, size int64) *windowReader {
	return &windowReader{r: r, base: base, size: size, buf: make([]byte, 256<<10)}
}

// hashWith makes w hash every byte of its range into h, adding their
// count to count; skipping over bytes reads them (checking ctx between
// windows). Call finish at the end.
func (w *windowReader) hashWith(ctx context.Context, h hash.Hash, count *atomic.Int64) {
	w.ctx, w.h, w.count = ctx, h, count
}

// fill reads up to m bytes at relative offset p into the window.
func (w *windowReader) fill(p, m int64) (int, error) {
	if w.h != nil && p > w.hashed {
		if err := w.hashTo(p); err != nil {
			return 0, err
		}
	}
	k, err := w.r.ReadAt(w.buf[:m], w.base+p)
	w.bufOff, w.n = p, k
	if end := p + int64(k); w.h != nil && end > w.hashed {
		w.h.Write(w.buf[w.hashed-p : k])
		w.count.Add(end - w.hashed)
		w.hashed = end
	}
	return k, err
}

// hashTo hashes the bytes from w.hashed up to p, reading them through the
// window buffer.
func (w *windowReader) hashTo(p int64) error {
	w.n = 0 // the buffer is overwritten
	for w.hashed < p {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		m := min(int64(len(w.buf)), p-w.hashed)
		k, err := w.r.ReadAt(w.buf[:m], w.base+w.hashed)
		w.h.Write(w.buf[:k])
		w.count.Add(int64(k))
		w.hashed += int64(k)
		if int64(k) < m {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// finish hashes what is left of the range.
func (w *windowReader) finish() error { return w.hashTo(w.size) }

func (w *windowReader) Read(p []byte) (int, error) {
	if w.pos >= w.size {
		return 0, io.EOF
	}
	if w.pos < w.bufOff || w.pos >= w.bufOff+int64(w.n) {
		m := min(int64(len(w.buf)), w.size-w.pos)
		k, err := w.fill(w.pos, m)
		if k == 0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	k := copy(p, w.buf[w.pos-w.bufOff:w.n])
	w.pos += int64(k)
	return k, nil
}

// block returns the 512 bytes at pos from the window, filling it when
// needed, or nil when they cannot be read (the caller's reader reports
// why). After a skip over more than smallWindow unread bytes, a small read
// fills it: past a large file, a header may be all that is needed there,
// and a full window would copy a quarter MiB per file (unless the reader
// hashes: then it reads everything anyway).
func (w *windowReader) block(pos int64) []byte {
	if pos < 0 || pos+blockSize > w.size {
		return nil
	}
	if pos < w.bufOff || pos+blockSize > w.bufOff+int64(w.n) {
		m := int64(len(w.buf))
		if w.h == nil && pos > w.bufOff+int64(w.n)+smallWindow {
			m = min(m, smallWindow)
		}
		m = min(m, w.size-pos)
		k, _ := w.fill(pos, m)
		if k < blockSize {
			return nil
		}
	}
	i := pos - w.bufOff
	return w.buf[i : i+blockSize]
}

// smallWindow is what block reads after a long skip.
const smallWindow = 16 << 10

func (w *windowReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += w.pos
	case io.SeekEnd:
		off += w.size
	}
	if off < 0 {
		return 0, errors.New("seek before the start of the layer")
	}
	w.pos = off
	return off, nil
}
