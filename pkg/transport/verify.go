package transport

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrDigestMismatch is returned when content does not match its digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// verifiedImage checks every layer read against the digests that name it.
type verifiedImage struct {
	v1.Image
	src string
	// derived: the layer digests were computed from the content (docker
	// save archives), so compressed reads also check the diff_id.
	derived bool
}

var _ v1.Image = (*verifiedImage)(nil)

// ConfigFile parses the raw config, so that it always matches the config
// digest (the daemon image builds it from docker inspect otherwise).
func (i *verifiedImage) ConfigFile() (*v1.ConfigFile, error) {
	return partial.ConfigFile(i)
}

func (i *verifiedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &verifiedLayer{Layer: l, src: i.src, index: n, derived: i.derived}
	}
	return out, nil
}

func (i *verifiedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &verifiedLayer{Layer: l, src: i.src, index: -1, derived: i.derived}, nil
}

func (i *verifiedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &verifiedLayer{Layer: l, src: i.src, index: -1, derived: i.derived}, nil
}

type verifiedLayer struct {
	v1.Layer
	src     string
	index   int
	derived bool
}

func (l *verifiedLayer) name(h v1.Hash) string {
	if l.index >= 0 {
		return fmt.Sprintf("%s: layer %d (%s)", l.src, l.index, h)
	}
	return fmt.Sprintf("%s: layer %s", l.src, h)
}

func (l *verifiedLayer) Compressed() (io.ReadCloser, error) {
	d, err := l.Digest()
	if err != nil {
		return nil, fmt.Errorf("%s: layer %d: %w", l.src, l.index, err)
	}
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.name(d), err)
	}
	v := newVerifier(rc, d, l.name(d))
	if l.derived {
		diffID, err := l.DiffID()
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: %w", l.name(d), err)
		}
		v.(*verifier).checkDiffID(diffID)
	}
	return v, nil
}

func (l *verifiedLayer) Uncompressed() (io.ReadCloser, error) {
	if rc, ok, err := l.gunzip(); ok {
		return rc, err
	}
	d, err := l.DiffID()
	if err != nil {
		return nil, fmt.Errorf("%s: layer %d: %w", l.src, l.index, err)
	}
	var rc io.ReadCloser
	if l.derived {
		rc, err = l.Layer.Uncompressed()
	} else {
		// Decompress what Compressed checks against the layer digest: a
		// layout's or registry's blob must match its name too, not only
		// its content the diff_id.
		var ul v1.Layer
		if ul, err = partial.CompressedToLayer(compressedOnly{l}); err == nil {
			rc, err = ul.Uncompressed()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.name(d), err)
	}
	return newVerifier(rc, d, l.name(d)), nil
}

// compressedOnly hides a layer's own Uncompressed, so that
// partial.CompressedToLayer decompresses its verified Compressed stream.
type compressedOnly struct{ l *verifiedLayer }

func (c compressedOnly) Digest() (v1.Hash, error)            { return c.l.Digest() }
func (c compressedOnly) Compressed() (io.ReadCloser, error)  { return c.l.Compressed() }
func (c compressedOnly) Size() (int64, error)                { return c.l.Size() }
func (c compressedOnly) MediaType() (types.MediaType, error) { return c.l.MediaType() }

// verifier hashes what is read and fails at EOF on a mismatch. Read errors
// are wrapped with the layer's name.
type verifier struct {
	rc   io.ReadCloser
	h    hash.Hash
	want v1.Hash
	what string
	n    int64
	err  error

	// Optional check of the decompressed content against a diff_id.
	pw      *io.PipeWriter
	diffErr chan error
}

// checkDiffID makes v also gunzip what it reads and compare it with diffID.
// Content that is not gzip-compressed is not checked.
func (v *verifier) checkDiffID(diffID v1.Hash) {
	if v.err != nil {
		return
	}
	pr, pw := io.Pipe()
	v.pw = pw
	v.diffErr = make(chan error, 1)
	go func() {
		defer io.Copy(io.Discard, pr) // never block the writer
		br := bufio.NewReader(pr)
		if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
			v.diffErr <- nil
			return
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			v.diffErr <- fmt.Errorf("%s: decompressing: %w", v.what, err)
			return
		}
		h := sha256.New()
		if _, err := io.Copy(h, zr); err != nil {
			v.diffErr <- fmt.Errorf("%s: decompressing: %w", v.what, err)
			return
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
			v.diffErr <- fmt.Errorf("%s: diff_id %s: %w (got sha256:%s)", v.what, diffID, ErrDigestMismatch, got)
			return
		}
		v.diffErr <- nil
	}()
}

func newVerifier(rc io.ReadCloser, want v1.Hash, what string) io.ReadCloser {
	if want.Algorithm != "sha256" {
		return &verifier{rc: rc, what: what, err: fmt.Errorf("%s: unsupported digest algorithm %q", what, want.Algorithm)}
	}
	return &verifier{rc: rc, h: sha256.New(), want: want, what: what}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if v.pw != nil {
		v.pw.Write(p[:n])
	}
	v.n += int64(n)
	switch {
	case err == io.EOF:
		got := hex.EncodeToString(v.h.Sum(nil))
		if got != v.want.Hex {
			v.err = fmt.Errorf("%s: %w after %d bytes (got sha256:%s)", v.what, ErrDigestMismatch, v.n, got)
			return n, v.err
		}
		if v.pw != nil {
			v.pw.Close()
			v.pw = nil
			if derr := <-v.diffErr; derr != nil {
				v.err = derr
				return n, v.err
			}
		}
	case err != nil:
		v.err = fmt.Errorf("%s: reading after %d bytes: %w", v.what, v.n, err)
		return n, v.err
	}
	return n, err
}

func (v *verifier) Close() error {
	if v.pw != nil {
		v.pw.CloseWithError(errors.New("closed before the end"))
		v.pw = nil
	}
	return v.rc.Close()
}

// Verify reads every layer of img, compressed and uncompressed, and checks
// it against its digest, diff_id and size. Errors name the image source
// when img came from Read.
func Verify(img v1.Image) error {
	if err := checkImage(img); err != nil {
		return err
	}
	ls, err := img.Layers()
	if err != nil {
		return fmt.Errorf("listing layers: %w", err)
	}
	var errs []error
	for i, l := range ls {
		if _, ok := l.(*verifiedLayer); !ok {
			l = &verifiedLayer{Layer: l, src: "image", index: i}
		}
		n, err := drainCount(l.Compressed)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if size, err := l.Size(); err != nil {
			errs = append(errs, fmt.Errorf("layer %d size: %w", i, err))
		} else if size != n {
			errs = append(errs, fmt.Errorf("layer %d: size is %d bytes, manifest says %d", i, n, size))
		}
		if err := drain(l.Uncompressed); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func drain(open func() (io.ReadCloser, error)) error {
	_, err := drainCount(open)
	return err
}

func drainCount(open func() (io.ReadCloser, error)) (int64, error) {
	rc, err := open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
