package importgraph

import "strings"

// JavaScript token kinds.
const (
	jsIdent = iota
	jsString
	jsTemplate // a template literal; text is its literal head, interp when it has ${}
	jsRegexp
	jsPunct
	jsNumber
)

type jsTok struct {
	kind   int
	text   string
	line   int
	interp bool
}

// jsLex splits JavaScript into identifiers, strings, template literals,
// regular expressions, numbers and punctuators, skipping comments (and a
// leading #! line). A '/' starts a regular expression where an operand is
// expected: after an operator, an opening bracket, a keyword that precedes
// an expression, or at the start.
func jsLex(src []byte) []jsTok {
	s := string(src)
	var toks []jsTok
	line := 1
	i := 0
	if strings.HasPrefix(s, "#!") {
		for i < len(s) && s[i] != '\n' {
			i++
		}
	}
	// braces records, for each open '{', whether it opened a template
	// substitution, so that its '}' resumes the template.
	var braces []bool
	regexOK := func() bool {
		if len(toks) == 0 {
			return true
		}
		t := toks[len(toks)-1]
		switch t.kind {
		case jsIdent:
			switch t.text {
			case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await":
				return true
			}
			return false
		case jsString, jsTemplate, jsRegexp, jsNumber:
			return false
		}
		return t.text != ")" && t.text != "]" && t.text != "}" && t.text != "++" && t.text != "--"
	}
	template := func() {
		// at a template's text (after ` or a substitution's }): read to
		// the next ${ or the closing `
		var b strings.Builder
		interp := false
		for i < len(s) {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				if s[i+1] == '\n' {
					line++
				}
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			if c == '`' {
				i++
				toks = append(toks, jsTok{kind: jsTemplate, text: b.String(), line: line, interp: interp})
				return
			}
			if c == '$' && i+1 < len(s) && s[i+1] == '{' {
				i += 2
				braces = append(braces, true)
				toks = append(toks, jsTok{kind: jsTemplate, text: b.String(), line: line, interp: true})
				return
			}
			if c == '\n' {
				line++
			}
			b.WriteByte(c)
			i++
		}
		toks = append(toks, jsTok{kind: jsTemplate, text: b.String(), line: line, interp: interp})
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return toks
			}
			line += strings.Count(s[i:i+2+j], "\n")
			i += j + 4
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for j < len(s) && s[j] != c && s[j] != '\n' {
				if s[j] == '\\' && j+1 < len(s) {
					if s[j+1] == '\n' {
						line++
					} else {
						b.WriteByte(s[j+1])
					}
					j += 2
					continue
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, jsTok{kind: jsString, text: b.String(), line: line})
			i = j + 1
		case c == '`':
			i++
			template()
		case c == '}' && len(braces) > 0 && braces[len(braces)-1]:
			braces = braces[:len(braces)-1]
			i++
			template()
		case c == '/' && regexOK():
			j := i + 1
			class := false
			for j < len(s) && s[j] != '\n' {
				if s[j] == '\\' {
					j += 2
					continue
				}
				if s[j] == '[' {
					class = true
				} else if s[j] == ']' {
					class = false
				} else if s[j] == '/' && !class {
					break
				}
				j++
			}
			j++
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			toks = append(toks, jsTok{kind: jsRegexp, line: line})
			i = min(j, len(s))
		case isIdentStart(c) || c == '$' || c == '#':
			j := i + 1
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '$') {
				j++
			}
			toks = append(toks, jsTok{kind: jsIdent, text: s[i:j], line: line})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, jsTok{kind: jsNumber, line: line})
			i = j
		default:
			if c == '{' {
				braces = append(braces, false)
			} else if c == '}' && len(braces) > 0 {
				braces = braces[:len(braces)-1]
			}
			text := string(c)
			if (c == '+' || c == '-') && i+1 < len(s) && s[i+1] == c {
				text = s[i : i+2]
			} else if c == '?' && i+1 < len(s) && s[i+1] == '.' {
				text = "?."
			}
			toks = append(toks, jsTok{kind: jsPunct, text: text, line: line})
			i += len(text)
		}
	}
	return toks
}

// ParseJS returns the module references of a JavaScript file (CommonJS or
// ECMAScript module): require("x"), require.resolve("x"), import "x",
// import ... from "x", export ... from "x" and import("x"). A template
// literal without substitutions is a literal; "lit" + x and `lit${x}` are
// dynamic with the literal prefix.
func ParseJS(src []byte) []Import {
	toks := jsLex(src)
	var out []Import
	at := func(k, kind int, text string) bool {
		return k >= 0 && k < len(toks) && toks[k].kind == kind && (text == "" || toks[k].text == text)
	}
	arg := func(k int, kind string, line int) Import {
		if k < len(toks) && (toks[k].kind == jsString || toks[k].kind == jsTemplate && !toks[k].interp) {
			if at(k+1, jsPunct, ")") || at(k+1, jsPunct, ",") {
				return Import{Name: toks[k].text, Line: line, Kind: kind}
			}
			return Import{Name: toks[k].text, Line: line, Kind: kind, Dynamic: true}
		}
		if k < len(toks) && toks[k].kind == jsTemplate {
			return Import{Name: toks[k].text, Line: line, Kind: kind, Dynamic: true}
		}
		return Import{Line: line, Kind: kind, Dynamic: true}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != jsIdent {
			continue
		}
		member := at(i-1, jsPunct, ".") || at(i-1, jsPunct, "?.")
		switch t.text {
		case "require":
			if member || at(i-1, jsIdent, "function") {
				continue
			}
			if at(i+1, jsPunct, "(") {
				out = append(out, arg(i+2, "require", t.line))
			} else if at(i+1, jsPunct, ".") && at(i+2, jsIdent, "resolve") && at(i+3, jsPunct, "(") {
				out = append(out, arg(i+4, "require.resolve", t.line))
			}
		case "import":
			if member {
				continue
			}
			switch {
			case at(i+1, jsPunct, "("):
				out = append(out, arg(i+2, "import()", t.line))
			case at(i+1, jsString, ""):
				out = append(out, Import{Name: toks[i+1].text, Line: t.line, Kind: "import"})
			case at(i+1, jsPunct, "."):
				// import.meta
			default:
				if name, ok := jsFrom(toks, i+1); ok {
					out = append(out, Import{Name: name, Line: t.line, Kind: "import"})
				}
			}
		case "export":
			if member {
				continue
			}
			if at(i+1, jsPunct, "*") || at(i+1, jsPunct, "{") {
				if name, ok := jsFrom(toks, i+1); ok {
					out = append(out, Import{Name: name, Line: t.line, Kind: "export from"})
				}
			}
		}
	}
	return out
}

// jsFrom scans an import or export clause from toks[k] for `from "x"`,
// stopping at a ';' or a '}' that closes the clause without a from.
func jsFrom(toks []jsTok, k int) (string, bool) {
	depth := 0
	for ; k < len(toks) && k < 4096; k++ {
		t := toks[k]
		switch {
		case t.kind == jsPunct && t.text == ";":
			return "", false
		case t.kind == jsPunct && t.text == "{":
			depth++
		case t.kind == jsPunct && t.text == "}":
			depth--
			if depth == 0 && !(k+1 < len(toks) && toks[k+1].kind == jsIdent && toks[k+1].text == "from") {
				return "", false
			}
		case t.kind == jsIdent && t.text == "from" && depth == 0:
			if k+1 < len(toks) && toks[k+1].kind == jsString {
				return toks[k+1].text, true
			}
		case depth == 0 && t.kind == jsPunct && t.text == "(":
			return "", false // an expression, not a clause
		}
	}
	return "", false
}
