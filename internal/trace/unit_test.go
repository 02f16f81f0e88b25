package trace

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/probe"
	"github.com/pare-dev/pare/internal/sensor"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
# comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:app:/home/app:/bin/sh
nohome:x:1001:1001:::/bin/sh
broken line
`

const testGroup = `root:x:0:
daemon:x:1:
app:x:1000:
staff:x:50:app,daemon
docker:x:999:app
nohome:x:1001:
`

func TestResolveUser(t *testing.T) {
	tests := []struct {
		user string
		want Identity
		err  string
	}{
		{"", Identity{UID: 0, GID: 0, Home: "/root"}, ""},
		{"root", Identity{UID: 0, GID: 0, Home: "/root"}, ""},
		{"app", Identity{UID: 1000, GID: 1000, Groups: []int{50, 999}, Home: "/home/app"}, ""},
		{"1000", Identity{UID: 1000, GID: 1000, Groups: []int{50, 999}, Home: "/home/app"}, ""},
		{"app:staff", Identity{UID: 1000, GID: 50, Home: "/home/app"}, ""},
		{"app:4242", Identity{UID: 1000, GID: 4242, Home: "/home/app"}, ""},
		{"1001", Identity{UID: 1001, GID: 1001, Home: "/"}, ""},
		{"65532", Identity{UID: 65532, GID: 0, Home: "/"}, ""},
		{"65532:65532", Identity{UID: 65532, GID: 65532, Home: "/"}, ""},
		{"nobody", Identity{}, "no matching entry"},
		{"app:nogroup", Identity{}, "no group"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := ResolveUser(tt.user, []byte(testPasswd), []byte(testGroup))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	got, err := ResolveUser("1234:5", nil, nil)
	if err != nil || got.UID != 1234 || got.GID != 5 || got.Home != "/" {
		t.Errorf("without account files: %+v %v", got, err)
	}
}

func TestRunArgv(t *testing.T) {
	im := &engine.Image{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}}
	tests := []struct {
		ep, cmd, want []string
	}{
		{nil, nil, []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}},
		{nil, []string{"nginx", "-t"}, []string{"/docker-entrypoint.sh", "nginx", "-t"}},
		{[]string{"/bin/cat"}, nil, []string{"/bin/cat"}},
		{[]string{"/bin/cat"}, []string{"/etc/os-release"}, []string{"/bin/cat", "/etc/os-release"}},
		{[]string{}, []string{"cat", "/etc/os-release"}, []string{"cat", "/etc/os-release"}},
	}
	for _, tt := range tests {
		if got := runArgv(im, tt.ep, tt.cmd); !slices.Equal(got, tt.want) {
			t.Errorf("runArgv(%q, %q) = %q, want %q", tt.ep, tt.cmd, got, tt.want)
		}
	}
}

func TestPickNetwork(t *testing.T) {
	http := []probe.Probe{&probe.HTTP{Path: "/"}}
	exec := []probe.Probe{&probe.Exec{Argv: []string{"true"}}}
	tests := []struct {
		mode   string
		probes []probe.Probe
		want   string
		err    bool
	}{
		{"", nil, "none", false},
		{"", exec, "none", false},
		{"", http, "host", false},
		{"host", nil, "host", false},
		{"none", http, "", true},
		{"bridge", http, "", true},
		{"bridge", exec, "bridge", false},
		{"container:x", nil, "", true},
		{"", []probe.Probe{&probe.TCP{Port: 5432}}, "host", false},
		{"none", []probe.Probe{&probe.TCP{Port: 5432}}, "", true},
		// a host script implies host networking, unless a network is given
		{"", []probe.Probe{&probe.Script{Argv: []string{"t.sh"}}}, "host", false},
		{"none", []probe.Probe{&probe.Script{Argv: []string{"t.sh"}}}, "none", false},
		{"", []probe.Probe{&probe.Port{Port: 80}}, "host", false},
	}
	for _, tt := range tests {
		got, err := pickNetwork(tt.mode, tt.probes)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("pickNetwork(%q, %d probes) = %q, %v", tt.mode, len(tt.probes), got, err)
		}
	}
}

func TestCommand(t *testing.T) {
	id := Identity{UID: 101, GID: 102}
	got := Command(id, []string{"--mode", "ptrace"}, []string{"nginx", "-g", "daemon off;"})
	want := []string{"/.pare/sensor", "--out", "/.pare/out", "--uid", "101", "--gid", "102", "--mode", "ptrace", "--", "nginx", "-g", "daemon off;"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	id.Groups = []int{5, 6}
	got = ExecCommand(id, []string{"sh", "-c", "ls"})
	want = []string{"/.pare/sensor", "exec", "--out", "/.pare/out", "--uid", "101", "--gid", "102", "--groups", "5,6", "--", "sh", "-c", "ls"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestMerge(t *testing.T) {
	a := &sensor.Observations{Version: 1, Command: []string{"nginx"}, Complete: true, ExitCode: 0, Arch: "amd64",
		Files: []sensor.FileAccess{
			{Path: "/etc/nginx/nginx.conf", Op: "open", OK: true, PID: 1, Count: 1},
			{Path: "/var/cache/nginx/x", Op: "open", Write: true, OK: true, PID: 1, Count: 2},
		},
		Execs:    []sensor.Exec{{PID: 1, Path: "/usr/sbin/nginx", OK: true}},
		Syscalls: []string{"openat", "read"}, UntracedSyscalls: []string{"read", "write"}, Mode: "seccomp",
	}
	b := &sensor.Observations{Version: 1, Command: []string{"sh", "-c", "ls"}, Complete: false, ExitCode: 0, Arch: "amd64",
		Error: "lost",
		Files: []sensor.FileAccess{
			{Path: "/bin/ls", Op: "exec", OK: true, PID: 9, Count: 1},
			{Path: "/etc/nginx/nginx.conf", Op: "open", OK: true, PID: 9, Count: 3},
		},
		Execs:    []sensor.Exec{{PID: 9, Path: "/bin/ls", OK: true}},
		Syscalls: []string{"execve", "openat"},
	}
	m := Merge(a, nil, b)
	want := &sensor.Observations{Version: 1, Command: []string{"nginx"}, Complete: false, ExitCode: 0, Arch: "amd64",
		Error: "lost",
		Files: []sensor.FileAccess{
			{Path: "/bin/ls", Op: "exec", OK: true, PID: 9, Count: 1},
			{Path: "/etc/nginx/nginx.conf", Op: "open", OK: true, PID: 1, Count: 4},
			{Path: "/var/cache/nginx/x", Op: "open", Write: true, OK: true, PID: 1, Count: 2},
		},
		Execs:    []sensor.Exec{{PID: 1, Path: "/usr/sbin/nginx", OK: true}, {PID: 9, Path: "/bin/ls", OK: true}},
		Syscalls: []string{"execve", "openat", "read"}, UntracedSyscalls: []string{"read", "write"}, Mode: "seccomp",
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
	if Merge().Complete {
		t.Error("Merge() of nothing is complete")
	}
}

func TestSeccompProfile(t *testing.T) {
	obs := &sensor.Observations{Arch: "amd64", Syscalls: []string{"accept4", "openat", "syscall_999", "read"}, UntracedSyscalls: []string{"pread64"}}
	data, err := SeccompProfile(obs)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		DefaultAction string
		Architectures []string
		Syscalls      []struct {
			Names    []string
			Action   string
			ErrnoRet *int
		}
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.DefaultAction != "SCMP_ACT_ERRNO" || !slices.Equal(p.Architectures, []string{"SCMP_ARCH_X86_64"}) {
		t.Errorf("header: %+v", p)
	}
	if len(p.Syscalls) != 2 || p.Syscalls[0].Action != "SCMP_ACT_ALLOW" || p.Syscalls[0].ErrnoRet != nil {
		t.Fatalf("rules: %+v", p.Syscalls)
	}
	if r := p.Syscalls[1]; !slices.Equal(r.Names, []string{"clone3"}) || r.Action != "SCMP_ACT_ERRNO" || r.ErrnoRet == nil || *r.ErrnoRet != 38 {
		t.Errorf("clone3 rule: %+v", r)
	}
	names := p.Syscalls[0].Names
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("names not sorted and unique: %q", names)
	}
	for _, want := range []string{"accept4", "openat", "read", "pread64", "execve", "exit_group", "futex", "rt_sigreturn"} {
		if !slices.Contains(names, want) {
			t.Errorf("profile lacks %s", want)
		}
	}
	for _, bad := range []string{"syscall_999", "ptrace", "mount"} {
		if slices.Contains(names, bad) {
			t.Errorf("profile allows %s", bad)
		}
	}
	again, _ := SeccompProfile(obs)
	if string(again) != string(data) {
		t.Error("profile not deterministic")
	}
	withClone3, _ := SeccompProfile(&sensor.Observations{Arch: "arm64", Syscalls: []string{"clone3"}})
	if !strings.Contains(string(withClone3), "SCMP_ARCH_AARCH64") {
		t.Errorf("profile with clone3 seen:\n%s", withClone3)
	}
	if strings.Count(string(withClone3), "errnoRet") != 0 {
		t.Errorf("clone3 seen but still answered with ENOSYS:\n%s", withClone3)
	}
	if _, err := SeccompProfile(&sensor.Observations{Arch: "mips", Syscalls: []string{"read"}}); err == nil {
		t.Error("unknown arch accepted")
	}
	if _, err := SeccompProfile(&sensor.Observations{Arch: "amd64"}); err == nil {
		t.Error("empty syscall list accepted")
	}
}

func TestMountPoint(t *testing.T) {
	for p, want := range map[string]string{
		"/tmp/x":                       "/tmp",
		"/tmp/a/b/c":                   "/tmp",
		"/tmp":                         "/tmp",
		"/run/nginx.pid":               "/run",
		"/var/run/redis.pid":           "/var/run",
		"/var/cache/nginx/client_temp": "/var/cache/nginx",
		"/var/cache/nginx/a/b":         "/var/cache/nginx",
		"/var/lib/postgresql/data/pg":  "/var/lib/postgresql",
		"/var/log/app.log":             "/var/log",
		"/home/app/.cache/x":           "/home/app",
		"/root/.bash_history":          "/root",
		"/app/data/db.sqlite":          "/app/data",
		"/data.db":                     "/",
	} {
		if got := mountPoint(p); got != want {
			t.Errorf("mountPoint(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestWrittenPaths(t *testing.T) {
	fa := func(p, op string, write, ok bool) sensor.FileAccess {
		return sensor.FileAccess{Path: p, Op: op, Write: write, OK: ok, Count: 1}
	}
	obs := &sensor.Observations{Files: []sensor.FileAccess{
		fa("/dev/null", "open", true, true),
		fa("/proc/self/oom_score_adj", "open", true, true),
		fa("/etc/hosts", "open", true, true),
		fa("/.pare/out/x", "open", true, true),
		fa("/etc/nginx/conf.d/default.conf", "open", true, true),
		fa("/etc/nginx/conf.d/ssl.conf", "open", false, true),
		fa("/var/cache/nginx/client_temp", "mkdir", true, true),
		fa("/var/cache/nginx/proxy_temp", "mkdir", true, true),
		fa("/var/cache/nginx/client_temp", "open", false, true),
		fa("/run/nginx.pid", "open", true, true),
		fa("/run/secrets/x", "open", true, false),
		fa("/tmp/a", "open", true, true),
		fa("/tmp/a", "unlink", true, true),
		fa("/readonly", "open", true, false),
	}}
	w := WrittenPaths(obs)
	want := &Writes{
		Paths: []string{"/etc/nginx/conf.d/default.conf", "/run/nginx.pid", "/tmp/a", "/var/cache/nginx/client_temp", "/var/cache/nginx/proxy_temp"},
		Mounts: []TmpfsMount{
			{Path: "/etc/nginx/conf.d", Paths: []string{"/etc/nginx/conf.d/default.conf"}, ImageContent: true},
			{Path: "/run", Paths: []string{"/run/nginx.pid"}},
			{Path: "/tmp", Paths: []string{"/tmp/a"}},
			{Path: "/var/cache/nginx", Paths: []string{"/var/cache/nginx/client_temp", "/var/cache/nginx/proxy_temp"}},
		},
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("WrittenPaths (-want +got):\n%s", diff)
	}
	nested := WrittenPaths(&sensor.Observations{Files: []sensor.FileAccess{
		fa("/app/data/x", "open", true, true),
		fa("/app/data/sub/y", "open", true, true),
	}})
	if len(nested.Mounts) != 1 || nested.Mounts[0].Path != "/app/data" || len(nested.Mounts[0].Paths) != 2 {
		t.Errorf("nested mounts not folded: %+v", nested.Mounts)
	}
	if e := WrittenPaths(nil); len(e.Paths) != 0 || len(e.Mounts) != 0 {
		t.Errorf("nil observations: %+v", e)
	}
}

func TestFileUserResolver(t *testing.T) {
	files := map[string]string{"/etc/passwd": testPasswd}
	r := FileUserResolver(func(p string) ([]byte, error) {
		if d, ok := files[p]; ok {
			return []byte(d), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	})
	id, err := r("app")
	if err != nil || id.UID != 1000 || id.GID != 1000 || len(id.Groups) != 0 {
		t.Errorf("app without /etc/group: %+v, %v", id, err)
	}
	broken := FileUserResolver(func(string) ([]byte, error) { return nil, fs.ErrPermission })
	if _, err := broken("app"); err == nil {
		t.Error("read error ignored")
	}
}
