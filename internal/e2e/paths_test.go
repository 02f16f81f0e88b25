package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/testimages"
)

// Issue 7, paths named by config and accounts kept verbatim: the
// paths-lighttpd fixture runs Debian's lighttpd as www-data with its config
// file as an argument; the config (and a conf.d/*.conf it includes) names a
// log directory and a state directory owned by www-data, where lighttpd
// creates its logs and pid file at start, a document root, and a TLS key that
// www-data reads only through its supplementary group ssl-cert. A static
// `pare build` with no flags must keep all of it with owners and modes, and
// the pared server must start and answer like the original.

const (
	pathsHTTP  = 18080
	pathsHTTPS = 18443
)

// pathsObserve GETs over HTTP and HTTPS (the fixture's self-signed key, on
// loopback) and describes the answers.
func pathsObserve(t *testing.T) []string {
	t.Helper()
	obs := httpObserve(t, pathsHTTP, []httpProbe{{"/", ""}, {"/hello.txt", ""}, {"/nosuch", ""}})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the fixture's snakeoil certificate
	}}
	var resp *http.Response
	var err error
	for i := 0; i < 50; i++ { // the TLS socket opens with the plain one
		if resp, err = client.Get(fmt.Sprintf("https://127.0.0.1:%d/hello.txt", pathsHTTPS)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return append(obs, "HTTPS: "+err.Error())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return append(obs, fmt.Sprintf("HTTPS GET /hello.txt: %d %q", resp.StatusCode, body))
}

func TestBuildPathsLighttpd(t *testing.T) {
	p := buildPared(t, "paths-lighttpd", "pared")
	// lighttpd names /bin/sh in its binary (piped loggers, CGI run
	// through it): the image's own program keeps the shell it names
	checkPared(t, p, checks{shells: []string{"dash", "sh"}})

	// The user stays in the implicit numeric form, so that the engine applies
	// its supplementary groups from the image's /etc/group.
	if u := inspect(t, p.tag).Config.User; u != "33" {
		t.Errorf("pared config User %q, want 33 (www-data, groups from /etc/group)", u)
	}
	// Owners and modes of the state directories and the key are the source's.
	ls := p.listing(t)
	for path, want := range map[string]string{
		"/var/log/paths-site":                    "dir 0750 33:4",
		"/var/lib/paths-site":                    "dir 0700 33:33",
		"/etc/ssl/private":                       "dir 0710 0:101",
		"/etc/ssl/private/ssl-cert-snakeoil.key": "file 0640 0:101",
		"/srv/paths-site/www/index.html":         "file 0644 0:0",
		"/etc/paths-site/conf.d/20-tls.conf":     "file 0644 0:0",
	} {
		e, ok := ls[path]
		if got := fmt.Sprintf("%s %s %d:%d", e.Type, e.Mode, e.UID, e.GID); !ok || got != want {
			t.Errorf("%s in the pared image: %q (present %v), want %q", path, got, ok, want)
		}
	}
	for _, old := range []string{"/var/log/paths-site/error.log", "/var/lib/paths-site/lighttpd.pid"} {
		if _, ok := ls[old]; ok {
			t.Errorf("pared image holds %s, which the server creates at start", old)
		}
	}
	// Why: the state directory names the config line and the argument.
	for _, k := range p.report.Kept {
		if k.Path == "/var/lib/paths-site" {
			for _, want := range []string{"state (writable directory of /var/lib/paths-site/lighttpd.pid, named in /etc/paths-site/lighttpd.conf line 9)", "argument /etc/paths-site/lighttpd.conf"} {
				if !strings.Contains(k.Chain, want) {
					t.Errorf("chain of /var/lib/paths-site lacks %q: %s", want, k.Chain)
				}
			}
		}
	}
	// Accounts: the source's entries verbatim, nonroot added.
	src := copyFile(t, p.orig, "/etc/passwd")
	passwd := copyFile(t, p.tag, "/etc/passwd")
	if !strings.HasPrefix(passwd, src) || !strings.Contains(passwd, "\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n") {
		t.Errorf("pared /etc/passwd does not start with the source's:\n%s\nsource:\n%s", passwd, src)
	}
	group := copyFile(t, p.tag, "/etc/group")
	if !regexp.MustCompile(`(?m)^ssl-cert:x:101:www-data$`).MatchString(group) {
		t.Errorf("pared /etc/group lost www-data's supplementary group ssl-cert:\n%s", group)
	}
	if shadow := copyFile(t, p.tag, "/etc/shadow"); strings.Contains(shadow, "$") || !strings.Contains(shadow, "www-data:*:") {
		t.Errorf("pared /etc/shadow keeps a hash or lost www-data:\n%s", shadow)
	}

	want := serve(t, "original", p.orig, pathsHTTP, func(t *testing.T, _ string) []string { return pathsObserve(t) })
	if !strings.Contains(want[0], "paths-lighttpd ok") || !strings.Contains(want[2], " 404 ") || !strings.Contains(want[3], `200 "plain text served by lighttpd\n"`) {
		t.Fatalf("the original does not answer as the fixture says: %q", want)
	}
	got := serve(t, "pared", p.tag, pathsHTTP, func(t *testing.T, id string) []string {
		obs := pathsObserve(t)
		// lighttpd runs as www-data with ssl-cert as a supplementary group
		top := testimages.Docker(t, "top", id, "-o", "pid,uid,gid,supgid,args")
		if !strings.Contains(top, "101") {
			t.Errorf("the pared server lacks its supplementary group 101:\n%s", top)
		}
		return obs
	})
	compareObservations(t, p, want, got)
}

// TestVerifyPathsLighttpd: pare verify passes on the static build and
// exits 1, naming the probe, when the config or the state directory is cut.
func TestVerifyPathsLighttpd(t *testing.T) {
	probes := []string{
		"--http-probe", fmt.Sprintf("/:%d", pathsHTTP), "--http-probe", fmt.Sprintf("/hello.txt:%d", pathsHTTP),
		"--probe-script", fmt.Sprintf("curl -sfk https://127.0.0.1:%d/hello.txt", pathsHTTPS),
	}
	testimages.LockPort(t, pathsHTTP) // verify runs both servers on it
	verify := func(t *testing.T, p *pared) (string, int) {
		t.Helper()
		out, errOut, code := pare(t, append([]string{"verify", "docker-daemon:" + p.orig, "docker-daemon:" + p.tag}, probes...)...)
		return out + errOut, code
	}
	p := buildPared(t, "paths-lighttpd", "pared")
	if out, code := verify(t, p); code != 0 || !strings.Contains(out, "same behaviour") {
		t.Errorf("verify of the static build: exit %d\n%s", code, out)
	}
	for variant, exclude := range map[string]string{"no-state": "/var/lib/paths-site", "no-config": "/etc/paths-site/**"} {
		t.Run(variant, func(t *testing.T) {
			cut := buildPared(t, "paths-lighttpd", variant, "--exclude", exclude)
			out, code := verify(t, cut)
			if code != 1 || !strings.Contains(out, "DIFFERENT http GET:/:18080") {
				t.Errorf("verify with %s cut: exit %d, want 1 naming the probe\n%s", exclude, code, out)
			}
		})
	}
}
