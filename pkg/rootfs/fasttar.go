package rootfs

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"time"
)

// headerScanner reads the headers of a tar layer stored in place (see
// FileLayer) and the offset of each entry's data, without reading the
// data. Plain ustar and GNU headers (a valid checksum, octal numbers, a
// basic type) are parsed here straight from the window buffer; anything
// else (PAX and GNU long-name records, sparse files, base-256 numbers,
// old or damaged headers, the end of the archive) is read by archive/tar
// from the same offset, so both give the same headers and the same errors
// for the same bytes. The plain path exists because archive/tar examines
// every byte of every header rune by rune (its format guess), which costs
// more than the rest of the index on a layer of 10^5 small files.
type headerScanner struct {
	w    *windowReader
	size int64
	pos  int64 // offset of the next header when tr is nil
	end  int64 // end of the last plain entry's data
	// tr is the archive/tar reader of the last entry it read. It goes on
	// reading headers after an entry whose data the caller reads from it
	// (a sparse file); otherwise the next header is parsed at pos.
	tr   *tar.Reader
	stay bool
	// slab is where plain headers are parsed into, one allocation for
	// many: the applier keeps nothing of a header once applied.
	slab []tar.Header
}

// headerSlab is how many headers one slab holds.
const headerSlab = 256

func newHeaderScanner(w *windowReader) *headerScanner {
	return &headerScanner{w: w, size: w.size}
}

// plainHeaders is false when GODEBUG asks archive/tar to refuse insecure
// names, which only archive/tar knows how to do.
var plainHeaders = !strings.Contains(os.Getenv("GODEBUG"), "tarinsecurepath=0")

// next returns the next header and the offset of its data in the layer;
// when tr is not nil, the data must be read from tr (sparse files). At
// the end of the archive it returns io.EOF.
func (s *headerScanner) next() (hdr *tar.Header, off int64, tr *tar.Reader, err error) {
	if s.tr != nil && s.stay {
		hdr, err := s.tr.Next()
		return s.fromTar(hdr, err)
	}
	s.tr = nil
	switch {
	case s.end > s.size:
		return nil, 0, nil, io.ErrUnexpectedEOF // the last entry's data is cut off
	case s.pos >= s.size:
		// archive/tar too ends the archive quietly where the padding of the
		// last data block, or the next header, would start.
		return nil, 0, nil, io.EOF
	}
	if plainHeaders {
		if blk := s.w.block(s.pos); blk != nil {
			if len(s.slab) == 0 {
				s.slab = make([]tar.Header, headerSlab)
			}
			if hdr := &s.slab[0]; parsePlainHeader(blk, hdr) {
				s.slab = s.slab[1:]
				off := s.pos + blockSize
				s.skipData(off, hdr)
				return hdr, off, nil, nil
			}
		}
	}
	if _, err := s.w.Seek(s.pos, io.SeekStart); err != nil {
		return nil, 0, nil, err
	}
	s.tr = tar.NewReader(s.w)
	hdr, err = s.tr.Next()
	return s.fromTar(hdr, err)
}

// fromTar returns what archive/tar read and notes where the next header is.
func (s *headerScanner) fromTar(hdr *tar.Header, err error) (*tar.Header, int64, *tar.Reader, error) {
	if err != nil {
		return nil, 0, nil, err
	}
	off, err := s.w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, nil, err
	}
	if sparse(hdr) {
		s.stay = true
		return hdr, off, s.tr, nil
	}
	s.stay = false
	s.skipData(off, hdr)
	return hdr, off, nil, nil
}

// skipData notes where the data of hdr, starting at off, ends and where
// the next header is.
func (s *headerScanner) skipData(off int64, hdr *tar.Header) {
	n := hdr.Size
	if headerOnly(hdr.Typeflag) {
		n = 0
	}
	s.end = off + n
	s.pos = off + (n+blockSize-1)/blockSize*blockSize
}

const blockSize = 512

// headerOnly reports whether archive/tar ignores the data of an entry of
// type flag (its size field notwithstanding).
func headerOnly(flag byte) bool {
	switch flag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		return true
	}
	return false
}

// Numeric fields of a header block, by their byte ranges.
type field struct{ from, to int }

var (
	fChecksum = field{148, 156}
	// the fields parsePlainHeader reads, in the order of its nums
	plainNums = [...]field{
		{124, 136}, // size
		{100, 108}, // mode
		{108, 116}, // uid
		{116, 124}, // gid
		{136, 148}, // mtime
		{329, 337}, // devmajor
		{337, 345}, // devminor
	}
	// GNU atime and ctime: archive/tar drops them (the prefix field's
	// bytes) unless they fail to parse, which it must then report.
	gnuTimes = [...]field{{345, 357}, {357, 369}}
)

// unsignedSum is the checksum of header block b: the sum of its bytes,
// those of the checksum field counted as spaces. It adds eight bytes at a
// time, in four 16-bit lanes (each at most 64·2·255).
func unsignedSum(b []byte) int64 {
	b = b[:blockSize]
	const lanes = 0x00ff00ff00ff00ff
	var acc uint64
	for i := 0; i < blockSize; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		acc += w&lanes + (w>>8)&lanes
	}
	total := int64(acc&0xffff + (acc>>16)&0xffff + (acc>>32)&0xffff + acc>>48)
	for _, c := range b[fChecksum.from:fChecksum.to] {
		total += ' ' - int64(c)
	}
	return total
}

// signedSum is the checksum of header block b as some old tar writers
// computed it, with signed bytes.
func signedSum(b []byte) int64 {
	var sum int64
	for i, c := range b[:blockSize] {
		if fChecksum.from <= i && i < fChecksum.to {
			c = ' '
		}
		sum += int64(int8(c))
	}
	return sum
}

// octal parses the field f of block b (see octalField).
func (f field) octal(b []byte) (int64, bool) { return octalField(b[f.from:f.to]) }

// parsePlainHeader parses into hdr a ustar or GNU header block of a basic
// type with octal numbers as archive/tar would; it returns false for any
// other block, which archive/tar must read (hdr is then garbage).
func parsePlainHeader(b []byte, hdr *tar.Header) bool {
	sum, ok := fChecksum.octal(b)
	if !ok {
		return false
	}
	if sum != unsignedSum(b) && sum != signedSum(b) {
		return false
	}
	var ustar bool
	switch {
	case string(b[257:263]) == "ustar\x00" && string(b[508:512]) != "tar\x00":
		ustar = true
	case string(b[257:263]) == "ustar " && string(b[263:265]) == " \x00":
		for _, f := range gnuTimes {
			if _, ok := f.octal(b); b[f.from] != 0 && !ok {
				return false
			}
		}
	default:
		return false
	}
	flag := b[156]
	switch flag {
	case tar.TypeReg, typeRegA, tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo, tar.TypeCont:
	default:
		return false
	}
	var nums [len(plainNums)]int64
	for i, f := range plainNums {
		if nums[i], ok = f.octal(b); !ok {
			return false
		}
	}
	name := cString(b[0:100])
	if ustar {
		if prefix := cStringBytes(b[345:500]); len(prefix) > 0 {
			name = string(prefix) + "/" + name
		}
	}
	if flag == typeRegA {
		if strings.HasSuffix(name, "/") {
			flag = tar.TypeDir // legacy archives mark directories with a slash
		} else {
			flag = tar.TypeReg
		}
	}
	*hdr = tar.Header{
		Typeflag: flag,
		Name:     name,
		Linkname: cString(b[157:257]),
		Size:     nums[0],
		Mode:     nums[1],
		Uid:      int(nums[2]),
		Gid:      int(nums[3]),
		ModTime:  time.Unix(nums[4], 0),
		Devmajor: nums[5],
		Devminor: nums[6],
		// Uname and Gname are left out: the view keeps numeric owners.
	}
	return true
}

// octalField parses a numeric field as archive/tar's octal parser does
// (NULs and spaces around it ignored, empty is 0); ok is false for
// anything else, base-256 numbers included.
func octalField(b []byte) (int64, bool) {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == 0) {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == 0) {
		j--
	}
	var x int64
	for _, c := range b[i:j] {
		if c < '0' || c > '7' {
			return 0, false
		}
		x = x<<3 | int64(c-'0')
	}
	return x, true
}

func cStringBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func cString(b []byte) string {
	b = cStringBytes(b)
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

// typeRegA is the pre-POSIX flag of a regular file ('\x00', archive/tar's
// deprecated TypeRegA), which old archives still carry.
const typeRegA = '\x00'
