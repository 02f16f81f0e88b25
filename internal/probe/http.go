package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pare-dev/pare/internal/engine"
)

// DefaultHTTPTimeout bounds an HTTP probe, including the wait for its port.
const DefaultHTTPTimeout = 30 * time.Second

// HTTP requests a path from 127.0.0.1 and checks the status code. Redirects
// are not followed (a 3xx is the answer), and no proxy is used.
type HTTP struct {
	Method string // default GET
	Path   string // starts with "/", may hold a query
	// Port is the TCP port on 127.0.0.1; 0 means the target's first port.
	Port int
	// Expect lists accepted status codes; a value 1..5 accepts the class
	// (2 = any 2xx). Empty accepts 2xx and 3xx.
	Expect []int
	// Timeout bounds the probe including the wait for the port; 0 means
	// DefaultHTTPTimeout.
	Timeout time.Duration
}

// ParseHTTP parses an HTTP probe spec:
//
//	[METHOD:]PATH[:PORT][=CODES]
//
// PATH starts with "/"; CODES is a comma list of status codes or classes
// ("200,204", "2xx,301", "404"); a path whose query ends in "=NNN" must
// therefore be followed by an explicit "=CODES". Examples: "/", "/:8080",
// "GET:/healthz:8080", "POST:/api/v1/items:9000=201", "/missing=404".
func ParseHTTP(spec string) (*HTTP, error) {
	h := &HTTP{Method: "GET"}
	rest := spec
	if i := strings.LastIndexByte(rest, '='); i >= 0 && isCodes(rest[i+1:]) {
		codes, err := parseCodes(rest[i+1:])
		if err != nil {
			return nil, fmt.Errorf("http probe %q: %w", spec, err)
		}
		h.Expect = codes
		rest = rest[:i]
	}
	if m, p, ok := strings.Cut(rest, ":"); ok && isMethod(m) && strings.HasPrefix(p, "/") {
		h.Method = m
		rest = p
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && isDigits(rest[i+1:]) {
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("http probe %q: invalid port %q", spec, rest[i+1:])
		}
		h.Port = n
		rest = rest[:i]
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, fmt.Errorf("http probe %q: path must start with /", spec)
	}
	if strings.ContainsAny(rest, " \t\r\n#") {
		return nil, fmt.Errorf("http probe %q: path must not contain spaces or #", spec)
	}
	h.Path = rest
	return h, nil
}

func isMethod(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isCodes reports whether s looks like a CODES list: comma-separated
// three-character tokens of digits and x.
func isCodes(s string) bool {
	for _, f := range strings.Split(s, ",") {
		if len(f) != 3 || !isDigits(strings.Map(func(r rune) rune {
			if r == 'x' || r == 'X' {
				return '0'
			}
			return r
		}, f)) {
			return false
		}
	}
	return true
}

func parseCodes(s string) ([]int, error) {
	var codes []int
	for _, f := range strings.Split(s, ",") {
		switch {
		case len(f) == 3 && (f[1:] == "xx" || f[1:] == "XX") && f[0] >= '1' && f[0] <= '5':
			codes = append(codes, int(f[0]-'0'))
		case len(f) == 3 && isDigits(f) && f >= "100" && f <= "599":
			n, _ := strconv.Atoi(f)
			codes = append(codes, n)
		default:
			return nil, fmt.Errorf("invalid status code %q", f)
		}
	}
	return codes, nil
}

// String returns the spec form of the probe.
func (h *HTTP) String() string {
	var b strings.Builder
	b.WriteString(h.method())
	b.WriteByte(':')
	b.WriteString(h.Path)
	if h.Port != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(h.Port))
	}
	if len(h.Expect) > 0 {
		b.WriteByte('=')
		for i, c := range h.Expect {
			if i > 0 {
				b.WriteByte(',')
			}
			if c < 10 {
				b.WriteString(strconv.Itoa(c) + "xx")
			} else {
				b.WriteString(strconv.Itoa(c))
			}
		}
	}
	return b.String()
}

// Name implements Probe.
func (h *HTTP) Name() string { return "http " + h.String() }

func (h *HTTP) method() string {
	if h.Method == "" {
		return "GET"
	}
	return h.Method
}

// Accepts reports whether status meets the probe's expectation.
func (h *HTTP) Accepts(status int) bool {
	if len(h.Expect) == 0 {
		return status >= 100 && status < 600
	}
	return slices.Contains(h.Expect, status) || slices.Contains(h.Expect, status/100)
}

// Run implements Probe: it waits for the port, sends the request, and
// checks the status and that the container still runs afterwards.
func (h *HTTP) Run(ctx context.Context, t *Target) (r Result) {
	r = Result{Name: h.Name(), Kind: KindHTTP, ExitCode: -1}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	port, err := t.readyPort(ctx, h.Port)
	if err != nil {
		r.fail(err)
		return r
	}
	status, body, err := h.do(ctx, port)
	r.Status = status
	r.setBody(body, int64(len(body)))
	if err != nil {
		r.fail(err)
		return r
	}
	if !h.Accepts(status) {
		r.failAs(OutcomeStatus, fmt.Sprintf("status %d not accepted", status))
		return r
	}
	checkRunning(ctx, t, &r)
	return r
}

// do sends the probe's request to port and reads the answer.
func (h *HTTP) do(ctx context.Context, port int) (int, []byte, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(TargetHost, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, h.method(), "http://"+addr+h.Path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("User-Agent", "pare-probe")
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("reading body: %w", err)
	}
	return resp.StatusCode, body, nil
}

// checkRunning fails r when the container is no longer running: a server
// probe expects the server to survive it.
func checkRunning(ctx context.Context, t *Target, r *Result) {
	if ok, code := t.running(ctx); !ok {
		r.ExitCode = code
		r.fail(fmt.Errorf("%w with code %d after the probe", ErrExited, code))
		return
	}
	r.succeed()
}

// loopbackClient only ever connects to 127.0.0.1, never follows redirects
// and never uses a proxy.
var loopbackClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DialContext:       dialLoopback,
		DisableKeepAlives: true,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host != TargetHost {
		return nil, fmt.Errorf("refusing to connect to %s: probes only reach %s", addr, TargetHost)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp4", addr)
}

// WaitPort waits until addr (which must be on 127.0.0.1) accepts TCP
// connections, polling with a backoff from 20ms to 1s, until ctx is done.
// If state is not nil it is consulted between attempts, and the wait ends
// early when the container has stopped.
func WaitPort(ctx context.Context, addr string, state func(context.Context) (engine.State, error)) error {
	delay := 20 * time.Millisecond
	var last error // the last dial error not caused by ctx ending
	for {
		conn, err := dialLoopback(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		if strings.HasPrefix(err.Error(), "refusing") {
			return err
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		if state != nil {
			if st, serr := state(ctx); serr == nil && !st.Running {
				return fmt.Errorf("waiting for %s: %w with code %d", addr, ErrExited, st.ExitCode)
			}
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("waiting for %s: %w (last: %w)", addr, ctx.Err(), last)
		case <-timer.C:
		}
		delay = min(delay*2, time.Second)
	}
}
