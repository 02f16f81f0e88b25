package testimages

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sha256("pare"), which several fixtures print.
const parePrint = "6a6f02676afa294c96c7440f39ae13c357aee4782c8c811edddb8f04e3aa926c"

// TestFixtureCommands runs each command fixture and checks its exact output,
// as documented in testdata/images/README.md.
func TestFixtureCommands(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"layers", "hello\nnew\n"},
		{"gocgo", "resolve localhost: 127.0.0.1\ncurrent user: gocgo uid=1001 home=/home/gocgo\nlookup root: uid=0\nzone Europe/Paris: CET +3600\nsystem certs: ok\n"},
		{"sqlite", "apple=3\nbanana=5\ncherry=7\ntotal=15\n"},
		{"bashscript", `== people.json (jq)
alice 34
bob 27
carol 41
oldest: carol
== people.csv (gawk, sort, grep, sed, tr)
cities=4 mean_age=30.2
1 Lyon
1 Nantes
2 Paris
paris rows: 2
NAME;CITY;AGE
sha256: a2688dda17131853
lines: 10
`},
		{"cplugin", "greet: hello from libgreet\nplugin: hello-plugin value=1.0\n"},
		{"cmusl", "greet: hello from libgreet\nplugin: hello-plugin value=1.0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := Require(t, tt.name)
			if got := Docker(t, "run", "--rm", "--network", "none", img); got != tt.want {
				t.Errorf("docker run %s printed\n%s\nwant\n%s", img, got, tt.want)
			}
		})
	}
}

// TestFixtureServers starts each HTTP server fixture and checks its answer.
func TestFixtureServers(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{"gostatic", "/sha256?s=pare", parePrint + "\n"},
		{"nginx", "/healthz", "ok\n"},
		{"python", "/", `{"app": "python", "decimal": "0.3333333333", "sha256": "` + parePrint + `", "sqlite_sum": 55}` + "\n"},
		{"ruby", "/", `{"app":"ruby","sha256":"` + parePrint + `","crc32":599740468,"deflated":true,"bigdecimal":"0.3333333333"}` + "\n"},
		{"node", "/", `{"app":"node","sha256":"` + parePrint + `","gzipRoundTrip":"pare"}` + "\n"},
		{"java", "/", "java ok sha256(pare)=" + parePrint + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := Require(t, tt.name)
			port := Ports[tt.name]
			RunServer(t, img, port)
			url := "http://127.0.0.1:" + strconv.Itoa(port) + tt.path
			code, body := httpGet(t, url)
			if code != http.StatusOK || body != tt.want {
				t.Errorf("GET %s = %d %q, want 200 %q", url, code, body, tt.want)
			}
		})
	}
}

func TestFixtureNginxGzip(t *testing.T) {
	img := Require(t, "nginx")
	RunServer(t, img, Ports["nginx"])
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(Ports["nginx"])+"/large.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if enc := resp.Header.Get("Content-Encoding"); resp.StatusCode != http.StatusOK || enc != "gzip" {
		t.Fatalf("GET /large.txt = %d, Content-Encoding %q, want 200 gzip", resp.StatusCode, enc)
	}
	if n == 0 || n > 500_000 {
		t.Errorf("gzip body is %d bytes, want a compressed large.txt (0 < n <= 500000)", n)
	}
}

func TestFixtureRedis(t *testing.T) {
	img := Require(t, "redis")
	RunServer(t, img, Ports["redis"])
	conn, err := net.Dial("tcp", "127.0.0.1:6379")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line != "+PONG\r\n" {
		t.Errorf("PING answered %q, want +PONG", line)
	}
}

func TestFixturePostgres(t *testing.T) {
	img := Require(t, "postgres")
	id := RunServer(t, img, Ports["postgres"])
	// The port can open a moment before the server accepts queries.
	var out string
	var err error
	for range 20 {
		out, err = DockerErr(t.Context(), "exec", id, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "app", "-Atc",
			"SELECT encode(digest('pare', 'sha256'), 'hex')")
		if err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != parePrint {
		t.Errorf("pgcrypto digest = %q, want %q", got, parePrint)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
