package importgraph

import "strings"

// Ruby token kinds.
const (
	rbIdent = iota
	rbString
	rbSymbol
	rbOp
	rbNewline
)

type rbTok struct {
	kind   int
	text   string
	line   int
	interp bool // a double-quoted string with #{...}: text is its literal prefix
}

// rbLex splits Ruby source into identifiers, strings, symbols and
// operators, skipping comments, =begin/=end blocks, heredoc bodies,
// %-literals, regular expressions and everything after __END__.
func rbLex(src []byte) []rbTok {
	s := string(src)
	var toks []rbTok
	line := 1
	var heredocs []rbHeredoc // pending heredocs, read at the next newline
	// value reports whether the last token ends an operand, so that '/'
	// and '%' are operators rather than literals.
	value := func() bool {
		if len(toks) == 0 {
			return false
		}
		t := toks[len(toks)-1]
		switch t.kind {
		case rbString, rbSymbol:
			return true
		case rbIdent:
			switch t.text {
			case "if", "unless", "while", "until", "and", "or", "not", "when", "return", "puts", "print", "p", "then", "else", "elsif", "do", "case", "in":
				return false
			}
			return true
		case rbOp:
			return t.text == ")" || t.text == "]" || t.text == "}"
		}
		return false
	}
	i := 0
	bol := true
	for i < len(s) {
		c := s[i]
		if bol {
			bol = false
			if strings.HasPrefix(s[i:], "=begin") && (i+6 == len(s) || s[i+6] == ' ' || s[i+6] == '\n' || s[i+6] == '\t' || s[i+6] == '\r') {
				for i < len(s) {
					j := strings.IndexByte(s[i:], '\n')
					if j < 0 {
						return toks
					}
					i += j + 1
					line++
					if strings.HasPrefix(s[i:], "=end") {
						break
					}
				}
				continue
			}
			if strings.HasPrefix(s[i:], "__END__") && (i+7 == len(s) || s[i+7] == '\n' || s[i+7] == '\r') {
				return toks
			}
		}
		switch {
		case c == '\n':
			toks = append(toks, rbTok{kind: rbNewline, line: line})
			line++
			i++
			bol = true
			for _, h := range heredocs {
				n, nl := h.skip(s[i:])
				i += n
				line += nl
			}
			heredocs = nil
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i += 2
			line++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '"' || c == '`':
			tok, n, nl := rbQuoted(s[i+1:], c, c, true)
			tok.line = line
			toks = append(toks, tok)
			line += nl
			i += 1 + n
		case c == '\'':
			tok, n, nl := rbQuoted(s[i+1:], '\'', '\'', false)
			tok.line = line
			toks = append(toks, tok)
			line += nl
			i += 1 + n
		case c == ':' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\''):
			tok, n, nl := rbQuoted(s[i+2:], s[i+1], s[i+1], s[i+1] == '"')
			tok.kind, tok.line = rbSymbol, line
			toks = append(toks, tok)
			line += nl
			i += 2 + n
		case c == ':' && i+1 < len(s) && isIdentStart(s[i+1]) && !(i > 0 && s[i-1] == ':'):
			j := i + 1
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '?' || s[j] == '!' || s[j] == '=') {
				j++
			}
			toks = append(toks, rbTok{kind: rbSymbol, text: s[i+1 : j], line: line})
			i = j
		case c == '?' && i+1 < len(s) && !value() && s[i+1] != ' ' && s[i+1] != '\n':
			// a character literal: ?a, ?\n
			i += 2
			if s[i-1] == '\\' && i < len(s) {
				i++
			}
			toks = append(toks, rbTok{kind: rbString, line: line})
		case c == '%' && !value() && i+1 < len(s):
			j := i + 1
			kind := byte('Q')
			if isIdentStart(s[j]) && j+1 < len(s) && !isIdentChar(s[j+1]) && s[j+1] != ' ' {
				kind = s[j]
				j++
			}
			open := s[j]
			if isIdentChar(open) || open == ' ' || open == '\n' || open == '=' {
				toks = append(toks, rbTok{kind: rbOp, text: "%", line: line})
				i++
				continue
			}
			tok, n, nl := rbQuoted(s[j+1:], open, closer(open), kind == 'Q' || kind == 'W' || kind == 'I' || kind == 'x' || kind == 'r')
			tok.line = line
			if kind == 's' {
				tok.kind = rbSymbol
			}
			if kind == 'w' || kind == 'W' || kind == 'i' || kind == 'I' || kind == 'r' || kind == 'x' {
				tok.text, tok.interp = "", true // not a single literal
			}
			toks = append(toks, tok)
			line += nl
			i = j + 1 + n
		case c == '/' && !value():
			tok, n, nl := rbQuoted(s[i+1:], '/', '/', true)
			tok.line = line
			tok.text, tok.interp = "", true
			toks = append(toks, tok)
			line += nl
			i += 1 + n
		case c == '<' && strings.HasPrefix(s[i:], "<<") && !value():
			if h, n, ok := rbHeredocStart(s[i+2:]); ok {
				heredocs = append(heredocs, h)
				toks = append(toks, rbTok{kind: rbString, interp: true, line: line})
				i += 2 + n
				continue
			}
			toks = append(toks, rbTok{kind: rbOp, text: "<", line: line})
			i++
		case isIdentStart(c) || c == '@' || c == '$':
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == '?' || s[j] == '!') && !(j+1 < len(s) && s[j+1] == '=') {
				j++
			}
			toks = append(toks, rbTok{kind: rbIdent, text: s[i:j], line: line})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '.' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
				j++
			}
			toks = append(toks, rbTok{kind: rbIdent, text: s[i:j], line: line})
			i = j
		default:
			if c == ';' {
				toks = append(toks, rbTok{kind: rbNewline, line: line})
			} else {
				toks = append(toks, rbTok{kind: rbOp, text: string(c), line: line})
			}
			i++
		}
	}
	return toks
}

// closer is the closing delimiter of a Perl or Ruby quote-like operator
// opened with open: brackets pair, any other byte closes itself.
func closer(open byte) byte {
	switch open {
	case '(':
		return ')'
	case '[':
		return ']'
	case '{':
		return '}'
	case '<':
		return '>'
	}
	return open
}

// rbQuoted reads a quoted literal after its opening delimiter up to close
// (nesting open/close when they differ, and #{...} when interp). The token's
// text is the literal (up to the first interpolation).
func rbQuoted(s string, open, close byte, interp bool) (rbTok, int, int) {
	var b strings.Builder
	tok := rbTok{kind: rbString}
	nl, depth := 0, 0
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\n' {
			nl++
		}
		if c == '\\' && i+1 < len(s) {
			if s[i+1] == '\n' {
				nl++
			}
			if !tok.interp {
				if interp || s[i+1] == close || s[i+1] == '\\' {
					b.WriteByte(s[i+1])
				} else {
					b.WriteByte(c)
					b.WriteByte(s[i+1])
				}
			}
			i += 2
			continue
		}
		if interp && c == '#' && i+1 < len(s) && s[i+1] == '{' {
			tok.interp = true
			n, l := rbSkipBraces(s[i+2:])
			nl += l
			i += 2 + n
			continue
		}
		if open != close && c == open {
			depth++
		} else if c == close {
			if depth == 0 {
				i++
				break
			}
			depth--
		}
		if !tok.interp {
			b.WriteByte(c)
		}
		i++
	}
	tok.text = b.String()
	return tok, i, nl
}

// rbSkipBraces skips an interpolation's code up to its closing brace,
// through nested strings and braces.
func rbSkipBraces(s string) (int, int) {
	depth, nl := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\n':
			nl++
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i + 1, nl
			}
			depth--
		case '"', '\'':
			_, n, l := rbQuoted(s[i+1:], c, c, c == '"')
			i += n
			nl += l
		}
	}
	return len(s), nl
}

type rbHeredoc struct {
	id     string
	indent bool // <<- or <<~: the terminator may be indented
}

// rbHeredocStart reads a heredoc opener after "<<": [~-]ID, [~-]"ID",
// [~-]'ID'.
func rbHeredocStart(s string) (rbHeredoc, int, bool) {
	i := 0
	h := rbHeredoc{}
	if i < len(s) && (s[i] == '~' || s[i] == '-') {
		h.indent = true
		i++
	}
	if i < len(s) && (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
		q := s[i]
		j := strings.IndexByte(s[i+1:], q)
		if j <= 0 || strings.ContainsAny(s[i+1:i+1+j], "\n") {
			return h, 0, false
		}
		h.id = s[i+1 : i+1+j]
		return h, i + j + 2, true
	}
	j := i
	for j < len(s) && isIdentChar(s[j]) {
		j++
	}
	if j == i || !(s[i] >= 'A' && s[i] <= 'Z' || s[i] == '_' || h.indent) {
		return h, 0, false
	}
	h.id = s[i:j]
	return h, j, true
}

// skip skips the heredoc's body and terminator line.
func (h rbHeredoc) skip(s string) (int, int) {
	i, nl := 0, 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '\n')
		lineText := s[i:]
		if j >= 0 {
			lineText = s[i : i+j]
		}
		t := strings.TrimRight(lineText, "\r")
		if h.indent {
			t = strings.TrimLeft(t, " \t")
		}
		if j < 0 {
			return len(s), nl
		}
		i += j + 1
		nl++
		if t == h.id {
			return i, nl
		}
	}
	return i, nl
}

// ParseRuby returns the require, require_relative, load and autoload calls
// of a Ruby file with their arguments: literals, interpolated strings
// (dynamic, with their literal prefix), or other expressions (dynamic).
// require File.expand_path("x", __dir__) and File.join(__dir__, "x") are
// relative requires.
func ParseRuby(src []byte) []Import {
	toks := rbLex(src)
	var out []Import
	indent := rbIndents(src)
	var defs []int // indentation of the enclosing def lines
	lastLine := 0
	for i, t := range toks {
		if t.kind != rbNewline && t.line != lastLine {
			// the first token of a line: a line indented no deeper than
			// a def ends that def's body
			lastLine = t.line
			in := indent(t.line)
			for len(defs) > 0 && in <= defs[len(defs)-1] {
				defs = defs[:len(defs)-1]
			}
		}
		if t.kind == rbIdent && t.text == "def" && rbDefStart(toks, i) {
			defs = append(defs, indent(t.line))
			continue
		}
		if t.kind != rbIdent {
			continue
		}
		lazy := len(defs) > 0 && defs[len(defs)-1] < indent(t.line) && rbDefLine(toks, i) < t.line
		switch t.text {
		case "require", "require_relative", "load", "autoload":
		default:
			continue
		}
		if i > 0 && toks[i-1].kind == rbOp && toks[i-1].text == "." && !(i > 1 && toks[i-2].text == "Kernel") {
			continue
		}
		if i > 0 && toks[i-1].kind == rbIdent && toks[i-1].text == "def" {
			continue
		}
		j := i + 1
		if j < len(toks) && toks[j].kind == rbOp && toks[j].text == "(" {
			j++
		}
		kind := t.text
		if kind == "autoload" {
			if j+1 < len(toks) && toks[j].kind == rbSymbol && toks[j+1].text == "," {
				j += 2
			} else {
				continue
			}
		}
		if j >= len(toks) || toks[j].kind == rbNewline {
			continue // a bare name (a method called require)
		}
		a := toks[j]
		if a.kind == rbOp && (a.text == "=" || a.text == ")" || a.text == "." || a.text == ",") {
			continue
		}
		if a.kind == rbString {
			end := j+1 >= len(toks) || toks[j+1].kind == rbNewline || toks[j+1].text == ")" || toks[j+1].text == ","
			if !end && toks[j+1].kind == rbIdent && (toks[j+1].text == "if" || toks[j+1].text == "unless" || toks[j+1].text == "rescue") {
				end = true
			}
			out = append(out, Import{Name: a.text, Line: t.line, Kind: kind, Dynamic: a.interp || !end, Lazy: lazy})
			continue
		}
		if rel, ok := rbFileRel(toks, j); ok {
			out = append(out, Import{Name: rel, Line: t.line, Kind: "require_relative", Lazy: lazy})
			continue
		}
		out = append(out, Import{Line: t.line, Kind: kind, Dynamic: true, Lazy: lazy})
	}
	return out
}

// rbIndents returns the indentation (leading blanks, a tab as 8) of each
// 1-based line of src.
func rbIndents(src []byte) func(line int) int {
	var ind []int
	n, bol := 0, true
	for _, c := range src {
		switch {
		case c == '\n':
			ind = append(ind, n)
			n, bol = 0, true
		case bol && c == ' ':
			n++
		case bol && c == '\t':
			n += 8
		default:
			bol = false
		}
	}
	ind = append(ind, n)
	return func(line int) int {
		if line < 1 || line > len(ind) {
			return 0
		}
		return ind[line-1]
	}
}

// rbDefStart reports whether the def at toks[i] starts a method definition
// at the start of a statement (or after private, protected, public,
// module_function), and not an endless one-line "def x = ...".
func rbDefStart(toks []rbTok, i int) bool {
	if i > 0 {
		p := toks[i-1]
		switch {
		case p.kind == rbNewline, p.kind == rbOp && p.text == ";":
		case p.kind == rbIdent && (p.text == "private" || p.text == "protected" || p.text == "public" || p.text == "module_function") && p.line == toks[i].line:
		default:
			return false
		}
	}
	return true
}

// rbDefLine returns the line of the innermost def before toks[i].
func rbDefLine(toks []rbTok, i int) int {
	for k := i - 1; k >= 0; k-- {
		if toks[k].kind == rbIdent && toks[k].text == "def" && rbDefStart(toks, k) {
			return toks[k].line
		}
	}
	return 0
}

// rbFileRel recognises File.expand_path("x", __dir__),
// File.expand_path("../x", __FILE__) and File.join(__dir__, "x") at toks[j],
// returning the path relative to the file's directory.
func rbFileRel(toks []rbTok, j int) (string, bool) {
	at := func(k int, kind int, text string) bool {
		return k < len(toks) && toks[k].kind == kind && (text == "" || toks[k].text == text)
	}
	if !at(j, rbIdent, "File") || !at(j+1, rbOp, ".") || !at(j+3, rbOp, "(") {
		return "", false
	}
	switch toks[j+2].text {
	case "expand_path":
		if at(j+4, rbString, "") && !toks[j+4].interp && at(j+5, rbOp, ",") && at(j+6, rbIdent, "") {
			switch toks[j+6].text {
			case "__dir__":
				return toks[j+4].text, true
			case "__FILE__":
				// relative to the file itself: "../x" is x beside it
				return strings.TrimPrefix(strings.TrimPrefix(toks[j+4].text, ".."), "/"), true
			}
		}
	case "join":
		if at(j+4, rbIdent, "__dir__") && at(j+5, rbOp, ",") && at(j+6, rbString, "") && !toks[j+6].interp && at(j+7, rbOp, ")") {
			return toks[j+6].text, true
		}
	}
	return "", false
}
