package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/engine"
)

// listen accepts connections on 127.0.0.1 and hands each to serve.
func listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func state(running *atomic.Bool, code int) func(context.Context) (engine.State, error) {
	return func(context.Context) (engine.State, error) {
		return engine.State{Running: running.Load(), ExitCode: code}, nil
	}
}

func TestPortProbeTellsHTTPFromTCP(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	var running atomic.Bool
	running.Store(true)
	tg := &Target{State: state(&running, 0)}

	r := (&Port{Port: serverPort(t, srv)}).Run(t.Context(), tg)
	if !r.OK || r.Kind != KindHTTP || r.Status != 404 || r.Digest == "" || r.Outcome != OutcomeOK {
		t.Errorf("HTTP server answering 404 on / = %+v", r)
	}

	banner := listen(t, func(c net.Conn) { c.Write([]byte("220 mail ready\r\n")) })
	r = (&Port{Port: banner}).Run(t.Context(), tg)
	if !r.OK || r.Kind != KindTCP || r.Head != "220 mail ready\r\n" || r.Digest != "" {
		t.Errorf("server with a banner = %+v", r)
	}

	// a server that reads the request and closes without an HTTP answer
	// (redis, postgres) is a TCP server
	silent := listen(t, func(c net.Conn) { c.Read(make([]byte, 64)) })
	r = (&Port{Port: silent}).Run(t.Context(), tg)
	if !r.OK || r.Kind != KindTCP || r.Status != 0 {
		t.Errorf("non-HTTP server = %+v", r)
	}

	// the container must still run afterwards
	running.Store(false)
	r = (&Port{Port: silent}).Run(t.Context(), &Target{State: func(context.Context) (engine.State, error) {
		st := engine.State{Running: running.Load(), ExitCode: 3}
		return st, nil
	}})
	if r.OK || r.Outcome != OutcomeExited || r.ExitCode != 3 {
		t.Errorf("container gone = %+v", r)
	}
}

func TestWaitOutcomes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var running atomic.Bool
	running.Store(true)
	tg := &Target{State: state(&running, 0), StartTimeout: 2 * time.Second}
	for _, p := range []Probe{&HTTP{Path: "/", Port: closed}, &TCP{Port: closed}, &Port{Port: closed}} {
		r := p.Run(t.Context(), tg)
		if r.OK || r.Outcome != OutcomeRefused {
			t.Errorf("%s on a running container that never listens = %+v", p.Name(), r)
		}
	}
	running.Store(false)
	for _, p := range []Probe{&HTTP{Path: "/", Port: closed}, &TCP{Port: closed}, &Port{Port: closed}} {
		r := p.Run(t.Context(), tg)
		if r.OK || r.Outcome != OutcomeExited {
			t.Errorf("%s on a container that died at start = %+v", p.Name(), r)
		}
	}
}

// TestScriptWaitsForPorts: a host script starts only once the target's
// ports accept connections.
func TestScriptWaitsForPorts(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "listening")
	script := filepath.Join(dir, "probe.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ntest -e "+flag+"\n"), 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	go func() {
		time.Sleep(400 * time.Millisecond)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return
		}
		os.WriteFile(flag, nil, 0o644)
		t.Cleanup(func() { l.Close() })
	}()
	r := (&Script{Argv: []string{script}}).Run(t.Context(), &Target{Ports: []int{port}, StartTimeout: 10 * time.Second})
	if !r.OK || r.Outcome != OutcomeOK {
		t.Errorf("script = %+v", r)
	}
}

// TestCompareHowProbesEnded: an original that is not HTTP and a pared
// image that died at start both "fail" GET /, but not the same way.
func TestCompareHowProbesEnded(t *testing.T) {
	orig := []Result{{Name: "http GET:/", Kind: KindHTTP, ExitCode: -1, Err: "malformed HTTP response", Outcome: OutcomeError}}
	pared := []Result{{Name: "http GET:/", Kind: KindHTTP, ExitCode: 1, Err: "container exited", Outcome: OutcomeExited, Exited: true}}
	want := []Difference{
		{"http GET:/", FieldOutcome, OutcomeError, OutcomeExited},
		{"http GET:/", FieldExitCode, "-1", "1"},
		{"http GET:/", FieldExited, "false", "true"},
	}
	if diff := cmp.Diff(want, Compare(orig, pared)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	// the default probe: a TCP server against one that died at start
	orig = []Result{{Name: "port 6379", Kind: KindTCP, OK: true, ExitCode: -1, Outcome: OutcomeOK}}
	pared = []Result{{Name: "port 6379", Kind: KindPort, ExitCode: 1, Outcome: OutcomeExited, Exited: true}}
	if d := Compare(orig, pared); len(d) < 3 || d[0].Field != FieldKind {
		t.Errorf("Compare = %v", d)
	}
}
