package keep

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/knowledge"
	"github.com/pare-dev/pare/pkg/rootfs"
)

func TestScanShell(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want ShellScan
		dyn  int // number of Dynamic notes
	}{
		{name: "exec", src: `exec nginx -g 'daemon off;'`, want: ShellScan{Commands: []string{"nginx"}}},
		{name: "assignments redirections pipeline if", src: "set -e\nFOO=1 jq -r .a data.json | sort -u > out 2>&1\nif grep -q x f; then sed -n 1p f; elif cmp a b; then :; else tr a b; fi",
			want: ShellScan{Commands: []string{"jq", "sort", "grep", "sed", "cmp", "tr"}}},
		{name: "substitutions", src: `echo "$(date +%s) $(basename "$0") ` + "`uname -r`" + `"; x=$(id -u); y=${z:-$(hostname)}`,
			want: ShellScan{Commands: []string{"date", "basename", "uname", "id", "hostname"}}},
		{name: "nested substitution and process substitution", src: `diff <(sort a) >(tee b) "$(dirname "$(readlink -f x)")"`,
			want: ShellScan{Commands: []string{"sort", "tee", "readlink", "dirname", "diff"}}}, // in the order they end
		{name: "comments", src: "# comment only\nawk '{print $1}' f # trailing ls", want: ShellScan{Commands: []string{"awk"}}},
		{name: "dynamic command words", src: `"$PROG" --x; env -i A=1 wc -l; $(which foo) bar; ${CMD} arg; ./*.sh; ~/bin/x`,
			want: ShellScan{Commands: []string{"env", "wc", "which"}, Optional: []string{"foo"}}, dyn: 5},
		{name: "timeout nice nohup", src: "timeout 5 cat x && nice -n 3 head -1 y || nohup tail -f z & timeout -s KILL 1m sleep 2",
			want: ShellScan{Commands: []string{"timeout", "cat", "nice", "head", "nohup", "tail", "sleep"}}},
		{name: "here-document", src: "cat <<EOF\nnot a command\n$(whoami)\nEOF\ncat <<-'X'\n\trm -rf /\n\t$(nope)\n\tX\nwc -l <<< \"$v\"\n",
			want: ShellScan{Commands: []string{"whoami", "cat", "wc"}}},
		{name: "trap", src: "tmp=$(mktemp)\ntrap 'rm -f \"$tmp\"; logger done' EXIT INT\ntrap - HUP\ntrap \"$ACTION\" TERM",
			want: ShellScan{Commands: []string{"mktemp", "rm", "logger"}}, dyn: 1},
		{name: "function bodies and calls", src: "cleanup() {\n  rm -rf \"$dir\"\n}\nfunction log { logger -t x \"$@\"; }\nmain () ( cleanup; log hi; stat /x )\ntrap cleanup EXIT\nmain \"$@\"",
			want: ShellScan{Commands: []string{"rm", "logger", "stat"}, Functions: []string{"cleanup", "log", "main"}}},
		{name: "command bypasses functions", src: "ls() { command ls -F \"$@\"; }\nls /",
			want: ShellScan{Commands: []string{"ls"}, Functions: []string{"ls"}}},
		{name: "loops", src: "for f in $(find /x -name '*.conf'); do chmod 600 \"$f\"; done\nwhile read -r l; do printf '%s' \"$l\" | md5sum; done < f\nuntil pgrep x; do sleep 1; done\nfor ((i=0;i<3;i++)); do touch $i; done",
			want: ShellScan{Commands: []string{"find", "chmod", "md5sum", "pgrep", "sleep", "touch"}}},
		{name: "case arms", src: "case \"$1\" in\n  -*) set -- mysqld \"$@\" ;;\n  start|run) exec daemon-a ;;\n  (stop) pkill -f x ;&\n  *.sh) . \"$1\" ;;\n  *) echo no; esac\nuname",
			want: ShellScan{Commands: []string{"daemon-a", "pkill", "uname"}, ArgPrograms: []string{"mysqld"}}, dyn: 1},
		{name: "nested case in substitution", src: `x=$(case $y in a) hostname ;; esac); z=$( (cd / && ls) )`,
			want: ShellScan{Commands: []string{"hostname", "ls"}}},
		{name: "subshells braces conditions", src: "( cd /x && make ) || { git pull; } ; ! test -f y && [ -d z ] && [[ -e w && $a < $b ]] && install a b",
			want: ShellScan{Commands: []string{"make", "git", "install"}}},
		{name: "arithmetic", src: "(( n = n + 1 )); echo $(( 3 * (4 + 5) )); expr 1 + 2",
			want: ShellScan{Commands: []string{"expr"}}},
		{name: "quotes", src: `'l''s' -l; "ca"t f; ec\ho; $'\x67rep' x; g"r"'e'p y; printf 'a;b|c' ; echo "a;b" ; \
du -sh`, want: ShellScan{Commands: []string{"ls", "cat", "grep", "du"}}},
		{name: "array assignment", src: `arr=(one "$(seq 3)" three); declare -a b=(x y); arr[2]=$(nproc) c+=1 sort "${arr[@]}"`,
			want: ShellScan{Commands: []string{"seq", "nproc", "sort"}}},
		{name: "sourced", src: ". /lib/lsb/init-functions\nsource ./x.sh\n. common.sh\n. \"$(dirname \"$0\")/lib/a.sh\"\n. \"${0%/*}/b.sh\"\nDIR=$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\n. \"$DIR/c.sh\"\nLIB=/usr/lib/x\n. $LIB/d.sh\n. \"$UNKNOWN/e.sh\"\nD=${DATADIR:-/usr/share/dpkg}\n. \"$D/sh/err.sh\"",
			want: ShellScan{Sourced: []ShellSource{{Path: "/lib/lsb/init-functions"}, {Path: "./x.sh"}, {Path: "common.sh", Search: true},
				{Path: "lib/a.sh", ScriptDir: true}, {Path: "b.sh", ScriptDir: true}, {Path: "c.sh", ScriptDir: true}, {Path: "/usr/lib/x/d.sh"}, {Path: "/usr/share/dpkg/sh/err.sh"}},
				Commands: []string{"dirname"}}, dyn: 1},
		{name: "probes", src: "if command -v jemalloc-config >/dev/null 2>&1; then :; fi\ntype -P numactl; hash curl 2>/dev/null\nwhich wget\n[ -x /usr/sbin/nologin ] && test -x /bin/true",
			want: ShellScan{Commands: []string{"which"}, Optional: []string{"jemalloc-config", "numactl", "curl", "wget", "/usr/sbin/nologin", "/bin/true"}}},
		{name: "probe that is also run", src: "command -v gosu && gosu nobody id",
			want: ShellScan{Commands: []string{"gosu", "id"}, Users: []string{"nobody"}}},
		{name: "exec hand-off", src: "#!/bin/sh\nset -e\nexec \"$@\"", want: ShellScan{RunsArgs: true}},
		{name: "gosu hand-off", src: "if [ \"${1#-}\" != \"$1\" ]; then\n\tset -- redis-server \"$@\"\nfi\nif [ \"$(id -u)\" = '0' ]; then\n\tfind . \\! -user redis -exec chown redis '{}' +\n\texec gosu redis \"$0\" \"$@\"\nfi\nexec \"$@\"",
			want: ShellScan{Commands: []string{"id", "find", "chown", "gosu"}, RunsArgs: true, ArgPrograms: []string{"redis-server"}, Users: []string{"redis"}}},
		{name: "wrappers", src: strings.Join([]string{
			"exec su-exec app:app /app/run", "setpriv --reuid=1000 --regid 1000 --init-groups -- srv1",
			"runuser -u postgres -- pg_ctl start", "runuser -l app -c 'cron -f'", "su app -s /bin/sh -c \"atd\"",
			"chroot /jail jailed", "chpst -u app -/ /x svd", "s6-setuidgid app s6prog", "tini -s -g -- tiniprog",
			"dumb-init --rewrite 15:2 -- dumbprog", "env -u X -C /tmp B=2 envprog", "sudo -u bob -E sudoprog",
			"xargs -0 -n 1 -I{} cp {} /x", "find / -name x -execdir unlink {} \\; -exec shred {} +",
			"stdbuf -oL bufprog", "ionice -c 3 ioprog", "flock -w 3 /lock lockedprog", "flock /lock -c 'flocksh'",
			"exec -a name renamed", "start-stop-daemon --start --exec /usr/sbin/ssd --chuid x -- -f",
		}, "\n"),
			want: ShellScan{Commands: []string{"su-exec", "/app/run", "setpriv", "srv1", "runuser", "pg_ctl", "cron", "su", "atd",
				"chroot", "jailed", "chpst", "svd", "s6-setuidgid", "s6prog", "tini", "tiniprog", "dumb-init", "dumbprog",
				"env", "envprog", "sudo", "sudoprog", "xargs", "cp", "find", "unlink", "shred", "stdbuf", "bufprog",
				"ionice", "ioprog", "flock", "lockedprog", "flocksh", "renamed", "start-stop-daemon", "/usr/sbin/ssd"},
				Users: []string{"app:app", "1000", "postgres", "app", "bob", "x"}}},
		{name: "xargs without a command runs echo", src: "ls | xargs", want: ShellScan{Commands: []string{"ls", "xargs", "echo"}}},
		{name: "sh -c and scripts", src: "sh -c 'apt-get update && rm -rf /var/lib/apt'\nbash -euo pipefail -c \"mkdir -p /x\"\nbash ./step.sh arg\nsh -c \"$CMD\"\nbusybox sh -c 'wget -q x'",
			want: ShellScan{Commands: []string{"sh", "apt-get", "rm", "bash", "mkdir", "busybox", "wget"}, Sourced: []ShellSource{{Path: "./step.sh"}}}, dyn: 1},
		{name: "eval", src: "eval 'uptime; free -m'\neval \"$(ssh-agent -s)\"",
			want: ShellScan{Commands: []string{"uptime", "free", "ssh-agent"}}, dyn: 1},
		{name: "keywords and builtins are not programs", src: "time -p true; cd /; export A=1; local x; read y; wait; kill 1; printf x; { :; }",
			want: ShellScan{}},
		{name: "keyword only at command position", src: "echo if then; grep done file", want: ShellScan{Commands: []string{"grep"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scanShell(tc.src)
			if len(got.Dynamic) != tc.dyn {
				t.Errorf("Dynamic = %q, want %d notes", got.Dynamic, tc.dyn)
			}
			got.Dynamic = nil
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("scanShell(%q) (-want +got):\n%s", tc.src, d)
			}
		})
	}
}

func TestScanShellDynamicNote(t *testing.T) {
	got := scanShell("a\nb\n\"$PROG\" x")
	if len(got.Dynamic) != 1 || !strings.Contains(got.Dynamic[0], "line 3") || !strings.Contains(got.Dynamic[0], `"$PROG"`) {
		t.Errorf("Dynamic = %q, want a note on line 3 naming \"$PROG\"", got.Dynamic)
	}
	got = scanShell("x\ntrap '\n$HANDLER' EXIT")
	if len(got.Dynamic) != 1 || !strings.Contains(got.Dynamic[0], "line 3") {
		t.Errorf("Dynamic = %q, want a note on line 3", got.Dynamic)
	}
}

func TestWrappedCommand(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want int
	}{
		{[]string{"/usr/bin/tini", "--", "/entry.sh", "x"}, 2},
		{[]string{"tini", "-g", "prog"}, 2},
		{[]string{"gosu", "app", "prog", "-x"}, 2},
		{[]string{"/usr/sbin/runuser", "-u", "app", "--", "prog"}, 4},
		{[]string{"runuser", "app", "-c", "prog"}, -1},
		{[]string{"env", "A=1", "prog"}, 2},
		{[]string{"gosu", "app"}, -1},
		{[]string{"nginx", "-g", "x"}, -1},
	} {
		if got := wrappedCommand(tc.argv); got != tc.want {
			t.Errorf("wrappedCommand(%q) = %d, want %d", tc.argv, got, tc.want)
		}
	}
}

// TestScanShellLarge: a huge or hostile script is read up to the cap, in
// time linear in what is read.
func TestScanShellLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("10 scans of 100 MB")
	}
	for name, unit := range map[string]string{
		"commands":       "cmd$RANDOM a | b && c; `d` $(e) <<EOF\nx\nEOF\n",
		"open subst":     "$(",
		"open backquote": "`\\`",
		"open brace":     "${",
		"redirections":   ">",
		"exec chain":     "exec ",
		"array":          "a=(",
		"quotes":         "\"'",
		"case":           "case x in ",
		"traps":          "trap 'trap \"x\" EXIT' EXIT\n",
	} {
		src := strings.Repeat(unit, 100<<20/len(unit))
		start := time.Now()
		sc := scanShell(src)
		t.Logf("%s: %v", name, time.Since(start))
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: scanning 100 MB took %v", name, d)
		}
		if !sc.Truncated {
			t.Errorf("%s: a 100 MB script is not reported truncated", name)
		}
	}
}

func FuzzScanShell(f *testing.F) {
	for _, s := range []string{
		"exec \"$@\"", "trap 'rm -f x' EXIT", "f() { g | h; }", "case $1 in -*) set -- p \"$@\";; esac",
		"cat <<EOF\n$(x)\nEOF\n", "a=$(b `c` \"$(d)\")", "x=(1 $(y) 3)", "[[ a < b ]] && c", "$'\\x41'",
		"for ((;;)); do :; done", "find . -exec sh -c 'x' \\;", "exec gosu u \"$@\"", ". \"$(dirname \"$0\")/l.sh\"",
		"${a:-$(b)}", "<(a) >(b)", "@(x|y)", "\\\n", "'", "\"", "`", "$(", "((", "case", "function",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		sc := scanShell(src)
		for _, c := range sc.Commands {
			if c == "" || shellBuiltins[c] && c != "echo" {
				t.Errorf("command %q reported", c)
			}
		}
	})
}

// entrypointImage adds an official-style entrypoint, its library and the
// programs it uses to image().
func entrypointImage() *rootfs.Mem {
	m := image()
	exe := elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}, Flags1: 0x08000000})
	for _, p := range []string{"/usr/bin/gosu", "/usr/bin/rm", "/usr/bin/tini", "/usr/bin/numactl", "/usr/bin/daemond", "/usr/bin/unused"} {
		m.AddFile(p, 0o755, exe)
	}
	m.AddFile("/usr/local/bin/docker-entrypoint.sh", 0o755, []byte(`#!/bin/bash
set -e
. "$(dirname "$0")/lib/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v numactl >/dev/null && type jemalloc-config >/dev/null 2>&1; then :; fi
if [ "${1#-}" != "$1" ]; then
	set -- daemond "$@"
fi
setup() { jq -r .x /data/in.json | sed s/a/b/; }
setup
handoff "$@"
`))
	m.AddFile("/usr/local/bin/lib/common.sh", 0o644, []byte("handoff() {\n\texec gosu nobody \"$@\"\n}\n"))
	m.AddFile("/usr/local/bin/plain.sh", 0o755, []byte("#!/bin/sh\necho \"$1\" > /tmp/x\n"))
	return m
}

// computeOn computes the closure of c on the image m, without rules.
func computeOn(t *testing.T, m *rootfs.Mem, c v1.Config) *Result {
	t.Helper()
	res, err := Compute(m.View(), c, Options{Rules: []knowledge.Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestEntrypointHandsOffToItsArguments(t *testing.T) {
	c := cfg("docker-entrypoint.sh")
	c.Cmd = []string{"app", "/etc/app.conf"}
	res := computeOn(t, entrypointImage(), c)
	for _, p := range []string{
		"/usr/local/bin/docker-entrypoint.sh", "/usr/bin/bash", "/usr/local/bin/lib/common.sh", "/usr/bin/gosu",
		"/usr/bin/rm", "/usr/bin/jq", "/usr/bin/sed", "/usr/bin/numactl", "/usr/bin/daemond",
		"/usr/bin/app", "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2", "/etc/app.conf",
	} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if !cmp.Equal(res.Users, []string{"nobody"}) {
		t.Errorf("users = %v, want the account gosu switches to", res.Users)
	}
	if res.Set.Has("/usr/bin/unused") {
		t.Error("a program the script never names is kept")
	}
	if got := res.Set.Why("/usr/bin/app")[0].Reason; got.Kind != keptset.KindShell || got.From != "/usr/local/bin/docker-entrypoint.sh" || !strings.Contains(got.Detail, `exec "$@"`) {
		t.Errorf("app reason = %+v, want the script's hand-off", got)
	}
	if got := res.Set.Why("/usr/bin/gosu")[0].Reason; got.From != "/usr/local/bin/lib/common.sh" {
		t.Errorf("gosu reason = %+v, want the sourced file", got)
	}
	for _, n := range res.Notes {
		if strings.Contains(n, "jemalloc-config") || strings.Contains(n, "setup") || strings.Contains(n, "handoff") {
			t.Errorf("note about a probe or a function: %s", n)
		}
	}
}

func TestEntrypointWithoutHandOff(t *testing.T) {
	c := cfg("plain.sh")
	c.Cmd = []string{"app", "/etc/app.conf"}
	res := computeOn(t, entrypointImage(), c)
	if res.Set.Has("/usr/bin/app") {
		t.Error("a script that does not run its arguments keeps its first argument as a program")
	}
	if !res.Set.Has("/etc/app.conf") {
		t.Error("a file named by an argument is not kept")
	}
}

func TestExecFormWrappers(t *testing.T) {
	c := cfg("/usr/bin/tini", "--", "docker-entrypoint.sh", "--verbose")
	res := computeOn(t, entrypointImage(), c)
	for _, p := range []string{"/usr/bin/tini", "/usr/local/bin/docker-entrypoint.sh", "/usr/bin/gosu", "/usr/bin/daemond"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if got := res.Set.Why("/usr/local/bin/docker-entrypoint.sh")[0].Reason; got.From != "/usr/bin/tini" {
		t.Errorf("entrypoint script reason = %+v, want run by tini", got)
	}
}

func TestSourcedFilesAreFoundLikeTheShellDoes(t *testing.T) {
	m := entrypointImage()
	m.AddFile("/usr/local/bin/run2.sh", 0o755, []byte("#!/bin/sh\n. helpers.sh\n. ./conf.sh\n. nowhere.sh\nhelper_fn\n"))
	m.AddFile("/usr/bin/helpers.sh", 0o644, []byte("helper_fn() { rm -f /tmp/x; }\n"))
	m.AddFile("/srv/conf.sh", 0o644, []byte("jq . /data/in.json\n"))
	m.AddFile("/usr/local/bin/conf.sh", 0o644, []byte("sed 1d\n"))
	c := cfg("run2.sh")
	c.WorkingDir = "/srv"
	res := computeOn(t, m, c)
	for _, p := range []string{"/usr/bin/helpers.sh", "/usr/bin/rm", "/srv/conf.sh", "/usr/bin/jq"} {
		if !res.Set.Has(p) {
			t.Errorf("%s not kept", p)
		}
	}
	if res.Set.Has("/usr/local/bin/conf.sh") || res.Set.Has("/usr/bin/sed") {
		t.Error("./conf.sh is read relative to the working directory, not the script's")
	}
	var notes string
	for _, n := range res.Notes {
		notes += n + "\n"
	}
	if !strings.Contains(notes, "nowhere.sh") || strings.Contains(notes, "helper_fn") {
		t.Errorf("notes = %s, want the missing sourced file and not the sourced function", notes)
	}
}
