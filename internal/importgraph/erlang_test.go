package importgraph

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// encodeTerm writes t in the external term format, without the version
// byte; the test's own encoder, so the decoder is checked against the
// format rather than against itself.
func encodeTerm(buf *bytes.Buffer, t any) {
	u32 := func(n int) { _ = binary.Write(buf, binary.BigEndian, uint32(n)) }
	switch x := t.(type) {
	case Atom:
		if len(x) < 256 {
			buf.WriteByte(119)
			buf.WriteByte(byte(len(x)))
		} else {
			buf.WriteByte(118)
			_ = binary.Write(buf, binary.BigEndian, uint16(len(x)))
		}
		buf.WriteString(string(x))
	case int64:
		if x >= 0 && x < 256 {
			buf.WriteByte(97)
			buf.WriteByte(byte(x))
		} else {
			buf.WriteByte(98)
			_ = binary.Write(buf, binary.BigEndian, int32(x))
		}
	case Tuple:
		buf.WriteByte(104)
		buf.WriteByte(byte(len(x)))
		for _, e := range x {
			encodeTerm(buf, e)
		}
	case List:
		if len(x.Elems) == 0 && x.Tail == nil {
			buf.WriteByte(106)
			return
		}
		buf.WriteByte(108)
		u32(len(x.Elems))
		for _, e := range x.Elems {
			encodeTerm(buf, e)
		}
		if x.Tail == nil {
			buf.WriteByte(106)
		} else {
			encodeTerm(buf, x.Tail)
		}
	case Str:
		buf.WriteByte(107)
		_ = binary.Write(buf, binary.BigEndian, uint16(len(x)))
		buf.WriteString(string(x))
	case Binary:
		buf.WriteByte(109)
		u32(len(x))
		buf.Write(x)
	case Map:
		buf.WriteByte(116)
		u32(len(x))
		for _, kv := range x {
			encodeTerm(buf, kv[0])
			encodeTerm(buf, kv[1])
		}
	case Fun:
		buf.WriteByte(113)
		encodeTerm(buf, x.Module)
		encodeTerm(buf, x.Function)
		encodeTerm(buf, int64(x.Arity))
	default:
		panic("encodeTerm: unsupported term")
	}
}

func term(t any) []byte {
	var b bytes.Buffer
	b.WriteByte(131)
	encodeTerm(&b, t)
	return b.Bytes()
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

// compressedTerm is term_to_binary(T, [compressed]).
func compressedTerm(t any) []byte {
	raw := term(t)[1:]
	var b bytes.Buffer
	b.Write([]byte{131, 80})
	_ = binary.Write(&b, binary.BigEndian, uint32(len(raw)))
	b.Write(deflate(raw))
	return b.Bytes()
}

// testBeam describes a module to build as a .beam file.
type testBeam struct {
	atoms      []string // atom 1 is the module
	imports    [][3]int // module atom, function atom, arity
	exports    [][3]int // function atom, arity, label
	literals   []any
	attrs      any
	raw        bool // LitT stored uncompressed (size 0)
	latinAtoms bool // "Atom" instead of "AtU8"
}

func (tb testBeam) bytes() []byte {
	var body bytes.Buffer
	chunk := func(id string, data []byte) {
		body.WriteString(id)
		_ = binary.Write(&body, binary.BigEndian, uint32(len(data)))
		body.Write(data)
		for body.Len()%4 != 0 {
			body.WriteByte(0)
		}
	}
	var at bytes.Buffer
	_ = binary.Write(&at, binary.BigEndian, uint32(len(tb.atoms)))
	for _, a := range tb.atoms {
		at.WriteByte(byte(len(a)))
		at.WriteString(a)
	}
	id := "AtU8"
	if tb.latinAtoms {
		id = "Atom"
	}
	chunk(id, at.Bytes())
	chunk("Code", []byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 180, 0, 0, 0, 1, 0, 0, 0, 1})
	table := func(rows [][3]int) []byte {
		var b bytes.Buffer
		_ = binary.Write(&b, binary.BigEndian, uint32(len(rows)))
		for _, r := range rows {
			for _, v := range r {
				_ = binary.Write(&b, binary.BigEndian, uint32(v))
			}
		}
		return b.Bytes()
	}
	chunk("ImpT", table(tb.imports))
	chunk("ExpT", table(tb.exports))
	if tb.literals != nil {
		var lit bytes.Buffer
		_ = binary.Write(&lit, binary.BigEndian, uint32(len(tb.literals)))
		for _, l := range tb.literals {
			b := term(l)
			_ = binary.Write(&lit, binary.BigEndian, uint32(len(b)))
			lit.Write(b)
		}
		var c bytes.Buffer
		if tb.raw {
			_ = binary.Write(&c, binary.BigEndian, uint32(0))
			c.Write(lit.Bytes())
		} else {
			_ = binary.Write(&c, binary.BigEndian, uint32(lit.Len()))
			c.Write(deflate(lit.Bytes()))
		}
		chunk("LitT", c.Bytes())
	}
	if tb.attrs != nil {
		chunk("Attr", term(tb.attrs))
	}
	var out bytes.Buffer
	out.WriteString("FOR1")
	_ = binary.Write(&out, binary.BigEndian, uint32(body.Len()+4))
	out.WriteString("BEAM")
	out.Write(body.Bytes())
	return out.Bytes()
}

// beamCalling returns a module that calls each of calls ("m:f/arity") and holds
// literals.
func beamCalling(mod string, calls []string, literals ...any) []byte {
	tb := testBeam{atoms: []string{mod, "start"}}
	for _, c := range calls {
		m, f, _ := strings.Cut(c, ":")
		f, a, _ := strings.Cut(f, "/")
		arity, _ := strconv.Atoi(a)
		tb.atoms = append(tb.atoms, m, f)
		tb.imports = append(tb.imports, [3]int{len(tb.atoms) - 1, len(tb.atoms), arity})
	}
	tb.exports = [][3]int{{2, 0, 2}}
	tb.literals = literals
	return tb.bytes()
}

func TestParseBeam(t *testing.T) {
	for _, raw := range []bool{false, true} {
		tb := testBeam{
			atoms:   []string{"my_sup", "init", "supervisor", "start_link", "lists", "map", "grüße"},
			imports: [][3]int{{3, 4, 3}, {5, 6, 2}},
			exports: [][3]int{{2, 1, 7}},
			literals: []any{
				Tuple{Atom("worker_mod"), Atom("start_link"), List{}},
				Map{{Atom("start"), Tuple{Atom("other_mod"), Atom("go"), List{Elems: []any{Str("x")}}}}},
				Fun{Module: Atom("fun_mod"), Function: Atom("f"), Arity: 1},
				Binary("not an atom"),
			},
			attrs: List{Elems: []any{Tuple{Atom("behaviour"), List{Elems: []any{Atom("supervisor_bridge")}}}}},
			raw:   raw,
		}
		m, err := ParseBeam(tb.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if m.Module != "my_sup" || len(m.Atoms) != 7 || m.Atoms[6] != "grüße" {
			t.Errorf("module %q atoms %q", m.Module, m.Atoms)
		}
		want := []MFA{{"supervisor", "start_link", 3}, {"lists", "map", 2}}
		if !reflect.DeepEqual(m.Imports, want) {
			t.Errorf("imports %v, want %v", m.Imports, want)
		}
		if !reflect.DeepEqual(m.Exports, []MFA{{"my_sup", "init", 1}}) {
			t.Errorf("exports %v", m.Exports)
		}
		for _, l := range []string{"worker_mod", "other_mod", "fun_mod", "supervisor_bridge", "behaviour"} {
			if !contains(m.Literals, l) {
				t.Errorf("literal atom %s missing (raw %v): %v", l, raw, m.Literals)
			}
		}
		if contains(m.Literals, "not an atom") {
			t.Errorf("a binary read as an atom: %v", m.Literals)
		}
	}
	latin := testBeam{atoms: []string{"m", "caf\xe9"}, latinAtoms: true}.bytes()
	if m, err := ParseBeam(latin); err != nil || m.Atoms[1] != "café" {
		t.Errorf("latin-1 atoms: %v, %v", m, err)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestParseBeamRejects(t *testing.T) {
	good := beamCalling("m", []string{"lists:map"})
	badIndex := testBeam{atoms: []string{"m"}, imports: [][3]int{{9, 1, 0}}}.bytes()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"not beam":  []byte("FOR1\x00\x00\x00\x04ABCD"),
		"truncated": good[:len(good)-30],
		"no atoms":  []byte("FOR1\x00\x00\x00\x04BEAM"),
		"bad index": badIndex,
	} {
		if _, err := ParseBeam(b); !errors.Is(err, errBeam) && !errors.Is(err, errTerm) {
			t.Errorf("%s: err %v, want a malformed-beam error", name, err)
		}
	}
}

func TestDecodeTerm(t *testing.T) {
	in := Tuple{Atom("script"), Tuple{Str("OTP"), Str("25")}, List{Elems: []any{
		Tuple{Atom("path"), List{Elems: []any{Str("$ROOT/lib/kernel-1/ebin")}}},
		int64(-5), int64(70000), Binary{1, 2},
		List{Elems: []any{Atom("a")}, Tail: Atom("improper")},
	}}}
	for _, enc := range [][]byte{term(in), compressedTerm(in)} {
		got, err := DecodeTerm(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, any(in)) {
			t.Errorf("decoded %#v\nwant %#v", got, in)
		}
	}
	for _, bad := range [][]byte{{}, {130}, {131, 104, 5}, {131, 108, 0xff, 0xff, 0xff, 0xff}, {131, 80, 0, 0, 0, 9, 1, 2}, {131, 1}} {
		if _, err := DecodeTerm(bad); !errors.Is(err, errTerm) {
			t.Errorf("DecodeTerm(%v) err %v", bad, err)
		}
	}
	if s, ok := Chars(List{Elems: []any{int64('h'), int64(0x11e)}}); !ok || s != "hĞ" {
		t.Errorf("Chars = %q, %v", s, ok)
	}
}

func TestParseErlangTerms(t *testing.T) {
	src := `%% comment
{application, my_app,
 [{description, "An \"app\"" " joined"},
  {vsn, "1.0"}, {modules, ['my_app', my_sup]},
  {registered, []}, {env, [{port, 8080}, {ratio, 1.5e3}, {bin, <<"x">>}, {c, $a}, {v, Var}, {m, #{k => v}}]},
  {applications, [kernel, stdlib, crypto]},
  {mod, {my_app, []}}]}.
`
	terms, err := ParseErlangTerms([]byte(src))
	if err != nil || len(terms) != 1 {
		t.Fatalf("terms %v, err %v", terms, err)
	}
	got := parseAppFile([]byte(src))
	want := []Import{{Name: "kernel", Kind: "app"}, {Name: "stdlib", Kind: "app"}, {Name: "crypto", Kind: "app"}, {Name: "my_app", Kind: "mod"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("app file imports %v, want %v", got, want)
	}
	if _, err := ParseErlangTerms([]byte("{a, b")); err == nil {
		t.Error("unterminated tuple read without an error")
	}
}

func TestErlangGraph(t *testing.T) {
	const root = "/usr/lib/erlang"
	kernel := root + "/lib/kernel-8.5/ebin"
	stdlib := root + "/lib/stdlib-4.10/ebin"
	boot := compressedTerm(Tuple{Atom("script"), Tuple{Str("OTP"), Str("25")}, List{Elems: []any{
		Tuple{Atom("preLoaded"), List{Elems: []any{Atom("erlang"), Atom("init")}}},
		Tuple{Atom("path"), List{Elems: []any{Str("$ROOT/lib/kernel-8.5/ebin")}}},
		Tuple{Atom("primLoad"), List{Elems: []any{Atom("error_handler")}}},
		Tuple{Atom("kernel_load_completed")},
		Tuple{Atom("primLoad"), List{Elems: []any{Atom("late_mod")}}},
		Tuple{Atom("apply"), Tuple{Atom("application"), Atom("start_boot"), List{Elems: []any{Atom("kernel"), Atom("permanent")}}}},
	}}})
	files := map[string]string{
		kernel + "/kernel.app":         `{application, kernel, [{mod, {kernel, []}}, {applications, []}]}.`,
		kernel + "/kernel.beam":        string(beamCalling("kernel", []string{"supervisor:start_link"})),
		kernel + "/error_handler.beam": string(beamCalling("error_handler", []string{"erlang:apply/3"})),
		kernel + "/application.beam":   string(beamCalling("application", nil)),
		kernel + "/late_mod.beam":      string(beamCalling("late_mod", nil)),
		kernel + "/erlang.beam":        string(beamCalling("erlang", nil)),
		stdlib + "/supervisor.beam":    string(beamCalling("supervisor", nil)),
		stdlib + "/lists.beam":         string(beamCalling("lists", nil)),
		stdlib + "/unused.beam":        string(beamCalling("unused", nil)),
		// an older stdlib is not on the path
		root + "/lib/stdlib-4.9/ebin/lists.beam":      string(beamCalling("lists", nil)),
		root + "/lib/compiler-8.2/ebin/compile.beam":  string(beamCalling("compile", nil)),
		root + "/lib/crypto-5.1/ebin/crypto.app":      `{application, crypto, [{mod, {crypto_app, []}}]}.`,
		root + "/lib/crypto-5.1/ebin/crypto_app.beam": string(beamCalling("crypto_app", nil)),
		root + "/lib/crypto-5.1/ebin/crypto.beam":     string(beamCalling("crypto", nil)),
		root + "/lib/crypto-5.1/priv/lib/crypto.so":   "\x7fELF",
		root + "/bin/start.boot":                      string(boot),
		// ERL_LIBS, and the application in the working directory
		"/opt/libs/shapes-1.0/ebin/shapes.beam": string(beamCalling("shapes", []string{"lists:foldl"})),
		"/opt/libs/shapes-1.0/ebin/circle.beam": string(beamCalling("circle", nil)),
		// -pa ebin shadows a module of the root
		"/app/ebin/report.beam": string(beamCalling("report", []string{"shapes:area/1", "erlang:apply/3"},
			Tuple{Atom("crypto"), Atom("worker"), List{}})),
		"/app/ebin/lists.beam": string(beamCalling("lists", nil)),
		"/app/ebin/helper.beam": string(testBeam{atoms: []string{"helper"},
			attrs: List{Elems: []any{Tuple{Atom("behaviour"), List{Elems: []any{Atom("supervisor")}}}}}}.bytes()),
	}
	v := mem(files)
	b, err := ParseErlangBoot([]byte(files[root+"/bin/start.boot"]), root)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Early, []string{"error_handler"}) || !reflect.DeepEqual(b.Loaded, []string{"error_handler", "late_mod"}) ||
		!reflect.DeepEqual(b.Paths, []string{kernel}) || !reflect.DeepEqual(b.Atoms, []string{"kernel", "permanent"}) {
		t.Errorf("boot %+v", b)
	}
	path := ErlangCodePath(v, root, "/app", []string{"/opt/libs"}, []string{"ebin"}, nil, b, false)
	wantPath := []string{"/app/ebin", "/app", "/opt/libs/shapes-1.0/ebin", root + "/lib/compiler-8.2/ebin",
		root + "/lib/crypto-5.1/ebin", kernel, stdlib}
	if !reflect.DeepEqual(path, wantPath) {
		t.Errorf("code path %q\nwant %q", path, wantPath)
	}
	quiet := func(p string) bool { return strings.HasPrefix(p, root+"/") }
	e := &Erlang{V: v, CodePath: path, Boot: b, Quiet: quiet}
	res := e.Graph([]string{"/app/ebin/helper.beam"}, []Import{{Name: "report", Kind: "entry"}})
	expect(t, kept(res),
		[]string{"/app/ebin/report.beam", "/app/ebin/helper.beam", "/opt/libs/shapes-1.0/ebin/shapes.beam", "/app/ebin/lists.beam",
			kernel + "/kernel.app", kernel + "/kernel.beam", stdlib + "/supervisor.beam", kernel + "/error_handler.beam",
			root + "/lib/crypto-5.1/ebin/crypto.app", root + "/lib/crypto-5.1/ebin/crypto_app.beam", root + "/lib/crypto-5.1/ebin/crypto.beam",
			root + "/lib/crypto-5.1/priv/"},
		[]string{stdlib + "/lists.beam", root + "/lib/stdlib-4.9/ebin/lists.beam", root + "/lib/compiler-8.2/ebin/compile.beam",
			stdlib + "/unused.beam", kernel + "/late_mod.beam", kernel + "/erlang.beam", "/opt/libs/shapes-1.0/ebin/circle.beam"})
	if len(res.Warnings) != 1 || res.Warnings[0].File != "/app/ebin/report.beam" {
		t.Errorf("warnings %v, want one for report's apply", res.Warnings)
	}

	// embedded: every primLoad module, and only the boot paths
	emb := ErlangCodePath(v, root, "/app", []string{"/opt/libs"}, nil, nil, b, true)
	if !reflect.DeepEqual(emb, []string{kernel}) {
		t.Errorf("embedded code path %q", emb)
	}
	res = (&Erlang{V: v, CodePath: emb, Boot: b, Embedded: true, Quiet: quiet}).Graph(nil, nil)
	expect(t, kept(res), []string{kernel + "/late_mod.beam"}, []string{"/app/ebin/report.beam"})
}

// fixtureBeams are the .beam files of an exported erlang fixture, when
// PARE_ERLANG_ROOT names one (an OTP tree on the host, read, never run).
func fixtureBeams(t *testing.T) []string {
	dir := os.Getenv("PARE_ERLANG_ROOT")
	if dir == "" {
		t.Skip("PARE_ERLANG_ROOT not set (the knowledge package's fixture test reads the real image)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "lib", "*", "ebin", "*.beam"))
	if len(files) == 0 {
		t.Fatalf("no .beam files below %s/lib", dir)
	}
	sort.Strings(files)
	return files
}

func TestParseBeamReal(t *testing.T) {
	for _, f := range fixtureBeams(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseBeam(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".beam"); m.Module != want {
			t.Errorf("%s: module %q", f, m.Module)
		}
		if m.Functions == nil {
			t.Errorf("%s: code not decoded", f)
		}
	}
}

func FuzzParseBeam(f *testing.F) {
	f.Add(beamCalling("m", []string{"lists:map", "erlang:apply"}, Tuple{Atom("a"), Map{{Atom("k"), Str("v")}}}))
	f.Add(testBeam{atoms: []string{"m"}, literals: []any{Binary("b")}, raw: true, attrs: List{}}.bytes())
	f.Add(compressedTerm(Tuple{Atom("script"), List{Elems: []any{Tuple{Atom("primLoad"), List{Elems: []any{Atom("x")}}}}}}))
	f.Add([]byte("FOR1\x00\x00\x00\x10BEAMAtU8\xff\xff\xff\xfe\x10"))
	f.Add(codeBeam("m", testFunc{name: "f", arity: 1, calls: []string{"lists:map/2"}, locals: []string{"f/1"}, atoms: []string{"a"}, matches: []string{"b"}, apply: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ParseBeam(data); err == nil {
			if len(m.Atoms) == 0 || m.Module != m.Atoms[0] {
				t.Errorf("module %q of atoms %q", m.Module, m.Atoms)
			}
			for _, i := range m.Imports {
				if !contains(m.Atoms, i.Module) {
					t.Errorf("import %v names no atom", i)
				}
			}
		}
		if tm, err := DecodeTerm(data); err == nil {
			TermAtoms(tm, func(Atom) {})
		}
		_, _ = ParseErlangBoot(data, "/r")
		_, _ = ParseErlangTerms(data)
	})
}

// testFunc is one function of a module built with code.
type testFunc struct {
	name    string
	arity   int
	calls   []string // remote calls "m:f/a"
	locals  []string // local calls "f/a"
	atoms   []string // atoms the code passes on (move)
	matches []string // atoms it only compares with (is_eq_exact)
	apply   bool     // Mod:Fun() with a computed module
}

// compact encodes a value with a tag of the compact term format.
func compact(tag byte, v int) []byte {
	switch {
	case v < 16:
		return []byte{byte(v)<<4 | tag}
	case v < 2048:
		return []byte{byte(v>>8)<<5 | 0x08 | tag, byte(v)}
	}
	return []byte{0x18 | tag, byte(v >> 8), byte(v)}
}

// codeBeam builds a module whose Code chunk holds funcs, all exported.
func codeBeam(mod string, funcs ...testFunc) []byte {
	const tagU, tagA, tagX, tagF = 0, 2, 3, 5
	atoms := []string{mod}
	atom := func(a string) int {
		for i, x := range atoms {
			if x == a {
				return i + 1
			}
		}
		atoms = append(atoms, a)
		return len(atoms)
	}
	var imports [][3]int
	imp := func(c string) int {
		m, rest, _ := strings.Cut(c, ":")
		f, a, _ := strings.Cut(rest, "/")
		n, _ := strconv.Atoi(a)
		row := [3]int{atom(m), atom(f), n}
		for i, r := range imports {
			if r == row {
				return i
			}
		}
		imports = append(imports, row)
		return len(imports) - 1
	}
	entry := map[string]int{}
	for i, f := range funcs {
		entry[fmt.Sprintf("%s/%d", f.name, f.arity)] = 2*i + 2
	}
	var code bytes.Buffer
	op := func(o byte, args ...[]byte) {
		code.WriteByte(o)
		for _, a := range args {
			code.Write(a)
		}
	}
	var exports [][3]int
	for i, f := range funcs {
		op(1, compact(tagU, 2*i+1))
		op(2, compact(tagA, 1), compact(tagA, atom(f.name)), compact(tagU, f.arity))
		op(1, compact(tagU, 2*i+2))
		exports = append(exports, [3]int{atom(f.name), f.arity, 2*i + 2})
		for _, a := range f.atoms {
			op(64, compact(tagA, atom(a)), compact(tagX, 0))
		}
		for _, a := range f.matches {
			op(43, compact(tagF, 2*i+1), compact(tagX, 0), compact(tagA, atom(a)))
		}
		for _, c := range f.calls {
			_, rest, _ := strings.Cut(c, "/")
			n, _ := strconv.Atoi(rest)
			op(7, compact(tagU, n), compact(tagU, imp(c)))
		}
		for _, l := range f.locals {
			op(4, compact(tagU, 0), compact(tagF, entry[l]))
		}
		if f.apply {
			op(112, compact(tagU, 0))
		}
		op(19)
	}
	op(3)
	tb := testBeam{atoms: atoms, imports: imports, exports: exports}
	b := tb.bytes()
	// replace the placeholder Code chunk
	var hdr bytes.Buffer
	for _, v := range []uint32{16, 0, 172, uint32(2*len(funcs) + 1), uint32(len(funcs))} {
		_ = binary.Write(&hdr, binary.BigEndian, v)
	}
	hdr.Write(code.Bytes())
	return replaceChunk(b, "Code", hdr.Bytes())
}

// replaceChunk returns the beam file b with chunk id's content set to data.
func replaceChunk(b []byte, id string, data []byte) []byte {
	var body bytes.Buffer
	for i := 12; i+8 <= len(b); {
		cid := string(b[i : i+4])
		n := int(binary.BigEndian.Uint32(b[i+4 : i+8]))
		c := b[i+8 : i+8+n]
		if cid == id {
			c = data
		}
		body.WriteString(cid)
		_ = binary.Write(&body, binary.BigEndian, uint32(len(c)))
		body.Write(c)
		for body.Len()%4 != 0 {
			body.WriteByte(0)
		}
		i += 8 + (n+3)&^3
	}
	var out bytes.Buffer
	out.WriteString("FOR1")
	_ = binary.Write(&out, binary.BigEndian, uint32(body.Len()+4))
	out.WriteString("BEAM")
	out.Write(body.Bytes())
	return out.Bytes()
}

func TestParseBeamCode(t *testing.T) {
	b := codeBeam("m",
		testFunc{name: "start", arity: 0, calls: []string{"lists:map/2"}, locals: []string{"helper/1"}, atoms: []string{"cb"}, matches: []string{"tag"}},
		testFunc{name: "helper", arity: 1, apply: true})
	m, err := ParseBeam(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Functions == nil {
		t.Fatal("code not decoded")
	}
	s, h := m.Functions["start/0"], m.Functions["helper/1"]
	if s == nil || h == nil {
		t.Fatalf("functions %v", m.Functions)
	}
	if !reflect.DeepEqual(s.Calls, []MFA{{"lists", "map", 2}}) || !reflect.DeepEqual(s.Locals, []string{"helper/1"}) ||
		!reflect.DeepEqual(s.Atoms, []string{"cb"}) || s.Dynamic {
		t.Errorf("start/0 = %+v", s)
	}
	if !h.Dynamic {
		t.Errorf("helper/1 = %+v, want a dynamic call", h)
	}
	// an unknown opcode leaves the module whole, not unreadable
	bad := replaceChunk(b, "Code", append(append([]byte{}, make([]byte, 4)...), 0xfe))
	if m, err := ParseBeam(bad); err != nil || m.Functions != nil {
		t.Errorf("bad code: %v, functions %v", err, m)
	}
}

func TestErlangFunctionGraph(t *testing.T) {
	const root = "/otp"
	kernel, stdlib, sasl := root+"/lib/kernel-1/ebin", root+"/lib/stdlib-1/ebin", root+"/lib/sasl-1/ebin"
	files := map[string]string{
		kernel + "/kernel.app":  `{application, kernel, [{applications, []}, {mod, {kernel, []}}]}.`,
		kernel + "/kernel.beam": string(codeBeam("kernel", testFunc{name: "start", arity: 2, atoms: []string{"logger", "log"}})),
		kernel + "/logger.beam": string(codeBeam("logger", testFunc{name: "log", arity: 1, atoms: []string{"sasl", "start"}})),
		stdlib + "/stdlib.app":  `{application, stdlib, [{applications, [kernel]}]}.`,
		stdlib + "/lists.beam":  string(codeBeam("lists", testFunc{name: "map", arity: 2}, testFunc{name: "sort", arity: 1, calls: []string{"big:thing/0"}})),
		stdlib + "/big.beam":    string(codeBeam("big", testFunc{name: "thing", arity: 0})),
		sasl + "/sasl.app":      `{application, sasl, [{applications, [kernel, stdlib]}, {mod, {sasl, []}}]}.`,
		sasl + "/sasl.beam":     string(codeBeam("sasl", testFunc{name: "start", arity: 2})),
		"/app/ebin/main.beam": string(codeBeam("main",
			testFunc{name: "start", arity: 0, calls: []string{"lib:used/0"}, atoms: []string{"cb_mod", "handle"}, matches: []string{"tagmod"}},
			testFunc{name: "dyn", arity: 0, apply: true})),
		"/libs/lib-1/ebin/lib.beam":      string(codeBeam("lib", testFunc{name: "used", arity: 0, calls: []string{"lists:map/2"}}, testFunc{name: "unused", arity: 0, calls: []string{"lists:sort/1"}})),
		"/libs/lib-1/ebin/cb_mod.beam":   string(codeBeam("cb_mod", testFunc{name: "handle", arity: 1, calls: []string{"cb_dep:x/0"}}, testFunc{name: "other", arity: 0, calls: []string{"cb_other:y/0"}})),
		"/libs/lib-1/ebin/cb_dep.beam":   string(codeBeam("cb_dep", testFunc{name: "x", arity: 0})),
		"/libs/lib-1/ebin/cb_other.beam": string(codeBeam("cb_other", testFunc{name: "y", arity: 0})),
		"/libs/lib-1/ebin/tagmod.beam":   string(codeBeam("tagmod", testFunc{name: "handle", arity: 1})),
	}
	v := mem(files)
	boot := &ErlangBoot{Atoms: []string{"kernel", "stdlib"}}
	path := ErlangCodePath(v, root, "/app", []string{"/libs"}, []string{"ebin"}, nil, boot, false)
	graph := func(entry ...Import) *Result {
		return (&Erlang{V: v, CodePath: path, Boot: boot, Quiet: func(p string) bool { return strings.HasPrefix(p, root+"/") }}).
			Graph(nil, append([]Import{{Name: "main:start/0", Kind: "call"}}, entry...))
	}
	res := graph()
	expect(t, kept(res),
		[]string{"/app/ebin/main.beam", "/libs/lib-1/ebin/lib.beam", stdlib + "/lists.beam", "/libs/lib-1/ebin/cb_mod.beam",
			"/libs/lib-1/ebin/cb_dep.beam", kernel + "/kernel.app", kernel + "/kernel.beam", kernel + "/logger.beam", stdlib + "/stdlib.app"},
		[]string{stdlib + "/big.beam", "/libs/lib-1/ebin/cb_other.beam", "/libs/lib-1/ebin/tagmod.beam",
			sasl + "/sasl.app", sasl + "/sasl.beam"})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %v: main:dyn/0 is not reachable", res.Warnings)
	}
	// sasl named by the command: started, so logger's atom reaches it
	res = graph(Import{Name: "sasl", Kind: "atom"}, Import{Name: "main", Kind: "module"})
	expect(t, kept(res), []string{sasl + "/sasl.app", sasl + "/sasl.beam"}, nil)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].What, "main:dyn/0") {
		t.Errorf("warnings %v, want main:dyn/0's computed call", res.Warnings)
	}
}
