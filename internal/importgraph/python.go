package importgraph

import "strings"

// Python token kinds.
const (
	pyName = iota
	pyString
	pyOp
	pyNewline // end of a logical line (also ';')
)

type pyTok struct {
	kind int
	text string // a name, an operator, or a string's value
	line int
	// fstring marks an f-string (its value is a template, not a literal).
	fstring bool
}

// pyLex splits Python source into names, strings, operators and logical
// line ends. Comments and line continuations are dropped; newlines inside
// brackets do not end a line, as in Python's tokenizer.
func pyLex(src []byte) []pyTok {
	var toks []pyTok
	s := string(src)
	line, depth := 1, 0
	i := 0
	emitNL := func() {
		if len(toks) > 0 && toks[len(toks)-1].kind != pyNewline {
			toks = append(toks, pyTok{kind: pyNewline, line: line})
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			if depth == 0 {
				emitNL()
			}
			line++
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == '\r'):
			i += 2
			if s[i-1] == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			line++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '"' || c == '\'':
			tok, n, nl := pyReadString(s[i:], "")
			tok.line = line
			toks = append(toks, tok)
			line += nl
			i += n
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := s[i:j]
			if j < len(s) && (s[j] == '"' || s[j] == '\'') && isStrPrefix(word) {
				tok, n, nl := pyReadString(s[j:], strings.ToLower(word))
				tok.line = line
				toks = append(toks, tok)
				line += nl
				i = j + n
				continue
			}
			toks = append(toks, pyTok{kind: pyName, text: word, line: line})
			i = j
		default:
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			}
			if c == ';' {
				emitNL()
				i++
				continue
			}
			toks = append(toks, pyTok{kind: pyOp, text: string(c), line: line})
			i++
		}
	}
	emitNL()
	return toks
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isStrPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// pyReadString reads a string literal at the start of s (at its quote) with
// prefix (lower case). It returns the token, the bytes consumed and the
// newlines crossed. Escapes are kept as written except \' \" \\ in
// non-raw strings; module names hold no other escapes.
func pyReadString(s, prefix string) (pyTok, int, int) {
	q := s[0]
	raw := strings.Contains(prefix, "r")
	triple := len(s) >= 3 && s[1] == q && s[2] == q
	i := 1
	if triple {
		i = 3
	}
	var b strings.Builder
	nl := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			if s[i+1] == '\n' {
				nl++
			}
			if raw {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			} else {
				b.WriteByte(s[i+1])
			}
			i += 2
			continue
		}
		if c == '\n' {
			nl++
			if !triple {
				i++ // an unterminated string ends at the line
				break
			}
		}
		if c == q {
			if !triple {
				i++
				break
			}
			if i+2 < len(s) && s[i+1] == q && s[i+2] == q {
				i += 3
				break
			}
		}
		b.WriteByte(c)
		i++
	}
	return pyTok{kind: pyString, text: b.String(), fstring: strings.Contains(prefix, "f")}, i, nl
}

// ParsePython returns the imports of a Python module: import and from
// statements anywhere (in functions, in try/except ImportError branches: all
// of them), and __import__, importlib.import_module and import_module calls.
//
// An import inside a function body (below a def, by indentation) is Lazy:
// it runs when the function is called, not when the module is loaded (one
// on the def's own line is taken as eager).
func ParsePython(src []byte) []Import {
	toks := pyLex(src)
	indent := pyIndents(src)
	var out []Import
	stmtStart := true
	var defs []int // the indentation of the enclosing defs
	lazy := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		start := stmtStart
		stmtStart = t.kind == pyNewline || t.kind == pyOp && t.text == ":"
		if t.kind != pyName {
			continue
		}
		if i == 0 || toks[i-1].kind == pyNewline {
			ind := indent[t.line]
			for len(defs) > 0 && defs[len(defs)-1] >= ind {
				defs = defs[:len(defs)-1]
			}
			lazy = len(defs) > 0
			if t.text == "def" || t.text == "async" && i+1 < len(toks) && toks[i+1].text == "def" {
				defs = append(defs, ind)
			}
		}
		n := len(out)
		switch {
		case start && t.text == "import":
			j := i + 1
			for {
				name, k := pyDotted(toks, j)
				if name == "" {
					break
				}
				out = append(out, Import{Name: name, Line: t.line, Kind: "import"})
				j = k
				if j+1 < len(toks) && toks[j].kind == pyName && toks[j].text == "as" {
					j += 2
				}
				if j < len(toks) && toks[j].kind == pyOp && toks[j].text == "," {
					j++
					continue
				}
				break
			}
			i = j - 1
		case start && t.text == "from":
			j := i + 1
			level := 0
			for j < len(toks) && toks[j].kind == pyOp && toks[j].text == "." {
				level++
				j++
			}
			name, k := pyDotted(toks, j)
			j = k
			if j >= len(toks) || toks[j].kind != pyName || toks[j].text != "import" {
				continue
			}
			j++
			var from []string
			for ; j < len(toks) && toks[j].kind != pyNewline; j++ {
				tk := toks[j]
				if tk.kind == pyName && tk.text != "as" && !(j > 0 && toks[j-1].kind == pyName && toks[j-1].text == "as") {
					from = append(from, tk.text)
				}
				if tk.kind == pyOp && tk.text == "*" {
					from = append(from, "*")
				}
			}
			out = append(out, Import{Name: name, Level: level, From: from, Line: t.line, Kind: "from"})
			i = j - 1
		case t.text == "__import__" || t.text == "import_module":
			if i > 0 && toks[i-1].kind == pyName && toks[i-1].text == "def" {
				continue
			}
			if i > 0 && toks[i-1].kind == pyOp && toks[i-1].text == "." && t.text == "__import__" {
				continue // a method of something else
			}
			if i+1 >= len(toks) || toks[i+1].kind != pyOp || toks[i+1].text != "(" {
				continue
			}
			im := pyCallArg(toks, i+2)
			im.Line, im.Kind = t.line, t.text
			out = append(out, im)
		}
		for k := n; k < len(out); k++ {
			out[k].Lazy = lazy
		}
	}
	return out
}

// pyIndents returns the indentation (in columns, a tab to the next multiple
// of 8) of every physical line of src, by 1-based line number.
func pyIndents(src []byte) []int {
	out := []int{0}
	col, counting := 0, true
	for _, c := range src {
		switch {
		case c == '\n':
			out = append(out, col)
			col, counting = 0, true
		case !counting:
		case c == ' ':
			col++
		case c == '\t':
			col = col/8*8 + 8
		default:
			counting = false
		}
	}
	return append(out, col)
}

// pyDotted reads a dotted name at toks[j]; it returns "" when there is none.
func pyDotted(toks []pyTok, j int) (string, int) {
	var parts []string
	for j < len(toks) && toks[j].kind == pyName && toks[j].text != "import" {
		parts = append(parts, toks[j].text)
		j++
		if j+1 < len(toks) && toks[j].kind == pyOp && toks[j].text == "." && toks[j+1].kind == pyName {
			j++
			continue
		}
		break
	}
	return strings.Join(parts, "."), j
}

// pyCallArg reads the first argument of a call at toks[j]: a literal, or
// a dynamic one with the literal prefix of 'lit' + x or f'lit{x}'.
func pyCallArg(toks []pyTok, j int) Import {
	if j >= len(toks) || toks[j].kind != pyString {
		return Import{Dynamic: true}
	}
	t := toks[j]
	if t.fstring {
		if k := strings.IndexByte(t.text, '{'); k >= 0 {
			return Import{Name: t.text[:k], Dynamic: true}
		}
		return Import{Name: t.text}
	}
	if j+1 < len(toks) && toks[j+1].kind == pyOp && (toks[j+1].text == "," || toks[j+1].text == ")") {
		return Import{Name: t.text}
	}
	return Import{Name: t.text, Dynamic: true}
}
