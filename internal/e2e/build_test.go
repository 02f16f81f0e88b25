package e2e

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/testimages"
)

// Acceptance tests of issue 3, "pare build": each fixture is pared with
// `pare build docker-daemon:pare-fixture/NAME:latest docker-daemon:pare-e2e/NAME:pared
// --report FILE`, then the original and the pared image answer the same
// probes. The fixtures run one after the other (no t.Parallel): the machine
// has two cores and servers share ports.

// sha256("pare"), as several fixtures print it.
const parePrint = "6a6f02676afa294c96c7440f39ae13c357aee4782c8c811edddb8f04e3aa926c"

// httpProbe is one HTTP GET and the request headers it sends.
type httpProbe struct {
	path           string
	acceptEncoding string
}

// httpObserve GETs each probe on 127.0.0.1:port and describes the answer by
// status, Content-Type, Content-Encoding, body length and body sha256 (the
// body as sent: not decompressed), and short plain bodies themselves.
func httpObserve(t *testing.T, port int, probes []httpProbe) []string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	var obs []string
	for _, pr := range probes {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+pr.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pr.acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", pr.acceptEncoding)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", pr.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: reading body: %v", pr.path, err)
		}
		o := fmt.Sprintf("GET %s (Accept-Encoding %q): %d type=%q encoding=%q len=%d sha256=%x",
			pr.path, pr.acceptEncoding, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"),
			len(body), sha256.Sum256(body))
		if len(body) <= 128 && resp.Header.Get("Content-Encoding") == "" {
			o += fmt.Sprintf(" body=%q", body)
		}
		obs = append(obs, o)
	}
	return obs
}

func TestBuildNginx(t *testing.T) {
	p := buildPared(t, "nginx", "pared")
	checkPared(t, p, checks{})
	port := testimages.Ports["nginx"]
	probes := []httpProbe{
		{"/healthz", ""},
		{"/", ""},
		{"/large.txt", ""},
		{"/large.txt", "gzip"},
		{"/nosuch", ""},
	}
	want := serve(t, "original", p.orig, port, func(t *testing.T, _ string) []string { return httpObserve(t, port, probes) })
	if !strings.Contains(want[0], " 200 ") || !strings.Contains(want[3], `encoding="gzip"`) || !strings.Contains(want[4], " 404 ") {
		t.Fatalf("the original nginx does not answer as the fixture says: %q", want)
	}
	got := serve(t, "pared", p.tag, port, func(t *testing.T, id string) []string {
		obs := httpObserve(t, port, probes)
		// nginx runs as the numeric, non-root config user: master and workers.
		procs := strings.Split(strings.TrimSpace(testimages.Docker(t, "top", id, "-o", "pid,uid,args")), "\n")[1:]
		if len(procs) < 2 {
			t.Errorf("pared nginx runs %d processes, want a master and a worker", len(procs))
		}
		for _, line := range procs {
			if f := strings.Fields(line); len(f) < 2 || f[1] == "0" {
				t.Errorf("a pared nginx process runs as root: %s", line)
			}
		}
		return obs
	})
	compareObservations(t, p, want, got)
}

func TestBuildGostatic(t *testing.T) {
	p := buildPared(t, "gostatic", "pared")
	checkPared(t, p, checks{})
	port := testimages.Ports["gostatic"]
	probes := []httpProbe{{"/", ""}, {"/sha256?s=pare", ""}}
	want := serve(t, "original", p.orig, port, func(t *testing.T, _ string) []string { return httpObserve(t, port, probes) })
	if !strings.Contains(want[0], "gostatic ok") || !strings.Contains(want[1], parePrint) {
		t.Fatalf("the original gostatic does not answer as the fixture says: %q", want)
	}
	got := serve(t, "pared", p.tag, port, func(t *testing.T, _ string) []string { return httpObserve(t, port, probes) })
	compareObservations(t, p, want, got)
}

func TestBuildRedis(t *testing.T) {
	p := buildPared(t, "redis", "pared")
	checkPared(t, p, checks{})
	port := testimages.Ports["redis"]
	cmds := [][]string{
		{"PING"},
		{"SET", "k", "v"},
		{"GET", "k"},
		{"EVAL", "return redis.call('GET','k') .. '!'", "0"},
	}
	probe := func(t *testing.T, _ string) []string { return respObserve(t, port, cmds) }
	want := serve(t, "original", p.orig, port, probe)
	if fmt.Sprint(want) != fmt.Sprint([]string{"+PONG", "+OK", "$v", "$v!"}) {
		t.Fatalf("the original redis answered %q", want)
	}
	got := serve(t, "pared", p.tag, port, probe)
	compareObservations(t, p, want, got)
}

// respObserve sends each command to a Redis server on 127.0.0.1:port over
// one connection and returns the replies ("+OK", "-ERR ...", ":1", "$bulk").
func respObserve(t *testing.T, port int, cmds [][]string) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	var obs []string
	for _, c := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(c))
		for _, a := range c {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := io.WriteString(conn, b.String()); err != nil {
			t.Fatalf("sending %v: %v", c, err)
		}
		reply, err := readRESP(r)
		if err != nil {
			t.Fatalf("reply to %v: %v", c, err)
		}
		obs = append(obs, reply)
	}
	return obs
}

// readRESP reads one RESP reply; bulk strings become "$" + value, arrays
// "[a b]".
func readRESP(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+', '-', ':':
		return line, nil
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "$nil", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return "$" + string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad array length %q", line)
		}
		var parts []string
		for i := 0; i < n; i++ {
			s, err := readRESP(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, " ") + "]", nil
	}
	return "", fmt.Errorf("unknown reply %q", line)
}

func TestBuildGocgo(t *testing.T) {
	p := buildPared(t, "gocgo", "pared")
	checkPared(t, p, checks{})
	compareBatch(t, p)
}

func TestBuildSqlite(t *testing.T) {
	p := buildPared(t, "sqlite", "pared")
	checkPared(t, p, checks{})
	compareBatch(t, p)
}

func TestBuildBashscript(t *testing.T) {
	p := buildPared(t, "bashscript", "pared")
	checkPared(t, p, checks{shells: []string{"bash"}})
	compareBatch(t, p)
}

func TestBuildCplugin(t *testing.T) { testPlugin(t, "cplugin") }

func TestBuildCmusl(t *testing.T) { testPlugin(t, "cmusl") }

// pluginOutput is what cplugin and cmusl print when the plugin loads.
const pluginOutput = "greet: hello from libgreet\nplugin: hello-plugin value=1.0\n"

// testPlugin checks a program that dlopens a plugin named in /etc/cplugin.conf.
// Static mode cannot see either file: the pared image must then differ only
// in that the plugin does not load (the DT_NEEDED library still works), and
// --include of the config file and the plugin must make it behave like the
// original, the plugin's own libraries being found by pare.
func testPlugin(t *testing.T, name string) {
	p := buildPared(t, name, "pared")
	checkPared(t, p, checks{})
	want := runBatch(t, p.orig)
	if want.Stdout != pluginOutput || want.Code != 0 {
		t.Fatalf("original %s: exit %d, stdout %q, stderr %q", p.orig, want.Code, want.Stdout, want.Stderr)
	}
	got := runBatch(t, p.tag)
	if got == want {
		t.Logf("static mode found the plugin of %s", name)
	} else {
		t.Logf("as expected in static mode, %s differs from the original: exit %d, stdout %q, stderr %q", p.tag, got.Code, got.Stdout, got.Stderr)
		if got.Code == 0 || got.Stdout != "greet: hello from libgreet\n" || !strings.Contains(got.Stderr, "/etc/cplugin.conf") {
			t.Errorf("%s differs from the original for another reason than the dlopen'd plugin: exit %d, stdout %q, stderr %q",
				p.tag, got.Code, got.Stdout, got.Stderr)
		}
	}

	const conf, plugin = "/etc/cplugin.conf", "/opt/cplugin/plugins/hello.so"
	inc := buildPared(t, name, "include", "--include", conf, "--include", plugin)
	compareBatch(t, inc)
	included := map[string]bool{}
	var pluginLibs []string
	for _, k := range inc.report.Kept {
		for _, r := range k.Reasons {
			switch {
			case r.Kind == keptset.KindInclude:
				included[k.Path] = true
			case r.Kind == keptset.KindNeeded && r.From == plugin:
				pluginLibs = append(pluginLibs, k.Path)
			}
		}
	}
	if !included[conf] || !included[plugin] {
		t.Errorf("report of %s: %s and %s are not kept as --include (included: %v)", inc.tag, conf, plugin, included)
	}
	// cplugin's plugin needs libm.so.6, which the program itself does not
	// load; cmusl's needs only musl's libc.so, the interpreter.
	if name == "cplugin" && len(pluginLibs) == 0 {
		t.Errorf("report of %s: no library kept as DT_NEEDED of the included plugin %s", inc.tag, plugin)
	}
	t.Logf("libraries of the plugin: %v", pluginLibs)
}

// TestBuildLoaderConfigFiles pares a variant of cplugin whose libgreet.so.1
// lives in /usr/local/lib, a directory glibc's ld.so searches only through
// /etc/ld.so.cache (made by ldconfig), and which preloads libm through
// /etc/ld.so.preload. ld.so reads both files when the program starts, so the
// pared image needs them as much as the libraries they lead to.
func TestBuildLoaderConfigFiles(t *testing.T) {
	base := testimages.Require(t, "cplugin")
	src := derivedImage(t, "ldconfig", "FROM "+base+`
USER root
RUN mv /opt/cplugin/lib/libgreet.so.1 /opt/cplugin/lib/libgreet.so /usr/local/lib/ \
 && ldconfig \
 && echo /usr/lib/x86_64-linux-gnu/libm.so.6 >/etc/ld.so.preload
USER nobody
`)
	p := buildFrom(t, src, "ldconfig", "pared", "--include", "/etc/cplugin.conf", "--include", "/opt/cplugin/plugins/hello.so")
	compareBatch(t, p)
	ls := p.listing(t)
	for _, k := range p.report.Kept {
		for _, r := range k.Reasons {
			if r.Kind == keptset.KindNeeded && r.Detail == "cache" && strings.HasPrefix(k.Path, "/usr/local/lib/") {
				if _, ok := ls["/etc/ld.so.cache"]; !ok {
					t.Errorf("%s is found through /etc/ld.so.cache only, and the pared image has no /etc/ld.so.cache", k.Path)
				}
			}
			if r.Kind == keptset.KindPreload {
				if _, ok := ls["/etc/ld.so.preload"]; !ok {
					t.Errorf("%s is kept as preloaded, and the pared image has no /etc/ld.so.preload to preload it", k.Path)
				}
			}
		}
	}
}

// TestBuildKeepsSourceMetadata checks that every path the pared images share
// with their originals keeps its type, mode (setuid/setgid bits dropped),
// owner, size and link target: "original modes and ownership". Only the
// account files and the rewritten package database are pare's own.
func TestBuildKeepsSourceMetadata(t *testing.T) {
	for _, name := range []string{"nginx", "gostatic", "redis", "gocgo", "sqlite", "bashscript", "cplugin", "cmusl"} {
		t.Run(name, func(t *testing.T) {
			p := buildPared(t, name, "pared")
			orig := listing(t, "docker-daemon:"+p.orig)
			var diffs []string
			for pth, got := range p.listing(t) {
				want, ok := orig[pth]
				if !ok || pth == "/" || strings.HasPrefix(pth, "/var/lib/dpkg/") {
					continue
				}
				if want.Type == "file" {
					if m, err := strconv.ParseUint(want.Mode, 8, 32); err == nil {
						want.Mode = fmt.Sprintf("%04o", m&^0o6000)
					}
				}
				if pth == "/etc/passwd" || pth == "/etc/group" || pth == "/etc/shadow" || pth == "/etc/gshadow" {
					want.Size = got.Size
				}
				if got != want {
					diffs = append(diffs, fmt.Sprintf("%s: original %s %s %d:%d size %d link %q, pared %s %s %d:%d size %d link %q",
						pth, want.Type, want.Mode, want.UID, want.GID, want.Size, want.Link, got.Type, got.Mode, got.UID, got.GID, got.Size, got.Link))
				}
			}
			slices.Sort(diffs)
			for _, d := range diffs {
				t.Error(d)
			}
		})
	}
}
