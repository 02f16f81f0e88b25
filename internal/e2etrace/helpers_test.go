package e2etrace

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/cli"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/internal/trace"
)

// sha256Pare is sha256("pare"), which every server fixture answers with.
const sha256Pare = "6a6f02676afa294c96c7440f39ae13c357aee4782c8c811edddb8f04e3aa926c"

var (
	mu      sync.Mutex
	created []string // image tags written by the tests, removed by TestMain

	sensorOnce sync.Once
	sensorDir  string
	sensorFile string
	sensorErr  error
)

// TestMain runs the tests with TMPDIR set to a directory of their own,
// removed at the end with whatever pare left there (reading a
// docker-daemon: image leaves an image-sized tar behind), and removes the
// images the tests wrote unless PARE_E2E_KEEP is set.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "pare-e2etrace-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	os.RemoveAll(tmp)
	if os.Getenv("PARE_E2E_KEEP") == "" {
		mu.Lock()
		for _, tag := range created {
			_, _ = testimages.DockerErr(context.Background(), "rmi", "-f", tag)
		}
		mu.Unlock()
	}
	os.Exit(code)
}

// sensor builds pare-sensor once per test binary and returns its path. Each
// pare invocation gets it with --sensor, so that no two invocations (or test
// packages) build into the same shared cache file at once.
func sensor(t *testing.T) string {
	t.Helper()
	sensorOnce.Do(func() {
		sensorDir, sensorErr = os.MkdirTemp("", "sensor-")
		if sensorErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		sensorFile, sensorErr = trace.BuildSensor(ctx, "", sensorDir)
	})
	if sensorErr != nil {
		t.Fatalf("building pare-sensor: %v", sensorErr)
	}
	return sensorFile
}

// remember records an image tag for removal at the end.
func remember(tag string) {
	mu.Lock()
	defer mu.Unlock()
	created = append(created, tag)
}

// pare runs the pare CLI in process with ctx and returns stdout, stderr and
// the exit code.
func pare(ctx context.Context, args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	code := cli.Execute(ctx, args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// mustPare runs pare and fails the test, with the tail of stderr, unless it
// exits 0.
func mustPare(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := pare(t.Context(), args...)
	if code != 0 {
		t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, tail(errOut, 40))
	}
	return out, errOut
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readReport reads a pare build --report file.
func readReport(t *testing.T, file string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &r
}

// hasKind reports whether k was kept for a reason of kind kind.
func hasKind(k report.Kept, kind keptset.Kind) bool {
	for _, r := range k.Reasons {
		if r.Kind == kind {
			return true
		}
	}
	return false
}

func kinds(k report.Kept) []string {
	var ks []string
	for _, r := range k.Reasons {
		ks = append(ks, string(r.Kind))
	}
	return ks
}

// response is what a server answered, with a gzip body decoded.
type response struct {
	Status          int
	ContentType     string
	ContentEncoding string
	Body            string
}

func (r response) String() string {
	return fmt.Sprintf("%d %s (encoding %q): %s", r.Status, r.ContentType, r.ContentEncoding, r.Body)
}

// get requests path from 127.0.0.1:port, with Accept-Encoding: gzip when
// gz is set (the body is then decoded), and without otherwise.
func get(t *testing.T, port int, path string, gz bool) response {
	t.Helper()
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableCompression: true, DisableKeepAlives: true},
		Timeout:   30 * time.Second,
	}
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", req.URL, err)
	}
	r := response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), ContentEncoding: resp.Header.Get("Content-Encoding")}
	if r.ContentEncoding == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("GET %s: gzip body: %v", req.URL, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("GET %s: gzip body: %v", req.URL, err)
		}
	}
	r.Body = string(body)
	return r
}

// logs returns the tail of a container's output, for failure messages.
func logs(id string) string {
	out, _ := exec.Command("docker", "logs", "--tail", "40", id).CombinedOutput()
	return string(out)
}

// serve runs image as a server on port (in a subtest, so that the port lock
// and the container are released when it ends) and calls fn with the
// container id.
func serve(t *testing.T, name, image string, port int, fn func(t *testing.T, id string)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		id := testimages.RunServer(t, image, port)
		fn(t, id)
		if t.Failed() {
			t.Logf("docker logs %s:\n%s", id[:12], logs(id))
		}
	})
}

// tempEntries lists what dir holds.
func tempEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// hasTraceDir reports whether dir holds a pare-trace-* directory.
func hasTraceDir(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "pare-trace-*"))
	return len(m) > 0
}
