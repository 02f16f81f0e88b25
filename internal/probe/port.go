package probe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Port is the default probe of an exposed TCP port when the user gives
// none. It waits for the port, then tells what the server speaks: a server
// that greets first (a banner) or does not answer GET / with HTTP is a TCP
// server (Kind tcp: connecting is the check); one that answers HTTP, with
// any status, is an HTTP server (Kind http: status and body are recorded
// and compared). Either way the container must still run afterwards.
type Port struct {
	Port int
}

// portHTTPTimeout bounds the GET / of a Port probe: a server that holds
// the connection without answering is taken for a TCP server.
const portHTTPTimeout = 10 * time.Second

// Name implements Probe.
func (p *Port) Name() string { return "port " + strconv.Itoa(p.Port) }

// Run implements Probe.
func (p *Port) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: p.Name(), Kind: KindPort, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	if p.Port == 0 {
		r.fail(errors.New("no port"))
		return r
	}
	if err := t.waitPorts(ctx, []int{p.Port}); err != nil {
		r.fail(err)
		return r
	}
	banner, err := readBanner(ctx, p.Port)
	if err != nil {
		r.fail(err)
		return r
	}
	if len(banner) > 0 {
		r.Kind = KindTCP
		r.Head = head(banner)
		checkRunning(ctx, t, &r)
		return r
	}
	h := &HTTP{Method: "GET", Path: "/", Port: p.Port, Timeout: portHTTPTimeout}
	status, body, err := h.do(ctx, p.Port)
	switch {
	case err == nil:
		r.Kind = KindHTTP
		r.Status = status
		r.setBody(body, int64(len(body)))
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		r.fail(fmt.Errorf("GET /: %w", err))
		return r
	default:
		// not HTTP: the connection was accepted, which is what a TCP
		// server promises
		r.Kind = KindTCP
	}
	checkRunning(ctx, t, &r)
	return r
}
