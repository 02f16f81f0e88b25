package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// TCP checks that a port on 127.0.0.1 accepts connections (for servers
// that do not speak HTTP: databases, caches), waiting for it like HTTP does.
type TCP struct {
	// Port is the TCP port; 0 means the target's first port.
	Port int
	// Timeout bounds the wait; 0 means DefaultHTTPTimeout.
	Timeout time.Duration
}

// ParseTCP parses a TCP probe spec: "PORT" or "tcp:PORT".
func ParseTCP(spec string) (*TCP, error) {
	s := strings.TrimPrefix(spec, "tcp:")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("tcp probe %q: invalid port", spec)
	}
	return &TCP{Port: n}, nil
}

// Name implements Probe.
func (p *TCP) Name() string {
	if p.Port == 0 {
		return "tcp"
	}
	return "tcp " + strconv.Itoa(p.Port)
}

// Run implements Probe.
func (p *TCP) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: p.Name(), Kind: KindTCP, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	port := p.Port
	if port == 0 {
		if len(t.Ports) == 0 {
			r.fail(errors.New("no port given and the image exposes none"))
			return r
		}
		port = t.Ports[0]
	}
	if err := WaitPort(ctx, net.JoinHostPort(TargetHost, strconv.Itoa(port)), t.State); err != nil {
		r.fail(err)
		return r
	}
	r.OK = true
	return r
}
