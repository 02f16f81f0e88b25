package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/internal/engine"
)

func TestParseHTTP(t *testing.T) {
	tests := []struct {
		spec string
		want HTTP
	}{
		{"/", HTTP{Method: "GET", Path: "/"}},
		{"/:8080", HTTP{Method: "GET", Path: "/", Port: 8080}},
		{"GET:/healthz:8080", HTTP{Method: "GET", Path: "/healthz", Port: 8080}},
		{"HEAD:/", HTTP{Method: "HEAD", Path: "/"}},
		{"POST:/api/v1/items:9000=201", HTTP{Method: "POST", Path: "/api/v1/items", Port: 9000, Expect: []int{201}}},
		{"/missing=404", HTTP{Method: "GET", Path: "/missing", Expect: []int{404}}},
		{"/x:80=2xx,301", HTTP{Method: "GET", Path: "/x", Port: 80, Expect: []int{2, 301}}},
		{"/search?q=a:b", HTTP{Method: "GET", Path: "/search?q=a:b"}},
		{"/search?q=1", HTTP{Method: "GET", Path: "/search?q=1"}},
		{"/a:b/c", HTTP{Method: "GET", Path: "/a:b/c"}},
		{"/?n=200=2xx", HTTP{Method: "GET", Path: "/?n=200", Expect: []int{2}}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseHTTP(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("ParseHTTP(%q) (-want +got):\n%s", tt.spec, diff)
			}
			again, err := ParseHTTP(got.String())
			if err != nil {
				t.Fatalf("reparsing %q: %v", got.String(), err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("String round trip %q (-first +second):\n%s", got.String(), diff)
			}
		})
	}
	for _, bad := range []string{"", "healthz", "GET:healthz", "/:0", "/:70000", "/a b", "/=999", "get:/x"} {
		if h, err := ParseHTTP(bad); err == nil {
			t.Errorf("ParseHTTP(%q) = %+v, want error", bad, h)
		}
	}
}

func TestHTTPAccepts(t *testing.T) {
	def := &HTTP{}
	// any HTTP answer counts unless codes are given
	for code, want := range map[int]bool{200: true, 204: true, 302: true, 399: true, 404: true, 500: true, 101: true, 0: false, 600: false} {
		if got := def.Accepts(code); got != want {
			t.Errorf("default Accepts(%d) = %v", code, got)
		}
	}
	h := &HTTP{Expect: []int{4, 200}}
	for code, want := range map[int]bool{200: true, 201: false, 404: true, 418: true, 302: false} {
		if got := h.Accepts(code); got != want {
			t.Errorf("Accepts(%d) with 4xx,200 = %v", code, got)
		}
	}
}

func serverPort(t *testing.T, srv *httptest.Server) int {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestHTTPProbe(t *testing.T) {
	var gotMethods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethods = append(gotMethods, r.Method)
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, "hello")
		case "/redirect":
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	port := serverPort(t, srv)
	target := &Target{Ports: []int{port}}

	r := (&HTTP{Path: "/"}).Run(t.Context(), target)
	if !r.OK || r.Status != 200 || r.Head != "hello" || r.Size != 5 || r.Err != "" {
		t.Errorf("GET / = %+v", r)
	}
	if r.Digest != "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Errorf("digest = %s", r.Digest)
	}
	if r.Name != "http GET:/" {
		t.Errorf("name = %q", r.Name)
	}
	r = (&HTTP{Path: "/redirect", Port: port}).Run(t.Context(), target)
	if !r.OK || r.Status != 302 {
		t.Errorf("redirect (must not be followed) = %+v", r)
	}
	r = (&HTTP{Path: "/nope", Port: port}).Run(t.Context(), target)
	if !r.OK || r.Status != 404 || r.Outcome != OutcomeOK {
		t.Errorf("404 with default expectation (any answer counts) = %+v", r)
	}
	r = (&HTTP{Path: "/nope", Port: port, Expect: []int{2}}).Run(t.Context(), target)
	if r.OK || r.Status != 404 || r.Outcome != OutcomeStatus || r.Err == "" {
		t.Errorf("404 with 2xx expected = %+v", r)
	}
	r = (&HTTP{Path: "/nope", Port: port, Expect: []int{404}}).Run(t.Context(), target)
	if !r.OK || r.Status != 404 {
		t.Errorf("404 expected = %+v", r)
	}
	r = (&HTTP{Method: "DELETE", Path: "/", Port: port}).Run(t.Context(), target)
	if !r.OK || gotMethods[len(gotMethods)-1] != "DELETE" {
		t.Errorf("DELETE = %+v, server saw %v", r, gotMethods)
	}
	r = (&HTTP{Path: "/"}).Run(t.Context(), &Target{})
	if r.OK || !strings.Contains(r.Err, "no port") {
		t.Errorf("no port = %+v", r)
	}
}

func TestHTTPProbeIgnoresProxy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	t.Setenv("HTTP_PROXY", "http://192.0.2.1:3128")
	t.Setenv("http_proxy", "http://192.0.2.1:3128")
	r := (&HTTP{Path: "/", Port: serverPort(t, srv)}).Run(t.Context(), &Target{})
	if !r.OK {
		t.Errorf("with HTTP_PROXY set: %+v", r)
	}
}

func TestDialLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:80", "localhost:80", "[::1]:80", "0.0.0.0:80"} {
		if _, err := dialLoopback(t.Context(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("dialLoopback(%s) = %v, want refusal", addr, err)
		}
	}
}

func TestWaitPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := WaitPort(t.Context(), addr, nil); err != nil {
		t.Errorf("open port: %v", err)
	}
	l.Close()
	exited := func(context.Context) (engine.State, error) { return engine.State{ExitCode: 3}, nil }
	err = WaitPort(t.Context(), addr, exited)
	if err == nil || !strings.Contains(err.Error(), "exited with code 3") {
		t.Errorf("closed port, exited container: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := WaitPort(ctx, addr, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := WaitPort(t.Context(), "10.0.0.1:80", nil); err == nil {
		t.Error("non-loopback address accepted")
	}
}

func TestParseExec(t *testing.T) {
	e, err := ParseExec("ls -l /etc | wc -l")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sh", "-c", "ls -l /etc | wc -l"}, e.Argv); diff != "" {
		t.Error(diff)
	}
	if e.Name() != "exec ls -l /etc | wc -l" {
		t.Errorf("name %q", e.Name())
	}
	e, err = ParseExec(`["/app", "--version"]`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/app", "--version"}, e.Argv); diff != "" {
		t.Error(diff)
	}
	if e.Name() != `exec ["/app","--version"]` {
		t.Errorf("name %q", e.Name())
	}
	for _, bad := range []string{"", "  ", "[]", `[""]`, `["a"`} {
		if _, err := ParseExec(bad); err == nil {
			t.Errorf("ParseExec(%q): no error", bad)
		}
	}
}

func TestExecProbe(t *testing.T) {
	var gotArgv []string
	target := &Target{Exec: func(ctx context.Context, argv []string) (*engine.ExecResult, error) {
		gotArgv = argv
		if argv[0] == "fail" {
			return &engine.ExecResult{ExitCode: 2, Stderr: []byte("boom")}, nil
		}
		if argv[0] == "broken" {
			return nil, errors.New("no such container")
		}
		return &engine.ExecResult{Stdout: []byte("out\n")}, nil
	}}
	r := (&Exec{Argv: []string{"echo", "x"}}).Run(t.Context(), target)
	if !r.OK || r.ExitCode != 0 || r.Head != "out\n" || r.Digest == "" {
		t.Errorf("ok exec = %+v", r)
	}
	if diff := cmp.Diff([]string{"echo", "x"}, gotArgv); diff != "" {
		t.Error(diff)
	}
	r = (&Exec{Argv: []string{"fail"}}).Run(t.Context(), target)
	if r.OK || r.ExitCode != 2 || r.StderrHead != "boom" {
		t.Errorf("failing exec = %+v", r)
	}
	r = (&Exec{Argv: []string{"fail"}, ExpectCode: 2}).Run(t.Context(), target)
	if !r.OK {
		t.Errorf("expected failure = %+v", r)
	}
	r = (&Exec{Argv: []string{"broken"}}).Run(t.Context(), target)
	if r.OK || r.ExitCode != -1 || r.Err != "no such container" {
		t.Errorf("exec error = %+v", r)
	}
	r = (&Exec{Argv: []string{"x"}}).Run(t.Context(), &Target{})
	if r.OK || r.Err == "" {
		t.Errorf("no exec func = %+v", r)
	}
}

func TestScriptProbe(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "probe.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$PARE_TARGET_HOST $PARE_TARGET_PORT [$PARE_TARGET_PORTS] $PARE_CONTAINER_ID\"\necho warn >&2\nexit ${1:-0}\n"), 0o755)
	var ports []int
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	p0, p1 := strconv.Itoa(ports[0]), strconv.Itoa(ports[1])
	target := &Target{ContainerID: "abc123", Ports: ports}
	sp, err := ParseScript(script + "  ")
	if err != nil || !slices.Equal(sp.Argv, []string{script}) {
		t.Fatalf("ParseScript = %+v, %v", sp, err)
	}
	if _, err := ParseScript(" "); err == nil {
		t.Error("empty script accepted")
	}
	r := sp.Run(t.Context(), target)
	if !r.OK || r.ExitCode != 0 || r.Head != "127.0.0.1 "+p0+" ["+p0+" "+p1+"] abc123\n" || r.StderrHead != "warn\n" {
		t.Errorf("script = %+v", r)
	}
	r = (&Script{Argv: []string{script, "3"}}).Run(t.Context(), target)
	if r.OK || r.ExitCode != 3 {
		t.Errorf("failing script = %+v", r)
	}
	r = (&Script{Argv: []string{filepath.Join(dir, "missing")}}).Run(t.Context(), target)
	if r.OK || r.Err == "" {
		t.Errorf("missing script = %+v", r)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r = (&Script{Argv: []string{script}}).Run(ctx, target)
	if r.OK {
		t.Errorf("cancelled script = %+v", r)
	}
}

func TestExitProbe(t *testing.T) {
	target := &Target{
		Wait: func(context.Context) (int, error) { return 0, nil },
		Logs: func(context.Context) ([]byte, []byte, error) { return []byte("PRETTY_NAME=x\n"), nil, nil },
	}
	r := (&Exit{}).Run(t.Context(), target)
	if !r.OK || r.ExitCode != 0 || r.Head != "PRETTY_NAME=x\n" {
		t.Errorf("exit = %+v", r)
	}
	target.Wait = func(ctx context.Context) (int, error) { <-ctx.Done(); return -1, ctx.Err() }
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r = (&Exit{}).Run(ctx, target)
	if r.OK || r.ExitCode != -1 || !strings.Contains(r.Err, "did not exit") {
		t.Errorf("exit timeout = %+v", r)
	}
}

func TestDurationProbe(t *testing.T) {
	running := true
	target := &Target{State: func(context.Context) (engine.State, error) {
		return engine.State{Running: running, ExitCode: 1}, nil
	}}
	if r := (&Duration{}).Run(t.Context(), target); !r.OK {
		t.Errorf("running = %+v", r)
	}
	running = false
	if r := (&Duration{}).Run(t.Context(), target); r.OK || r.ExitCode != 1 {
		t.Errorf("exited = %+v", r)
	}
}

func TestDefaultsAndRunAll(t *testing.T) {
	ps := Defaults([]engine.Port{{Number: 80, Proto: "tcp"}, {Number: 53, Proto: "udp"}, {Number: 8080, Proto: "tcp"}})
	var names []string
	for _, p := range ps {
		names = append(names, p.Name())
	}
	if diff := cmp.Diff([]string{"port 80", "port 8080"}, names); diff != "" {
		t.Error(diff)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rs := RunAll(ctx, &Target{}, ps)
	if len(rs) != 2 || rs[0].OK || rs[0].Kind != KindPort || !strings.Contains(rs[0].Err, "not run") {
		t.Errorf("RunAll cancelled = %+v", rs)
	}
}

func TestCompare(t *testing.T) {
	a := []Result{
		{Name: "http GET:/", Kind: KindHTTP, OK: true, Status: 200, ExitCode: -1, Digest: "sha256:aa", Head: "x", Duration: 5},
		{Name: "exec true", Kind: KindExec, OK: true, Digest: "sha256:bb", Outcome: OutcomeOK},
		{Name: "only-a", OK: true},
	}
	b := []Result{
		{Name: "exec true", Kind: KindExec, OK: false, ExitCode: 127, Err: "exit code 127", Outcome: OutcomeExitCode},
		{Name: "http GET:/", Kind: KindHTTP, OK: true, Status: 200, ExitCode: -1, Digest: "sha256:aa", Head: "y", Duration: 9},
		{Name: "only-b"},
	}
	want := []Difference{
		{"exec true", FieldOutcome, OutcomeOK, OutcomeExitCode},
		{"exec true", FieldOK, "true", "false"},
		{"exec true", FieldExitCode, "0", "127"},
		{"exec true", FieldDigest, "sha256:bb", ""},
		{"only-a", FieldMissing, "present", "absent"},
		{"only-b", FieldMissing, "absent", "present"},
	}
	if diff := cmp.Diff(want, Compare(a, b)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	if d := Compare(a, a); len(d) != 0 {
		t.Errorf("Compare(a, a) = %v", d)
	}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	p, err := ParseTCP("tcp:" + strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Run(t.Context(), &Target{}); !r.OK || r.Name != "tcp "+strconv.Itoa(port) {
		t.Errorf("open port: %+v", r)
	}
	if r := (&TCP{}).Run(t.Context(), &Target{Ports: []int{port}}); !r.OK {
		t.Errorf("target's first port: %+v", r)
	}
	l.Close()
	exited := func(context.Context) (engine.State, error) { return engine.State{}, nil }
	if r := p.Run(t.Context(), &Target{State: exited}); r.OK {
		t.Errorf("closed port: %+v", r)
	}
	for _, bad := range []string{"", "tcp:", "tcp:0", "x"} {
		if _, err := ParseTCP(bad); err == nil {
			t.Errorf("ParseTCP(%q): no error", bad)
		}
	}
}
