package knowledge

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/pare-dev/pare/internal/importgraph"
)

// Erlang is Erlang/OTP (erl, erlexec, beam.smp) and what runs on it:
// Elixir's launchers (elixir, iex, mix) exec erl. A root — the directory
// above bin/ holding releases/ (/usr/lib/erlang on Debian,
// /usr/local/lib/erlang in the official image), or lib/elixir/ebin for
// Elixir — holds erts, the code path lib/*/ebin, NIFs in lib/*/priv with
// their libraries and the boot files.
//
// When the image's command runs erl itself, so that its flags are known,
// the module graph replaces the whole root (see importgraph.Erlang and
// erlang below): the modules reachable from the application's .beam files,
// the command's -s/-run/-eval modules and the boot script, found along the
// code path the flags, ERL_LIBS and the boot script make; the emulator's
// programs; epmd only for distribution. Otherwise (elixir, escript, a
// release's start script) the root is kept whole, with every ERL_LIBS
// element's */ebin and */priv. mix's deps/ and _build/ beside the
// application are its dependencies.
var Erlang = &Runtime{
	ID:        "erlang",
	What:      "Erlang/OTP code path",
	Programs:  regexp.MustCompile(`^(beam(\.smp)?|erlexec)$`),
	Launchers: regexp.MustCompile(`^(erl|escript|elixir|iex|mix)$`),
	Runs:      []string{"erl"},
	Prefix:    Prefix{Landmarks: []string{"releases", "lib/elixir/ebin"}},
	Trees:     []string{"{prefix}"},
	Env:       []EnvPath{{Name: "ERL_LIBS", Pattern: "*/ebin"}, {Name: "ERL_LIBS", Pattern: "*/priv"}},
	Deps:      []Dep{{Beside: "deps"}, {Beside: "_build"}},
	AppFiles:  []string{".beam", ".app", ".erl", ".ex", ".exs", "rebar.config"},
	Uses:      []Capability{VerifiesTLS},
	Imports: &ImportGraph{
		Lang:    "erlang",
		Sources: regexp.MustCompile(`\.beam$`),
		Quiet:   []string{"{prefix}"},
		Only:    runsErl,
	},
	TraceReplaceable: true,
}

// erlPrograms are the programs of erts-VSN/bin the emulator runs itself:
// the emulators erlexec picks, the child spawner every port needs, the
// native name resolver (inet_gethost, started on the first lookup) and the
// launcher's helpers. epmd is added for distribution, heart for -heart.
var erlPrograms = []string{"erlexec", "beam", "beam.smp", "beam.emu", "erl_child_setup", "inet_gethost", "dyn_erl", "erl"}

// runsErl reports whether the image's command runs erl or erlexec, so its
// flags say what starts.
func runsErl(c Keeper) bool {
	cm, ok := c.(Commander)
	if !ok {
		return false
	}
	args := cm.Args()
	if len(args) == 0 {
		return false
	}
	b := path.Base(args[0])
	return b == "erl" || b == "erlexec"
}

// erlFlags is what erl's flags say about start-up.
type erlFlags struct {
	pa, pz  []string
	boot    string
	mode    string
	entry   []string // the -s, -run and -S functions, "mod:fun/arity"
	atoms   []string // the atoms of -eval expressions and of -s arguments
	configs []string
	argFile []string
	dist    bool // -sname, -name or -setcookie
	heart   bool // -heart
	shell   bool // no -noshell, -noinput, -detached: the shell starts
}

var reErlAtom = regexp.MustCompile(`'(?:[^'\\]|\\.)*'|[a-z][A-Za-z0-9_@]*`)

// parse reads erl's flags up to -extra; read returns an -args_file's
// content.
func (f *erlFlags) parse(args []string, read func(string) []byte, depth int) {
	flag := func(s string) bool { return strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") }
	values := func(i int) []string {
		j := i + 1
		for j < len(args) && !flag(args[j]) {
			j++
		}
		return args[i+1 : j]
	}
	for i := 0; i < len(args); i++ {
		vs := values(i)
		switch args[i] {
		case "-extra":
			return
		case "-pa":
			f.pa = append(f.pa, vs...)
		case "-pz":
			f.pz = append(f.pz, vs...)
		case "-boot", "-mode":
			if len(vs) > 0 {
				if args[i] == "-boot" {
					f.boot = vs[0]
				} else {
					f.mode = vs[0]
				}
			}
		case "-s", "-run":
			// Mod:Func() without arguments, Mod:Func([Args]) with; Func
			// is start by default
			if len(vs) > 0 {
				fn, arity := "start", 0
				if len(vs) > 1 {
					fn = vs[1]
				}
				if len(vs) > 2 {
					arity = 1
				}
				f.entry = append(f.entry, fmt.Sprintf("%s:%s/%d", vs[0], fn, arity))
				if args[i] == "-s" {
					f.atoms = append(f.atoms, vs[min(len(vs), 2):]...)
				}
			}
		case "-S":
			// Mod:Func(Arg1, ...) with the rest of the arguments
			if rest := args[i+1:]; len(rest) > 0 {
				fn := "start"
				if len(rest) > 1 {
					fn = rest[1]
				}
				f.entry = append(f.entry, fmt.Sprintf("%s:%s/%d", rest[0], fn, max(len(rest)-2, 0)))
			}
			return
		case "-eval":
			if len(vs) > 0 {
				for _, a := range reErlAtom.FindAllString(vs[0], -1) {
					f.atoms = append(f.atoms, strings.Trim(a, "'"))
				}
			}
		case "-config":
			f.configs = append(f.configs, vs...)
		case "-sname", "-name", "-setcookie":
			f.dist = true
		case "-heart":
			f.heart = true
		case "-noshell", "-noinput", "-detached":
			f.shell = false
		case "-args_file":
			if len(vs) > 0 && depth < 8 {
				f.argFile = append(f.argFile, vs[0])
				var sub []string
				for _, line := range strings.Split(string(read(vs[0])), "\n") {
					line, _, _ = strings.Cut(line, "#")
					sub = append(sub, strings.Fields(line)...)
				}
				f.parse(sub, read, depth+1)
			}
		}
	}
}

// erlang builds the module graph of an OTP root from the image's command
// (erl's flags after ERL_AFLAGS and before ERL_FLAGS and ERL_ZFLAGS, as
// erlexec orders them), ERL_LIBS and the boot script, and adds what the
// emulator needs beside modules: its programs, the boot file, the -config
// and -args_file files, OTP_VERSION, $HOME/.erlang, heart for -heart, and
// for distribution epmd (started through /bin/sh) and $HOME/.erlang.cookie.
func (a *applier) erlang(roots []string, root string, quiet func(string) bool) *importgraph.Result {
	c := a.c
	cwd := ""
	if w, ok := c.(WorkingDirer); ok {
		cwd = w.WorkingDir()
	}
	abs := func(p string) string {
		if p != "" && !strings.HasPrefix(p, "/") && cwd != "" {
			return path.Join(cwd, p)
		}
		return p
	}
	var args []string
	env := func(k string) {
		if v, ok := c.Getenv(k); ok {
			args = append(args, strings.Fields(v)...)
		}
	}
	env("ERL_AFLAGS")
	if cm, ok := c.(Commander); ok && len(cm.Args()) > 0 {
		cmd := cm.Args()[1:]
		for i, s := range cmd {
			if s == "-extra" {
				cmd = cmd[:i]
				break
			}
		}
		args = append(args, cmd...)
	}
	env("ERL_FLAGS")
	env("ERL_ZFLAGS")
	f := &erlFlags{shell: true}
	f.parse(args, func(p string) []byte { return readConfig(a.v, abs(p)) }, 0)

	var extra []importgraph.Edge
	keep := func(p, why string, elf bool) {
		if exists(a.v, p) {
			extra = append(extra, importgraph.Edge{Path: p, Detail: why, ELF: elf})
		}
	}
	// erlexec: a -boot name without a directory is the root's bin/NAME.boot
	bootFile := path.Join(root, "bin", "start.boot")
	if f.boot != "" {
		bootFile = f.boot + ".boot"
		if !strings.Contains(f.boot, "/") {
			bootFile = path.Join(root, "bin", bootFile)
		}
		bootFile = abs(bootFile)
	}
	keep(bootFile, "boot script", false)
	var boot *importgraph.ErlangBoot
	if data := readConfig(a.v, bootFile); data != nil {
		var err error
		if boot, err = importgraph.ParseErlangBoot(data, root); err != nil {
			c.Warn("%s: %s: %v", a.r.ID, bootFile, err)
		}
	}
	var erlLibs []string
	if v, ok := c.Getenv("ERL_LIBS"); ok {
		for _, l := range strings.Split(v, ":") {
			if l != "" {
				erlLibs = append(erlLibs, l)
			}
		}
	}
	embedded := f.mode == "embedded"
	e := &importgraph.Erlang{V: a.v, Boot: boot, Embedded: embedded, Quiet: quiet,
		CodePath: importgraph.ErlangCodePath(a.v, root, cwd, erlLibs, f.pa, f.pz, boot, embedded)}

	var entry []importgraph.Import
	for _, m := range f.entry {
		entry = append(entry, importgraph.Import{Name: m, Kind: "call"})
	}
	if f.shell {
		entry = append(entry, importgraph.Import{Name: "shell", Kind: "module"})
	}
	for _, at := range f.atoms {
		entry = append(entry, importgraph.Import{Name: at, Kind: "atom"})
	}
	for _, cf := range f.configs {
		if !strings.HasSuffix(cf, ".config") {
			cf += ".config"
		}
		cf = abs(cf)
		keep(cf, "configuration (-config)", false)
		// a configuration names modules: logger handlers, callbacks
		terms, _ := importgraph.ParseErlangTerms(readConfig(a.v, cf))
		for _, t := range terms {
			importgraph.TermAtoms(t, func(at importgraph.Atom) {
				entry = append(entry, importgraph.Import{Name: string(at), Kind: "atom"})
			})
		}
	}
	for _, af := range f.argFile {
		keep(abs(af), "arguments file (-args_file)", false)
	}
	// the application's modules are roots; the root's own are reached
	var app []string
	for _, r := range roots {
		if !strings.HasPrefix(r, root+"/") {
			app = append(app, r)
		}
	}
	res := e.Graph(app, entry)

	programs := append([]string(nil), erlPrograms...)
	if f.heart {
		programs = append(programs, "heart")
	}
	if f.dist {
		programs = append(programs, "epmd")
		keep("/bin/sh", "erlexec starts epmd -daemon through system(3)", true)
		keep(path.Join(root, "bin", "epmd"), "epmd, for distribution (-sname, -name or -setcookie)", true)
	}
	for _, erts := range glob(a.v, path.Join(root, "erts-*", "bin")) {
		for _, p := range programs {
			keep(path.Join(erts, p), "emulator program", true)
		}
	}
	for _, p := range glob(a.v, path.Join(root, "releases", "*", "OTP_VERSION")) {
		keep(p, "OTP release version", false)
	}
	if home, ok := c.Getenv("HOME"); ok && home != "" {
		keep(path.Join(home, ".erlang"), "read at start-up by the boot script (c:erlangrc)", false)
		if f.dist {
			keep(path.Join(home, ".erlang.cookie"), "distribution cookie", false)
		}
	}
	res.Edges = append(res.Edges, extra...)
	return res
}

// erlangFallback returns the ebin directory of a module with a call pare
// cannot follow: its application's modules are kept whole.
func erlangFallback(file string) string {
	if d := path.Dir(file); path.Base(d) == "ebin" {
		return d
	}
	return ""
}
