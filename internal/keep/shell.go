package keep

import (
	"errors"
	"path"
	"strings"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// isAssignment tells whether w is a NAME=value word.
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

// maxHops bounds how many wrappers and hand-offs an exec-form command is
// followed through.
const maxHops = 8

// commandArgs follows the arguments of an exec-form command whose program
// args[0] is kept at p: the shell form (sh -c STRING), the program a wrapper
// runs (tini -- prog, gosu USER prog), the program a script hands its
// arguments to (exec "$@", exec gosu USER "$@"), and otherwise the files
// the arguments name.
func (b *builder) commandArgs(args []string, p string) {
	for hop := 0; hop < maxHops; hop++ {
		if isShell(p, args[0]) && len(args) >= 3 && args[1] == "-c" {
			before := b.set.Len()
			b.shellCommand(args[2], p, "the shell command line")
			b.note("shell form: kept %s and the programs its command line names (%d paths); check the notes below for anything it runs that static reading cannot see", p, b.set.Len()-before)
			return
		}
		next := -1
		why := keptset.Reason{Kind: keptset.KindEntrypoint, From: p}
		if i := wrappedCommand(args); i > 0 {
			next = i
			why.Detail = "run by " + path.Base(args[0])
		} else if sc := b.scripted[p]; sc != nil && sc.RunsArgs {
			if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
				// the script runs it: the chain goes through the script
				next = 1
				why = keptset.Reason{Kind: keptset.KindShell, From: p, Detail: `its argument ` + args[1] + `, run by exec "$@"`}
			}
			defer b.argPrograms(sc, p)
		}
		if next < 0 {
			b.argumentFiles(args[1:], p)
			return
		}
		q, err := b.addProgram(args[next], why)
		if err != nil {
			b.warn("%s %s: %v", why.Detail, args[next], err)
			b.argumentFiles(args[next:], p)
			return
		}
		args, p = args[next:], q
	}
	b.argumentFiles(args[1:], p)
}

// argPrograms keeps the programs a script puts before its arguments with
// set -- PROG "$@" (when the first argument is an option).
func (b *builder) argPrograms(sc *ShellScan, script string) {
	for _, prog := range sc.ArgPrograms {
		r := keptset.Reason{Kind: keptset.KindShell, From: script, Detail: `set -- ` + prog + ` "$@"`}
		if _, err := b.addProgram(prog, r); err != nil {
			b.note("the script %s hands its arguments to %s, which is not a program in the image: %v", script, prog, err)
		}
	}
}

// shellCommand keeps the programs a shell command line or script names,
// the programs it probes for when present, and the files it sources; it
// returns what the scan found, hand-offs of sourced files included.
func (b *builder) shellCommand(src, by, what string) *ShellScan {
	sc := scanShell(src)
	if sc.Truncated {
		b.warn("%s of %s is longer than %d bytes: the rest was not read", what, by, maxShellSource)
	}
	fns := map[string]bool{}
	for _, s := range sc.Sourced {
		p, ok := b.sourcedPath(s, by)
		if !ok {
			b.note("%s of %s reads %s, which is not in the image", what, by, s.Path)
			continue
		}
		phys, err := b.set.Keep(p, keptset.Reason{Kind: keptset.KindShell, From: by, Detail: "sourced"})
		if err != nil {
			b.note("%s of %s reads %s: %v", what, by, p, err)
			continue
		}
		inner := b.scanScript(phys)
		if inner == nil {
			continue
		}
		for _, f := range inner.Functions {
			fns[f] = true
		}
		if inner.RunsArgs {
			sc.RunsArgs = true
			sc.ArgPrograms = append(sc.ArgPrograms, inner.ArgPrograms...)
		}
	}
	var absent []string
	for _, name := range sc.Commands {
		if fns[name] {
			continue // a function of a sourced file
		}
		if _, err := b.addProgram(name, keptset.Reason{Kind: keptset.KindShell, From: by}); err != nil {
			if isNotExist(err) || errors.Is(err, errNotFoundInPath) {
				absent = append(absent, name)
				continue
			}
			b.warn("%s of %s: %s: %v", what, by, name, err)
		}
	}
	if len(absent) > 0 {
		b.note("%s of %s names %s, not programs in the image (builtins, or functions defined elsewhere?)", what, by, quoteList(absent))
	}
	for _, name := range sc.Optional {
		why := keptset.Reason{Kind: keptset.KindShell, From: by, Detail: "probed for (command -v, type, [ -x ]): kept because present"}
		if _, err := b.addProgram(name, why); err != nil && !isNotExist(err) && !errors.Is(err, errNotFoundInPath) {
			b.warn("%s of %s: %s: %v", what, by, name, err)
		}
	}
	for _, u := range sc.Users {
		user, group, _ := strings.Cut(u, ":")
		if allDigits(user) {
			user = ""
		}
		if allDigits(group) {
			group = ""
		}
		b.NeedAccount(user, group, keptset.Reason{Kind: keptset.KindShell, From: by, Detail: "switches to " + u})
	}
	if len(sc.Dynamic) > 0 {
		b.note("%s of %s runs commands built at run time (%s); static mode cannot see them: use --include-exe or --trace", what, by, strings.Join(sc.Dynamic, "; "))
	}
	return &sc
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}

// sourcedPath finds a file read by "." or "source" the way the shell
// does: relative to the script's directory when the path says so, through
// PATH for a bare name (then the working directory, as bash does), else
// relative to the working directory.
func (b *builder) sourcedPath(s ShellSource, by string) (string, bool) {
	exists := func(p string) bool {
		e, err := b.v.Stat(p)
		return err == nil && e.Type == rootfs.TypeReg
	}
	var cands []string
	switch {
	case s.ScriptDir:
		cands = []string{path.Join(path.Dir(by), s.Path)}
	case strings.HasPrefix(s.Path, "/"):
		cands = []string{s.Path}
	case s.Search:
		for _, dir := range strings.Split(b.pathEnv(), ":") {
			if dir == "" {
				dir = b.workDir()
			}
			cands = append(cands, path.Join(dir, s.Path))
		}
		cands = append(cands, path.Join(b.workDir(), s.Path))
	default:
		cands = []string{path.Join(b.workDir(), s.Path)}
	}
	for _, c := range cands {
		if exists(c) {
			return c, true
		}
	}
	return "", false
}

// scanScript keeps the programs a shell script runs and returns its scan.
func (b *builder) scanScript(phys string) *ShellScan {
	if sc, ok := b.scripted[phys]; ok {
		return sc
	}
	b.scripted[phys] = nil // a script sourcing itself
	src, err := b.v.ReadFile(phys, maxShellSource)
	if err != nil {
		b.warn("reading script %s: %v", phys, err)
		return nil
	}
	sc := b.shellCommand(string(src), phys, "the script")
	b.scripted[phys] = sc
	return sc
}
