package importgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Beam is what module resolution reads of a compiled Erlang module (a
// .beam file): an IFF container "FOR1" <size> "BEAM" of chunks.
type Beam struct {
	// Module is the module's name (atom 1).
	Module string
	// Atoms is the atom table (AtU8 or the older Atom chunk), 1-based in
	// the file, 0-based here.
	Atoms []string
	// Imports are the remote functions the code calls (ImpT).
	Imports []MFA
	// Exports are the module's exported functions (ExpT).
	Exports []MFA
	// Literals are the atoms and fun modules in the literal table (LitT)
	// and the attributes (Attr: behaviour, on_load), which the atom table
	// does not hold.
	Literals []string
	// Functions are the module's functions by "name/arity", with what
	// each refers to; nil when the code could not be read (an instruction
	// set newer than this reader's), and the module then stands as a
	// whole.
	Functions map[string]*Function
}

// MFA is a function: module, name and arity.
type MFA struct {
	Module, Function string
	Arity            int
}

var errBeam = errors.New("malformed beam file")

// ParseBeam reads the atoms, imports, exports and literal atoms of a .beam
// file. A chunk that cannot be read is an error; unknown chunks are
// skipped.
func ParseBeam(b []byte) (*Beam, error) {
	if len(b) < 12 || string(b[:4]) != "FOR1" || string(b[8:12]) != "BEAM" {
		return nil, fmt.Errorf("%w: no FOR1/BEAM header", errBeam)
	}
	size := int(binary.BigEndian.Uint32(b[4:8]))
	if size >= 4 && size-4 <= len(b)-12 {
		b = b[:8+size]
	}
	chunks := map[string][]byte{}
	for i := 12; i+8 <= len(b); {
		id := string(b[i : i+4])
		n := int(binary.BigEndian.Uint32(b[i+4 : i+8]))
		if n < 0 || n > len(b)-i-8 {
			return nil, fmt.Errorf("%w: chunk %q of %d bytes past the end", errBeam, id, n)
		}
		if _, dup := chunks[id]; !dup {
			chunks[id] = b[i+8 : i+8+n]
		}
		i += 8 + (n+3)&^3
	}
	m := &Beam{}
	var err error
	if c, ok := chunks["AtU8"]; ok {
		m.Atoms, err = beamAtoms(c, false)
	} else if c, ok := chunks["Atom"]; ok {
		m.Atoms, err = beamAtoms(c, true)
	} else {
		return nil, fmt.Errorf("%w: no atom chunk", errBeam)
	}
	if err != nil {
		return nil, err
	}
	if len(m.Atoms) == 0 {
		return nil, fmt.Errorf("%w: empty atom table", errBeam)
	}
	m.Module = m.Atoms[0]
	if m.Imports, err = m.functions(chunks["ImpT"], true); err != nil {
		return nil, fmt.Errorf("ImpT: %w", err)
	}
	if m.Exports, err = m.functions(chunks["ExpT"], false); err != nil {
		return nil, fmt.Errorf("ExpT: %w", err)
	}
	lits := map[string]bool{}
	add := func(a Atom) { lits[string(a)] = true }
	var perLiteral [][]string
	if c, ok := chunks["LitT"]; ok {
		if perLiteral, err = literalAtoms(c, add); err != nil {
			return nil, fmt.Errorf("LitT: %w", err)
		}
	}
	if c, ok := chunks["Attr"]; ok && len(c) > 0 {
		// attributes are one term; a file whose Attr cannot be read still
		// loads (the loader does not read it), so it is no error
		if t, err := DecodeTerm(c); err == nil {
			TermAtoms(t, add)
		}
	}
	for a := range lits {
		m.Literals = append(m.Literals, a)
	}
	sort.Strings(m.Literals)
	if c, ok := chunks["Code"]; ok {
		funs, ferr := funTable(chunks["FunT"])
		if ferr != nil || m.decodeCode(c, perLiteral, funs) != nil {
			m.Functions = nil
		}
	}
	return m, nil
}

// beamAtoms reads an atom table: a count, then each atom as its length and
// bytes. A negative count (OTP 28) says lengths are in the compact term
// encoding.
func beamAtoms(c []byte, latin1 bool) ([]string, error) {
	if len(c) < 4 {
		return nil, fmt.Errorf("%w: short atom chunk", errBeam)
	}
	n := int32(binary.BigEndian.Uint32(c))
	compact := n < 0
	if compact {
		n = -n
	}
	c = c[4:]
	if int(n) > len(c) || n < 0 {
		return nil, fmt.Errorf("%w: %d atoms in %d bytes", errBeam, n, len(c))
	}
	out := make([]string, 0, n)
	for k := int32(0); k < n; k++ {
		if len(c) == 0 {
			return nil, fmt.Errorf("%w: atom table ends at atom %d", errBeam, k)
		}
		l, used := int(c[0]), 1
		if compact {
			// compact term encoding of a literal: 4-bit value, or 11 bits
			switch {
			case c[0]&0x08 == 0:
				l = int(c[0] >> 4)
			case c[0]&0x10 == 0 && len(c) > 1:
				l, used = int(c[0]>>5)<<8|int(c[1]), 2
			default:
				return nil, fmt.Errorf("%w: atom length encoding %#x", errBeam, c[0])
			}
		}
		if used+l > len(c) {
			return nil, fmt.Errorf("%w: atom %d past the chunk", errBeam, k)
		}
		out = append(out, latinOrUTF8(c[used:used+l], latin1))
		c = c[used+l:]
	}
	return out, nil
}

// functions reads an ImpT (module, function, arity) or ExpT (function,
// arity, label) chunk, whose names are 1-based atom indexes.
func (m *Beam) functions(c []byte, imports bool) ([]MFA, error) {
	if c == nil {
		return nil, nil
	}
	if len(c) < 4 {
		return nil, fmt.Errorf("%w: short function table", errBeam)
	}
	n := int(binary.BigEndian.Uint32(c))
	c = c[4:]
	if n < 0 || n > len(c)/12 {
		return nil, fmt.Errorf("%w: %d functions in %d bytes", errBeam, n, len(c))
	}
	atom := func(i uint32) (string, error) {
		if i < 1 || int(i) > len(m.Atoms) {
			return "", fmt.Errorf("%w: atom index %d of %d", errBeam, i, len(m.Atoms))
		}
		return m.Atoms[i-1], nil
	}
	out := make([]MFA, 0, n)
	for k := 0; k < n; k++ {
		e := c[12*k : 12*k+12]
		x, y, z := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:])
		var f MFA
		var err error
		if imports {
			if f.Module, err = atom(x); err != nil {
				return nil, err
			}
			if f.Function, err = atom(y); err != nil {
				return nil, err
			}
			f.Arity = int(z)
		} else {
			f.Module = m.Module
			if f.Function, err = atom(x); err != nil {
				return nil, err
			}
			f.Arity = int(y)
		}
		out = append(out, f)
	}
	return out, nil
}

// literalAtoms calls add for the atoms of every literal of a LitT chunk:
// the uncompressed size, then (zlib-compressed, or as is when the size is
// 0) a count and each literal as its size and an external term with
// the version byte.
func literalAtoms(c []byte, add func(Atom)) ([][]string, error) {
	if len(c) < 4 {
		return nil, fmt.Errorf("%w: short literal chunk", errBeam)
	}
	size := int(binary.BigEndian.Uint32(c))
	raw := c[4:]
	if size != 0 {
		if size > maxInflate {
			return nil, fmt.Errorf("%w: literal table of %d bytes", errBeam, size)
		}
		var err error
		if raw, err = inflate(raw, size); err != nil {
			return nil, err
		}
	}
	if len(raw) < 4 {
		return nil, fmt.Errorf("%w: short literal table", errBeam)
	}
	n := int(binary.BigEndian.Uint32(raw))
	raw = raw[4:]
	if n < 0 || n > len(raw)/4 {
		return nil, fmt.Errorf("%w: %d literals in %d bytes", errBeam, n, len(raw))
	}
	out := make([][]string, 0, n)
	for k := 0; k < n; k++ {
		if len(raw) < 4 {
			return nil, fmt.Errorf("%w: literal %d past the table", errBeam, k)
		}
		l := int(binary.BigEndian.Uint32(raw))
		raw = raw[4:]
		if l < 1 || l > len(raw) {
			return nil, fmt.Errorf("%w: literal %d of %d bytes", errBeam, k, l)
		}
		t, err := DecodeTerm(raw[:l])
		if err != nil {
			return nil, fmt.Errorf("literal %d: %w", k, err)
		}
		var as []string
		TermAtoms(t, func(a Atom) {
			add(a)
			as = append(as, string(a))
		})
		out = append(out, as)
		raw = raw[l:]
	}
	return out, nil
}

// funTable reads the FunT chunk: a count, then six words per lambda
// (function atom, arity, label, index, free variables, old unique).
func funTable(c []byte) ([]funEntry, error) {
	if c == nil {
		return nil, nil
	}
	if len(c) < 4 {
		return nil, fmt.Errorf("%w: short fun table", errBeam)
	}
	n := int(binary.BigEndian.Uint32(c))
	c = c[4:]
	if n < 0 || n > len(c)/24 {
		return nil, fmt.Errorf("%w: %d funs in %d bytes", errBeam, n, len(c))
	}
	out := make([]funEntry, n)
	for k := range out {
		out[k].label = binary.BigEndian.Uint32(c[24*k+8:])
	}
	return out, nil
}

// dynamicCalls are the functions that call a function of a module given
// as a value: with the apply instructions (Mod:Fun(Args) with a variable
// module), a call whose module pare cannot know. (spawn/3 and the like
// take their module as an argument too, but almost always a literal one,
// which the atoms of the caller name.)
var dynamicCalls = map[string]bool{
	"erlang:apply/2": true, "erlang:apply/3": true,
	"code:ensure_loaded/1": true, "code:load_file/1": true,
}
