//go:build linux

package sensor

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) {
	MaybeRunStage2()
	os.Exit(m.Run())
}

var modes = []Mode{ModeSeccomp, ModePtrace}

// buildC compiles testdata/NAME.c to dir/NAME with the host compiler.
func buildC(t testing.TB, dir, name string, extra ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc on this machine")
	}
	out := filepath.Join(dir, name)
	args := append([]string{"-O1", "-o", out, filepath.Join("testdata", name+".c")}, extra...)
	if b, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("compiling %s: %v\n%s", name, err, b)
	}
	return out
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureDir makes DIR with data/ and bin/helper for fileops and goprog.
func fixtureDir(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"in.txt", "thread.txt", "child.txt", "helper.txt", "go0.txt", "go1.txt", "go2.txt", "go3.txt"} {
		writeFile(t, filepath.Join(dir, "data", f), f)
	}
	if err := os.Symlink("in.txt", filepath.Join(dir, "data", "link")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	buildC(t, filepath.Join(dir, "bin"), "helper")
	return dir
}

func trace(t *testing.T, cfg Config) *Observations {
	t.Helper()
	if cfg.Stdout == nil {
		f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cfg.Stdout = f
	}
	tr, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	o := tr.Wait()
	if !o.Complete || o.Error != "" {
		t.Fatalf("observations not complete: %+v", o)
	}
	return o
}

// access is the part of a FileAccess a test can predict.
type access struct {
	Path, Op  string
	Write, OK bool
	Exe       string
}

// under returns the accesses below dir, with dir replaced by "DIR".
func under(o *Observations, dir string) []access {
	var got []access
	for _, f := range o.Files {
		if f.Path == dir || strings.HasPrefix(f.Path, dir+"/") {
			got = append(got, access{
				Path:  "DIR" + strings.TrimPrefix(f.Path, dir),
				Op:    f.Op,
				Write: f.Write,
				OK:    f.OK,
				Exe:   strings.Replace(f.Exe, dir, "DIR", 1),
			})
		}
	}
	return got
}

func TestFileOps(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			dir := fixtureDir(t)
			prog := buildC(t, filepath.Join(dir, "bin"), "fileops", "-pthread")
			o := trace(t, Config{Argv: []string{prog, dir}, Mode: mode})
			if o.ExitCode != 5 {
				t.Errorf("exit code %d, want 5 (from bin/helper)", o.ExitCode)
			}
			const exe = "DIR/bin/fileops"
			want := []access{
				{"DIR", "chdir", false, true, exe},
				{"DIR/bin", "chdir", false, true, exe},
				{"DIR/bin/fileops", "exec", false, true, ""},
				{"DIR/bin/helper", "exec", false, true, exe},
				{"DIR/data", "chdir", false, true, exe},
				{"DIR/data", "open", false, true, exe},
				{"DIR/data/child.txt", "open", false, true, exe},
				{"DIR/data/creat.txt", "open", true, true, exe},
				{"DIR/data/helper.txt", "open", false, true, "DIR/bin/helper"},
				{"DIR/data/how.txt", "open", true, true, exe},
				{"DIR/data/in.txt", "access", false, true, exe},
				{"DIR/data/in.txt", "mmap", false, true, exe},
				{"DIR/data/in.txt", "open", false, true, exe},
				{"DIR/data/in.txt", "stat", false, true, exe},
				{"DIR/data/link", "readlink", false, true, exe},
				{"DIR/data/missing", "stat", false, false, exe},
				{"DIR/data/newdir", "mkdir", true, true, exe},
				{"DIR/data/newdir", "unlink", true, true, exe},
				{"DIR/data/out.txt", "open", true, true, exe},
				{"DIR/data/out.txt", "rename", true, true, exe},
				{"DIR/data/renamed.txt", "rename", true, true, exe},
				{"DIR/data/renamed.txt", "unlink", true, true, exe},
				{"DIR/data/thread.txt", "open", false, true, exe},
				{"DIR/nowhere", "chdir", false, false, exe},
			}
			if diff := cmp.Diff(want, under(o, dir)); diff != "" {
				t.Errorf("accesses under DIR (-want +got):\n%s", diff)
			}

			if len(o.Execs) != 2 {
				t.Fatalf("execs: %+v", o.Execs)
			}
			main, helper := o.Execs[0], o.Execs[1]
			if main.Path != prog || !slices.Equal(main.Argv, []string{prog, dir}) || !main.OK || main.PPID != os.Getpid() {
				t.Errorf("first exec %+v", main)
			}
			if helper.Path != filepath.Join(dir, "bin", "helper") || !slices.Equal(helper.Argv, []string{"./helper", "arg1"}) ||
				!helper.OK || helper.PPID != main.PID || helper.PID == main.PID {
				t.Errorf("helper exec %+v", helper)
			}
			pids := map[string]int{}
			for _, f := range o.Files {
				pids[strings.TrimPrefix(f.Path, dir)+" "+f.Op] = f.PID
			}
			if pids["/data/thread.txt open"] != main.PID {
				t.Errorf("thread's open recorded for pid %d, want the process %d", pids["/data/thread.txt open"], main.PID)
			}
			if p := pids["/data/child.txt open"]; p == main.PID || p == 0 {
				t.Errorf("child's open recorded for pid %d, want a child of %d", p, main.PID)
			}
			if pids["/data/helper.txt open"] != helper.PID {
				t.Errorf("helper's open recorded for pid %d, want %d", pids["/data/helper.txt open"], helper.PID)
			}
			for _, name := range []string{"execve", "openat", "mkdirat", "unlinkat", "fchdir", "chdir", "mmap", "readlinkat"} {
				if !slices.Contains(o.Syscalls, name) {
					t.Errorf("syscall %s not in %v", name, o.Syscalls)
				}
			}
			// write(2) is a hot call: seen only when every call stops.
			if got := slices.Contains(o.Syscalls, "write"); got != (mode == ModePtrace) {
				t.Errorf("mode %s: write in syscalls = %v", mode, got)
			}
			if got := slices.Contains(o.UntracedSyscalls, "write"); got != (mode == ModeSeccomp) {
				t.Errorf("mode %s: write in untraced syscalls = %v", mode, got)
			}
		})
	}
}

func TestGoProgram(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			dir := fixtureDir(t)
			prog := filepath.Join(t.TempDir(), "goprog")
			build := exec.Command("go", "build", "-o", prog, "./testdata/goprog")
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building goprog: %v\n%s", err, b)
			}
			o := trace(t, Config{Argv: []string{prog, dir}, Mode: mode})
			if o.ExitCode != 5 {
				t.Errorf("exit code %d, want 5", o.ExitCode)
			}
			want := []access{
				{"DIR/bin", "chdir", false, true, prog},
				{"DIR/bin/helper", "exec", false, true, prog},
				{"DIR/data/go-out.txt", "open", true, true, prog},
				{"DIR/data/go0.txt", "open", false, true, prog},
				{"DIR/data/go1.txt", "open", false, true, prog},
				{"DIR/data/go2.txt", "open", false, true, prog},
				{"DIR/data/go3.txt", "open", false, true, prog},
				{"DIR/data/helper.txt", "open", false, true, "DIR/bin/helper"},
			}
			got := under(o, dir)
			// Go may stat the program before running it; not part of the test.
			got = slices.DeleteFunc(got, func(a access) bool { return a.Op == "stat" })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("accesses under DIR (-want +got):\n%s", diff)
			}
			var argv [][]string
			for _, e := range o.Execs {
				argv = append(argv, e.Argv)
			}
			if diff := cmp.Diff([][]string{{prog, dir}, {"./helper", "fromgo"}}, argv); diff != "" {
				t.Errorf("exec argv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			for _, tc := range []struct {
				script string
				code   int
				signal string
			}{
				{"exit 0", 0, ""},
				{"exit 3", 3, ""},
				{"kill -KILL $$", 137, "SIGKILL"},
				{"kill -SEGV $$", 139, "SIGSEGV"},
			} {
				o := trace(t, Config{Argv: []string{"/bin/sh", "-c", tc.script}, Mode: mode})
				if o.ExitCode != tc.code || o.Signal != tc.signal {
					t.Errorf("%q: exit %d %q, want %d %q", tc.script, o.ExitCode, o.Signal, tc.code, tc.signal)
				}
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	o := trace(t, Config{Argv: []string{"no-such-program-pare"}, Env: []string{"PATH=/nonexistent"}})
	if o.ExitCode != 127 {
		t.Errorf("missing program: exit %d, want 127", o.ExitCode)
	}
	if _, err := Start(Config{}); err == nil {
		t.Error("Start with no argv: no error")
	}
	if _, err := Start(Config{Argv: []string{"/bin/true"}, Mode: "fast"}); err == nil {
		t.Error("Start with a bad mode: no error")
	}
}

func TestSignalForwarding(t *testing.T) {
	bin := buildC(t, t.TempDir(), "signals")
	for _, mode := range modes {
		for _, tc := range []struct {
			arg    string
			sig    syscall.Signal
			code   int
			signal string
		}{
			{"handle", syscall.SIGTERM, 42, ""},
			{"handle", syscall.SIGUSR1, 43, ""},
			{"default", syscall.SIGTERM, 128 + 15, "SIGTERM"},
			{"default", syscall.SIGHUP, 128 + 1, "SIGHUP"},
		} {
			t.Run(string(mode)+"/"+tc.arg+"/"+tc.sig.String(), func(t *testing.T) {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				tr, err := Start(Config{Argv: []string{bin, tc.arg}, Mode: mode, Stdout: w})
				w.Close()
				if err != nil {
					t.Fatal(err)
				}
				line, err := bufio.NewReader(r).ReadString('\n')
				if line != "ready\n" {
					t.Fatalf("program said %q, %v", line, err)
				}
				if err := tr.Signal(tc.sig); err != nil {
					t.Fatal(err)
				}
				o := tr.Wait()
				if o.ExitCode != tc.code || o.Signal != tc.signal {
					t.Errorf("exit %d %q, want %d %q", o.ExitCode, o.Signal, tc.code, tc.signal)
				}
			})
		}
	}
}

func TestObservationsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), ObservationsFile)
	o := &Observations{Version: FormatVersion, Command: []string{"x"}, Complete: true,
		Files: []FileAccess{{Path: "/a", Op: OpOpen, OK: true, PID: 1, Count: 2}},
		Execs: []Exec{{PID: 1, Path: "/x", Argv: []string{"x"}, OK: true}}, Syscalls: []string{"read"}}
	if err := WriteObservations(path, o); err != nil {
		t.Fatal(err)
	}
	got, err := ReadObservations(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	o.Version = 99
	WriteObservations(path, o)
	if _, err := ReadObservations(path); err == nil {
		t.Error("version 99 accepted")
	}
}

// TestScriptExec: the kernel opens a script's interpreter and the ELF
// interpreter without a system call; the sensor records them at the exec.
func TestScriptExec(t *testing.T) {
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	writeFile(t, script, "#!/bin/sh\nexit 6\n")
	os.Chmod(script, 0o755)
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			o := trace(t, Config{Argv: []string{script}, Mode: mode})
			if o.ExitCode != 6 {
				t.Errorf("exit %d, want 6", o.ExitCode)
			}
			if len(o.Execs) != 1 || o.Execs[0].Path != script {
				t.Errorf("execs %+v", o.Execs)
			}
			has := func(path, op, exe string) bool {
				return slices.ContainsFunc(o.Files, func(f FileAccess) bool {
					return f.Path == path && f.Op == op && f.Exe == exe && f.OK
				})
			}
			if !has(script, OpExec, "") || !has(sh, OpExec, "") {
				t.Errorf("exec of %s and %s not recorded: %+v", script, sh, o.Files)
			}
			if !slices.ContainsFunc(o.Files, func(f FileAccess) bool {
				return f.Op == OpMmap && f.Exe == sh && strings.Contains(f.Path, "/ld-")
			}) {
				t.Errorf("the ELF interpreter mapped by the kernel is not recorded: %+v", o.Files)
			}
		})
	}
}

// TestExecFromThread: a Go program executes from a non-leader thread, so
// the thread id changes to the process id at the exec.
func TestExecFromThread(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "goexec")
	build := exec.Command("go", "build", "-o", prog, "./testdata/goexec")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building goexec: %v\n%s", err, b)
	}
	file := filepath.Join(dir, "in.txt")
	writeFile(t, file, "x")
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			o := trace(t, Config{Argv: []string{prog, file}, Mode: mode})
			if o.ExitCode != 0 {
				t.Errorf("exit %d, want 0", o.ExitCode)
			}
			var got [][]string
			for _, e := range o.Execs {
				got = append(got, e.Argv)
			}
			want := [][]string{{prog, file}, {"sh", "-c", "cat " + file}, {"cat", file}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("exec argv (-want +got):\n%s", diff)
			}
			if o.Execs[1].PID != o.Execs[0].PID || o.Execs[1].Path != "/bin/sh" {
				t.Errorf("exec from a thread: %+v, want pid %d", o.Execs[1], o.Execs[0].PID)
			}
			if !slices.ContainsFunc(o.Files, func(f FileAccess) bool {
				return f.Path == file && f.Op == OpOpen && f.OK && f.PID == o.Execs[2].PID
			}) {
				t.Errorf("cat's open of %s not recorded", file)
			}
		})
	}
}

func TestMetadataChanges(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "in.txt"), "data")
			prog := buildC(t, t.TempDir(), "metaops")
			o := trace(t, Config{Argv: []string{prog, dir}, Mode: mode})
			if o.ExitCode != 0 {
				t.Fatalf("exit %d", o.ExitCode)
			}
			got := under(o, dir)
			// xattr support depends on the file system: keep the op only.
			for i := range got {
				if got[i].Op == OpXattr {
					got[i].OK = false
				}
			}
			want := []access{
				{"DIR", "chdir", false, true, prog},
				{"DIR", "stat", false, true, prog},
				{"DIR/fifo", "mknod", true, true, prog},
				{"DIR/hard", "link", true, true, prog},
				{"DIR/hard", "truncate", true, true, prog},
				{"DIR/in.txt", "chmod", true, true, prog},
				{"DIR/in.txt", "chown", true, true, prog},
				{"DIR/in.txt", "link", false, true, prog},
				{"DIR/in.txt", "open", false, true, prog},
				{"DIR/in.txt", "utime", true, true, prog},
				{"DIR/in.txt", "xattr", false, false, prog},
				{"DIR/sock", "bind", true, true, prog},
				{"DIR/sock", "connect", false, true, prog},
				{"DIR/sym", "symlink", true, true, prog},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("accesses under DIR (-want +got):\n%s", diff)
			}
		})
	}
}
