// Package jimage reads and writes the JDK's run-time image, lib/modules
// (the "jimage" format of JDK 9 and later), in pure Go.
//
// A jimage is a header, an index and the resources. The index is a
// perfect-hash redirect table, an offsets table (one entry per location,
// into the locations), the locations (each a stream of attributes: the
// module, parent, base and extension of the name as offsets into the
// strings, and the resource's offset and sizes) and the strings
// (NUL-terminated, modified UTF-8). A resource's full name is
// /module/parent/base.extension; besides the classes and resources of
// every module (/java.base/java/lang/Object.class) the image holds the
// directories the runtime lists: /modules/<m>/<pkg path> (content: the
// location offsets of the children) and /packages/<pkg> (content: pairs of
// an "empty" flag and the offset of a module name's string).
//
// The layout follows OpenJDK's libjimage (imageFile.hpp) and
// jdk.internal.jimage (BasicImageReader, ImageLocation,
// ImageStringsReader), and the writer jlink's ImageFileCreator,
// ImageResourcesTree and PerfectHashBuilder.
package jimage

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Magic is the first word of a jimage, in the image's byte order.
const Magic = 0xCAFEDADA

// compressedMagic starts the header of a compressed resource.
const compressedMagic = 0xCAFEFAFA

const headerSize = 7 * 4

// Location attribute kinds.
const (
	attrEnd = iota
	attrModule
	attrParent
	attrBase
	attrExtension
	attrOffset
	attrCompressed
	attrUncompressed
	attrCount
)

// hashMultiplier is the FNV prime the image's hash uses, and its default seed.
const hashMultiplier = 0x01000193

// maxIndex bounds the index a reader accepts (the JDK's is about 1.3 MB).
const maxIndex = 1 << 30

// Header is the fixed start of a jimage.
type Header struct {
	Major, Minor  uint16
	Flags         uint32
	ResourceCount uint32
	TableLength   uint32
	LocationsSize uint32
	StringsSize   uint32
}

// Location is one entry of the image: a resource, a directory of /modules
// or a /packages entry.
type Location struct {
	Module, Parent, Base, Extension string
	// Offset is the content's offset from the end of the index.
	Offset uint64
	// Compressed is the stored size when the content is compressed, else 0.
	Compressed uint64
	// Uncompressed is the content's size.
	Uncompressed uint64
}

// Name is the location's full name: /module/parent/base.extension with the
// empty parts left out.
func (l Location) Name() string {
	var b strings.Builder
	if l.Module != "" {
		b.WriteString("/")
		b.WriteString(l.Module)
		b.WriteString("/")
	}
	if l.Parent != "" {
		b.WriteString(l.Parent)
		b.WriteString("/")
	}
	b.WriteString(l.Base)
	if l.Extension != "" {
		b.WriteString(".")
		b.WriteString(l.Extension)
	}
	return b.String()
}

// Image is an open jimage.
type Image struct {
	Header    Header
	order     Order
	r         io.ReaderAt
	size      int64
	redirect  []int32
	offsets   []uint32
	locations []byte
	strs      []byte
	indexSize int64
}

// Open reads the header and index of the jimage r of size bytes.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	var hb [headerSize]byte
	if size < headerSize {
		return nil, errors.New("not a jimage: too short")
	}
	if _, err := r.ReadAt(hb[:], 0); err != nil {
		return nil, fmt.Errorf("reading the jimage header: %w", err)
	}
	im := &Image{r: r, size: size}
	switch {
	case binary.LittleEndian.Uint32(hb[:]) == Magic:
		im.order = binary.LittleEndian
	case binary.BigEndian.Uint32(hb[:]) == Magic:
		im.order = binary.BigEndian
	default:
		return nil, errors.New("not a jimage: bad magic")
	}
	u := func(i int) uint32 { return im.order.Uint32(hb[4*i:]) }
	v := u(1)
	im.Header = Header{Major: uint16(v >> 16), Minor: uint16(v), Flags: u(2), ResourceCount: u(3),
		TableLength: u(4), LocationsSize: u(5), StringsSize: u(6)}
	h := im.Header
	if h.Major != 1 {
		return nil, fmt.Errorf("unsupported jimage version %d.%d", h.Major, h.Minor)
	}
	idx := int64(headerSize) + 8*int64(h.TableLength) + int64(h.LocationsSize) + int64(h.StringsSize)
	if idx > size || idx > maxIndex {
		return nil, fmt.Errorf("jimage index of %d bytes exceeds the file (%d)", idx, size)
	}
	im.indexSize = idx
	buf := make([]byte, idx-headerSize)
	if _, err := r.ReadAt(buf, headerSize); err != nil {
		return nil, fmt.Errorf("reading the jimage index: %w", err)
	}
	n := int(h.TableLength)
	im.redirect = make([]int32, n)
	im.offsets = make([]uint32, n)
	for i := 0; i < n; i++ {
		im.redirect[i] = int32(im.order.Uint32(buf[4*i:]))
		im.offsets[i] = im.order.Uint32(buf[4*n+4*i:])
	}
	buf = buf[8*n:]
	im.locations = buf[:h.LocationsSize]
	im.strs = buf[h.LocationsSize:]
	return im, nil
}

// Parse opens a jimage held in memory.
func Parse(data []byte) (*Image, error) {
	return Open(bytes.NewReader(data), int64(len(data)))
}

// ByteOrder is the image's byte order.
func (im *Image) ByteOrder() Order { return im.order }

// Order is a byte order that reads and appends (binary.LittleEndian,
// binary.BigEndian).
type Order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// str returns the NUL-terminated string at offset off of the strings.
func (im *Image) str(off uint64) (string, error) {
	if off >= uint64(len(im.strs)) {
		return "", fmt.Errorf("string offset %d out of range", off)
	}
	s := im.strs[off:]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		return "", fmt.Errorf("string at %d not terminated", off)
	}
	return string(s[:i]), nil
}

// attributes decodes the attribute stream at offset off of the locations.
func (im *Image) attributes(off uint32) ([attrCount]uint64, error) {
	var a [attrCount]uint64
	if off >= uint32(len(im.locations)) {
		return a, fmt.Errorf("location offset %d out of range", off)
	}
	p := im.locations[off:]
	for len(p) > 0 {
		kind, n := int(p[0]>>3), int(p[0]&7)+1
		if kind == attrEnd {
			return a, nil
		}
		if kind >= attrCount {
			return a, fmt.Errorf("location at %d: bad attribute kind %d", off, kind)
		}
		if len(p) < 1+n {
			break
		}
		var v uint64
		for _, b := range p[1 : 1+n] {
			v = v<<8 | uint64(b)
		}
		a[kind] = v
		p = p[1+n:]
	}
	return a, fmt.Errorf("location at %d not terminated", off)
}

// location decodes the location at offset off of the locations.
func (im *Image) location(off uint32) (Location, error) {
	a, err := im.attributes(off)
	if err != nil {
		return Location{}, err
	}
	var l Location
	for _, f := range []struct {
		dst  *string
		kind int
	}{{&l.Module, attrModule}, {&l.Parent, attrParent}, {&l.Base, attrBase}, {&l.Extension, attrExtension}} {
		if *f.dst, err = im.str(a[f.kind]); err != nil {
			return Location{}, fmt.Errorf("location at %d: %w", off, err)
		}
	}
	l.Offset, l.Compressed, l.Uncompressed = a[attrOffset], a[attrCompressed], a[attrUncompressed]
	return l, nil
}

// Locations returns every location of the image, sorted by name.
func (im *Image) Locations() ([]Location, error) {
	out := make([]Location, 0, len(im.offsets))
	for _, off := range im.offsets {
		l, err := im.location(off)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// hash is the image's string hash (ImageStringsReader.hashCode) of the
// UTF-8 bytes of s with seed.
func hash(s string, seed int32) int32 {
	h := uint32(seed)
	for i := 0; i < len(s); i++ {
		h = h*hashMultiplier ^ uint32(s[i])
	}
	return int32(h & 0x7FFFFFFF)
}

// Find returns the location named name.
func (im *Image) Find(name string) (Location, bool) {
	n := int32(len(im.redirect))
	if n == 0 {
		return Location{}, false
	}
	i := hash(name, hashMultiplier) % n
	switch v := im.redirect[i]; {
	case v < 0:
		i = -1 - v
	case v > 0:
		i = hash(name, v) % n
	default:
		return Location{}, false
	}
	if i < 0 || i >= n {
		return Location{}, false
	}
	l, err := im.location(im.offsets[i])
	if err != nil || l.Name() != name {
		return Location{}, false
	}
	return l, true
}

// maxResource bounds the size of one resource Read returns.
const maxResource = 1 << 30

// Read returns the content of l, decompressed.
func (im *Image) Read(l Location) ([]byte, error) {
	stored := l.Uncompressed
	if l.Compressed != 0 {
		stored = l.Compressed
	}
	start := uint64(im.indexSize) + l.Offset
	if stored > maxResource || l.Uncompressed > maxResource || start < l.Offset || start+stored > uint64(im.size) {
		return nil, fmt.Errorf("%s: content out of the file", l.Name())
	}
	buf := make([]byte, stored)
	if _, err := im.r.ReadAt(buf, int64(start)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.Name(), err)
	}
	if l.Compressed == 0 {
		return buf, nil
	}
	return im.decompress(l.Name(), buf, l.Uncompressed)
}

// decompress undoes the compressions of a stored resource: each layer is a
// 29-byte header (magic, compressed and uncompressed sizes, the
// decompressor's name and configuration as string offsets, a terminal flag)
// and the compressed bytes. Only "zip" (zlib) is supported; "compact-cp"
// (constant pool sharing) is reported.
func (im *Image) decompress(name string, buf []byte, size uint64) ([]byte, error) {
	for {
		if len(buf) < 29 || im.order.Uint32(buf) != compressedMagic {
			// the last layer is the resource itself
			if uint64(len(buf)) != size {
				return nil, fmt.Errorf("%s: decompressed %d bytes, want %d", name, len(buf), size)
			}
			return buf, nil
		}
		csize, usize := im.order.Uint64(buf[4:]), im.order.Uint64(buf[12:])
		dec, err := im.str(uint64(im.order.Uint32(buf[20:])))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		body := buf[29:]
		if csize > uint64(len(body)) || usize > maxResource {
			return nil, fmt.Errorf("%s: bad compressed header", name)
		}
		body = body[:csize]
		switch dec {
		case "zip":
			zr, err := zlib.NewReader(bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out, err := io.ReadAll(io.LimitReader(zr, int64(usize)+1))
			if err != nil {
				return nil, fmt.Errorf("%s: inflating: %w", name, err)
			}
			if uint64(len(out)) != usize {
				return nil, fmt.Errorf("%s: inflated %d bytes, want %d", name, len(out), usize)
			}
			buf = out
		default:
			return nil, fmt.Errorf("%s: unsupported resource compression %q", name, dec)
		}
	}
}

// Modules returns the names of the modules the image holds, sorted: the
// children of /modules.
func (im *Image) Modules() ([]string, error) {
	kids, err := im.Children("/modules")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(kids))
	for _, k := range kids {
		out = append(out, strings.TrimPrefix(k, "/modules/"))
	}
	sort.Strings(out)
	return out, nil
}

// Children returns the full names of the children of the directory dir
// (/modules/... or /modules, /packages): a resource child is named as the
// resource (/java.base/java/lang/Object.class).
func (im *Image) Children(dir string) ([]string, error) {
	l, ok := im.Find(dir)
	if !ok {
		return nil, fmt.Errorf("%s not in the image", dir)
	}
	data, err := im.Read(l)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(data)/4)
	for i := 0; i+4 <= len(data); i += 4 {
		c, err := im.location(im.order.Uint32(data[i:]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		out = append(out, c.Name())
	}
	return out, nil
}

// PackageModules returns the modules of the /packages/<pkg> entry of the
// dotted package pkg: the module that holds its classes first ("" when only
// empty packages of that name exist), then the others.
func (im *Image) PackageModules(pkg string) (owner string, all []string, err error) {
	l, ok := im.Find("/packages/" + pkg)
	if !ok {
		return "", nil, nil
	}
	data, err := im.Read(l)
	if err != nil {
		return "", nil, err
	}
	for i := 0; i+8 <= len(data); i += 8 {
		empty := im.order.Uint32(data[i:])
		m, err := im.str(uint64(im.order.Uint32(data[i+4:])))
		if err != nil {
			return "", nil, fmt.Errorf("/packages/%s: %w", pkg, err)
		}
		all = append(all, m)
		if empty == 0 && owner == "" {
			owner = m
		}
	}
	return owner, all, nil
}
