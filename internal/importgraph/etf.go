package importgraph

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Erlang terms as decoded from the external term format (a boot script, a
// .beam's literals and attributes) or read from text (.app files). Only
// what module resolution needs is kept: atoms, tuples, lists, strings and
// binaries; numbers are int64 (nil for bignums), pids, ports, references
// and funs' environments are Opaque.
type (
	// Atom is an Erlang atom.
	Atom string
	// Tuple is an Erlang tuple.
	Tuple []any
	// List is a proper or improper list (Tail nil for a proper one).
	List struct {
		Elems []any
		Tail  any
	}
	// Str is a STRING_EXT or a text string: a list of bytes.
	Str string
	// Binary is an Erlang binary (or bitstring).
	Binary []byte
	// Map is an Erlang map, as its pairs.
	Map [][2]any
	// Fun is an external fun (fun M:F/A) or a local fun of Module.
	Fun struct {
		Module, Function Atom
		Arity            int
	}
	// Opaque stands for a term whose content does not name code.
	Opaque struct{}
)

// maxTermDepth bounds the nesting of a decoded term; maxInflate bounds a
// compressed term's size.
const (
	maxTermDepth = 1000
	maxInflate   = 64 << 20
)

var errTerm = errors.New("malformed external term")

// DecodeTerm decodes one term in the external term format (starting with
// the version byte 131; a compressed term is inflated).
func DecodeTerm(b []byte) (any, error) {
	if len(b) < 1 || b[0] != 131 {
		return nil, fmt.Errorf("%w: no version byte", errTerm)
	}
	d := &etfDecoder{b: b[1:]}
	t, err := d.term(0)
	if err != nil {
		return nil, err
	}
	return t, nil
}

type etfDecoder struct {
	b []byte
}

func (d *etfDecoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes wanted, %d left", errTerm, n, len(d.b))
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out, nil
}

func (d *etfDecoder) u8() (int, error) {
	b, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (d *etfDecoder) u16() (int, error) {
	b, err := d.take(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (d *etfDecoder) u32() (int, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(b)
	if v > math.MaxInt32 {
		return 0, fmt.Errorf("%w: length %d", errTerm, v)
	}
	return int(v), nil
}

// count reads a length of n bytes and checks that as many elements of at
// least min bytes each can follow.
func (d *etfDecoder) count(n, min int) (int, error) {
	var c int
	var err error
	switch n {
	case 1:
		c, err = d.u8()
	case 2:
		c, err = d.u16()
	default:
		c, err = d.u32()
	}
	if err != nil {
		return 0, err
	}
	if c*min > len(d.b) {
		return 0, fmt.Errorf("%w: %d elements in %d bytes", errTerm, c, len(d.b))
	}
	return c, nil
}

func (d *etfDecoder) terms(n, depth int) ([]any, error) {
	out := make([]any, 0, n)
	for i := 0; i < n; i++ {
		t, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (d *etfDecoder) atom(depth int) (Atom, error) {
	t, err := d.term(depth + 1)
	if err != nil {
		return "", err
	}
	a, ok := t.(Atom)
	if !ok {
		return "", fmt.Errorf("%w: atom expected", errTerm)
	}
	return a, nil
}

func (d *etfDecoder) term(depth int) (any, error) {
	if depth > maxTermDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errTerm, maxTermDepth)
	}
	tag, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case 97: // SMALL_INTEGER_EXT
		v, err := d.u8()
		return int64(v), err
	case 98: // INTEGER_EXT
		b, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case 99: // FLOAT_EXT
		_, err := d.take(31)
		return Opaque{}, err
	case 70: // NEW_FLOAT_EXT
		_, err := d.take(8)
		return Opaque{}, err
	case 100, 118: // ATOM_EXT, ATOM_UTF8_EXT
		n, err := d.u16()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		return Atom(latinOrUTF8(b, tag == 100)), err
	case 115, 119: // SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT
		n, err := d.u8()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		return Atom(latinOrUTF8(b, tag == 115)), err
	case 104, 105: // SMALL_TUPLE_EXT, LARGE_TUPLE_EXT
		w := 1
		if tag == 105 {
			w = 4
		}
		n, err := d.count(w, 1)
		if err != nil {
			return nil, err
		}
		el, err := d.terms(n, depth)
		return Tuple(el), err
	case 106: // NIL_EXT
		return List{}, nil
	case 107: // STRING_EXT
		n, err := d.u16()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		return Str(b), err
	case 108: // LIST_EXT
		n, err := d.count(4, 1)
		if err != nil {
			return nil, err
		}
		el, err := d.terms(n, depth)
		if err != nil {
			return nil, err
		}
		tail, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		if l, ok := tail.(List); ok && len(l.Elems) == 0 && l.Tail == nil {
			tail = nil
		}
		return List{Elems: el, Tail: tail}, nil
	case 109: // BINARY_EXT
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		return Binary(b), err
	case 77: // BIT_BINARY_EXT
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n + 1)
		if err != nil {
			return nil, err
		}
		return Binary(b[1:]), nil
	case 110, 111: // SMALL_BIG_EXT, LARGE_BIG_EXT
		w := 1
		if tag == 111 {
			w = 4
		}
		n, err := d.count(w, 1)
		if err != nil {
			return nil, err
		}
		_, err = d.take(n + 1)
		return nil, err
	case 116: // MAP_EXT
		n, err := d.count(4, 2)
		if err != nil {
			return nil, err
		}
		el, err := d.terms(2*n, depth)
		if err != nil {
			return nil, err
		}
		m := make(Map, n)
		for i := range m {
			m[i] = [2]any{el[2*i], el[2*i+1]}
		}
		return m, nil
	case 113: // EXPORT_EXT
		m, err := d.atom(depth)
		if err != nil {
			return nil, err
		}
		f, err := d.atom(depth)
		if err != nil {
			return nil, err
		}
		a, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		ar, _ := a.(int64)
		return Fun{Module: m, Function: f, Arity: int(ar)}, nil
	case 112: // NEW_FUN_EXT
		if _, err := d.take(4 + 1 + 16 + 4); err != nil {
			return nil, err
		}
		nfree, err := d.count(4, 1)
		if err != nil {
			return nil, err
		}
		m, err := d.atom(depth)
		if err != nil {
			return nil, err
		}
		// old index, old uniq, pid, free variables
		if _, err := d.terms(3+nfree, depth); err != nil {
			return nil, err
		}
		return Fun{Module: m}, nil
	case 117: // FUN_EXT
		nfree, err := d.count(4, 1)
		if err != nil {
			return nil, err
		}
		if _, err := d.term(depth + 1); err != nil { // pid
			return nil, err
		}
		m, err := d.atom(depth)
		if err != nil {
			return nil, err
		}
		if _, err := d.terms(2+nfree, depth); err != nil {
			return nil, err
		}
		return Fun{Module: m}, nil
	case 103, 88: // PID_EXT, NEW_PID_EXT
		if _, err := d.term(depth + 1); err != nil {
			return nil, err
		}
		n := 9
		if tag == 88 {
			n = 12
		}
		_, err := d.take(n)
		return Opaque{}, err
	case 102, 89, 120: // PORT_EXT, NEW_PORT_EXT, V4_PORT_EXT
		if _, err := d.term(depth + 1); err != nil {
			return nil, err
		}
		n := map[int]int{102: 5, 89: 8, 120: 12}[tag]
		_, err := d.take(n)
		return Opaque{}, err
	case 101: // REFERENCE_EXT
		if _, err := d.term(depth + 1); err != nil {
			return nil, err
		}
		_, err := d.take(5)
		return Opaque{}, err
	case 114, 90: // NEW_REFERENCE_EXT, NEWER_REFERENCE_EXT
		n, err := d.u16()
		if err != nil {
			return nil, err
		}
		if _, err := d.term(depth + 1); err != nil {
			return nil, err
		}
		cr := 1
		if tag == 90 {
			cr = 4
		}
		_, err = d.take(cr + 4*n)
		return Opaque{}, err
	case 80: // compressed: uncompressed size, zlib data
		size, err := d.u32()
		if err != nil {
			return nil, err
		}
		if size > maxInflate {
			return nil, fmt.Errorf("%w: compressed term of %d bytes", errTerm, size)
		}
		raw, err := inflate(d.b, size)
		if err != nil {
			return nil, err
		}
		d.b = nil
		in := &etfDecoder{b: raw}
		return in.term(depth + 1)
	default:
		return nil, fmt.Errorf("%w: tag %d", errTerm, tag)
	}
}

// inflate decompresses zlib data of the announced size.
func inflate(b []byte, size int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTerm, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(size)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: inflating: %v", errTerm, err)
	}
	if len(out) != size {
		return nil, fmt.Errorf("%w: inflated %d bytes, %d announced", errTerm, len(out), size)
	}
	return out, nil
}

func latinOrUTF8(b []byte, latin1 bool) string {
	if !latin1 {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// TermAtoms calls fn for every atom in t, and for the module of every fun.
func TermAtoms(t any, fn func(Atom)) {
	termAtoms(t, fn, 0)
}

func termAtoms(t any, fn func(Atom), depth int) {
	if depth > maxTermDepth {
		return
	}
	switch x := t.(type) {
	case Atom:
		fn(x)
	case Tuple:
		for _, e := range x {
			termAtoms(e, fn, depth+1)
		}
	case List:
		for _, e := range x.Elems {
			termAtoms(e, fn, depth+1)
		}
		termAtoms(x.Tail, fn, depth+1)
	case Map:
		for _, kv := range x {
			termAtoms(kv[0], fn, depth+1)
			termAtoms(kv[1], fn, depth+1)
		}
	case Fun:
		fn(x.Module)
	}
}

// Chars returns t as a string when it is a string: a Str, a proper list
// of character codes, a binary or the empty list.
func Chars(t any) (string, bool) {
	switch x := t.(type) {
	case Str:
		return string(x), true
	case Binary:
		return string(x), true
	case List:
		if x.Tail != nil {
			return "", false
		}
		r := make([]rune, 0, len(x.Elems))
		for _, e := range x.Elems {
			c, ok := e.(int64)
			if !ok || c < 0 || c > 0x10ffff {
				return "", false
			}
			r = append(r, rune(c))
		}
		return string(r), true
	}
	return "", false
}

// Elems returns the elements of a proper list (a Str's characters as
// integers); nil for any other term.
func Elems(t any) []any {
	switch x := t.(type) {
	case List:
		if x.Tail == nil {
			return x.Elems
		}
	case Str:
		out := make([]any, len(x))
		for i := 0; i < len(x); i++ {
			out[i] = int64(x[i])
		}
		return out
	}
	return nil
}
