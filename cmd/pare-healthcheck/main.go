// Command pare-healthcheck is a tiny static health check for FROM-scratch
// images, which have no curl. pare build --add-healthcheck puts it at
// /.pare/healthcheck and names it in the image's HEALTHCHECK:
//
//	pare-healthcheck [-timeout D] http://127.0.0.1:8080/healthz
//	pare-healthcheck [-timeout D] [--] PROGRAM ARGS...
//
// With a URL it sends one HTTP/1.1 GET (no proxy, no redirects followed)
// and exits 0 when the status is 2xx or 3xx, else 1. With a program it runs
// it (found through PATH) and exits 0 when it exits 0, else 1 (Docker
// reserves the other codes). Either fails after the timeout (default 5s).
// It prints one line saying what it saw, which Docker keeps in the health
// log.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// Exit codes as Docker reads them.
const (
	healthy   = 0
	unhealthy = 1
)

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pare-healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after `D`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pare-healthcheck [-timeout D] URL | [--] PROGRAM ARGS...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return unhealthy
	}
	rest := fs.Args()
	if len(rest) == 0 || *timeout <= 0 {
		fs.Usage()
		return unhealthy
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if len(rest) == 1 && strings.Contains(rest[0], "://") {
		code, err := get(ctx, rest[0])
		if err != nil {
			fmt.Fprintf(stdout, "GET %s: %v\n", rest[0], err)
			return unhealthy
		}
		fmt.Fprintf(stdout, "GET %s: %d\n", rest[0], code)
		if code >= 200 && code < 400 {
			return healthy
		}
		return unhealthy
	}
	cmd := exec.CommandContext(ctx, rest[0], rest[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 100 * time.Millisecond // a killed program's children may hold its output open
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %s", ctx.Err(), *timeout)
		}
		fmt.Fprintf(stdout, "%s: %v\n", rest[0], err)
		return unhealthy
	}
	return healthy
}

// get sends one GET request for rawURL and returns the response's status
// code. It speaks just enough HTTP/1.1 for a status line, which keeps the
// program a third of the size net/http would make it.
func get(ctx context.Context, rawURL string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, err
	}
	if u.Scheme != "http" {
		return 0, fmt.Errorf("scheme %q: only http is supported (use a program for others)", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUser-Agent: pare-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("connection closed before a status line")
		}
		return 0, err
	}
	// HTTP/1.1 200 OK
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || len(f[1]) != 3 {
		return 0, fmt.Errorf("not an HTTP status line: %q", strings.TrimSpace(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("not an HTTP status line: %q", strings.TrimSpace(line))
	}
	return code, nil
}
