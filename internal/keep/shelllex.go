package keep

// The lexer of the shell scanner: words with their quoting and expansions,
// operators, comments, here-documents, and the substitutions inside words,
// whose commands it hands back to the parser.

import (
	"regexp"
	"strings"
)

func (p *parser) skipBlanks() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ' ' || c == '\t' || c == '\r' {
			p.pos++
		} else if c == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n' {
			p.pos += 2
		} else {
			return
		}
	}
}

var shellOps = []string{"&&", "||", ";;&", ";;", ";&", "|&", "&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">&", ">>", ">|", ";", "&", "|", "(", ")", "<", ">"}

func (p *parser) next() token {
	p.skipBlanks()
	if p.pos >= len(p.src) {
		return token{kind: tEOF}
	}
	c := p.src[p.pos]
	switch c {
	case '#':
		for p.pos < len(p.src) && p.src[p.pos] != '\n' {
			p.pos++
		}
		return p.next()
	case '\n':
		p.pos++
		p.heredocs()
		return token{kind: tNewline}
	case '<', '>':
		if p.pos+1 < len(p.src) && p.src[p.pos+1] == '(' {
			return token{kind: tWord, w: p.readWord()} // process substitution
		}
	}
	if strings.IndexByte(";&|()<>", c) >= 0 {
		rest := p.src[p.pos:]
		for _, op := range shellOps {
			if strings.HasPrefix(rest, op) {
				p.pos += len(op)
				return token{kind: tOp, op: op}
			}
		}
	}
	start := p.pos
	w := p.readWord()
	if p.pos < len(p.src) && (p.src[p.pos] == '<' || p.src[p.pos] == '>') && allDigits(p.src[start:p.pos]) {
		return token{kind: tIONumber}
	}
	if p.pos == start { // cannot happen, but never loop
		p.pos++
	}
	return token{kind: tWord, w: w}
}

func allDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// heredocs skips the bodies of the here-documents opened on the line just
// ended; the substitutions in an unquoted body still run.
func (p *parser) heredocs() {
	docs := p.pending
	p.pending = nil
	for _, d := range docs {
		for p.pos < len(p.src) {
			end := strings.IndexByte(p.src[p.pos:], '\n')
			var line string
			next := len(p.src)
			if end < 0 {
				line = p.src[p.pos:]
			} else {
				line = p.src[p.pos : p.pos+end]
				next = p.pos + end + 1
			}
			check := strings.TrimSuffix(line, "\r")
			if d.strip {
				check = strings.TrimLeft(check, "\t")
			}
			if check == d.delim {
				p.pos = next
				break
			}
			if !d.quoted && strings.ContainsAny(line, "$`") && p.depth < maxShellDepth {
				var w word
				p.child(line).readDQ(&w, 0)
			}
			p.pos = next
		}
	}
}

func isWordEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ';', '&', '|', '(', ')', '<', '>':
		return true
	}
	return false
}

func (p *parser) readWord() (w word) {
	start := p.pos
	defer func() {
		w.flush()
		p.pos = min(p.pos, len(p.src))
		w.raw = p.src[start:p.pos]
		w.pos = start
	}()
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case (c == '<' || c == '>') && p.pos+1 < len(p.src) && p.src[p.pos+1] == '(':
			p.pos += 2
			p.subList()
			w.add(segOther, "")
			continue
		case c == '(' && !p.inArray && p.pos > start && isAssignmentPrefix(p.src[start:p.pos]):
			p.pos++
			p.inArray = true
			p.arrayElems()
			p.inArray = false
			w.add(segOther, "")
			continue
		case strings.IndexByte("?*+@!", c) >= 0 && p.pos+1 < len(p.src) && p.src[p.pos+1] == '(':
			p.pos++
			p.skipParens()
			w.glob = true
			continue
		case isWordEnd(c):
			return w
		case c == '\\':
			if p.pos+1 >= len(p.src) {
				p.pos++
				return w
			}
			if p.src[p.pos+1] != '\n' {
				w.lit(p.src[p.pos+1 : p.pos+2])
				w.quoted = true
			}
			p.pos += 2
		case c == '\'':
			end := strings.IndexByte(p.src[p.pos+1:], '\'')
			if end < 0 {
				w.lit(p.src[p.pos+1:])
				p.pos = len(p.src)
			} else {
				w.lit(p.src[p.pos+1 : p.pos+1+end])
				p.pos += end + 2
			}
			w.quoted = true
		case c == '"':
			p.pos++
			p.readDQ(&w, '"')
			w.quoted = true
		case c == '$':
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
				p.pos += 2
				w.lit(p.ansiC())
				w.quoted = true
				continue
			}
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == '"' {
				p.pos += 2
				p.readDQ(&w, '"')
				w.quoted = true
				continue
			}
			p.dollar(&w)
		case c == '`':
			p.backtick(&w)
		case c == '*' || c == '?' || c == '[' && p.closesBracket():
			w.glob = true
			w.lit(string(c))
			p.pos++
		case c == '~':
			w.glob = w.glob || p.pos == start
			w.lit("~")
			p.pos++
		default:
			j := p.pos + 1
			for j < len(p.src) && !isWordEnd(p.src[j]) && strings.IndexByte("\\'\"$`*?[+@!~", p.src[j]) < 0 {
				j++
			}
			w.lit(p.src[p.pos:j])
			p.pos = j
		}
	}
	return w
}

// isAssignmentPrefix tells whether s is "NAME=" or "NAME+=".
// closesBracket tells whether the '[' at p.pos has a ']' in the same word
// (else it is a plain character, as in the command "[").
func (p *parser) closesBracket() bool {
	for j := p.pos + 1; j < len(p.src) && j < p.pos+256; j++ {
		if p.src[j] == ']' {
			return true
		}
		if isWordEnd(p.src[j]) {
			return false
		}
	}
	return false
}

func isAssignmentPrefix(s string) bool {
	if !strings.HasSuffix(s, "=") {
		return false
	}
	name := strings.TrimSuffix(strings.TrimSuffix(s, "="), "+")
	return !strings.Contains(name, "=") && isAssignment(name+"=")
}

// arrayElems reads the words of NAME=( … ) up to its ')'.
func (p *parser) arrayElems() {
	for p.pos < len(p.src) {
		p.skipBlanks()
		if p.pos >= len(p.src) {
			return
		}
		switch c := p.src[p.pos]; {
		case c == ')':
			p.pos++
			return
		case c == '\n':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case isWordEnd(c):
			p.pos++
		default:
			p.readWord()
		}
	}
}

// readDQ reads the inside of double quotes up to term (0: to the end).
func (p *parser) readDQ(w *word, term byte) {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case term != 0 && c == term:
			p.pos++
			return
		case c == '\\' && p.pos+1 < len(p.src):
			n := p.src[p.pos+1]
			switch n {
			case '\n':
			case '$', '`', '"', '\\':
				w.lit(string(n))
			default:
				w.lit(p.src[p.pos : p.pos+2])
			}
			p.pos += 2
		case c == '$':
			p.dollar(w)
		case c == '`':
			p.backtick(w)
		default:
			j := p.pos + 1
			for j < len(p.src) && p.src[j] != term && p.src[j] != '\\' && p.src[j] != '$' && p.src[j] != '`' {
				j++
			}
			w.lit(p.src[p.pos:j])
			p.pos = j
		}
	}
}

// ansiC decodes the inside of $'…' (the opening quote read).
func (p *parser) ansiC() string {
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\'' {
			p.pos++
			break
		}
		if c != '\\' || p.pos+1 >= len(p.src) {
			b.WriteByte(c)
			p.pos++
			continue
		}
		n := p.src[p.pos+1]
		p.pos += 2
		switch n {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'e', 'E':
			b.WriteByte(27)
		case 'f':
			b.WriteByte(12)
		case 'v':
			b.WriteByte(11)
		case 'x':
			v, k := 0, 0
			for k < 2 && p.pos < len(p.src) && isHex(p.src[p.pos]) {
				v = v*16 + hexVal(p.src[p.pos])
				p.pos++
				k++
			}
			b.WriteByte(byte(v))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, k := int(n-'0'), 1
			for k < 3 && p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '7' {
				v = v*8 + int(p.src[p.pos]-'0')
				p.pos++
				k++
			}
			b.WriteByte(byte(v))
		default:
			b.WriteByte(n) // \\ \' \" and the rest
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// scriptDirSubst matches the bodies of $(…) that name the script's own
// directory: dirname "$0", dirname "$(readlink -f "$0")", cd "$(dirname
// "$0")" && pwd, and the same with ${BASH_SOURCE[0]}.
var scriptDirSubst = func() *regexp.Regexp {
	self := `"?\$(0|\{0\}|BASH_SOURCE|\{BASH_SOURCE(\[0\])?\})"?`
	resolved := `(` + self + `|"?\$\(\s*(readlink|realpath)(\s+-[a-zA-Z]+)*\s+` + self + `\s*\)"?)`
	dir := `dirname\s+(--\s+)?` + resolved
	return regexp.MustCompile(`^\s*(` + dir + `|cd\s+(-P\s+)?(--\s+)?"?\$\(\s*` + dir + `\s*\)"?\s*(&&|;)\s*pwd(\s+-P)?)\s*$`)
}()

// scriptDirParam matches ${…} bodies that name the script's directory.
var scriptDirParam = regexp.MustCompile(`^(0|BASH_SOURCE|BASH_SOURCE\[0\])%/\*$`)

// paramDefault matches ${NAME:-default} and ${NAME-default} with a plain default.
var paramDefault = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*):?-([^$` + "`" + `'"\\]*)$`)

var paramName = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])$`)

// dollar reads an expansion starting at '$'.
func (p *parser) dollar(w *word) {
	s := p.src
	i := p.pos + 1
	if i >= len(s) {
		w.lit("$")
		p.pos = i
		return
	}
	switch c := s[i]; {
	case c == '(' && i+1 < len(s) && s[i+1] == '(':
		p.pos = i + 2
		p.skipArith()
		w.add(segOther, "")
	case c == '(':
		p.pos = i + 1
		start := p.pos
		p.subList()
		body := s[start:max(start, p.pos-1)]
		if len(body) < 200 && scriptDirSubst.MatchString(body) {
			w.add(segScriptDir, "")
		} else {
			w.add(segOther, "")
		}
	case c == '[':
		end := strings.IndexByte(s[i:], ']')
		if end < 0 {
			p.pos = len(s)
		} else {
			p.pos = i + end + 1
		}
		w.add(segOther, "")
	case c == '{':
		end := p.braceEnd(i + 1)
		body := s[i+1 : end]
		p.pos = min(end+1, len(s))
		switch {
		case len(body) < 200 && paramName.MatchString(body):
			w.add(segParam, body)
		case len(body) < 200 && paramDefault.MatchString(body):
			m := paramDefault.FindStringSubmatch(body)
			w.flush()
			w.segs = append(w.segs, seg{kind: segParam, text: m[1], def: m[2], hasDef: true})
		case scriptDirParam.MatchString(body):
			w.add(segScriptDir, "")
		default:
			if strings.ContainsAny(body, "$`") && p.depth < maxShellDepth {
				var inner word
				p.child(body).readDQ(&inner, 0)
			}
			w.add(segOther, "")
		}
	case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		w.add(segParam, s[i:j])
		p.pos = j
	case c >= '0' && c <= '9' || strings.IndexByte("@*#?$!-", c) >= 0:
		w.add(segParam, s[i:i+1])
		p.pos = i + 1
	default:
		w.lit("$")
		p.pos = i
	}
}

// braceEnd finds the '}' closing a ${ whose body starts at i.
func (p *parser) braceEnd(i int) int {
	depth := 1
	s := p.src
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			if e := strings.IndexByte(s[i+1:], '\''); e >= 0 {
				i += e + 1
			} else {
				return len(s)
			}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

// subList parses the commands of a $( … ) or <( … ) whose '(' was read.
func (p *parser) subList() {
	if p.depth >= maxShellDepth {
		p.skipParens()
		return
	}
	sp := &parser{src: p.src, pos: p.pos, depth: p.depth + 1, out: p.out, parent: p.parent, parentPos: p.parentPos}
	sp.list(')')
	p.pos = sp.pos
}

// skipParens skips to the ')' matching a '(' just read, counting parens.
func (p *parser) skipParens() { p.skipNested(1) }

// skipNested skips past depth unmatched ')'.
func (p *parser) skipNested(depth int) {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\\':
			if p.pos+1 < len(p.src) {
				p.pos++
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.pos++
				return
			}
		}
		p.pos++
	}
}

// skipArith skips an arithmetic (( … )) whose "((" was read.
func (p *parser) skipArith() { p.skipNested(2) }

// backtick reads a `…` command substitution and scans its commands.
func (p *parser) backtick(w *word) {
	var b strings.Builder
	start := p.pos
	i := p.pos + 1
	for i < len(p.src) && p.src[i] != '`' {
		if p.src[i] == '\\' && i+1 < len(p.src) && strings.IndexByte("$`\\", p.src[i+1]) >= 0 {
			b.WriteByte(p.src[i+1])
			i += 2
			continue
		}
		b.WriteByte(p.src[i])
		i++
	}
	p.pos = min(i+1, len(p.src))
	w.add(segOther, "")
	p.sub(b.String(), start)
}
