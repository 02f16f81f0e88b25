// Package testimages gives tests the real fixture images that
// scripts/fixtures.sh builds from testdata/images, and small helpers to use
// them with the docker CLI.
//
// Fixture tests need a Docker daemon. Without one they are skipped, unless
// the environment variable CI is "true": then they fail, so that a CI run
// cannot pass by skipping them. They are also skipped with -short.
package testimages

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TagPrefix is put before the repository of every image a test creates
// (pared images, round trips): the environment variable PARE_TEST_TAG_PREFIX,
// so that test runs from several checkouts can share one Docker daemon
// without removing each other's tags. Empty by default.
var TagPrefix = os.Getenv("PARE_TEST_TAG_PREFIX")

// Ports the server fixtures listen on (127.0.0.1 only), by fixture name.
var Ports = map[string]int{
	"nginx":    8080,
	"gostatic": 8081,
	"python":   8082,
	"ruby":     8083,
	"node":     8084,
	"java":     8085,
	"postgres": 5432,
	"redis":    6379,

	"mini-httpd": 8090,
	"lighttpd":   8093, // HTTPS on 8453 (ExtraPorts)
	"haproxy":    8095, // HTTPS on 8445 (ExtraPorts)
	"venv":       8096,
	"npm":        8097,
	"apache2":    8098,
	"tor":        9061, // control port
	"memcached":  11311,
}

// ExtraPorts are further ports a server fixture listens on (127.0.0.1 only),
// besides its Ports entry.
var ExtraPorts = map[string][]int{
	"lighttpd": {8453},
	"haproxy":  {8445},
}

// AllPorts returns every port fixture name listens on: Ports, then ExtraPorts.
func AllPorts(name string) []int {
	var ps []int
	if p, ok := Ports[name]; ok {
		ps = append(ps, p)
	}
	return append(ps, ExtraPorts[name]...)
}

var (
	dockerOnce sync.Once
	dockerErr  error

	mu     sync.Mutex
	builds = map[string]*build{}
)

type build struct {
	once sync.Once
	err  error
}

// Image returns the reference of fixture name, as scripts/fixtures.sh tags it.
func Image(name string) string {
	if name == "base" {
		return "pare-fixture/base:bookworm"
	}
	return "pare-fixture/" + name + ":latest"
}

// Available reports whether a Docker daemon answers, checking once per process.
func Available() error {
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = fmt.Errorf("docker CLI not found: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
		if err != nil {
			dockerErr = fmt.Errorf("docker info: %w: %s", err, bytes.TrimSpace(out))
		}
	})
	return dockerErr
}

// RequireDocker skips the test when no Docker daemon answers or with -short;
// when the environment variable CI is "true" a missing daemon fails it.
func RequireDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping docker test in -short mode")
	}
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker is required in CI: %v", err)
		}
		t.Skipf("docker not available: %v", err)
	}
}

// Require makes sure fixture name (a directory of testdata/images, or
// "base") is built and up to date, and returns its image reference. The
// build runs once per process; scripts/fixtures.sh serializes concurrent
// processes with a lock file.
func Require(t testing.TB, name string) string {
	t.Helper()
	RequireDocker(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if name != "base" {
		if _, err := os.Stat(filepath.Join(root, "testdata", "images", name, "Dockerfile")); err != nil {
			t.Fatalf("unknown fixture %q: %v", name, err)
		}
	}

	mu.Lock()
	b, ok := builds[name]
	if !ok {
		b = &build{}
		builds[name] = b
	}
	mu.Unlock()
	b.once.Do(func() {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "fixtures.sh"), name)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("scripts/fixtures.sh %s: %w\n%s", name, err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("building fixture: %v", b.err)
	}
	return Image(name)
}

// RequireAll is Require for several fixtures: those not built yet in this
// process are built by one scripts/fixtures.sh run, which builds them in
// parallel. It returns their image references, in the order of names.
func RequireAll(t testing.TB, names ...string) []string {
	t.Helper()
	RequireDocker(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("fixtures: %v", err)
	}
	var todo []string
	var pending []*build
	mu.Lock()
	for _, name := range names {
		if name != "base" {
			if _, err := os.Stat(filepath.Join(root, "testdata", "images", name, "Dockerfile")); err != nil {
				mu.Unlock()
				t.Fatalf("unknown fixture %q: %v", name, err)
			}
		}
		if _, ok := builds[name]; !ok {
			b := &build{}
			builds[name] = b
			todo = append(todo, name)
			pending = append(pending, b)
		}
	}
	mu.Unlock()
	if len(todo) > 0 {
		cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "fixtures.sh")}, todo...)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		for _, b := range pending {
			b.once.Do(func() {
				if err != nil {
					b.err = fmt.Errorf("scripts/fixtures.sh %s: %w\n%s", strings.Join(todo, " "), err, out)
				}
			})
		}
	}
	refs := make([]string, len(names))
	for i, name := range names {
		refs[i] = Require(t, name)
	}
	return refs
}

// RepoRoot returns the root directory of the pare repository.
func RepoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(dir, "scripts", "fixtures.sh")); err == nil {
			return filepath.Clean(dir), nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locating repository root: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("locating repository root: not in a module")
	}
	return filepath.Dir(gomod), nil
}

// CacheDir returns the fixture cache directory,
// ${PARE_CACHE:-$HOME/.cache/pare}/testdata, as scripts/fixtures.sh uses it.
func CacheDir() (string, error) {
	base := os.Getenv("PARE_CACHE")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("fixture cache dir: %w", err)
		}
		base = filepath.Join(home, ".cache", "pare")
	}
	return filepath.Join(base, "testdata"), nil
}

// Docker runs the docker CLI with args and returns its standard output. The
// test fails, showing standard error, if the command fails.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := DockerErr(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// DockerErr runs the docker CLI with args and returns its standard output,
// or an error that includes its standard error.
func DockerErr(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// SaveArchive writes image with `docker save` to a tar file in a test
// temp dir and returns its path (usable as docker-archive:PATH).
func SaveArchive(t testing.TB, image string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.tar")
	Docker(t, "save", "-o", path, image)
	return path
}

// LockPort takes a host-wide lock on a TCP port of 127.0.0.1 for the rest of
// the test, so that tests of different packages (run as parallel processes)
// that start servers on the same port take turns.
func LockPort(t testing.TB, port int) {
	t.Helper()
	dir, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("port lock: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "port-"+strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("port lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("port lock %d: %v", port, err)
	}
	t.Cleanup(func() {
		// Closing the file releases the lock.
		f.Close()
	})
}

// RunServer starts image detached with --network host (extra docker run
// flags in runArgs, before the image) after taking the lock on port, waits
// until 127.0.0.1:port accepts connections, and removes the container when
// the test ends. It returns the container ID. If the container exits or the
// port does not open within a minute, the test fails with the container log.
func RunServer(t testing.TB, image string, port int, runArgs ...string) string {
	t.Helper()
	LockPort(t, port)
	args := append([]string{"run", "-d", "--network", "host"}, runArgs...)
	args = append(args, image)
	id := strings.TrimSpace(Docker(t, args...))
	t.Cleanup(func() {
		_, _ = DockerErr(context.Background(), "rm", "-f", id)
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return id
		}
		running, _ := DockerErr(context.Background(), "inspect", "-f", "{{.State.Running}}", id)
		if strings.TrimSpace(running) != "true" || time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", "--tail", "50", id).CombinedOutput()
			t.Fatalf("%s: nothing listens on %s (running=%s): %v\n%s", image, addr, strings.TrimSpace(running), err, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
