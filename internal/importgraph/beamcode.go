package importgraph

import (
	"encoding/binary"
	"fmt"
)

// Function is what one function of a module's code refers to.
type Function struct {
	// Calls are the remote functions it calls (call_ext and BIF
	// instructions).
	Calls []MFA
	// Locals are the functions of the module it calls or makes funs of,
	// as "name/arity".
	Locals []string
	// Atoms are the atoms of its operands and of the literals it uses
	// (the function's own name excluded).
	Atoms []string
	// Dynamic says it calls a function of a computed module (the apply
	// instructions, apply/3 and spawn/3 with a module that is not a
	// literal).
	Dynamic bool
	// OnLoad says it is the module's -on_load function, run when the
	// module is loaded.
	OnLoad bool
}

// opArity is the operand count of each BEAM instruction, by opcode
// (-1: unused). Instructions are an opcode byte and that many operands in
// the compact term encoding.
var opArity = [...]int8{
	-1, 1, 3, 0, 2, 3, 2, 2, 3, 2, // 0-9: label func_info int_code_end call call_last call_only call_ext call_ext_last bif0
	4, 5, 2, 3, 2, 3, 2, 1, 1, 0, // 10-19: bif1 bif2 allocate allocate_heap allocate_zero allocate_heap_zero test_heap init deallocate return
	0, 0, 0, 2, 1, 1, 2, 4, 4, 4, // 20-29: send remove_message timeout loop_rec loop_rec_end wait wait_timeout m_plus m_minus m_times
	4, 4, 4, 4, 4, 4, 4, 4, 3, 3, // 30-39: m_div int_div int_rem int_band int_bor int_bxor int_bsl int_bsr int_bnot is_lt
	3, 3, 3, 3, 3, 2, 2, 2, 2, 2, // 40-49: is_ge is_eq is_ne is_eq_exact is_ne_exact is_integer is_float is_number is_atom is_pid
	2, 2, 2, 2, 2, 2, 2, 2, 3, 3, // 50-59: is_reference is_port is_nil is_binary is_constant is_list is_nonempty_list is_tuple test_arity select_val
	3, 1, 2, 1, 2, 3, 3, 3, 3, 3, // 60-69: select_tuple_arity jump catch catch_end move get_list get_tuple_element set_tuple_element put_string put_list
	2, 1, 1, 0, 1, 1, 3, 2, 2, 2, // 70-79: put_tuple put badmatch if_end case_end call_fun make_fun is_function call_ext_only bs_start_match
	5, 5, 5, 4, 2, 1, 1, 2, 2, 5, // 80-89: bs_get_integer bs_get_float bs_get_binary bs_skip_bits bs_test_tail bs_save bs_restore bs_init bs_final bs_put_integer
	5, 5, 2, 1, 0, 1, 2, 2, 4, 4, // 90-99: bs_put_binary bs_put_float bs_put_string bs_need_buf fclearerror fcheckerror fmove fconv fadd fsub
	4, 4, 3, 1, 2, 1, 1, 1, 2, 6, // 100-109: fmul fdiv fnegate make_fun2 try try_end try_case try_case_end raise bs_init2
	3, 5, 1, 2, 2, 3, 5, 7, 7, 7, // 110-119: bs_bits_to_bytes bs_add apply apply_last is_boolean is_function2 bs_start_match2 bs_get_integer2 bs_get_float2 bs_get_binary2
	5, 3, 2, 2, 5, 6, 2, 2, 2, 2, // 120-129: bs_skip_bits2 bs_test_tail2 bs_save2 bs_restore2 gc_bif1 gc_bif2 bs_final2 bs_bits_to_bytes2 put_literal is_bitstr
	1, 3, 4, 0, 8, 6, 2, 6, 5, 4, // 130-139: bs_context_to_binary bs_test_unit bs_match_string bs_init_writable bs_append bs_private_append trim bs_init_bits bs_get_utf8 bs_skip_utf8
	5, 4, 5, 4, 3, 3, 3, 3, 3, 0, // 140-149: bs_get_utf16 bs_skip_utf16 bs_get_utf32 bs_skip_utf32 bs_utf8_size bs_put_utf8 bs_utf16_size bs_put_utf16 bs_put_utf32 on_load
	1, 1, 7, 1, 5, 5, 2, 3, 3, 4, // 150-159: recv_mark recv_set gc_bif3 line put_map_assoc put_map_exact is_map has_map_fields get_map_elements is_tagged_tuple
	0, 0, 2, 2, 2, 3, 4, 3, 2, 2, // 160-169: build_stacktrace raw_raise get_hd get_tl put_tuple2 bs_get_tail bs_start_match3 bs_get_position bs_set_position swap
	4, 3, 1, 2, 1, 1, 1, 6, 3, 0, // 170-179: bs_start_match4 make_fun3 init_yregs recv_marker_bind recv_marker_clear recv_marker_reserve recv_marker_use bs_create_bin call_fun2 nif_start
	1, 5, 3, 2, // 180-183: badrecord update_record bs_match executable_line
}

const (
	opLabel       = 1
	opFuncInfo    = 2
	opIntCodeEnd  = 3
	opCall        = 4
	opCallLast    = 5
	opCallOnly    = 6
	opCallExt     = 7
	opCallExtLast = 8
	opBif0        = 9
	opBif1        = 10
	opBif2        = 11
	opCallExtOnly = 78
	opMakeFun2    = 103
	opApply       = 112
	opApplyLast   = 113
	opGcBif1      = 124
	opGcBif2      = 125
	opOnLoad      = 149
	opGcBif3      = 152
	opLine        = 153
	opMakeFun3    = 171
)

// matchOnly are the instructions whose atom operands are only compared
// with a value (a case clause, a record tag, a map key) or are the
// instruction's own commands (the segment types of binary construction
// and matching): such an atom is never a value the code passes on, so it
// names no module that a call could reach. func_info holds the function's
// own name.
var matchOnly = map[int]bool{
	opFuncInfo: true,
	39:         true, 40: true, 41: true, 42: true, 43: true, 44: true, // is_lt is_ge is_eq is_ne is_eq_exact is_ne_exact
	59: true, 60: true, // select_val select_tuple_arity
	157: true, 158: true, 159: true, // has_map_fields get_map_elements is_tagged_tuple
	177: true, 182: true, // bs_create_bin bs_match
}

// operand is one decoded operand of the compact term encoding.
type operand struct {
	tag int    // 0 u, 1 i, 2 a, 3 x, 4 y, 5 f, 6 h, 7 z
	val uint64 // the value (an index, a label, an atom number)
	big bool   // the value did not fit
	sub []operand
	lit bool // a literal-table index (z 4)
}

type codeReader struct {
	b []byte
	i int
}

func (r *codeReader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, fmt.Errorf("%w: code ends in an instruction", errBeam)
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

// value reads the value part of a compact term whose first byte is c.
func (r *codeReader) value(c byte) (uint64, bool, error) {
	switch {
	case c&0x08 == 0:
		return uint64(c >> 4), false, nil
	case c&0x10 == 0:
		lo, err := r.byte()
		return uint64(c>>5)<<8 | uint64(lo), false, err
	}
	n := int(c>>5) + 2
	if n == 9 {
		l, err := r.operand(0)
		if err != nil {
			return 0, false, err
		}
		if l.tag != 0 || l.big || l.val > 1<<20 {
			return 0, false, fmt.Errorf("%w: bad big length", errBeam)
		}
		n = int(l.val) + 9
	}
	if n > len(r.b)-r.i {
		return 0, false, fmt.Errorf("%w: value past the code", errBeam)
	}
	bs := r.b[r.i : r.i+n]
	r.i += n
	if n > 8 {
		return 0, true, nil
	}
	var v uint64
	for _, x := range bs {
		v = v<<8 | uint64(x)
	}
	return v, false, nil
}

func (r *codeReader) operand(depth int) (operand, error) {
	if depth > 4 {
		return operand{}, fmt.Errorf("%w: nested operands", errBeam)
	}
	c, err := r.byte()
	if err != nil {
		return operand{}, err
	}
	tag := int(c & 7)
	if tag != 7 {
		v, big, err := r.value(c)
		return operand{tag: tag, val: v, big: big}, err
	}
	o := operand{tag: 7}
	switch c >> 4 {
	case 1, 3: // list; allocation list (pairs)
		n, err := r.operand(depth + 1)
		if err != nil {
			return o, err
		}
		if n.tag != 0 || n.big || n.val > uint64(len(r.b)) {
			return o, fmt.Errorf("%w: bad list length", errBeam)
		}
		cnt := int(n.val)
		if c>>4 == 3 {
			cnt *= 2
		}
		for k := 0; k < cnt; k++ {
			e, err := r.operand(depth + 1)
			if err != nil {
				return o, err
			}
			o.sub = append(o.sub, e)
		}
	case 2: // floating-point register
		e, err := r.operand(depth + 1)
		if err != nil {
			return o, err
		}
		o.sub = []operand{e}
	case 4: // literal
		e, err := r.operand(depth + 1)
		if err != nil {
			return o, err
		}
		o.lit, o.val, o.big = true, e.val, e.big
	case 5: // typed register
		reg, err := r.operand(depth + 1)
		if err != nil {
			return o, err
		}
		if _, err := r.operand(depth + 1); err != nil {
			return o, err
		}
		o.sub = []operand{reg}
	default:
		return o, fmt.Errorf("%w: extended operand %#x", errBeam, c)
	}
	return o, nil
}

// funEntry is one lambda of the FunT chunk.
type funEntry struct {
	label uint32
}

// decodeCode reads the Code chunk into the functions of m. lits are the
// atoms of each literal; funs the FunT entries.
func (m *Beam) decodeCode(code []byte, lits [][]string, funs []funEntry) error {
	if len(code) < 4 {
		return fmt.Errorf("%w: short code chunk", errBeam)
	}
	hdr := int(binary.BigEndian.Uint32(code))
	if hdr < 16 || hdr > len(code)-4 {
		return fmt.Errorf("%w: code header of %d bytes", errBeam, hdr)
	}
	r := &codeReader{b: code, i: 4 + hdr}
	funcs := map[string]*Function{}
	labelFunc := map[uint64]string{}
	var pending []uint64
	var cur *Function
	var curName string
	type localRef struct {
		f     *Function
		label uint64
	}
	var localCalls []localRef
	atomName := func(v uint64) (string, bool) {
		if v >= 1 && v <= uint64(len(m.Atoms)) {
			return m.Atoms[v-1], true
		}
		return "", false
	}
	var atoms func(f *Function, o operand)
	atoms = func(f *Function, o operand) {
		switch {
		case o.tag == 2 && !o.big:
			if a, ok := atomName(o.val); ok {
				f.Atoms = append(f.Atoms, a)
			}
		case o.lit && !o.big && o.val < uint64(len(lits)):
			f.Atoms = append(f.Atoms, lits[o.val]...)
		}
		for _, s := range o.sub {
			atoms(f, s)
		}
	}
	imp := func(f *Function, o operand) {
		if o.tag == 0 && !o.big && o.val < uint64(len(m.Imports)) {
			c := m.Imports[o.val]
			f.Calls = append(f.Calls, c)
			if dynamicCalls[fmt.Sprintf("%s:%s/%d", c.Module, c.Function, c.Arity)] {
				f.Dynamic = true
			}
		}
	}
	for {
		if r.i >= len(r.b) {
			return fmt.Errorf("%w: code without int_code_end", errBeam)
		}
		op := int(r.b[r.i])
		r.i++
		if op == opIntCodeEnd {
			break
		}
		if op >= len(opArity) || opArity[op] < 0 {
			return fmt.Errorf("%w: opcode %d", errBeam, op)
		}
		ops := make([]operand, opArity[op])
		for k := range ops {
			o, err := r.operand(0)
			if err != nil {
				return err
			}
			ops[k] = o
		}
		switch op {
		case opLabel:
			pending = append(pending, ops[0].val)
			continue
		case opLine:
			continue
		case opFuncInfo:
			f, _ := atomName(ops[1].val)
			curName = fmt.Sprintf("%s/%d", f, ops[2].val)
			cur = &Function{}
			funcs[curName] = cur
		}
		if cur == nil {
			return fmt.Errorf("%w: instruction %d outside a function", errBeam, op)
		}
		for _, l := range pending {
			labelFunc[l] = curName
		}
		pending = pending[:0]
		if !matchOnly[op] {
			for _, o := range ops {
				atoms(cur, o)
			}
		}
		switch op {
		case opCall, opCallLast, opCallOnly:
			localCalls = append(localCalls, localRef{cur, ops[1].val})
		case opCallExt, opCallExtLast, opCallExtOnly:
			imp(cur, ops[1])
		case opBif0, opBif1, opBif2:
			imp(cur, ops[map[int]int{opBif0: 0, opBif1: 1, opBif2: 1}[op]])
		case opGcBif1, opGcBif2, opGcBif3:
			imp(cur, ops[2])
		case opMakeFun2, opMakeFun3:
			if i := ops[0].val; !ops[0].big && i < uint64(len(funs)) {
				localCalls = append(localCalls, localRef{cur, uint64(funs[i].label)})
			}
		case opApply, opApplyLast:
			cur.Dynamic = true
		case opOnLoad:
			cur.OnLoad = true
		}
	}
	for _, lc := range localCalls {
		if name, ok := labelFunc[lc.label]; ok {
			lc.f.Locals = append(lc.f.Locals, name)
		}
	}
	m.Functions = funcs
	return nil
}
