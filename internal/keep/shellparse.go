package keep

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/shells"
)

// Limits of the shell scanner: input beyond maxShellSource is not read,
// nesting beyond maxShellDepth (substitutions, trap/eval/sh -c strings) is
// not followed, and at most maxShellNotes dynamic-word notes are kept. With
// them the scan is linear in the input.
const (
	maxShellSource = 4 << 20
	maxShellDepth  = 12
	maxShellNotes  = 24
)

// ShellScan is what a static reading of a shell command line or script finds.
type ShellScan struct {
	Commands []string      // programs at command positions, in order, no duplicates
	Optional []string      // programs the script probes for (command -v, type, hash, which, [ -x ]): kept if present
	Sourced  []ShellSource // files read with "." or "source", or run with "sh FILE"
	// Dynamic notes command words (and sourced paths) built at run time
	// ("$PROG", `...`): static reading does not know what they run.
	Dynamic []string
	// RunsArgs is set when the script runs its arguments as a command,
	// directly (exec "$@") or through a wrapper (exec gosu USER "$@").
	RunsArgs bool
	// ArgPrograms are the literal words a `set -- prog "$@"` puts before
	// the arguments: programs the script runs with its arguments.
	ArgPrograms []string
	Functions   []string // functions the script defines (a file that sources it may call them)
	// Users are the accounts wrappers switch to (gosu USER, runuser -u
	// USER, chpst -u USER:GROUP), as written.
	Users     []string
	Truncated bool // the input was longer than the scanner reads
}

// ShellSource is a file a script reads as shell code.
type ShellSource struct {
	Path      string
	ScriptDir bool // Path is relative to the directory of the script ($(dirname "$0")/…)
	Search    bool // a bare name: "." looks it up through PATH
}

// scanShell finds the programs a shell script or `sh -c` string would run:
// every simple command anywhere in it (pipelines, lists, conditions, loops,
// case arms, subshells, brace groups, function bodies, $(…), `…`, <(…), trap
// and eval strings, sh -c strings), the command run by wrappers (exec, env,
// nice, nohup, timeout, xargs, find -exec, gosu, su-exec, setpriv, runuser,
// chroot, chpst, s6-setuidgid, tini, dumb-init, …), probes, sourced files
// and "$@" hand-offs. Assignments, redirections, keywords, builtins and the
// script's own functions are not programs; command words built from
// expansions are noted in Dynamic instead of guessed.
func scanShell(src string) ShellScan {
	out := &scanOut{seen: map[string]bool{}, optSeen: map[string]bool{}, fns: map[string]bool{}, vars: map[string]shVar{}, srcSeen: map[ShellSource]bool{}}
	if len(src) > maxShellSource {
		src = src[:maxShellSource]
		out.sc.Truncated = true
	}
	p := &parser{src: src, out: out}
	p.list(0)
	var cmds []string
	kept := map[string]bool{}
	for _, c := range out.cmds {
		if (c.bypass || !out.fns[c.name]) && !kept[c.name] {
			kept[c.name] = true
			cmds = append(cmds, c.name)
		}
	}
	out.sc.Commands = cmds
	var opt []string
	for _, o := range out.sc.Optional {
		if !out.fns[o] && !kept[o] {
			opt = append(opt, o)
		}
	}
	out.sc.Optional = opt
	for name := range out.fns {
		out.sc.Functions = append(out.sc.Functions, name)
	}
	sort.Strings(out.sc.Functions)
	if out.dropped > 0 {
		out.sc.Dynamic = append(out.sc.Dynamic, fmt.Sprintf("and %d more words built at run time", out.dropped))
	}
	return out.sc
}

type scanOut struct {
	sc      ShellScan
	cmds    []foundCmd
	seen    map[string]bool
	optSeen map[string]bool
	fns     map[string]bool  // functions the script defines
	vars    map[string]shVar // variables with a value known statically
	srcSeen map[ShellSource]bool
	dropped int // dynamic notes beyond maxShellNotes
}

type foundCmd struct {
	name   string
	bypass bool // reached through `command NAME`: a function of that name is not called
}

type shVar struct {
	text      string
	scriptDir bool
}

// shellBuiltins are the builtins of sh and bash, and keywords: a word at a
// command position that names one runs no program.
var shellBuiltins = setOf(
	"if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done", "in",
	"function", "select", "time", "!", "{", "}", "[[", "]]", "coproc", "print", "whence",
	"cd", "echo", "printf", "export", "set", "unset", "shift", "exit", "return", "local", "read",
	"trap", "wait", "eval", "true", "false", ":", "test", "[", "readonly", "declare", "typeset",
	"let", "source", ".", "break", "continue", "getopts", "umask", "ulimit", "alias", "unalias",
	"type", "hash", "pwd", "mapfile", "readarray", "shopt", "builtin", "command", "exec", "jobs",
	"fg", "bg", "kill", "times", "disown", "enable", "suspend", "logout", "dirs", "pushd", "popd",
	"caller", "complete", "compgen", "compopt", "history", "fc", "help", "bind",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// wrapper describes a program that runs another program named by its
// arguments: after its options (argOpts take a separate value) and npos
// positional arguments comes the command.
type wrapper struct {
	argOpts     map[string]bool
	npos        int
	assignments bool              // NAME=value words may precede the command (env, sudo)
	shellOpts   map[string]bool   // options whose value is a shell command line (su -c)
	progOpts    map[string]bool   // options whose value is a program (start-stop-daemon --exec)
	noCommand   func([]word) bool // no command follows (runuser USER -c …)
	userOpts    map[string]bool   // options whose value is an account (runuser -u USER)
	userArg     bool              // the first positional argument is an account (gosu USER)
	defaultCmd  string            // what runs when no command is given (xargs: echo)
}

var wrappers = map[string]wrapper{
	"env":            {argOpts: setOf("-u", "--unset", "-C", "--chdir"), assignments: true, shellOpts: setOf("-S", "--split-string")},
	"nice":           {argOpts: setOf("-n", "--adjustment")},
	"nohup":          {},
	"setsid":         {},
	"timeout":        {argOpts: setOf("-s", "--signal", "-k", "--kill-after"), npos: 1},
	"xargs":          {argOpts: setOf("-I", "-n", "--max-args", "-P", "--max-procs", "-L", "--max-lines", "-s", "--max-chars", "-d", "--delimiter", "-E", "-a", "--arg-file"), defaultCmd: "echo"},
	"sudo":           {userOpts: setOf("-u", "--user"), argOpts: setOf("-u", "--user", "-g", "--group", "-C", "--close-from", "-D", "--chdir", "-h", "--host", "-p", "--prompt", "-r", "--role", "-t", "--type", "-T", "--command-timeout", "-U", "--other-user"), assignments: true},
	"doas":           {argOpts: setOf("-u", "-C"), userOpts: setOf("-u")},
	"gosu":           {npos: 1, userArg: true},
	"su-exec":        {npos: 1, userArg: true},
	"s6-setuidgid":   {npos: 1, userArg: true},
	"s6-applyuidgid": {argOpts: setOf("-u", "-g", "-G")},
	"setpriv": {argOpts: setOf("--reuid", "--regid", "--ruid", "--euid", "--rgid", "--egid", "--groups", "--inh-caps",
		"--ambient-caps", "--bounding-set", "--securebits", "--pdeathsig", "--selinux-label", "--apparmor-profile",
		"--landlock-access", "--landlock-rule"), userOpts: setOf("--reuid", "--ruid", "--euid")},
	"runuser": {argOpts: setOf("-u", "--user", "-g", "--group", "-G", "--supp-group", "-s", "--shell", "-w", "--whitelist-environment"),
		shellOpts: setOf("-c", "--command", "--session-command"), noCommand: runuserSuMode, userOpts: setOf("-u", "--user"), userArg: true},
	"su": {argOpts: setOf("-g", "--group", "-G", "--supp-group", "-s", "--shell", "-w", "--whitelist-environment"),
		shellOpts: setOf("-c", "--command", "--session-command"), noCommand: func([]word) bool { return true }, userArg: true},
	"chroot":      {npos: 1, userOpts: setOf("--userspec")},
	"chpst":       {userOpts: setOf("-u", "-U"), argOpts: setOf("-u", "-U", "-b", "-e", "-/", "-C", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r", "-t")},
	"tini":        {argOpts: setOf("-p", "-e")},
	"tini-static": {argOpts: setOf("-p", "-e")},
	"catatonit":   {},
	"dumb-init":   {argOpts: setOf("-r", "--rewrite")},
	"stdbuf":      {argOpts: setOf("-i", "--input", "-o", "--output", "-e", "--error")},
	"ionice":      {argOpts: setOf("-c", "--class", "-n", "--classdata")},
	"taskset":     {npos: 1},
	"flock":       {argOpts: setOf("-w", "--timeout", "-E", "--conflict-exit-code"), shellOpts: setOf("-c", "--command"), npos: 1},
	"start-stop-daemon": {argOpts: setOf("-p", "--pidfile", "-n", "--name", "-u", "--user", "-g", "--group", "-c", "--chuid",
		"-r", "--chroot", "-d", "--chdir", "-N", "--nicelevel", "-P", "--procsched", "-I", "--iosched", "-k", "--umask",
		"-R", "--retry", "-s", "--signal", "--remove-pidfile", "--notify-timeout", "--output"),
		progOpts: setOf("-x", "--exec", "-a", "--startas"), userOpts: setOf("-c", "--chuid", "-u", "--user"), noCommand: func([]word) bool { return true }},
}

// runuserSuMode: without -u, runuser takes a user and runs a shell (su-like).
func runuserSuMode(args []word) bool {
	for _, a := range args {
		if s, ok := a.literal(); ok && (s == "-u" || s == "--user" || strings.HasPrefix(s, "--user=")) {
			return false
		}
	}
	return true
}

// word is one shell word as its segments: literal text, a parameter
// expansion, a script-directory expression, or anything else run-time.
type word struct {
	segs   []seg
	buf    []byte // literal text not yet in segs
	raw    string
	pos    int  // offset in the parser's source
	glob   bool // unquoted glob characters or a leading tilde
	quoted bool // some part was quoted (so it is never a keyword)
}

type segKind uint8

const (
	segLit segKind = iota
	segParam
	segScriptDir
	segOther
)

type seg struct {
	kind segKind
	text string
	// def is the literal default of ${NAME:-def}, used when NAME has no
	// known value.
	def    string
	hasDef bool
}

func (w *word) lit(s string) { w.buf = append(w.buf, s...) }

// add appends a segment after the pending literal text.
func (w *word) add(k segKind, text string) {
	w.flush()
	w.segs = append(w.segs, seg{kind: k, text: text})
}

func (w *word) flush() {
	if len(w.buf) > 0 {
		w.segs = append(w.segs, seg{kind: segLit, text: string(w.buf)})
		w.buf = nil
	}
}

// litWord is a word of literal text.
func litWord(s string) word { return word{segs: []seg{{kind: segLit, text: s}}, raw: s} }

// literal is the word's value when it holds no expansion.
func (w word) literal() (string, bool) {
	if w.glob {
		return "", false
	}
	switch len(w.segs) {
	case 0:
		return "", true
	case 1:
		if w.segs[0].kind == segLit {
			return w.segs[0].text, true
		}
	}
	return "", false
}

// allArgs tells whether the word is "$@", $@, "${@}" or $*.
func (w word) allArgs() bool {
	return len(w.segs) == 1 && w.segs[0].kind == segParam && (w.segs[0].text == "@" || w.segs[0].text == "*")
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tOp
	tNewline
	tIONumber
)

type token struct {
	kind tokKind
	op   string
	w    word
}

type heredoc struct {
	delim  string
	strip  bool
	quoted bool
}

// parser reads one list of commands (a script, or the body of a $(…)).
type parser struct {
	src   string
	pos   int
	depth int
	// parent and parentPos place src inside the text it came from (a trap
	// string, a backquoted body), for line numbers.
	parent    *parser
	parentPos int
	inArray   bool
	out       *scanOut
	pending   []heredoc
	// state of the command being read
	cmd         []word
	assigned    bool
	caseStack   []bool // per open case: true while reading patterns
	state       pstate
	subshells   int
	condDepth   bool // inside [[ … ]]
	funcPending bool
	hops        int // wrappers followed in the current command
}

type pstate uint8

const (
	stNone pstate = iota
	stCaseSubject
	stCaseIn
	stForName
	stForWords
	stFuncName
)

// list reads commands until EOF or, when term is ')', the unmatched ')'.
func (p *parser) list(term byte) {
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			p.finish()
			return
		case tNewline:
			if p.state == stForWords || p.state == stForName {
				p.state = stNone
			}
			p.finish()
		case tIONumber:
		case tOp:
			if p.op(t.op, term) {
				return
			}
		case tWord:
			p.word(t.w)
		}
	}
}

// op handles an operator; it returns true at the end of the list.
func (p *parser) op(op string, term byte) bool {
	inPattern := len(p.caseStack) > 0 && p.caseStack[len(p.caseStack)-1] && p.state == stNone
	if p.condDepth {
		return false // [[ … ]] holds operators that are not the shell's
	}
	switch op {
	case "(":
		switch {
		case inPattern:
		case p.funcPending || len(p.cmd) == 1 && !p.assigned:
			// NAME () compound: a function definition
			if len(p.cmd) == 1 {
				if name, ok := p.cmd[0].literal(); ok {
					p.out.fns[name] = true
				}
			}
			p.cmd = nil
			p.funcPending = false
			p.skipBlanks()
			if p.pos < len(p.src) && p.src[p.pos] == ')' {
				p.pos++
			}
		case len(p.cmd) == 0:
			if p.pos < len(p.src) && p.src[p.pos] == '(' {
				p.pos++
				p.skipArith() // (( … ))
				return false
			}
			p.subshells++
		}
		return false
	case ")":
		if inPattern {
			p.caseStack[len(p.caseStack)-1] = false
			return false
		}
		p.finish()
		if p.subshells > 0 {
			p.subshells--
			return false
		}
		return term == ')'
	case "|":
		if inPattern {
			return false
		}
		p.finish()
	case ";;", ";&", ";;&":
		p.finish()
		if n := len(p.caseStack); n > 0 {
			p.caseStack[n-1] = true
		}
	case ";", "&", "&&", "||", "|&":
		if p.state == stForWords || p.state == stForName {
			p.state = stNone
		}
		p.finish()
	default: // a redirection: the next word is its target
		t := p.next()
		for t.kind == tOp && isRedirection(t.op) || t.kind == tIONumber {
			t = p.next() // a syntax error: skip it without recursion
		}
		switch t.kind {
		case tNewline:
			p.finish()
			return false
		case tOp:
			return p.op(t.op, term)
		case tEOF:
			return false
		}
		if op == "<<" || op == "<<-" {
			d := heredoc{strip: op == "<<-", quoted: t.w.quoted}
			for _, s := range t.w.segs {
				d.delim += s.text
			}
			if s, ok := t.w.literal(); ok {
				d.delim = s
			}
			p.pending = append(p.pending, d)
		}
	}
	return false
}

func (p *parser) word(w word) {
	s, isLit := w.literal()
	kw := isLit && !w.quoted
	if p.condDepth {
		if kw && s == "]]" {
			p.condDepth = false
		}
		return
	}
	switch p.state {
	case stCaseSubject:
		p.state = stCaseIn
		return
	case stCaseIn:
		p.state = stNone
		if kw && s == "in" {
			p.caseStack = append(p.caseStack, true)
		}
		return
	case stForName:
		if kw && s == "in" {
			p.state = stForWords
			return
		}
		if kw && s == "do" {
			p.state = stNone
			return
		}
		return
	case stForWords:
		if kw && s == "do" {
			p.state = stNone
		}
		return
	case stFuncName:
		p.state = stNone
		if isLit {
			p.out.fns[s] = true
		}
		p.funcPending = true
		return
	}
	if n := len(p.caseStack); n > 0 && p.caseStack[n-1] {
		if kw && s == "esac" {
			p.caseStack = p.caseStack[:n-1]
		}
		return // a pattern
	}
	if len(p.cmd) == 0 && !p.assigned && kw {
		switch s {
		case "if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "coproc":
			p.funcPending = false
			return
		case "fi", "done", "}":
			return
		case "esac":
			if n := len(p.caseStack); n > 0 {
				p.caseStack = p.caseStack[:n-1]
			}
			return
		case "case":
			p.state = stCaseSubject
			return
		case "for", "select":
			p.skipBlanks()
			if strings.HasPrefix(p.src[p.pos:], "((") {
				p.pos += 2
				p.skipArith()
				return
			}
			p.state = stForName
			return
		case "function":
			p.state = stFuncName
			return
		case "[[":
			p.condDepth = true
			return
		}
	}
	if p.funcPending {
		p.funcPending = false
	}
	if len(p.cmd) == 0 {
		if name, val, ok := assignment(w); ok {
			p.assigned = true
			p.setVar(name, val)
			return
		}
	}
	p.cmd = append(p.cmd, w)
}

// assignment splits NAME=value (or NAME+=value) words.
func assignment(w word) (string, word, bool) {
	if len(w.segs) == 0 || w.segs[0].kind != segLit {
		return "", word{}, false
	}
	first := w.segs[0].text
	eq := strings.IndexByte(first, '=')
	if eq <= 0 {
		return "", word{}, false
	}
	name := strings.TrimSuffix(first[:eq], "+")
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		name = name[:i] // NAME[index]=value
	}
	if !isAssignment(name + "=") {
		return "", word{}, false
	}
	val := word{glob: w.glob, segs: append([]seg{{kind: segLit, text: first[eq+1:]}}, w.segs[1:]...)}
	return name, val, true
}

// setVar remembers a variable whose value is known statically (for paths
// of sourced files); any other value forgets it.
func (p *parser) setVar(name string, val word) {
	v, ok := p.resolve(val)
	if !ok {
		delete(p.out.vars, name)
		return
	}
	p.out.vars[name] = v
}

// resolve gives the static value of a word whose parts are literal, a
// script-directory expression first, or variables with known values.
func (p *parser) resolve(w word) (shVar, bool) {
	if w.glob {
		return shVar{}, false
	}
	var v shVar
	for _, s := range w.segs {
		switch s.kind {
		case segLit:
			v.text += s.text
		case segScriptDir:
			if v.text != "" || v.scriptDir {
				return shVar{}, false
			}
			v.scriptDir = true
		case segParam:
			known, ok := p.out.vars[s.text]
			if !ok && s.hasDef {
				known, ok = shVar{text: s.def}, true
			}
			if !ok || known.scriptDir && (v.text != "" || v.scriptDir) {
				return shVar{}, false
			}
			v.text += known.text
			v.scriptDir = v.scriptDir || known.scriptDir
		default:
			return shVar{}, false
		}
	}
	return v, true
}

func (p *parser) finish() {
	cmd := p.cmd
	p.cmd, p.assigned, p.funcPending = nil, false, false
	if len(cmd) > 0 {
		p.hops = 0
		p.command(cmd, false)
	}
}

func isRedirection(op string) bool {
	return strings.HasPrefix(op, "<") || strings.HasPrefix(op, ">") || strings.HasPrefix(op, "&>")
}

func (p *parser) addCmd(name string, bypass bool) {
	if name == "" || shellBuiltins[name] {
		return
	}
	key := name
	if bypass {
		key = "\x00" + name
	}
	if p.out.seen[key] {
		return
	}
	p.out.seen[key] = true
	p.out.seen[name] = true
	p.out.cmds = append(p.out.cmds, foundCmd{name, bypass})
}

func (p *parser) addOptional(name string) {
	if name == "" || shellBuiltins[name] || strings.ContainsAny(name, "$`") || p.out.optSeen[name] {
		return
	}
	p.out.optSeen[name] = true
	p.out.sc.Optional = append(p.out.sc.Optional, name)
}

func (p *parser) dynamic(what string, w word) {
	if len(p.out.sc.Dynamic) >= maxShellNotes {
		p.out.dropped++
		return
	}
	raw := w.raw
	if len(raw) > 60 {
		raw = raw[:57] + "..."
	}
	p.out.sc.Dynamic = append(p.out.sc.Dynamic, fmt.Sprintf("line %d: %s %s is built at run time", p.line(), what, raw))
}

func (p *parser) line() int { return p.lineAt(p.pos) }

func (p *parser) lineAt(pos int) int {
	n := strings.Count(p.src[:min(pos, len(p.src))], "\n") + 1
	if p.parent != nil {
		n += p.parent.lineAt(p.parentPos) - 1
	}
	return n
}

// child is a parser of code found inside p's text at p's position.
func (p *parser) child(src string) *parser {
	return &parser{src: src, depth: p.depth + 1, out: p.out, parent: p, parentPos: p.pos}
}

// sub scans a string the shell will run as code (trap, eval, sh -c),
// found at offset at of p's source.
func (p *parser) sub(code string, at int) {
	if p.depth >= maxShellDepth {
		return
	}
	c := p.child(code)
	c.parentPos = at
	c.list(0)
}

// command analyses one simple command (assignments and redirections gone).
func (p *parser) command(ws []word, bypass bool) {
	if len(ws) == 0 || p.hops > 32 {
		return
	}
	p.hops++
	w := ws[0]
	if w.allArgs() {
		p.out.sc.RunsArgs = true
		return
	}
	if len(w.segs) == 1 && (w.segs[0].kind == segParam && w.segs[0].text == "0" || w.segs[0].kind == segOther && strings.Contains(w.raw, "BASH_SOURCE")) {
		return // the script runs itself again (exec gosu USER "$0" "$@")
	}
	name, ok := w.literal()
	if !ok {
		p.dynamic("command word", w)
		return
	}
	args := ws[1:]
	if strings.HasPrefix(name, "-") {
		return // time -p, or a syntax error: not a program
	}
	if !bypass && p.out.fns[name] {
		return // the script's own function (defined before this point)
	}
	switch name {
	case "exec":
		i := 0
		for i < len(args) {
			s, _ := args[i].literal()
			if s == "-a" {
				i += 2
				continue
			}
			if s == "--" {
				i++
				break
			}
			if strings.HasPrefix(s, "-") && len(s) > 1 {
				i++
				continue
			}
			break
		}
		if i < len(args) {
			p.command(args[i:], bypass)
		}
		return
	case "command":
		i := 0
		probe := false
		for ; i < len(args); i++ {
			s, _ := args[i].literal()
			if s == "--" {
				i++
				break
			}
			if !strings.HasPrefix(s, "-") || len(s) < 2 {
				break
			}
			if strings.ContainsAny(s, "vV") {
				probe = true
			}
		}
		if probe {
			p.probes(args[i:])
			return
		}
		p.command(args[i:], true)
		return
	case "type", "hash", "which":
		if name == "which" {
			p.addCmd(name, bypass)
		}
		p.probes(args)
		return
	case "builtin":
		return
	case "eval":
		var parts []string
		for _, a := range args {
			s, ok := a.literal()
			if !ok {
				p.dynamic("eval argument", a)
				return
			}
			parts = append(parts, s)
		}
		p.sub(strings.Join(parts, " "), args[0].pos)
		return
	case "trap":
		i := 0
		if len(args) > 0 {
			switch s, _ := args[0].literal(); s {
			case "-p", "-l":
				return
			case "--":
				i = 1
			}
		}
		if i+1 < len(args) { // trap ACTION SIGNAL…
			if s, ok := args[i].literal(); ok {
				if s != "-" && !allDigits(s) { // "-" or a number resets
					p.sub(s, args[i].pos)
				}
			} else {
				p.dynamic("trap action", args[i])
			}
		}
		return
	case ".", "source":
		if len(args) > 0 {
			p.source(args[0], true)
		}
		return
	case "set":
		p.set(args)
		return
	case "[", "test":
		for i := 0; i+1 < len(args); i++ {
			if s, _ := args[i].literal(); s == "-x" {
				if f, ok := args[i+1].literal(); ok && strings.HasPrefix(f, "/") {
					p.addOptional(f)
				}
			}
		}
		return
	case "find":
		p.addCmd(name, bypass)
		for i := 0; i < len(args); i++ {
			s, _ := args[i].literal()
			switch s {
			case "-exec", "-execdir", "-ok", "-okdir":
				j := i + 1
				for j < len(args) {
					if e, ok := args[j].literal(); ok && (e == ";" || e == "+") {
						break
					}
					j++
				}
				p.command(args[i+1:j], false)
				i = j
			}
		}
		return
	}
	if shellBuiltins[name] {
		return
	}
	p.addCmd(name, bypass)
	base := path.Base(name)
	if base == "busybox" && len(args) > 0 {
		if applet, ok := args[0].literal(); ok && shells.IsPOSIX(applet) && applet != "busybox" {
			p.shellArgs(args[1:])
		}
		return
	}
	if shells.IsPOSIX(base) {
		p.shellArgs(args)
		return
	}
	wr, ok := wrappers[base]
	if !ok {
		return
	}
	p.wrapped(wr, args)
}

// wrapped follows a wrapper's arguments to the command it runs.
func (p *parser) wrapped(wr wrapper, args []word) {
	i := wr.commandIndex(args, func(opt string, val word) {
		v, ok := val.literal()
		switch {
		case opt == "" || wr.userOpts[opt]:
			if ok && v != "" && !p.out.optSeen["\x00user "+v] {
				p.out.optSeen["\x00user "+v] = true
				p.out.sc.Users = append(p.out.sc.Users, v)
			}
		case !ok:
			p.dynamic("command", val)
		case wr.shellOpts[opt]:
			p.sub(v, val.pos)
		default:
			p.addCmd(v, false)
		}
	})
	switch {
	case i < 0:
	case i < len(args):
		p.command(args[i:], false)
	case wr.defaultCmd != "" && !p.out.seen[wr.defaultCmd]:
		// not the builtin of that name: the wrapper runs the program
		p.out.seen[wr.defaultCmd] = true
		p.out.cmds = append(p.out.cmds, foundCmd{wr.defaultCmd, true})
	}
}

// commandIndex is the index in args of the command the wrapper runs
// (len(args) when none is given), or -1 when it runs none of its
// arguments as a program. visit sees each option whose value is shell
// code or a program.
func (wr wrapper) commandIndex(args []word, visit func(opt string, val word)) int {
	i := 0
	for i < len(args) {
		s, ok := args[i].literal()
		if !ok {
			break // a positional argument or the command, built at run time
		}
		if s == "--" {
			i++
			break
		}
		if strings.HasPrefix(s, "-") && len(s) > 1 {
			opt, val, hasVal := strings.Cut(s, "=")
			if !hasVal && len(opt) > 2 && opt[1] != '-' && (wr.argOpts[opt[:2]] || wr.shellOpts[opt[:2]] || wr.progOpts[opt[:2]] || wr.userOpts[opt[:2]]) {
				opt, val, hasVal = opt[:2], opt[2:], true
			}
			takes := wr.argOpts[opt] || wr.shellOpts[opt] || wr.progOpts[opt] || wr.userOpts[opt]
			special := wr.shellOpts[opt] || wr.progOpts[opt] || wr.userOpts[opt]
			switch {
			case takes && !hasVal && i+1 < len(args):
				i++
				if special && visit != nil {
					visit(opt, args[i])
				}
			case hasVal && special && visit != nil:
				w := litWord(val)
				w.pos = args[i].pos
				visit(opt, w)
			}
			i++
			continue
		}
		if wr.assignments && isAssignment(s) {
			i++
			continue
		}
		break
	}
	if wr.userArg && i < len(args) && visit != nil && (wr.noCommand == nil || wr.noCommand(args)) {
		if s, _ := args[i].literal(); !strings.HasPrefix(s, "-") {
			visit("", args[i]) // the account
		}
	}
	if wr.noCommand != nil && wr.noCommand(args) {
		// su-like: options may follow the user (runuser -l USER -c CMD)
		for j := i; j+1 < len(args); j++ {
			if opt, _ := args[j].literal(); wr.shellOpts[opt] || wr.progOpts[opt] || wr.userOpts[opt] {
				j++
				if visit != nil {
					visit(opt, args[j])
				}
			}
		}
		return -1
	}
	i = min(i+wr.npos, len(args))
	if i+1 < len(args) {
		// flock FILE -c CMD: an option after the positional arguments
		if opt, _ := args[i].literal(); wr.shellOpts[opt] {
			if visit != nil {
				visit(opt, args[i+1])
			}
			return -1
		}
	}
	return i
}

// wrappedCommand is the index of the program an exec-form command line
// runs through the wrapper argv[0] (tini -- prog, gosu USER prog), or -1.
func wrappedCommand(argv []string) int {
	if len(argv) == 0 {
		return -1
	}
	wr, ok := wrappers[path.Base(argv[0])]
	if !ok {
		return -1
	}
	words := make([]word, len(argv)-1)
	for i, a := range argv[1:] {
		words[i] = litWord(a)
	}
	i := wr.commandIndex(words, nil)
	if i < 0 || i >= len(words) {
		return -1
	}
	return i + 1
}

// shellArgs reads the arguments of sh/bash: -c STRING is code, else the
// first operand is a script file.
func (p *parser) shellArgs(args []word) {
	code := false
	for i := 0; i < len(args); i++ {
		s, ok := args[i].literal()
		if !ok {
			if code {
				p.dynamic("sh -c command", args[i])
			}
			return
		}
		if len(s) > 1 && (s[0] == '-' || s[0] == '+') && s[1] != '-' && (strings.HasSuffix(s, "o") || strings.HasSuffix(s, "O")) {
			if strings.ContainsRune(s, 'c') && s[0] == '-' {
				code = true
			}
			i++ // -o OPTION, -euo pipefail
			continue
		}
		if s == "--" || s == "-" {
			continue
		}
		if (strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")) && len(s) > 1 && !strings.HasPrefix(s, "--") {
			if strings.ContainsRune(s[1:], 'c') && s[0] == '-' {
				code = true
			}
			if strings.ContainsRune(s[1:], 's') {
				return // commands from standard input
			}
			continue
		}
		if strings.HasPrefix(s, "--") {
			continue
		}
		if code {
			p.sub(s, args[i].pos)
			return
		}
		p.source(args[i], false)
		return
	}
}

// probes records names that the script looks up (command -v NAME).
func (p *parser) probes(args []word) {
	for _, a := range args {
		s, ok := a.literal()
		if !ok || strings.HasPrefix(s, "-") {
			continue
		}
		p.addOptional(s)
	}
}

// set records `set -- prog "$@"`: prog is run with the script's arguments
// when the script later runs "$@".
func (p *parser) set(args []word) {
	if len(args) < 2 {
		return
	}
	if s, _ := args[0].literal(); s != "--" {
		return
	}
	rest := args[1:]
	if !rest[len(rest)-1].allArgs() || len(rest) < 2 {
		return
	}
	if s, ok := rest[0].literal(); ok && s != "" && !strings.HasPrefix(s, "-") && !p.out.optSeen["\x00set "+s] {
		p.out.optSeen["\x00set "+s] = true
		p.out.sc.ArgPrograms = append(p.out.sc.ArgPrograms, s)
	}
}

func (p *parser) source(w word, search bool) {
	v, ok := p.resolve(w)
	if !ok || v.text == "" {
		p.dynamic("sourced file", w)
		return
	}
	src := ShellSource{Path: v.text, ScriptDir: v.scriptDir}
	if v.scriptDir {
		src.Path = strings.TrimPrefix(v.text, "/")
	} else if search && !strings.Contains(v.text, "/") {
		src.Search = true
	}
	if p.out.srcSeen[src] {
		return
	}
	p.out.srcSeen[src] = true
	p.out.sc.Sourced = append(p.out.sc.Sourced, src)
}
