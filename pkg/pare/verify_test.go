package pare

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/engine/enginetest"
	"github.com/pare-dev/pare/internal/probe"
)

// serverFake is the fake engine whose "orig" containers run a TCP server
// that is not HTTP (it reads and hangs up, like redis or postgres) on port
// until they are stopped.
type serverFake struct {
	*enginetest.Fake
	port int
	mu   sync.Mutex
	l    net.Listener
}

func (s *serverFake) Kill(ctx context.Context, id, signal string) error {
	s.mu.Lock()
	if s.l != nil {
		s.l.Close()
		s.l = nil
	}
	s.mu.Unlock()
	return s.Fake.Kill(ctx, id, signal)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newServerFake(t *testing.T) *serverFake {
	port := freePort(t)
	im := func() *engine.Image {
		return &engine.Image{Cmd: []string{"/server"}, ExposedPorts: []engine.Port{{Number: port, Proto: "tcp"}}, OS: "linux"}
	}
	s := &serverFake{Fake: enginetest.NewFake(map[string]*engine.Image{"orig": im(), "pared": im()}), port: port}
	s.OnStart = func(spec engine.ContainerSpec) error {
		if spec.Image != "orig" {
			return nil
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.l = l
		s.mu.Unlock()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Read(make([]byte, 64))
				c.Close()
			}
		}()
		return nil
	}
	return s
}

func inPlace(_ context.Context, ref string) (string, func(), error) { return ref, func() {}, nil }

// TestVerifyPaeredDiesAtStart: the original is not HTTP and the pared image
// dies at start; the default probe tells them apart and names the probe.
func TestVerifyParedDiesAtStart(t *testing.T) {
	s := newServerFake(t)
	s.ExitCodes = map[string]int{"pared": 1}
	res, err := verifyWith(t.Context(), s, "orig", "pared", VerifyOptions{RunOptions: RunOptions{StartTimeout: 5e9}}, inPlace)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("port %d", s.port)
	if res.Same || !slices.Equal(res.DifferingProbes(), []string{name}) {
		t.Fatalf("same %v, differing %v: %+v", res.Same, res.DifferingProbes(), res.Differences)
	}
	o, p := res.Original[0], res.Pared[0]
	if !o.OK || o.Kind != probe.KindTCP || o.Outcome != OutcomeOK || o.Exited {
		t.Errorf("original (a TCP server that keeps running) = %+v", o)
	}
	if p.OK || p.Outcome != OutcomeExited || !p.Exited || p.ExitCode != 1 {
		t.Errorf("pared (dies at start) = %+v", p)
	}
	fields := map[string]bool{}
	for _, d := range res.Differences {
		fields[d.Field] = true
	}
	for _, f := range []string{probe.FieldOutcome, probe.FieldOK, probe.FieldExited} {
		if !fields[f] {
			t.Errorf("no %s difference in %+v", f, res.Differences)
		}
	}
	if l := s.Live(); len(l) != 0 {
		t.Errorf("containers left: %v", l)
	}
}

// TestVerifySameServer: the same server on both sides is the same.
func TestVerifySameServer(t *testing.T) {
	s := newServerFake(t)
	res, err := verifyWith(t.Context(), s, "orig", "orig", VerifyOptions{}, inPlace)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Same || len(res.Original) != 1 || !res.Original[0].OK {
		t.Errorf("same server: %+v", res)
	}
}

// TestVerifyRuns: the --run sets run on both images and are compared each.
func TestVerifyRuns(t *testing.T) {
	job := func() *engine.Image {
		return &engine.Image{Entrypoint: []string{"/job"}, Cmd: []string{"a"}, OS: "linux"}
	}
	f := enginetest.NewFake(map[string]*engine.Image{"job": job(), "pared": job()})
	f.ExitCodes = map[string]int{"job": 0, "pared": 0}
	o := VerifyOptions{RunOptions: RunOptions{Runs: [][]string{{"b"}, {"c", "d"}}}}
	res, err := verifyWith(t.Context(), f, "job", "pared", o, inPlace)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res.Pared {
		names = append(names, r.Name)
	}
	if !res.Same || !slices.Equal(names, []string{"exit", "run b: exit", "run c d: exit"}) {
		t.Errorf("same %v, probes %v", res.Same, names)
	}
	var cmds [][]string
	for _, c := range f.Created {
		cmds = append(cmds, c.Entrypoint)
	}
	want := [][]string{{"/job", "a"}, {"/job", "b"}, {"/job", "c", "d"}}
	if !slices.EqualFunc(cmds[:3], want, slices.Equal) || !slices.EqualFunc(cmds[3:], want, slices.Equal) {
		t.Errorf("commands run: %v", cmds)
	}
	f.ExitCodes["pared"] = 2
	res, err = verifyWith(t.Context(), f, "job", "pared", o, inPlace)
	if err != nil {
		t.Fatal(err)
	}
	if res.Same || !slices.Equal(res.DifferingProbes(), []string{"exit", "run b: exit", "run c d: exit"}) {
		t.Errorf("pared exits 2: differing %v", res.DifferingProbes())
	}
}
