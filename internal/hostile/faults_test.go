//go:build linux

package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/testimages"
)

// proc is a pare process started in the background, its stderr watched.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	errb bytes.Buffer
	done chan struct{}
	code int
}

// startPare starts the pare binary with args (stdout discarded).
func startPare(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(pareBin(t), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.errb.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errb.String()
}

// waitFor waits until stderr contains s or cond holds; it fails if pare
// ends first.
func (p *proc) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("pare ended (exit %d) before %s:\n%s", p.code, what, p.stderr())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v:\n%s", what, timeout, p.stderr())
		}
	}
}

// end waits for pare to exit and returns its code.
func (p *proc) end(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("pare still running %v after the fault:\n%s", timeout, p.stderr())
	}
	return -1
}

// noise is n bytes that do not compress.
func noise(n int) string {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return string(b)
}

// faultImage is the base image plus /data/blob of n incompressible bytes,
// kept with --include /data.
func faultImage(t *testing.T, dir string, n int) string {
	in := filepath.Join(dir, "in.tar")
	writeArchive(t, in, appCfg, baseLayer(t), rawLayer(tarOf(t, dirE("data"), reg("data/blob", noise(n)))))
	return "docker-archive:" + in
}

// expectClean checks that a failed pare left nothing: dirs hold exactly
// the names in keep (nil: empty).
func expectClean(t *testing.T, dirs map[string][]string) {
	t.Helper()
	for d, want := range dirs {
		if got := entries(d); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s holds %v, want %v", d, got, want)
		}
	}
}

// throttle slows every response body and request body of h to rate
// bytes per second.
func throttle(h http.Handler, rate int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = &slowBody{ReadCloser: r.Body, rate: rate}
		}
		h.ServeHTTP(&slowResponse{ResponseWriter: w, rate: rate}, r)
	})
}

const slowChunk = 64 << 10

type slowResponse struct {
	http.ResponseWriter
	rate int
}

func (s *slowResponse) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), slowChunk)
		time.Sleep(time.Duration(k) * time.Second / time.Duration(s.rate))
		m, err := s.ResponseWriter.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

type slowBody struct {
	io.ReadCloser
	rate int
}

func (s *slowBody) Read(b []byte) (int, error) {
	b = b[:min(len(b), slowChunk)]
	n, err := s.ReadCloser.Read(b)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(s.rate))
	return n, err
}

// slowRegistry serves one in-memory registry twice: at full speed (to set
// up) and throttled to rate (for pare). It returns both hosts.
func slowRegistry(t *testing.T, rate int) (fast, slow string) {
	h := registry.New(registry.Logger(log0()))
	f := httptest.NewServer(h)
	s := httptest.NewServer(throttle(h, rate))
	t.Cleanup(func() { f.Close(); s.Close() })
	return strings.TrimPrefix(f.URL, "http://"), strings.TrimPrefix(s.URL, "http://")
}

// TestInterrupt sends SIGINT to pare while it reads, builds and writes: it
// must exit 1 at once saying it was interrupted, with no output (file or
// tag) and no temp file. Reading and pushing go through a registry
// throttled to 32 MiB/s, so that each phase lasts long enough to be hit.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pare binary")
	}
	base := t.TempDir()
	archive := faultImage(t, base, 96<<20)
	img, err := tarball.ImageFromPath(strings.TrimPrefix(archive, "docker-archive:"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fast, slow := slowRegistry(t, 32<<20)
	ref, err := name.ParseReference(fast + "/src/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		phase    string
		src, dst string
		when     func(p *proc) bool
	}{
		{"read", "docker://" + slow + "/src/app:1", "", func(p *proc) bool { return strings.Contains(p.stderr(), "MiB read") }},
		// (TestInterruptBuild checks that the build phase itself stops.)
		{"build", "docker://" + slow + "/src/app:1", "", func(p *proc) bool {
			return regexp.MustCompile(`layer 2/2 \S+: applied`).MatchString(p.stderr())
		}},
		{"write", archive, "docker://" + slow + "/out/app:1", func(p *proc) bool { return strings.Contains(p.stderr(), "writing: ") }},
	} {
		t.Run(tc.phase, func(t *testing.T) {
			dir := t.TempDir()
			tmp, out := filepath.Join(dir, "tmp"), filepath.Join(dir, "out")
			os.Mkdir(tmp, 0o755)
			os.Mkdir(out, 0o755)
			dst := tc.dst
			if dst == "" {
				dst = "docker-archive:" + filepath.Join(out, "out.tar")
			}
			p := startPare(t, []string{"TMPDIR=" + tmp}, "build", "--insecure", "--temp-dir", tmp, "--include", "/data", tc.src, dst)
			p.waitFor(t, tc.phase, 2*time.Minute, func() bool { return tc.when(p) })
			start := time.Now()
			p.cmd.Process.Signal(os.Interrupt)
			code := p.end(t, 30*time.Second)
			t.Logf("%s: exit %d %.2fs after SIGINT: %s", tc.phase, code, time.Since(start).Seconds(), lastLine(p.stderr()))
			if code != 1 || !strings.Contains(p.stderr(), "interrupted (interrupt signal received)") {
				t.Errorf("exit %d, want 1 with an error saying pare was interrupted:\n%s", code, p.stderr())
			}
			expectClean(t, map[string][]string{tmp: nil, out: nil})
			if resp, err := http.Get("http://" + fast + "/v2/out/app/manifests/1"); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("the pushed tag exists after the interrupt: %s", resp.Status)
				}
			}
		})
	}
}

// TestInterruptBuild sends SIGINT to pare build once the image is read,
// while it computes the closure and writes the layer of 100k files: the
// build itself must stop (the error is the build's, naming the source, not
// the write's), exit 1 saying pare was interrupted, and leave no output and
// no temp file.
func TestInterruptBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pare binary")
	}
	base := t.TempDir()
	in := filepath.Join(base, "in.tar")
	writeArchive(t, in, appCfg, baseLayer(t), manyFiles(t, 100))
	src := "docker-archive:" + in
	for run := range 3 {
		dir := t.TempDir()
		tmp, out := filepath.Join(dir, "tmp"), filepath.Join(dir, "out")
		os.Mkdir(tmp, 0o755)
		os.Mkdir(out, 0o755)
		p := startPare(t, []string{"TMPDIR=" + tmp}, "build", "--temp-dir", tmp, "--include", "/data", src, "docker-archive:"+filepath.Join(out, "out.tar"))
		applied := regexp.MustCompile(`layer 2/2 \S+: applied`)
		p.waitFor(t, "the end of reading", 2*time.Minute, func() bool { return applied.MatchString(p.stderr()) })
		// a little later, so that the signal lands in the closure or in the
		// layer on a fast machine as on a slow one
		time.Sleep(time.Duration(run) * 300 * time.Millisecond)
		start := time.Now()
		p.cmd.Process.Signal(os.Interrupt)
		code := p.end(t, 30*time.Second)
		last := lastLine(p.stderr())
		t.Logf("run %d: exit %d %.2fs after SIGINT: %s", run, code, time.Since(start).Seconds(), last)
		if code == 0 {
			t.Logf("run %d: the build ended before the signal", run)
			continue
		}
		// The error names what was being done: the source while reading,
		// closing and laying out; the output once the archive is written.
		dst := "docker-archive:" + filepath.Join(out, "out.tar")
		named := strings.HasPrefix(last, "pare: interrupted (interrupt signal received): "+src+": ") ||
			strings.HasPrefix(last, "pare: interrupted (interrupt signal received): writing "+dst+": ")
		if code != 1 || !named || !strings.Contains(last, "context canceled") {
			t.Errorf("run %d: exit %d, want 1 with the build's error (naming %s or the output) saying pare was interrupted:\n%s", run, code, src, p.stderr())
		}
		if strings.Contains(p.stderr(), "writing: ") {
			t.Errorf("run %d: pare went on to write after the signal:\n%s", run, p.stderr())
		}
		expectClean(t, map[string][]string{tmp: nil, out: nil})
	}
}

// tmpfs mounts a tmpfs of size at a new directory.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	d := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", d).CombinedOutput(); err != nil {
		t.Skipf("mount -t tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", d).Run() })
	return d
}

// TestDiskFull writes the output, then the spool, to a full disk.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pare binary")
	}
	base := t.TempDir()
	src := faultImage(t, base, 4<<20)
	t.Run("output", func(t *testing.T) {
		full, tmp := tmpfs(t, "1m"), filepath.Join(base, "tmp1")
		os.Mkdir(tmp, 0o755)
		os.WriteFile(filepath.Join(full, "old.tar"), []byte("previous output"), 0o644)
		for _, dst := range []string{"docker-archive:" + filepath.Join(full, "out.tar"), "docker-archive:" + filepath.Join(full, "old.tar"), "oci:" + filepath.Join(full, "layout")} {
			r := runPare(t, time.Minute, nil, "build", "--quiet", "--temp-dir", tmp, "--include", "/data", src, dst)
			t.Logf("%s: exit %d in %.2fs: %s", dst, r.code, r.elapsed.Seconds(), lastLine(r.stderr))
			if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") || !strings.Contains(r.stderr, "writing "+dst) {
				t.Errorf("exit %d, want 1 saying the disk is full while writing %s:\n%s", r.code, dst, r.stderr)
			}
			expectClean(t, map[string][]string{full: {"old.tar"}, tmp: nil})
			if b, _ := os.ReadFile(filepath.Join(full, "old.tar")); string(b) != "previous output" {
				t.Errorf("the previous output changed: %.40q", b)
			}
		}
	})
	t.Run("temp dir", func(t *testing.T) {
		// A gzipped layer cannot be read in place: its content is spooled.
		in := filepath.Join(base, "gz.tar")
		writeArchive(t, in, appCfg, baseLayer(t), entLayer(t, dirE("data"), reg("data/blob", noise(4<<20))))
		full, out := tmpfs(t, "1m"), filepath.Join(base, "out2")
		os.Mkdir(out, 0o755)
		r := runPare(t, time.Minute, nil, "build", "--quiet", "--temp-dir", full, "--include", "/data", "docker-archive:"+in, "docker-archive:"+filepath.Join(out, "out.tar"))
		t.Logf("exit %d in %.2fs: %s", r.code, r.elapsed.Seconds(), lastLine(r.stderr))
		if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
			t.Errorf("exit %d, want 1 saying the disk is full:\n%s", r.code, r.stderr)
		}
		expectClean(t, map[string][]string{full: nil, out: nil})
	})
}

// cutListener cuts every connection once it has read limit bytes from the
// client.
type cutListener struct {
	net.Listener
	limit int64
	mu    sync.Mutex
	cuts  int
}

func (l *cutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: c, l: l}, nil
}

type cutConn struct {
	net.Conn
	l *cutListener
	n int64
}

func (c *cutConn) Read(b []byte) (int, error) {
	if c.n >= c.l.limit {
		c.l.mu.Lock()
		c.l.cuts++
		c.l.mu.Unlock()
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as a dropped connection
		}
		c.Conn.Close()
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(b)) > c.l.limit-c.n {
		b = b[:c.l.limit-c.n]
	}
	n, err := c.Conn.Read(b)
	c.n += int64(n)
	return n, err
}

// TestRegistryDropsPush pushes to a registry that drops every connection
// after 256 KiB: pare fails saying so and the tag does not exist.
func TestRegistryDropsPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the pare binary")
	}
	base := t.TempDir()
	src := faultImage(t, base, 4<<20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &cutListener{Listener: ln, limit: 256 << 10}
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log0())))
	srv.Listener = cl
	srv.Start()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tmp := filepath.Join(base, "tmp")
	os.Mkdir(tmp, 0o755)
	dst := "docker://" + host + "/hostile/app:1"
	r := runPare(t, 2*time.Minute, nil, "build", "--quiet", "--insecure", "--temp-dir", tmp, "--include", "/data", src, dst)
	t.Logf("exit %d in %.2fs after %d cuts: %s", r.code, r.elapsed.Seconds(), cl.cuts, lastLine(r.stderr))
	if r.code != 1 || !strings.Contains(r.stderr, "writing "+dst) || cl.cuts == 0 {
		t.Errorf("exit %d (%d cuts), want 1 saying the push failed:\n%s", r.code, cl.cuts, r.stderr)
	}
	cl.limit = 1 << 40
	resp, err := http.Get(srv.URL + "/v2/hostile/app/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the tag exists after a failed push: %s", resp.Status)
	}
	expectClean(t, map[string][]string{tmp: nil})
}

func log0() *log.Logger { return log.New(io.Discard, "", 0) }

var (
	sensorOnce sync.Once
	sensorErr  error
)

// sensorBin builds cmd/pare-sensor next to the pare binary, where pare
// looks for it.
func sensorBin(t *testing.T) {
	t.Helper()
	pareBin(t)
	sensorOnce.Do(func() {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(binDir, "pare-sensor"), "github.com/pare-dev/pare/cmd/pare-sensor")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			sensorErr = fmt.Errorf("go build ./cmd/pare-sensor: %v\n%s", err, out)
		}
	})
	if sensorErr != nil {
		t.Fatal(sensorErr)
	}
}

// owned lists the containers of daemon (DOCKER_HOST value, "" for the
// default) that carry the owner label of process pid.
func owned(t *testing.T, host string, pid int, running bool) []string {
	t.Helper()
	args := []string{"ps", "-q", "--filter", fmt.Sprintf("label=%s=%d", engine.OwnerLabel, pid)}
	if !running {
		args = append(args, "-a")
	}
	cmd := exec.Command("docker", args...)
	if host != "" {
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestInterruptTrace sends SIGINT to pare build --trace while the traced
// server runs: pare removes its containers and exits 1.
func TestInterruptTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker")
	}
	img := testimages.Require(t, "python")
	testimages.LockPort(t, testimages.Ports["python"])
	sensorBin(t)
	base := t.TempDir()
	tmp, out := filepath.Join(base, "tmp"), filepath.Join(base, "out")
	os.Mkdir(tmp, 0o755)
	os.Mkdir(out, 0o755)
	p := startPare(t, []string{"TMPDIR=" + tmp}, "build", "--trace", "--duration", "60s", "--http-probe", fmt.Sprintf("/:%d", testimages.Ports["python"]),
		"--temp-dir", tmp, "docker-daemon:"+img, "docker-archive:"+filepath.Join(out, "out.tar"))
	pid := p.cmd.Process.Pid
	p.waitFor(t, "a running traced container", 2*time.Minute, func() bool { return len(owned(t, "", pid, true)) > 0 })
	time.Sleep(time.Second)
	start := time.Now()
	p.cmd.Process.Signal(os.Interrupt)
	code := p.end(t, 30*time.Second)
	t.Logf("trace: exit %d %.2fs after SIGINT: %s", code, time.Since(start).Seconds(), lastLine(p.stderr()))
	if code != 1 || !strings.Contains(p.stderr(), "interrupted (interrupt signal received)") {
		t.Errorf("exit %d, want 1 with an error saying pare was interrupted:\n%s", code, p.stderr())
	}
	if ids := owned(t, "", pid, false); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
	expectClean(t, map[string][]string{tmp: nil, out: nil})
}

// dockerd is a Docker daemon of the test's own.
type dockerd struct {
	dir, host string
	cmd       *exec.Cmd
	log       *os.File
}

// startDockerd starts a daemon on a private socket, data root, exec root
// and pidfile under dir, without networking of its own.
func startDockerd(t *testing.T, dir string) *dockerd {
	t.Helper()
	d := &dockerd{dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock")}
	var err error
	if d.log, err = os.OpenFile(filepath.Join(dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("dockerd", "--host", d.host, "--data-root", filepath.Join(dir, "root"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Skipf("starting a second dockerd: %v", err)
	}
	for range 120 {
		if exec.Command("docker", "-H", d.host, "version").Run() == nil {
			return d
		}
		time.Sleep(250 * time.Millisecond)
	}
	d.stop()
	b, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
	t.Skipf("a second dockerd did not answer within 30s:\n%s", b)
	return nil
}

func (d *dockerd) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// TestDaemonStopsMidTrace runs pare build --trace against a dockerd of its
// own and stops that daemon while the traced server runs.
func TestDaemonStopsMidTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker")
	}
	img := testimages.Require(t, "python")
	testimages.LockPort(t, testimages.Ports["python"])
	sensorBin(t)
	dir, err := os.MkdirTemp("", "pare-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	d := startDockerd(t, dir)
	defer func() {
		d.stop()
		exec.Command("umount", filepath.Join(dir, "exec", "netns", "default")).Run()
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing %s: %v", dir, err)
		}
	}()
	load := exec.Command("sh", "-c", fmt.Sprintf("docker save %s | docker -H %s load -q", img, d.host))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("loading %s into the test's dockerd: %v\n%s", img, err, out)
	}
	base := t.TempDir()
	tmp, out := filepath.Join(base, "tmp"), filepath.Join(base, "out")
	os.Mkdir(tmp, 0o755)
	os.Mkdir(out, 0o755)
	p := startPare(t, []string{"TMPDIR=" + tmp, "DOCKER_HOST=" + d.host}, "build", "--trace", "--duration", "60s",
		"--http-probe", fmt.Sprintf("/:%d", testimages.Ports["python"]), "--temp-dir", tmp, "docker-daemon:"+img, "docker-archive:"+filepath.Join(out, "out.tar"))
	pid := p.cmd.Process.Pid
	p.waitFor(t, "a running traced container", 2*time.Minute, func() bool { return len(owned(t, d.host, pid, true)) > 0 })
	time.Sleep(time.Second)
	start := time.Now()
	d.stop()
	code := p.end(t, time.Minute)
	t.Logf("daemon stopped: exit %d %.2fs later: %s", code, time.Since(start).Seconds(), lastLine(p.stderr()))
	t.Logf("stderr:\n%s", p.stderr())
	// the daemon may go while pare waits on a probe (its socket is gone) or
	// mid-request (it closes the connection): either way the error says so
	if code != 1 || !strings.Contains(p.stderr(), engine.ErrEngineGone.Error()) {
		t.Errorf("exit %d, want 1 with an error saying the engine is gone:\n%s", code, p.stderr())
	}
	expectClean(t, map[string][]string{tmp: nil, out: nil})
	// A daemon that is gone cannot remove its containers: the container
	// stays in its data root, and the error must name it so that it can be
	// removed once the daemon is back.
	// pare prune (run by every later trace and verify too) removes them, as
	// their owner is gone.
	d = startDockerd(t, dir)
	left := owned(t, d.host, pid, false)
	for _, id := range left {
		if !strings.Contains(p.stderr(), "the container is left behind: docker rm -f "+id[:12]) {
			t.Errorf("container %s is left and the error does not say so:\n%s", id, p.stderr())
		}
	}
	prune := exec.Command(pareBin(t), "prune")
	prune.Env = append(os.Environ(), "DOCKER_HOST="+d.host)
	pruned, err := prune.Output()
	if err != nil {
		t.Errorf("pare prune: %v", err)
	}
	for _, id := range left {
		if !strings.Contains(string(pruned), id) {
			t.Errorf("pare prune did not remove %s (it printed %q)", id, pruned)
		}
	}
	if rest := owned(t, d.host, pid, false); len(rest) > 0 {
		t.Errorf("containers of the gone pare %d after pare prune: %v", pid, rest)
		for _, id := range rest {
			exec.Command("docker", "-H", d.host, "rm", "-f", id).Run()
		}
	}
	t.Logf("left behind %d, pruned %q", len(left), pruned)
}
