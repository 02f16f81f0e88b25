package rootfs

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// scanned is what the index uses of one header, and where its data is.
type scanned struct {
	Typeflag           byte
	Name, Linkname     string
	Size, Mode         int64
	Uid, Gid           int
	ModTime            int64
	Devmajor, Devminor int64
	PAX                map[string]string
	Off                int64
	Sparse             bool
}

func scannedOf(h *tar.Header, off int64) scanned {
	return scanned{h.Typeflag, h.Name, h.Linkname, h.Size, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.Devmajor, h.Devminor, h.PAXRecords, off, sparse(h)}
}

// viaTar lists b with archive/tar alone, as the index did before.
func viaTar(b []byte) ([]scanned, error) {
	r := io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))
	tr := tar.NewReader(r)
	var out []scanned
	for {
		h, err := tr.Next()
		if err != nil {
			return out, err
		}
		off, _ := r.Seek(0, io.SeekCurrent)
		out = append(out, scannedOf(h, off))
		if len(out) > 10000 {
			return out, errors.New("too many")
		}
		if sparse(h) {
			if err := readSparse(tr, h); err != nil {
				return out, err
			}
		}
	}
}

// readSparse reads a sparse file's data and checks its length.
func readSparse(r io.Reader, h *tar.Header) error {
	n, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	if err != nil {
		return err
	}
	if n != h.Size && n < 1<<20 {
		return fmt.Errorf("%s: read %d bytes of %d", h.Name, n, h.Size)
	}
	return nil
}

// viaScanner lists b with the header scanner, windows of win bytes.
func viaScanner(b []byte, win int) ([]scanned, error) {
	w := newWindowReader(bytes.NewReader(b), 0, int64(len(b)))
	w.buf = make([]byte, win)
	hs := newHeaderScanner(w)
	var out []scanned
	for {
		h, off, tr, err := hs.next()
		if err != nil {
			return out, err
		}
		if sparse(h) != (tr != nil) {
			return out, fmt.Errorf("%s: sparse %v but reader %v", h.Name, sparse(h), tr != nil)
		}
		out = append(out, scannedOf(h, off))
		if len(out) > 10000 {
			return out, errors.New("too many")
		}
		if tr != nil {
			if err := readSparse(tr, h); err != nil {
				return out, err
			}
		}
	}
}

// compareScan checks that the scanner reads b as archive/tar does: the
// same headers at the same offsets, then the same kind of end.
func compareScan(t *testing.T, b []byte) {
	t.Helper()
	want, werr := viaTar(b)
	for _, win := range []int{1024, 256 << 10} {
		got, gerr := viaScanner(b, win)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("window %d: headers differ:\n got %+v\nwant %+v", win, got, want)
		}
		if (werr == io.EOF) != (gerr == io.EOF) || (werr == io.ErrUnexpectedEOF) != (gerr == io.ErrUnexpectedEOF) {
			t.Fatalf("window %d: ends with %v, archive/tar with %v", win, gerr, werr)
		}
	}
}

var scanNames = []string{"a", "dir/", "usr/lib/x86_64-linux-gnu/libc.so.6", "./etc/passwd", "/abs/path", "../up",
	"été/ünï", strings.Repeat("long/", 30) + "name", strings.Repeat("x", 99), strings.Repeat("y", 101),
	"p/.wh.gone", "p/.wh..wh..opq", "nul\x00name"}

// randomArchive writes a tar of random entries in format f.
func randomArchive(rng *rand.Rand, f tar.Format) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	types := []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo}
	for range rng.IntN(20) {
		h := &tar.Header{
			Typeflag: types[rng.IntN(len(types))],
			Name:     scanNames[rng.IntN(len(scanNames))],
			Mode:     int64(rng.IntN(0o7777 + 1)),
			Uid:      []int{0, 1000, 1 << 21, 1<<22 + 5}[rng.IntN(4)],
			Gid:      rng.IntN(70000),
			ModTime:  time.Unix([]int64{0, 1700000000, 1 << 34, -5}[rng.IntN(4)], 0),
			Format:   f,
		}
		switch h.Typeflag {
		case tar.TypeReg:
			h.Size = []int64{0, 1, 511, 512, 513, 3000}[rng.IntN(6)]
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname = scanNames[rng.IntN(len(scanNames))]
		case tar.TypeChar, tar.TypeBlock:
			h.Devmajor, h.Devminor = int64(rng.IntN(300)), int64(rng.IntN(1<<22))
		}
		if rng.IntN(8) == 0 && f != tar.FormatUSTAR && f != tar.FormatGNU {
			h.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00"}
		}
		if err := tw.WriteHeader(h); err != nil {
			continue // not representable in f: archive/tar refuses it
		}
		if h.Typeflag == tar.TypeReg {
			data := make([]byte, h.Size)
			for i := range data {
				data[i] = byte(rng.IntN(256))
			}
			tw.Write(data)
		}
	}
	if rng.IntN(4) != 0 {
		tw.Close()
	} else {
		tw.Flush()
	}
	return buf.Bytes()
}

// The scanner reads well-formed, damaged and truncated archives in every
// format exactly as archive/tar does.
func TestHeaderScannerMatchesArchiveTar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	formats := []tar.Format{tar.FormatUnknown, tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU}
	n := 1000
	if testing.Short() {
		n = 300
	}
	plain := 0
	for i := range n {
		b := randomArchive(rng, formats[i%len(formats)])
		compareScan(t, b)
		switch rng.IntN(4) {
		case 0: // truncated anywhere
			if len(b) > 0 {
				compareScan(t, b[:rng.IntN(len(b))])
			}
		case 1: // bytes changed anywhere
			c := bytes.Clone(b)
			for range 1 + rng.IntN(4) {
				if len(c) > 0 {
					c[rng.IntN(len(c))] = byte(rng.IntN(256))
				}
			}
			compareScan(t, c)
		case 2: // a header changed and its checksum fixed, so it parses
			c := bytes.Clone(b)
			if len(c) >= 512 {
				h := c[:512]
				h[100+rng.IntN(200)] = []byte{' ', 0, '7', '9', 0x80, 0xff, 'x'}[rng.IntN(7)]
				fixChecksum(h)
				compareScan(t, c)
			}
		}
		if len(b) >= 512 {
			if parsePlainHeader(b[:512], new(tar.Header)) {
				plain++
			}
		}
	}
	if plain < n/4 {
		t.Errorf("only %d of %d archives start with a header the plain path parses", plain, n)
	}
}

func fixChecksum(h []byte) {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h[:512] {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

// A sparse file's data is read through archive/tar, and the headers after
// it are found again.
func TestHeaderScannerSparse(t *testing.T) {
	var recs []byte
	for _, kv := range [][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", "sparse"}, {"GNU.sparse.realsize", "700"},
	} {
		r := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(r) + 2
		if len(fmt.Sprint(n)+r) != n {
			n++
		}
		recs = append(recs, fmt.Sprint(n)+r...)
	}
	sparseMap := pad512([]byte("1\n0\n700\n"))
	var b []byte
	b = append(b, rawHeader("before", '0', 3)...)
	b = append(b, pad512([]byte("abc"))...)
	b = append(b, rawHeader("PaxHeaders/sparse", 'x', len(recs))...)
	b = append(b, pad512(recs)...)
	b = append(b, rawHeader("GNUSparseFile.0/sparse", '0', len(sparseMap)+700)...)
	b = append(b, sparseMap...)
	b = append(b, pad512(bytes.Repeat([]byte("s"), 700))...)
	b = append(b, rawHeader("after", '0', 5)...)
	b = append(b, pad512([]byte("defgh"))...)
	b = append(b, make([]byte, 1024)...)
	compareScan(t, b)
	got, err := viaScanner(b, 1024)
	if err != io.EOF || len(got) != 3 || got[2].Name != "after" || !got[1].Sparse || got[1].Size != 700 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func FuzzHeaderScanner(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 8 {
		f.Add(randomArchive(rng, []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU, tar.FormatUnknown}[i%4]))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compareScan(t, b)
	})
}

// unsignedSum is the byte sum archive/tar checks, for any block.
func TestUnsignedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	b := make([]byte, blockSize)
	for i := range 2000 {
		for j := range b {
			switch i % 3 {
			case 0:
				b[j] = byte(rng.IntN(256))
			case 1:
				b[j] = 0xff
			default:
				b[j] = byte(rng.IntN(128))
			}
		}
		var want int64
		for j, c := range b {
			if 148 <= j && j < 156 {
				c = ' '
			}
			want += int64(c)
		}
		if got := unsignedSum(b); got != want {
			t.Fatalf("unsignedSum = %d, want %d", got, want)
		}
	}
}
