package importgraph

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseErlangTerms reads the terms of an Erlang text file as
// file:consult/1 does (.app files, sys.config, .erlang): each term ends
// with a dot. Numbers other than integers, variables and binaries with
// segments read as Opaque. It returns the terms read before the first
// syntax error, and the error.
func ParseErlangTerms(src []byte) ([]any, error) {
	p := &termParser{s: string(src)}
	var out []any
	for {
		p.space()
		if p.i >= len(p.s) {
			return out, nil
		}
		t, err := p.term(0)
		if err != nil {
			return out, err
		}
		p.space()
		if !p.eat(".") {
			return out, p.errorf("'.' expected")
		}
		out = append(out, t)
	}
}

type termParser struct {
	s string
	i int
}

func (p *termParser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(p.s[:p.i], "\n")
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

// space skips white space and % comments.
func (p *termParser) space() {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '%':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.i++
		default:
			return
		}
	}
}

func (p *termParser) eat(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || c == '@' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// seq reads terms separated by commas up to close; a '|' tail is allowed
// when tail is set.
func (p *termParser) seq(close string, depth int, tail bool) ([]any, any, error) {
	var out []any
	p.space()
	if p.eat(close) {
		return out, nil, nil
	}
	for {
		t, err := p.term(depth + 1)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, t)
		p.space()
		if p.eat(",") {
			continue
		}
		var rest any
		if tail && p.eat("|") {
			if rest, err = p.term(depth + 1); err != nil {
				return nil, nil, err
			}
			p.space()
		}
		if !p.eat(close) {
			return nil, nil, p.errorf("%q expected", close)
		}
		return out, rest, nil
	}
}

func (p *termParser) term(depth int) (any, error) {
	if depth > maxTermDepth {
		return nil, p.errorf("nested deeper than %d", maxTermDepth)
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errorf("term expected")
	}
	c := p.s[p.i]
	switch {
	case c == '{':
		p.i++
		el, _, err := p.seq("}", depth, false)
		return Tuple(el), err
	case c == '[':
		p.i++
		el, tail, err := p.seq("]", depth, true)
		return List{Elems: el, Tail: tail}, err
	case strings.HasPrefix(p.s[p.i:], "#{"):
		p.i += 2
		var m Map
		p.space()
		if p.eat("}") {
			return m, nil
		}
		for {
			k, err := p.term(depth + 1)
			if err != nil {
				return nil, err
			}
			p.space()
			if !p.eat("=>") {
				return nil, p.errorf("'=>' expected")
			}
			v, err := p.term(depth + 1)
			if err != nil {
				return nil, err
			}
			m = append(m, [2]any{k, v})
			p.space()
			if p.eat(",") {
				continue
			}
			if !p.eat("}") {
				return nil, p.errorf("'}' expected")
			}
			return m, nil
		}
	case strings.HasPrefix(p.s[p.i:], "<<"):
		p.i += 2
		p.space()
		if p.eat(">>") {
			return Binary(nil), nil
		}
		if p.i < len(p.s) && p.s[p.i] == '"' {
			s, err := p.quoted('"')
			if err != nil {
				return nil, err
			}
			p.space()
			if p.eat(">>") {
				return Binary(s), nil
			}
		}
		end := strings.Index(p.s[p.i:], ">>")
		if end < 0 {
			return nil, p.errorf("'>>' expected")
		}
		p.i += end + 2
		return Opaque{}, nil
	case c == '"':
		// adjacent strings concatenate
		var b strings.Builder
		for p.i < len(p.s) && p.s[p.i] == '"' {
			s, err := p.quoted('"')
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
			p.space()
		}
		return Str(b.String()), nil
	case c == '\'':
		s, err := p.quoted('\'')
		return Atom(s), err
	case c == '$':
		p.i++
		if p.i >= len(p.s) {
			return nil, p.errorf("character expected")
		}
		if p.s[p.i] == '\\' {
			s, err := p.escape()
			if err != nil {
				return nil, err
			}
			r, _ := utf8.DecodeRuneInString(s)
			return int64(r), nil
		}
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		p.i += n
		return int64(r), nil
	case c == '-' || c == '+' || c >= '0' && c <= '9':
		start := p.i
		p.i++
		for p.i < len(p.s) && (isNameByte(p.s[p.i]) || p.s[p.i] == '#' ||
			p.s[p.i] == '.' && p.i+1 < len(p.s) && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9' ||
			(p.s[p.i] == '-' || p.s[p.i] == '+') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E')) {
			p.i++
		}
		lit := strings.ReplaceAll(p.s[start:p.i], "_", "")
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return v, nil
		}
		if lit == "-" || lit == "+" {
			return nil, p.errorf("number expected")
		}
		return Opaque{}, nil
	case c >= 'a' && c <= 'z':
		start := p.i
		for p.i < len(p.s) && isNameByte(p.s[p.i]) {
			p.i++
		}
		return Atom(p.s[start:p.i]), nil
	case c >= 'A' && c <= 'Z' || c == '_':
		for p.i < len(p.s) && isNameByte(p.s[p.i]) {
			p.i++
		}
		return Opaque{}, nil
	}
	return nil, p.errorf("unexpected %q", c)
}

// quoted reads a quoted atom or string, with its escapes.
func (p *termParser) quoted(q byte) (string, error) {
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case q:
			p.i++
			return b.String(), nil
		case '\\':
			s, err := p.escape()
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", p.errorf("unterminated %c", q)
}

// escape reads an escape sequence at a backslash.
func (p *termParser) escape() (string, error) {
	p.i++
	if p.i >= len(p.s) {
		return "", p.errorf("escape expected")
	}
	c := p.s[p.i]
	p.i++
	switch c {
	case 'n':
		return "\n", nil
	case 't':
		return "\t", nil
	case 'r':
		return "\r", nil
	case 's':
		return " ", nil
	case 'e':
		return "\x1b", nil
	case 'b':
		return "\b", nil
	case 'f':
		return "\f", nil
	case 'v':
		return "\v", nil
	case 'd':
		return "\x7f", nil
	case 'x':
		var hex string
		if p.i < len(p.s) && p.s[p.i] == '{' {
			end := strings.IndexByte(p.s[p.i:], '}')
			if end < 0 {
				return "", p.errorf("'}' expected")
			}
			hex = p.s[p.i+1 : p.i+end]
			p.i += end + 1
		} else if p.i+2 <= len(p.s) {
			hex = p.s[p.i : p.i+2]
			p.i += 2
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || v > utf8.MaxRune {
			return "", p.errorf("bad \\x escape")
		}
		return string(rune(v)), nil
	case '^':
		if p.i >= len(p.s) {
			return "", p.errorf("control character expected")
		}
		p.i++
		return string(rune(p.s[p.i-1] & 31)), nil
	}
	if c >= '0' && c <= '7' {
		v := int(c - '0')
		for k := 0; k < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; k++ {
			v = v*8 + int(p.s[p.i]-'0')
			p.i++
		}
		return string(rune(v)), nil
	}
	return string(c), nil
}
