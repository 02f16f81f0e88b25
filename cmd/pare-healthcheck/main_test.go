package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestURL: 2xx and 3xx are healthy (a redirect is not followed), 4xx, 5xx,
// a refused connection, a server slower than the timeout and a non-HTTP
// answer are not.
func TestURL(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.RequestURI())
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("ok"))
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/missing", http.StatusFound)
		case "/slow":
			time.Sleep(2 * time.Second)
		case "/error":
			http.Error(w, "broken", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-nope\r\n"))
			c.Close()
		}
	}()
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{srv.URL + "/ok"}, healthy},
		{[]string{srv.URL + "/ok?probe=1"}, healthy},
		{[]string{srv.URL + "/nocontent"}, healthy},
		{[]string{srv.URL + "/moved"}, healthy},
		{[]string{srv.URL + "/missing"}, unhealthy},
		{[]string{srv.URL + "/error"}, unhealthy},
		{[]string{"-timeout", "300ms", srv.URL + "/slow"}, unhealthy},
		{[]string{"http://" + closed + "/"}, unhealthy},
		{[]string{"http://" + garbage.Addr().String() + "/"}, unhealthy},
		{[]string{strings.Replace(srv.URL, "http:", "https:", 1) + "/ok"}, unhealthy},
	} {
		var out, errOut bytes.Buffer
		if got := run(c.args, &out, &errOut); got != c.want {
			t.Errorf("pare-healthcheck %q: exit %d, want %d (%s%s)", c.args, got, c.want, out.String(), errOut.String())
		}
	}
	if want := "/ok?probe=1"; !contains(paths, want) {
		t.Errorf("server saw %q, want %q among them", paths, want)
	}
	if contains(paths, "/missing") && countOf(paths, "/missing") != 1 {
		t.Errorf("the redirect was followed: %q", paths)
	}
}

// TestProgram: a program's exit 0 is healthy, any other code (2 included),
// a program not found and one slower than the timeout are not.
func TestProgram(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--", "/bin/sh", "-c", "exit 0"}, healthy},
		{[]string{"/bin/sh", "-c", "exit 0"}, healthy},
		{[]string{"--", "/bin/sh", "-c", "exit 1"}, unhealthy},
		{[]string{"--", "/bin/sh", "-c", "exit 2"}, unhealthy},
		{[]string{"-timeout", "200ms", "--", "/bin/sh", "-c", "sleep 5"}, unhealthy},
		{[]string{"--", "no-such-program-anywhere"}, unhealthy},
		{nil, unhealthy},
	} {
		var out, errOut bytes.Buffer
		start := time.Now()
		if got := run(c.args, &out, &errOut); got != c.want {
			t.Errorf("pare-healthcheck %q: exit %d, want %d (%s%s)", c.args, got, c.want, out.String(), errOut.String())
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("pare-healthcheck %q took %s", c.args, d)
		}
	}
}

func contains(l []string, s string) bool { return countOf(l, s) > 0 }

func countOf(l []string, s string) int {
	n := 0
	for _, e := range l {
		if e == s {
			n++
		}
	}
	return n
}
