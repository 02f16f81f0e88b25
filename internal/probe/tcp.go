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

// BannerWait is how long TCP and Port probes wait for a server to speak
// first (SMTP, FTP, SSH, MySQL greet the client) after connecting.
const BannerWait = 300 * time.Millisecond

// TCP checks that a port on 127.0.0.1 accepts connections (for servers
// that do not speak HTTP: databases, caches), waiting for it like HTTP
// does. It reads a banner if the server sends one (kept in Result.Head, not
// compared: banners carry dates and host names) and fails when the
// container is no longer running afterwards.
type TCP struct {
	// Port is the TCP port; 0 means the target's first port.
	Port int
	// Timeout is unused since the wait for the port is bounded by the
	// target's StartTimeout; kept for callers that set it.
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
	port, err := t.readyPort(ctx, p.Port)
	if err != nil {
		r.fail(err)
		return r
	}
	banner, err := readBanner(ctx, port)
	if err != nil {
		r.fail(err)
		return r
	}
	r.Head = head(banner)
	checkRunning(ctx, t, &r)
	return r
}

// readBanner connects to port and returns what the server sends within
// BannerWait (nothing for servers that wait for the client).
func readBanner(ctx context.Context, port int) ([]byte, error) {
	conn, err := dialLoopback(ctx, "tcp", net.JoinHostPort(TargetHost, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(BannerWait)); err != nil {
		return nil, err
	}
	buf := make([]byte, HeadSize)
	n, _ := conn.Read(buf) // a timeout or EOF just means no banner
	return buf[:n], nil
}

// readyPort returns port, or the image's first exposed port when port is 0,
// once it accepts connections.
func (t *Target) readyPort(ctx context.Context, port int) (int, error) {
	if port == 0 {
		if len(t.Ports) == 0 {
			return 0, errors.New("no port given and the image exposes none")
		}
		port = t.Ports[0]
	}
	return port, t.waitPorts(ctx, []int{port})
}
