package keep

import (
	"strings"
)

// shellKeywords are words at a command position that are not programs.
var shellKeywords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "case": true, "esac": true,
	"for": true, "while": true, "until": true, "do": true, "done": true, "in": true, "function": true,
	"select": true, "time": true, "!": true, "{": true, "}": true, "[[": true, "]]": true,
	// builtins common to sh and bash that have no need of a program
	"cd": true, "echo": true, "printf": true, "export": true, "set": true, "unset": true, "shift": true,
	"exit": true, "return": true, "local": true, "read": true, "trap": true, "wait": true, "eval": true,
	"true": true, "false": true, ":": true, "test": true, "[": true, "readonly": true, "declare": true,
	"typeset": true, "let": true, "source": true, ".": true, "break": true, "continue": true,
	"getopts": true, "umask": true, "ulimit": true, "alias": true, "type": true, "hash": true, "pwd": true,
	"mapfile": true, "readarray": true, "shopt": true, "builtin": true,
}

// prefixWords run the word after them as a program (after their own options).
var prefixWords = map[string]bool{
	"exec": true, "command": true, "nohup": true, "env": true, "xargs": true, "nice": true,
	"sudo": true, "gosu": true, "su-exec": true, "tini": true, "dumb-init": true, "timeout": true,
	"stdbuf": true, "chroot": false,
}

// ShellScan is what a static reading of a shell command line or script finds.
type ShellScan struct {
	Commands []string // program names at command positions, in order, no duplicates
	Sourced  []string // files read with "." or "source"
	Dynamic  bool     // a command position held an expansion ($x, `...`): not every program is known
}

// scanShell finds the programs a shell script or `sh -c` string would run,
// where that is unambiguous: the first word of each simple command (after
// variable assignments and redirections), words after exec/env/xargs-like
// prefixes, and the bodies of $(...) and `...`. Words built from expansions
// set Dynamic instead.
func scanShell(src string) ShellScan {
	var sc ShellScan
	seen := map[string]bool{}
	addCmd := func(w string) {
		if w == "" || shellKeywords[w] || seen[w] {
			return
		}
		seen[w] = true
		sc.Commands = append(sc.Commands, w)
	}
	words, seps, subs := lexShell(src)
	for _, sub := range subs {
		inner := scanShell(sub)
		for _, c := range inner.Commands {
			addCmd(c)
		}
		sc.Sourced = append(sc.Sourced, inner.Sourced...)
		sc.Dynamic = sc.Dynamic || inner.Dynamic
	}
	atCmd := true
	afterPrefix := false
	sourcing := false
	for i, w := range words {
		sep := seps[i]
		if sep {
			atCmd = true
			afterPrefix = false
			sourcing = false
			continue
		}
		if sourcing {
			if !strings.ContainsAny(w, "$`") {
				sc.Sourced = append(sc.Sourced, w)
			}
			sourcing = false
			continue
		}
		if !atCmd {
			continue
		}
		switch {
		case isAssignment(w):
			continue
		case isRedirection(w):
			continue
		case afterPrefix && strings.HasPrefix(w, "-"):
			continue
		case afterPrefix && isNumberish(w):
			continue // timeout 5 cmd, nice -n 5 cmd
		}
		if strings.ContainsAny(w, "$`*?") {
			sc.Dynamic = true
			atCmd = false
			continue
		}
		if w == "." || w == "source" {
			sourcing = true
			atCmd = false
			continue
		}
		if shellKeywords[w] && w != "test" && w != "[" {
			// "if cmd", "then cmd", "do cmd", "! cmd": the next word is a command
			if w == "if" || w == "then" || w == "else" || w == "elif" || w == "do" || w == "while" ||
				w == "until" || w == "!" || w == "{" || w == "time" {
				continue
			}
			atCmd = false
			continue
		}
		if w != "exec" && w != "command" {
			addCmd(w) // exec and command are builtins; the next word is the program
		}
		if prefixWords[w] {
			afterPrefix = true
			continue
		}
		atCmd = false
		afterPrefix = false
	}
	return sc
}

func isAssignment(w string) bool {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return false
	}
	for i, c := range w[:eq] {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isRedirection(w string) bool {
	w = strings.TrimLeft(w, "0123456789&")
	return strings.HasPrefix(w, ">") || strings.HasPrefix(w, "<")
}

func isNumberish(w string) bool {
	if w == "" {
		return false
	}
	for _, c := range w {
		if !(c >= '0' && c <= '9' || c == '.' || c == 's' || c == 'm' || c == 'h') {
			return false
		}
	}
	return w[0] >= '0' && w[0] <= '9'
}

// lexShell splits shell source into words, with seps[i] true where the token
// is a command separator (newline, ;, &, |, &&, ||, (, ), $( and backquote
// boundaries). Quotes are honoured; comments are dropped. Quoted words keep
// their content without the quotes. A word that came from an expansion keeps
// its "$" so callers can see it is dynamic.
func lexShell(src string) (words []string, seps []bool, subs []string) {
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			seps = append(seps, false)
			cur.Reset()
			inWord = false
		}
	}
	sep := func() {
		flush()
		words = append(words, ";")
		seps = append(seps, true)
	}
	r := []rune(src)
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\\' && i+1 < len(r):
			if r[i+1] == '\n' {
				i++
				continue
			}
			cur.WriteRune(r[i+1])
			inWord = true
			i++
		case c == '#' && !inWord:
			for i < len(r) && r[i] != '\n' {
				i++
			}
			sep()
		case c == '\'':
			inWord = true
			for i++; i < len(r) && r[i] != '\''; i++ {
				cur.WriteRune(r[i])
			}
		case c == '"':
			inWord = true
			for i++; i < len(r) && r[i] != '"'; i++ {
				if r[i] == '\\' && i+1 < len(r) {
					i++
				} else if r[i] == '$' && i+1 < len(r) && r[i+1] == '(' {
					end := matchParen(r, i+1)
					subs = append(subs, string(r[i+2:end]))
					cur.WriteString("$")
					i = end
					continue
				}
				cur.WriteRune(r[i])
			}
		case c == '<' && i+1 < len(r) && r[i+1] == '<' && !(i+2 < len(r) && r[i+2] == '<'):
			flush()
			i = skipHeredoc(r, i+2)
			sep()
		case c == '$' && i+1 < len(r) && r[i+1] == '(' && !(i+2 < len(r) && r[i+2] == '('):
			// command substitution: its body holds commands
			cur.WriteString("$")
			inWord = true
			flush()
			sep()
			i++
		case c == '`':
			cur.WriteString("$")
			inWord = true
			flush()
			sep()
		case c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			sep()
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	flush()
	return words, seps, subs
}

// matchParen returns the index of the ")" closing the "(" at open, or the end.
func matchParen(r []rune, open int) int {
	depth := 0
	for i := open; i < len(r); i++ {
		switch r[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(r) - 1
}

// skipHeredoc skips a here-document whose "<<" ended just before i: the
// delimiter word, the rest of that line, and the body up to the delimiter
// line. It returns the index of the last rune consumed.
func skipHeredoc(r []rune, i int) int {
	stripTabs := i < len(r) && r[i] == '-'
	if stripTabs {
		i++
	}
	for i < len(r) && (r[i] == ' ' || r[i] == '\t') {
		i++
	}
	var delim strings.Builder
	for ; i < len(r) && r[i] != ' ' && r[i] != '\t' && r[i] != '\n' && r[i] != ';' && r[i] != '|' && r[i] != '&'; i++ {
		if r[i] != '\'' && r[i] != '"' && r[i] != '\\' {
			delim.WriteRune(r[i])
		}
	}
	for i < len(r) && r[i] != '\n' {
		i++
	}
	lines := strings.Split(string(r[i:]), "\n")
	pos := i
	for n, line := range lines {
		if n > 0 {
			check := line
			if stripTabs {
				check = strings.TrimLeft(check, "\t")
			}
			if check == delim.String() {
				return pos + len([]rune(line))
			}
		}
		pos += len([]rune(line)) + 1
	}
	return len(r) - 1
}
