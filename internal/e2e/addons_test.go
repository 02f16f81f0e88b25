package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/testimages"
)

// waitHealth waits until container id's health status is want (at most
// limit) and returns the statuses seen.
func waitHealth(t *testing.T, id, want string, limit time.Duration) []string {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(limit)
	for {
		st := strings.TrimSpace(testimages.Docker(t, "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", id))
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st == want {
			return seen
		}
		if time.Now().After(deadline) {
			log := testimages.Docker(t, "inspect", "-f", "{{json .State.Health}}", id)
			t.Fatalf("health never %q in %s (seen %q): %s", want, limit, seen, log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// topRow is one process of docker top.
type topRow struct{ pid, ppid, stat, comm string }

// top lists the container's processes as the host's ps sees them.
func top(t *testing.T, id string) []topRow {
	t.Helper()
	out := testimages.Docker(t, "top", id, "-eo", "pid,ppid,stat,comm")
	var rows []topRow
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 4 {
			continue
		}
		rows = append(rows, topRow{f[0], f[1], f[2], strings.Join(f[3:], " ")})
	}
	return rows
}

// zombieChildren returns the /proc/PID/stat lines of the zombie children
// of container id's PID 1. docker top cannot show them: a process that has
// exited leaves its cgroup, so the host's /proc is read (the daemon is
// local; the test skips otherwise).
func zombieChildren(t *testing.T, id string) []string {
	t.Helper()
	pid := strings.TrimSpace(testimages.Docker(t, "inspect", "-f", "{{.State.Pid}}", id))
	if _, err := os.Stat("/proc/" + pid); err != nil || pid == "0" {
		t.Skipf("container %s's PID 1 (%s) not in this host's /proc: %v", id, pid, err)
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var z []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // ended meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fl := strings.Fields(s[i+1:])
		if len(fl) > 1 && fl[0] == "Z" && fl[1] == pid {
			z = append(z, strings.TrimSpace(s[:i+1]))
		}
	}
	return z
}

// stop runs docker stop (10 s before SIGKILL) and returns how long it took
// and the container's exit code.
func stop(t *testing.T, id string) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	testimages.Docker(t, "stop", "-t", "10", id)
	d := time.Since(start)
	var code int
	if err := json.Unmarshal([]byte(testimages.Docker(t, "inspect", "-f", "{{.State.ExitCode}}", id)), &code); err != nil {
		t.Fatal(err)
	}
	return d, code
}

// TestAddHealthcheckInit pares nginx with pare's health check and init:
// Docker reports the container healthy through /.pare/healthcheck, a
// failing URL is unhealthy, pare-init is PID 1 with nginx below it, and
// docker stop (nginx's STOPSIGNAL SIGQUIT, forwarded) ends it promptly.
func TestAddHealthcheckInit(t *testing.T) {
	p := buildPared(t, "nginx", "addons", "--add-healthcheck", "http://127.0.0.1:8080/healthz",
		"--healthcheck-interval", "1s", "--healthcheck-retries", "2", "--add-init")
	ic, orig := inspect(t, p.tag), inspect(t, p.orig)
	if want := append([]string{"/.pare/init", "--"}, orig.Config.Entrypoint...); !slices.Equal(ic.Config.Entrypoint, want) {
		t.Errorf("Entrypoint %q, want %q", ic.Config.Entrypoint, want)
	}
	if !slices.Equal(ic.Config.Cmd, orig.Config.Cmd) {
		t.Errorf("Cmd %q, want the original %q", ic.Config.Cmd, orig.Config.Cmd)
	}
	hc := testimages.Docker(t, "image", "inspect", "-f", "{{json .Config.Healthcheck}}", p.tag)
	if !strings.Contains(hc, `"/.pare/healthcheck"`) || !strings.Contains(hc, "http://127.0.0.1:8080/healthz") {
		t.Fatalf("Healthcheck %s", hc)
	}
	ls := p.listing(t)
	for _, f := range []string{"/.pare/init", "/.pare/healthcheck"} {
		e, ok := ls[f]
		if !ok || e.Type != "file" && e.Type != "reg" || e.Size == 0 || e.Size > 3<<20 {
			t.Errorf("%s: %+v (present %v)", f, e, ok)
		}
	}
	id := testimages.RunServer(t, p.tag, testimages.Ports["nginx"])
	seen := waitHealth(t, id, "healthy", 30*time.Second)
	t.Logf("health: %q", seen)
	// the program itself, inside the pared image (no shell, no curl)
	if out, err := exec.Command("docker", "exec", id, "/.pare/healthcheck", "http://127.0.0.1:8080/no-such-page").CombinedOutput(); err == nil {
		t.Errorf("a 404 was healthy: %s", out)
	} else if !strings.Contains(string(out), "404") {
		t.Errorf("health check output %q, want the 404", out)
	}
	rows := top(t, id)
	if len(rows) < 2 || rows[0].comm != "init" {
		t.Fatalf("processes %+v, want init first", rows)
	}
	nginx := 0
	for _, r := range rows[1:] {
		if strings.HasPrefix(r.comm, "nginx") {
			nginx++
		}
		if r.ppid == rows[0].pid && !strings.HasPrefix(r.comm, "nginx") {
			t.Errorf("unexpected child of init: %+v", r)
		}
	}
	if nginx == 0 {
		t.Errorf("no nginx process: %+v", rows)
	}
	d, code := stop(t, id)
	t.Logf("docker stop: %s, exit %d", d, code)
	if d > 5*time.Second {
		t.Errorf("docker stop took %s: the stop signal did not reach nginx", d)
	}
	if code != 0 {
		t.Errorf("exit code %d after SIGQUIT, want nginx's 0", code)
	}
}

// TestAddInitReapsOrphans runs a program that leaves an orphan (a
// subshell's background sleep whose parent exits) pared with and without
// --add-init: without it the orphan stays a zombie of PID 1 (sleep, which
// never waits); with it, none remains, and docker
// stop ends the container at once (SIGTERM reaches sleep through init,
// which exits 128+15).
func TestAddInitReapsOrphans(t *testing.T) {
	base := testimages.Require(t, "base")
	entry := `["/bin/sh","-c","(sleep 1 &); exec sleep 1000"]`
	plain := buildFrom(t, base, "orphan", "plain", "--entrypoint", entry)
	withInit := buildFrom(t, base, "orphan", "init", "--entrypoint", entry, "--add-init")
	zombies := func(tag string) ([]string, string) {
		id := strings.TrimSpace(testimages.Docker(t, "run", "-d", "--network", "none", tag))
		t.Cleanup(func() { _, _ = testimages.DockerErr(context.Background(), "rm", "-f", id) })
		time.Sleep(3 * time.Second) // the orphan has ended
		return zombieChildren(t, id), id
	}
	z, _ := zombies(plain.tag)
	if len(z) == 0 {
		t.Fatalf("without init no zombie: the orphan test does not make one")
	}
	t.Logf("without --add-init: zombies %+v", z)
	z, id := zombies(withInit.tag)
	if len(z) != 0 {
		t.Errorf("with --add-init: zombies %+v", z)
	}
	d, code := stop(t, id)
	t.Logf("docker stop: %s, exit %d", d, code)
	if d > 5*time.Second {
		t.Errorf("docker stop took %s", d)
	}
	if code != 128+15 {
		t.Errorf("exit code %d, want 143 (sleep killed by the forwarded SIGTERM)", code)
	}
}
