package engine_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/engine/enginetest"
)

func TestDockerInspectImage(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	im, err := d.InspectImage(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := im.Argv(); !slices.Equal(got, []string{"/testtool", "sleep", "60s"}) {
		t.Errorf("argv = %q", got)
	}
	if im.User != "app" || im.WorkingDir != "/tmp" {
		t.Errorf("user %q workdir %q", im.User, im.WorkingDir)
	}
	if !slices.Contains(im.Env, "GREETING=hello") {
		t.Errorf("env = %q", im.Env)
	}
	if !slices.Equal(im.ExposedPorts, []engine.Port{{Number: 8080, Proto: "tcp"}}) {
		t.Errorf("ports = %v", im.ExposedPorts)
	}
	if v := d.APIVersion(); v == "" || v > "1.56" {
		t.Errorf("APIVersion = %q", v)
	}
	if im.Architecture == "" || im.OS != "linux" {
		t.Errorf("platform %s/%s", im.OS, im.Architecture)
	}
	_, err = d.InspectImage(t.Context(), "pare-test/does-not-exist:none")
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("missing image: err = %v, want ErrNotFound", err)
	}
}

func TestDockerLifecycle(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	ctx := t.Context()
	out := t.TempDir()
	var id string
	err := engine.WithContainer(ctx, d, engine.ContainerSpec{
		Image:      ref,
		Entrypoint: []string{"/testtool", "sleep", "60s"},
		User:       "0",
		Network:    engine.NetworkNone,
		Mounts:     []engine.Mount{{Source: out, Target: "/out"}},
		Labels:     map[string]string{"dev.pare.test": t.Name()},
	}, func(ctx context.Context, cid string) error {
		id = cid
		if err := d.Start(ctx, cid); err != nil {
			return err
		}
		st, err := d.State(ctx, cid)
		if err != nil {
			return err
		}
		if !st.Running {
			t.Errorf("state after start: %+v", st)
		}
		res, err := d.Exec(ctx, cid, engine.ExecSpec{Argv: []string{"/testtool", "echo", "a", "b"}})
		if err != nil {
			return err
		}
		if string(res.Stdout) != "a b\n" || string(res.Stderr) != "err\n" || res.ExitCode != 0 {
			t.Errorf("exec echo = %+v", res)
		}
		res, err = d.Exec(ctx, cid, engine.ExecSpec{Argv: []string{"/testtool", "exit", "7"}})
		if err != nil {
			return err
		}
		if res.ExitCode != 7 {
			t.Errorf("exec exit code = %d, want 7", res.ExitCode)
		}
		res, err = d.Exec(ctx, cid, engine.ExecSpec{Argv: []string{"/testtool", "id"}, User: "1000:2000"})
		if err != nil {
			return err
		}
		if string(res.Stdout) != "1000:2000\n" {
			t.Errorf("exec id as 1000:2000 = %q", res.Stdout)
		}
		res, err = d.Exec(ctx, cid, engine.ExecSpec{Argv: []string{"/testtool", "cat", "/dev/stdin"}, Stdin: strings.NewReader("piped")})
		if err != nil {
			return err
		}
		if string(res.Stdout) != "piped" {
			t.Errorf("exec with stdin = %q", res.Stdout)
		}
		if _, err := d.Exec(ctx, cid, engine.ExecSpec{Argv: []string{"/nonexistent"}}); err == nil {
			// Docker 20.10 reports a missing binary as exit code 126/127
			// rather than an error; either is acceptable, nothing to check.
		}
		cs, err := d.List(ctx, map[string]string{"dev.pare.test": t.Name(), engine.OwnerLabel: engine.OwnerValue})
		if err != nil {
			return err
		}
		if len(cs) != 1 || cs[0].ID != cid || cs[0].Labels[engine.OwnerProcessLabel] != engine.OwnerProcess {
			t.Errorf("List = %+v, want [%s] labelled %s=%s", cs, cid, engine.OwnerProcessLabel, engine.OwnerProcess)
		}
		code, err := engine.StopContainer(ctx, d, cid, "SIGUSR1", 10*time.Second)
		if err != nil {
			return err
		}
		if code != 42 {
			t.Errorf("exit code after SIGUSR1 = %d, want 42", code)
		}
		stdout, stderr, err := d.Logs(ctx, cid, 10)
		if err != nil {
			return err
		}
		if len(stdout) != 0 || len(stderr) != 0 {
			t.Errorf("logs = %q %q", stdout, stderr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.State(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("container still present after WithContainer: %v", err)
	}
	if err := d.Remove(ctx, id); err != nil {
		t.Errorf("removing a removed container: %v", err)
	}
}

func TestDockerRunToExitLogs(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	err := engine.WithContainer(t.Context(), d, engine.ContainerSpec{
		Image: ref,
		Cmd:   []string{"echo", "hello", "world"},
	}, func(ctx context.Context, id string) error {
		if err := d.Start(ctx, id); err != nil {
			return err
		}
		code, err := d.Wait(ctx, id)
		if err != nil {
			return err
		}
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
		stdout, stderr, err := d.Logs(ctx, id, 0)
		if err != nil {
			return err
		}
		if string(stdout) != "hello world\n" || string(stderr) != "err\n" {
			t.Errorf("logs = %q %q", stdout, stderr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDockerStopEscalatesToKill(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	err := engine.WithContainer(t.Context(), d, engine.ContainerSpec{
		Image: ref,
		Cmd:   []string{"ignore", "60s"},
	}, func(ctx context.Context, id string) error {
		if err := d.Start(ctx, id); err != nil {
			return err
		}
		code, err := engine.StopContainer(ctx, d, id, "", 500*time.Millisecond)
		if err != nil {
			return err
		}
		if code != 137 {
			t.Errorf("exit code = %d, want 137 (SIGKILL)", code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dockerPS lists container ids with the owner label through the docker CLI,
// independently of the code under test.
func dockerPS(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label="+engine.OwnerLabel+"="+engine.OwnerValue).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestDockerCancelRemovesContainer(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- engine.WithContainer(ctx, d, engine.ContainerSpec{Image: ref, Cmd: []string{"sleep", "60s"}},
			func(ctx context.Context, id string) error {
				if err := d.Start(ctx, id); err != nil {
					return err
				}
				started <- id
				// Blocks in an exec until the context is cancelled.
				_, err := d.Exec(ctx, id, engine.ExecSpec{Argv: []string{"/testtool", "sleep", "60s"}})
				return err
			})
	}()
	id := <-started
	if ps := dockerPS(t); !strings.HasPrefix(id, ps) || ps == "" {
		t.Fatalf("docker ps = %q while running, want %s", ps, id[:12])
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if ps := dockerPS(t); ps != "" {
		t.Errorf("containers left after cancel: %s", ps)
	}
}

func TestDockerCancelDuringWait(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := engine.WithContainer(ctx, d, engine.ContainerSpec{Image: ref, Cmd: []string{"sleep", "60s"}},
		func(ctx context.Context, id string) error {
			if err := d.Start(ctx, id); err != nil {
				return err
			}
			cancel()
			_, err := d.Wait(ctx, id)
			return err
		})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if ps := dockerPS(t); ps != "" {
		t.Errorf("containers left after cancel: %s", ps)
	}
}

// TestDockerSweepOrphans creates containers labelled as made by a pare
// process that is gone and by this one; SweepOrphans removes only the first.
func TestDockerSweepOrphans(t *testing.T) {
	d := enginetest.Docker(t)
	ref := enginetest.ToolImage(t)
	f := strings.Fields(engine.OwnerProcess)
	if len(f) != 5 {
		t.Fatalf("OwnerProcess = %q", engine.OwnerProcess)
	}
	gone := strings.Join([]string{f[0], f[1], f[2], "999999999", "1"}, " ")
	create := func(owner string) string {
		out, err := exec.Command("docker", "create", "--network", "none", "--label", "dev.pare.test="+t.Name(),
			"--label", engine.OwnerProcessLabel+"="+owner, ref).Output()
		if err != nil {
			t.Fatalf("docker create: %v", err)
		}
		id := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
		return id
	}
	orphan, mine, foreign := create(gone), create(engine.OwnerProcess), create("elsewhere "+f[1]+" "+f[2]+" 999999999 1")
	removed, err := engine.SweepOrphans(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, orphan) {
		t.Errorf("SweepOrphans removed %v, not the orphan %s", removed, orphan)
	}
	for _, id := range []string{mine, foreign} {
		if slices.Contains(removed, id) {
			t.Errorf("SweepOrphans removed %s, whose owner may be alive", id)
		}
	}
	cs, err := d.List(t.Context(), map[string]string{"dev.pare.test": t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, c := range cs {
		left = append(left, c.ID)
	}
	slices.Sort(left)
	want := []string{mine, foreign}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("containers left = %v, want %v", left, want)
	}
}

// An engine whose socket is gone, or that closes the connection in the
// middle of a request, gives ErrEngineGone, whatever the call.
func TestDockerEngineGone(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_HOST", "unix://"+dir+"/docker.sock")
	if _, err := engine.NewDocker(context.Background()); !errors.Is(err, engine.ErrEngineGone) {
		t.Errorf("NewDocker with no socket: %v, want ErrEngineGone", err)
	}
	// a socket that accepts and closes every connection: a daemon stopping
	l, err := net.Listen("unix", dir+"/docker.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := engine.NewDocker(context.Background()); !errors.Is(err, engine.ErrEngineGone) || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("NewDocker on a closing socket: %v, want ErrEngineGone", err)
	}
}
