package importgraph

import "strings"

// tclWord is one word of a Tcl command.
type tclWord struct {
	text    string // the word's text (a braced word without its braces)
	literal bool   // no $ or [ substitution
	braced  bool
	line    int
}

// ParseTcl returns the imports of Tcl source, with Kind "package" for
// package require (Name the package; Dynamic when the name is
// substituted) and "encoding" for the encodings a script names: encoding
// convertto, convertfrom and system with a name, and the value of an
// -encoding option (fconfigure, chan configure, source -encoding). Every
// braced word and command substitution is parsed as a script too, so the
// bodies of procs, loops and conditions are read (a braced list that is
// data yields only commands of these shapes).
func ParseTcl(src []byte) []Import {
	var out []Import
	tclScript(string(src), 1, 0, &out)
	return out
}

func tclScript(s string, line, depth int, out *[]Import) {
	if depth > 64 {
		return
	}
	i := 0
	for i < len(s) {
		// one command
		var words []tclWord
		start := true
		for i < len(s) {
			c := s[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				i++
				continue
			}
			if c == '\\' && i+1 < len(s) && s[i+1] == '\n' {
				i += 2
				line++
				continue
			}
			if c == '\n' || c == ';' {
				if c == '\n' {
					line++
				}
				i++
				if len(words) > 0 {
					break
				}
				start = true
				continue
			}
			if c == '#' && start && len(words) == 0 {
				for i < len(s) && s[i] != '\n' {
					if s[i] == '\\' && i+1 < len(s) {
						if s[i+1] == '\n' {
							line++
						}
						i++
					}
					i++
				}
				continue
			}
			start = false
			w, n, nl, subs := tclWordAt(s[i:], line)
			words = append(words, w)
			for _, sub := range subs {
				tclScript(sub.text, sub.line, depth+1, out)
			}
			if w.braced {
				tclScript(w.text, w.line, depth+1, out)
			}
			i += n
			line += nl
		}
		tclCommand(words, out)
	}
}

// tclWordAt reads one word at s: its text, the bytes and newlines consumed,
// and the command substitutions in it.
func tclWordAt(s string, line int) (tclWord, int, int, []tclWord) {
	w := tclWord{line: line, literal: true}
	nl := 0
	var subs []tclWord
	if strings.HasPrefix(s, "{*}") && len(s) > 3 && s[3] != ' ' && s[3] != '\n' {
		w2, n, nl2, subs2 := tclWordAt(s[3:], line)
		w2.literal = false
		return w2, n + 3, nl2, subs2
	}
	if s[0] == '{' {
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) && s[i+1] == '\n' {
					nl++
				}
				i++
			case '\n':
				nl++
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					w.text = s[1:i]
					w.braced = true
					return w, i + 1, nl, nil
				}
			}
		}
		w.text = s[1:]
		w.braced = true
		return w, len(s), nl, nil
	}
	quoted := s[0] == '"'
	i := 0
	if quoted {
		i = 1
	}
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if s[i+1] == '\n' {
				nl++
				if !quoted {
					w.text = b.String()
					return w, i, nl - 1, subs
				}
			}
			b.WriteByte(s[i+1])
			i += 2
			continue
		case c == '[':
			// a command substitution, up to its matching bracket
			depth := 0
			j := i
			sl := line + nl
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '\n' {
					nl++
				}
				if s[j] == '[' {
					depth++
				} else if s[j] == ']' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			end := j
			if end > len(s) {
				end = len(s)
			}
			subs = append(subs, tclWord{text: s[i+1 : end], line: sl})
			w.literal = false
			i = end + 1
			continue
		case c == '$':
			w.literal = false
		case quoted && c == '"':
			w.text = b.String()
			return w, i + 1, nl, subs
		case !quoted && (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '\r'):
			w.text = b.String()
			return w, i, nl, subs
		case c == '\n':
			nl++
		}
		b.WriteByte(c)
		i++
	}
	w.text = b.String()
	return w, len(s), nl, subs
}

// tclCommand records the imports of one command.
func tclCommand(words []tclWord, out *[]Import) {
	if len(words) == 0 || !words[0].literal {
		return
	}
	add := func(kind string, w tclWord) {
		im := Import{Kind: kind, Line: w.line}
		if w.literal && w.text != "" {
			im.Name = w.text
		} else {
			im.Dynamic = true
		}
		*out = append(*out, im)
	}
	cmd := strings.TrimPrefix(words[0].text, "::")
	args := words[1:]
	switch {
	case cmd == "package" && len(args) >= 2 && args[0].literal && args[0].text == "require":
		k := 1
		if args[k].literal && args[k].text == "-exact" && len(args) > 2 {
			k++
		}
		add("package", args[k])
	case cmd == "encoding" && len(args) >= 2 && args[0].literal:
		switch args[0].text {
		case "convertto", "convertfrom":
			if len(args) == 3 {
				add("encoding", args[1])
			}
		case "system":
			add("encoding", args[1])
		}
	}
	for k := 1; k+1 < len(words); k++ {
		if words[k].literal && words[k].text == "-encoding" {
			add("encoding", words[k+1])
		}
	}
}
