package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/cli"
	"github.com/pare-dev/pare/internal/debugger"
	"github.com/pare-dev/pare/internal/testimages"
	parelib "github.com/pare-dev/pare/pkg/pare"
)

// debug runs pare debug in process with ctx (no --quiet: it would be
// taken as part of the command after --).
func debug(ctx context.Context, args ...string) batchRun {
	var stdout, stderr bytes.Buffer
	code := cli.Execute(ctx, append([]string{"debug"}, args...), &stdout, &stderr)
	return batchRun{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// toolboxes lists the toolbox containers left for target.
func toolboxes(t *testing.T, target string) string {
	t.Helper()
	return strings.TrimSpace(testimages.Docker(t, "ps", "-aq", "--filter", "label="+debugger.TargetLabel+"="+target))
}

// TestDebugPared attaches a toolbox to a running pared nginx (which runs
// as www-data): the toolbox is the original image, named by the pared
// image's labels, runs as the target's uid:gid, lists nginx's processes
// and reads the pared image's files through /proc/1/root; the command's
// exit code is pare's; --ptrace runs it as root with CAP_SYS_PTRACE; the
// toolbox is removed after each run and on cancellation.
func TestDebugPared(t *testing.T) {
	p := buildPared(t, "nginx", "pared")
	var labels map[string]string
	if err := json.Unmarshal([]byte(testimages.Docker(t, "image", "inspect", "-f", "{{json .Config.Labels}}", p.tag)), &labels); err != nil {
		t.Fatal(err)
	}
	origID := strings.TrimSpace(testimages.Docker(t, "image", "inspect", "-f", "{{.Id}}", p.orig))
	if labels[parelib.SourceIDLabel] != origID || labels[parelib.SourceImageLabel] != "docker-daemon:"+p.orig {
		t.Fatalf("pared image labels %v, want the source %s (%s)", labels, p.orig, origID)
	}
	id := testimages.RunServer(t, p.tag, 8080)
	user := strings.TrimSpace(testimages.Docker(t, "inspect", "-f", "{{.Config.User}}", id))
	if user == "" || user == "0" || strings.HasPrefix(user, "0:") {
		t.Fatalf("the pared nginx runs as %q: the test needs a non-root target", user)
	}
	ctx := t.Context()

	// processes
	r := debug(ctx, id, "--", "sh", "-c", `for d in /proc/[0-9]*; do echo "${d#/proc/} $(cat $d/comm)"; done`)
	if r.Code != 0 {
		t.Fatalf("pare debug -- (list processes): exit %d\n%s", r.Code, r.Stderr)
	}
	t.Logf("pare debug stderr:\n%s", r.Stderr)
	if !strings.Contains(r.Stderr, "the toolbox runs as the target's user "+user+":") || !strings.Contains(r.Stderr, origID[len("sha256:"):][:12]) {
		t.Errorf("stderr does not name the target's user %s and the source %s:\n%s", user, origID, r.Stderr)
	}
	var nginx []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if pid, comm, _ := strings.Cut(line, " "); comm == "nginx" {
			nginx = append(nginx, pid)
		}
	}
	var want int
	for _, row := range top(t, id) {
		if row.comm == "nginx" {
			want++
		}
	}
	if want == 0 || len(nginx) != want || nginx[0] != "1" {
		t.Errorf("the toolbox sees nginx processes %v, docker top shows %d (PID 1 first); all:\n%s", nginx, want, r.Stdout)
	}

	// files of the target's root, as in the pared image
	for _, f := range []string{"/etc/nginx/nginx.conf", "/etc/passwd"} {
		r := debug(ctx, id, "--", "cat", "/proc/1/root"+f)
		if want := copyFile(t, p.tag, f); r.Code != 0 || r.Stdout != want {
			t.Errorf("pare debug -- cat /proc/1/root%s: exit %d, %q; the pared image has %q\n%s", f, r.Code, r.Stdout, want, r.Stderr)
		}
	}

	// the toolbox has the shell the pared image lacks; exit codes pass through
	if r := debug(ctx, id, "--", "sh", "-c", `test -x /bin/sh && test -d "$PARE_TARGET_ROOT/etc/nginx" && ! test -e "$PARE_TARGET_ROOT/bin/sh"`); r.Code != 0 {
		t.Errorf("toolbox shell, target without one: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := debug(ctx, id, "--", "sh", "-c", "exit 7"); r.Code != 7 {
		t.Errorf("pare debug -- sh -c 'exit 7': exit %d\n%s", r.Code, r.Stderr)
	}

	// --ptrace: root with exactly CAP_SYS_PTRACE added
	r = debug(ctx, id, "--ptrace", "--", "sh", "-c", `id -u; grep CapEff /proc/self/status; head -c 0 /proc/1/root/etc/nginx/nginx.conf`)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "0\n") || !strings.Contains(r.Stderr, "CAP_SYS_PTRACE") {
		t.Errorf("--ptrace: exit %d, %q\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if m := regexp.MustCompile(`CapEff:\s*([0-9a-f]+)`).FindStringSubmatch(r.Stdout); m == nil || !hasCap(m[1], 19) {
		t.Errorf("--ptrace: effective capabilities %q lack CAP_SYS_PTRACE (19)", r.Stdout)
	}
	if left := toolboxes(t, id); left != "" {
		t.Errorf("toolbox containers left: %s", left)
	}

	// cancellation (Ctrl-C) removes the toolbox
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan batchRun)
	go func() { done <- debug(cctx, id, "--", "sleep", "60") }()
	deadline := time.Now().Add(30 * time.Second)
	for toolboxes(t, id) == "" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case r := <-done:
		if r.Code == 0 {
			t.Errorf("cancelled pare debug exited 0")
		}
	case <-time.After(40 * time.Second):
		t.Fatal("cancelled pare debug did not return")
	}
	if left := toolboxes(t, id); left != "" {
		t.Errorf("toolbox containers left after cancellation: %s", left)
	}
}

// hasCap reports whether the hex capability mask has bit n.
func hasCap(mask string, n uint) bool {
	var v uint64
	for _, c := range mask {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint64(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint64(c-'a') + 10
		}
	}
	return v&(1<<n) != 0
}

// TestDebugNoToolbox: a container whose image pare did not build names no
// source; without --image pare debug says so, and a toolbox that is not
// in the engine is not pulled.
func TestDebugNoToolbox(t *testing.T) {
	orig := testimages.Require(t, "nginx")
	id := strings.TrimSpace(testimages.Docker(t, "run", "-d", "--network", "none", orig))
	t.Cleanup(func() { _, _ = testimages.DockerErr(context.Background(), "rm", "-f", id) })
	r := debug(t.Context(), id, "--", "true")
	if r.Code != cli.ExitFailure || !strings.Contains(r.Stderr, "has no "+parelib.SourceImageLabel+" label") || !strings.Contains(r.Stderr, "--image") {
		t.Errorf("pare debug of an image without labels: exit %d\n%s", r.Code, r.Stderr)
	}
	r = debug(t.Context(), id, "--image", "pare-e2e/no-such-toolbox:none", "--", "true")
	if r.Code != cli.ExitFailure || !strings.Contains(r.Stderr, "pare-e2e/no-such-toolbox:none is not in the local engine") {
		t.Errorf("pare debug --image of a missing image: exit %d\n%s", r.Code, r.Stderr)
	}
	// the same image as a toolbox works
	r = debug(t.Context(), id, "--image", orig, "--", "cat", "/proc/1/root/etc/hostname")
	if r.Code != 0 || r.Stdout != strings.TrimSpace(testimages.Docker(t, "inspect", "-f", "{{.Config.Hostname}}", id))+"\n" {
		t.Errorf("pare debug --image %s -- cat /proc/1/root/etc/hostname: exit %d, %q\n%s", orig, r.Code, r.Stdout, r.Stderr)
	}
	if left := toolboxes(t, id); left != "" {
		t.Errorf("toolbox containers left: %s", left)
	}
}
