package importgraph

import (
	"regexp"
	"strings"
)

// Perl token kinds.
const (
	plIdent  = iota // a bareword or package name (Foo::Bar), or a number
	plString        // a quoted string or qw list (text is the content)
	plVar           // a variable ($x, %!, $+{...}'s sigil and name)
	plOp            // an operator or punctuation
)

type plTok struct {
	kind   int
	text   string
	line   int
	interp bool // a string with $ or @ interpolation, or a qw list (words)
	words  bool // a qw list
}

// plLex splits Perl source into barewords, strings, variables and
// operators, skipping comments, POD, heredoc bodies, regular expressions and
// substitutions, and everything after __END__ or __DATA__. Perl cannot be
// tokenized exactly without running it; the lexer decides a '/' or '?'
// between division and a pattern by the previous token, like perl's own
// heuristic does.
func plLex(src []byte) []plTok {
	s := string(src)
	var toks []plTok
	line := 1
	var heredocs []plHeredoc
	// value reports whether the previous token ends an operand, so that
	// '/' is division and '<<' a shift.
	value := func() bool {
		if len(toks) == 0 {
			return false
		}
		t := toks[len(toks)-1]
		switch t.kind {
		case plString, plVar:
			return true
		case plIdent:
			switch t.text {
			case "if", "unless", "while", "until", "and", "or", "not", "return", "split", "grep", "map", "join", "push", "unshift", "when", "x", "lt", "gt", "le", "ge", "eq", "ne", "cmp":
				return false
			}
			return true
		case plOp:
			return t.text == ")" || t.text == "]" || t.text == "}"
		}
		return false
	}
	emit := func(t plTok) { t.line = line; toks = append(toks, t) }
	i := 0
	bol := true
	for i < len(s) {
		c := s[i]
		if bol {
			bol = false
			// POD: a line starting with =word, up to a line starting with =cut
			if c == '=' && i+1 < len(s) && isWordStart(s[i+1]) {
				for i < len(s) {
					j := strings.IndexByte(s[i:], '\n')
					cut := strings.HasPrefix(s[i:], "=cut")
					if j < 0 {
						return toks
					}
					i += j + 1
					line++
					if cut {
						break
					}
				}
				bol = true
				continue
			}
		}
		switch {
		case c == '\n':
			line++
			i++
			bol = true
			for _, h := range heredocs {
				n, nl := h.skip(s[i:])
				i += n
				line += nl
			}
			heredocs = nil
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return toks
			}
			i += j
		case c == '\'' || c == '"' || c == '`':
			t, n, nl := plQuoted(s[i+1:], c, c, c != '\'')
			emit(t)
			i += 1 + n
			line += nl
		case c == '$' || c == '@' || c == '%' || c == '&':
			if (c == '%' || c == '&') && value() {
				emit(plTok{kind: plOp, text: string(c)})
				i++
				continue
			}
			j := i + 1
			if c == '$' && j < len(s) && s[j] == '#' {
				j++ // $#array, $#{expr}, $#$ref
			}
			for j < len(s) && s[j] == '$' {
				j++ // $$ref
			}
			k := j
			for k < len(s) && (isWordByte(s[k]) || s[k] == ':' && k+1 < len(s) && s[k+1] == ':') {
				if s[k] == ':' {
					k++
				}
				k++
			}
			if k == j && j < len(s) && s[j] != '{' && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' {
				if s[j] == '^' && j+1 < len(s) {
					k = j + 2 // $^W
				} else {
					k = j + 1 // $! $' $" $/ %+ ...
				}
			}
			emit(plTok{kind: plVar, text: s[i:k]})
			i = k
		case isWordStart(c):
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] == ':' && j+1 < len(s) && s[j+1] == ':' && j+2 < len(s) && isWordStart(s[j+2])) {
				if s[j] == ':' {
					j++
				}
				j++
			}
			if rePerlVString.MatchString(s[i:j]) {
				for j < len(s) && (s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
					j++ // a version string: v5.36.0
				}
			}
			w := s[i:j]
			prevArrow := len(toks) > 0 && toks[len(toks)-1].kind == plOp && (toks[len(toks)-1].text == "->" || toks[len(toks)-1].text == "{" || toks[len(toks)-1].text == "-")
			if w == "__END__" || w == "__DATA__" {
				return toks
			}
			if n, ok := plQuoteLike(w, s[j:]); ok && !prevArrow {
				t, m, nl := plQuoteOp(w, s[j+n:])
				if t.kind == plString {
					emit(t)
				}
				i = j + n + m
				line += nl
				continue
			}
			emit(plTok{kind: plIdent, text: w})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
				j++
			}
			emit(plTok{kind: plIdent, text: s[i:j]})
			i = j
		case c == '/' && !value():
			_, n, nl := plQuoted(s[i+1:], '/', '/', true)
			i += 1 + n
			line += nl
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			emit(plTok{kind: plString, text: ""})
		case c == '<' && strings.HasPrefix(s[i:], "<<") && !shiftable(toks):
			if h, n, ok := plHeredocStart(s[i+2:]); ok {
				heredocs = append(heredocs, h)
				emit(plTok{kind: plString, text: "", interp: h.interp})
				i += 2 + n
				continue
			}
			emit(plTok{kind: plOp, text: "<<"})
			i += 2
		default:
			for _, op := range []string{"->", "=>", "::", "=~", "!~", "==", "!=", "<=", ">=", "&&", "||", "//", "**", "++", "--", ".."} {
				if strings.HasPrefix(s[i:], op) {
					emit(plTok{kind: plOp, text: op})
					i += len(op)
					goto next
				}
			}
			emit(plTok{kind: plOp, text: string(c)})
			i++
		next:
		}
	}
	return toks
}

// shiftable reports whether "<<" after toks is a shift: after a variable,
// a string, a number or a closing bracket; after a bareword (print <<EOF)
// or an operator it starts a heredoc.
func shiftable(toks []plTok) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[len(toks)-1]
	switch t.kind {
	case plVar, plString:
		return true
	case plIdent:
		return t.text[0] >= '0' && t.text[0] <= '9'
	case plOp:
		return t.text == ")" || t.text == "]" || t.text == "}"
	}
	return false
}

func isWordStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' }

// plQuoteLike reports whether the bareword w followed by rest starts a
// quote-like operator (q qq qw qx m qr s tr y) and returns the bytes of
// whitespace before its delimiter.
func plQuoteLike(w, rest string) (int, bool) {
	switch w {
	case "q", "qq", "qw", "qx", "m", "qr", "s", "tr", "y":
	default:
		return 0, false
	}
	n := 0
	for n < len(rest) && (rest[n] == ' ' || rest[n] == '\t') {
		n++
	}
	if n >= len(rest) {
		return 0, false
	}
	d := rest[n]
	if strings.HasPrefix(rest[n:], "=>") || d == ',' || d == ';' || d == ')' || d == '\n' || d == '\r' {
		return 0, false // a hash key or a bareword
	}
	if d == '=' && n == 0 && (w == "s" || w == "y" || w == "q") {
		return 0, false // s = ..., an assignment to a bareword is unusual; $s is a variable
	}
	if isWordByte(d) && n == 0 {
		return 0, false // qwerty
	}
	if d == '#' && n > 0 {
		return 0, false // a comment after the word
	}
	return n, true
}

// plQuoteOp reads the body of quote-like operator w at rest (its first
// delimiter): a string for q, qq, qw (words), nothing for the patterns.
func plQuoteOp(w, rest string) (plTok, int, int) {
	if rest == "" {
		return plTok{kind: plOp}, 0, 0
	}
	open := rest[0]
	cl := closer(open)
	t, n, nl := plQuoted(rest[1:], open, cl, w != "q" && w != "qw" && open != '\'')
	n++
	if w == "s" || w == "tr" || w == "y" {
		if cl != open {
			// s{...}{...}: the second part has its own delimiters
			for n < len(rest) && (rest[n] == ' ' || rest[n] == '\t' || rest[n] == '\n') {
				if rest[n] == '\n' {
					nl++
				}
				n++
			}
			if n < len(rest) {
				o2 := rest[n]
				_, m, nl2 := plQuoted(rest[n+1:], o2, closer(o2), true)
				n += 1 + m
				nl += nl2
			}
		} else {
			_, m, nl2 := plQuoted(rest[n:], open, cl, true)
			n += m
			nl += nl2
		}
	}
	for n < len(rest) && isWordByte(rest[n]) {
		n++ // modifiers
	}
	switch w {
	case "q", "qq":
		return t, n, nl
	case "qw":
		t.words = true
		return t, n, nl
	}
	return plTok{kind: plOp}, n, nl
}

// plQuoted reads a quoted body up to the close delimiter (nesting when the
// delimiters differ), returning a string token, the bytes consumed
// (including the close) and the newlines in it.
func plQuoted(s string, open, cl byte, interp bool) (plTok, int, int) {
	var b strings.Builder
	depth := 0
	nl := 0
	hasInterp := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if s[i+1] == '\n' {
				nl++
			}
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case c == '\n':
			nl++
		case c == cl && depth == 0:
			return plTok{kind: plString, text: b.String(), interp: hasInterp}, i + 1, nl
		case c == cl:
			depth--
		case c == open && open != cl:
			depth++
		case interp && (c == '$' || c == '@') && i+1 < len(s) && (isWordStart(s[i+1]) || s[i+1] == '{' || s[i+1] == ':'):
			hasInterp = true
		}
		b.WriteByte(c)
	}
	return plTok{kind: plString, text: b.String(), interp: hasInterp}, len(s), nl
}

type plHeredoc struct {
	term   string
	indent bool
	interp bool
}

// plHeredocStart reads a heredoc opener after "<<": ~?"ID", ~?'ID', ~?ID.
func plHeredocStart(s string) (plHeredoc, int, bool) {
	var h plHeredoc
	i := 0
	if i < len(s) && s[i] == '~' {
		h.indent = true
		i++
	}
	if i >= len(s) {
		return h, 0, false
	}
	switch q := s[i]; {
	case q == '"' || q == '\'' || q == '`':
		j := strings.IndexByte(s[i+1:], q)
		if j < 0 || strings.Contains(s[i+1:i+1+j], "\n") {
			return h, 0, false
		}
		h.term = s[i+1 : i+1+j]
		h.interp = q != '\''
		return h, i + j + 2, true
	case isWordStart(q):
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		h.term = s[i:j]
		h.interp = true
		return h, j, true
	}
	return h, 0, false
}

// skip skips the heredoc's body and terminator line.
func (h plHeredoc) skip(s string) (int, int) {
	i, nl := 0, 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '\n')
		end := len(s)
		if j >= 0 {
			end = i + j
		}
		l := strings.TrimRight(s[i:end], "\r")
		if h.indent {
			l = strings.TrimLeft(l, " \t")
		}
		i = end
		if j >= 0 {
			i++
			nl++
		}
		if l == h.term {
			return i, nl
		}
	}
	return i, nl
}

var rePerlModule = regexp.MustCompile(`^[A-Za-z_]\w*(::\w+)*$`)
var rePerlVString = regexp.MustCompile(`^v\d+$`)
var rePerlVersion = regexp.MustCompile(`^v?\d[\d._]*$`)

// Import kinds of Perl: "use" and "require" of a module (Name "Foo::Bar"),
// "file" for require or do of a file ("Config_heavy.pl", searched in @INC),
// "lib" for a directory use lib adds to @INC (Name the directory; a leading
// "$FindBin::Bin/" is kept as it is), "implicit" for a module perl loads by
// itself when the source uses a feature (Errno for %!).

// ParsePerl returns the imports of Perl source: use and no (with parent,
// base, if and autouse naming the modules they load), require of a module
// or a file, do of a file, use lib, the source of eval "..." strings, and
// the modules perl loads by itself for %! (Errno), %+ and %-
// (Tie::Hash::NamedCapture), \N{...} (_charnames) and :encoding() layers
// (PerlIO::encoding).
func ParsePerl(src []byte) []Import {
	return plParse(src, 0)
}

func plParse(src []byte, depth int) []Import {
	toks := plLex(src)
	var out []Import
	implicit := map[string]int{}
	for i, t := range toks {
		switch t.kind {
		case plVar:
			switch {
			case t.text == "%!" || t.text == "$!" && i+1 < len(toks) && toks[i+1].text == "{":
				implicit["Errno"] = t.line
			case t.text == "%+" || t.text == "%-" || (t.text == "$+" || t.text == "$-") && i+1 < len(toks) && toks[i+1].text == "{":
				implicit["Tie::Hash::NamedCapture"] = t.line
			}
			continue
		case plString:
			if strings.Contains(t.text, ":encoding(") {
				implicit["PerlIO::encoding"] = t.line
			}
			if t.interp && strings.Contains(t.text, `\N{`) {
				implicit["_charnames"] = t.line
			}
			continue
		case plIdent:
		default:
			continue
		}
		if i > 0 && toks[i-1].kind == plOp && (toks[i-1].text == "->" || toks[i-1].text == "::") {
			continue // a method
		}
		if i+1 < len(toks) && toks[i+1].kind == plOp && toks[i+1].text == "=>" {
			continue // a hash key
		}
		next := func(k int) (plTok, bool) {
			if k < len(toks) {
				return toks[k], true
			}
			return plTok{}, false
		}
		switch t.text {
		case "use", "no":
			a, ok := next(i + 1)
			if !ok {
				continue
			}
			if a.kind != plIdent || !rePerlModule.MatchString(a.text) {
				if a.kind == plIdent && rePerlVersion.MatchString(a.text) && t.text == "use" {
					// use v5.36: the feature bundle, strict and warnings
					for _, m := range []string{"feature", "strict", "warnings"} {
						out = append(out, Import{Name: m, Line: t.line, Kind: "use"})
					}
				}
				continue
			}
			out = append(out, Import{Name: a.text, Line: t.line, Kind: t.text})
			args := plStatement(toks, i+2)
			switch a.text {
			case "parent", "base":
				norequire := false
				for _, w := range plWords(args) {
					if w == "-norequire" {
						norequire = true
					}
				}
				if !norequire {
					for _, w := range plWords(args) {
						if rePerlModule.MatchString(w) {
							out = append(out, Import{Name: w, Line: t.line, Kind: "use " + a.text})
						}
					}
				}
			case "if":
				// use if COND, MODULE => ARGS: the first module-shaped
				// word after the first comma
				for k, x := range args {
					if x.kind == plOp && x.text == "," {
						for _, w := range plWords(args[k+1:]) {
							if rePerlModule.MatchString(w) {
								out = append(out, Import{Name: w, Line: t.line, Kind: "use if"})
								break
							}
						}
						break
					}
				}
			case "autouse":
				if ws := plWords(args); len(ws) > 0 && rePerlModule.MatchString(ws[0]) {
					out = append(out, Import{Name: ws[0], Line: t.line, Kind: "use autouse"})
				}
			case "lib":
				for _, x := range args {
					if x.kind != plString {
						continue
					}
					if x.words {
						for _, w := range strings.Fields(x.text) {
							out = append(out, Import{Name: w, Line: t.line, Kind: "lib"})
						}
						continue
					}
					name, dyn := plLibDir(x)
					out = append(out, Import{Name: name, Line: t.line, Kind: "lib", Dynamic: dyn})
				}
			}
		case "require":
			a, ok := next(i + 1)
			if a.kind == plOp && a.text == "(" {
				a, ok = next(i + 2)
			}
			switch {
			case !ok || a.kind == plOp && (a.text == ";" || a.text == ")" || a.text == "}"):
				// require with $_
			case a.kind == plIdent && rePerlVersion.MatchString(a.text):
			case a.kind == plIdent && rePerlModule.MatchString(a.text):
				out = append(out, Import{Name: a.text, Line: t.line, Kind: "require"})
			case a.kind == plString && !a.interp && !a.words && plEnds(toks, i+2, a):
				out = append(out, Import{Name: a.text, Line: t.line, Kind: "file"})
			default:
				out = append(out, Import{Line: t.line, Kind: "require", Dynamic: true})
			}
		case "do":
			a, ok := next(i + 1)
			if a.kind == plOp && a.text == "(" {
				a, ok = next(i + 2)
			}
			if !ok || a.kind == plOp && a.text == "{" || a.kind == plIdent {
				continue // a block, or do SUBNAME
			}
			if a.kind == plString && !a.interp && !a.words && a.text != "" {
				out = append(out, Import{Name: a.text, Line: t.line, Kind: "file"})
				continue
			}
			if a.kind == plVar && strings.HasPrefix(a.text, "$") {
				out = append(out, Import{Line: t.line, Kind: "do", Dynamic: true})
			}
		case "eval":
			a, ok := next(i + 1)
			// an interpolated string is parsed too: eval "require $class"
			// is a require of a computed name
			if ok && a.kind == plString && !a.words && depth < 4 {
				for _, im := range plParse([]byte(a.text), depth+1) {
					im.Line = t.line
					out = append(out, im)
				}
			}
		}
	}
	for _, m := range []string{"Errno", "Tie::Hash::NamedCapture", "PerlIO::encoding", "_charnames"} {
		if l, ok := implicit[m]; ok {
			out = append(out, Import{Name: m, Line: l, Kind: "implicit"})
		}
	}
	return out
}

// plStatement returns the tokens from k to the end of the statement.
func plStatement(toks []plTok, k int) []plTok {
	depth := 0
	for j := k; j < len(toks); j++ {
		t := toks[j]
		if t.kind != plOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth < 0 {
				return toks[k:j]
			}
		case ";":
			if depth == 0 {
				return toks[k:j]
			}
		}
	}
	return toks[k:]
}

// plWords returns the literal words of a statement's arguments: quoted
// strings, qw lists' words and barewords.
func plWords(toks []plTok) []string {
	var out []string
	for _, t := range toks {
		switch {
		case t.kind == plString && t.words:
			out = append(out, strings.Fields(t.text)...)
		case t.kind == plString && !t.interp:
			out = append(out, t.text)
		case t.kind == plIdent:
			out = append(out, t.text)
		case t.kind == plOp && t.text == "-":
			// -norequire is lexed as '-' and a bareword
		}
		if t.kind == plIdent && len(out) > 0 && t.text == "norequire" {
			out[len(out)-1] = "-norequire"
		}
	}
	return out
}

// plEnds reports whether the string a at toks[k-1] is the whole argument of
// require (not "x" . $y).
func plEnds(toks []plTok, k int, a plTok) bool {
	if a.text == "" {
		return false
	}
	if k >= len(toks) {
		return true
	}
	n := toks[k]
	if n.kind == plOp {
		return n.text != "." && n.text != "x"
	}
	return n.kind == plIdent && (n.text == "if" || n.text == "unless" || n.text == "or" || n.text == "and")
}

// plLibDir returns the directory of a use lib string: literal, or one that
// starts with $FindBin::Bin or $FindBin::RealBin (kept as "$FindBin::Bin/...",
// the script's directory), else dynamic.
func plLibDir(t plTok) (string, bool) {
	if !t.interp {
		return t.text, false
	}
	for _, pre := range []string{"$FindBin::Bin", "${FindBin::Bin}", "$FindBin::RealBin", "${FindBin::RealBin}"} {
		if rest, ok := strings.CutPrefix(t.text, pre); ok && !strings.ContainsAny(rest, "$@") {
			return "$FindBin::Bin" + rest, false
		}
	}
	return "", true
}
