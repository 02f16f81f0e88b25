package testimages

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGeneralityFixtureCommands runs each batch fixture of issue 7 and checks
// its exact output, as documented in testdata/images/README.md.
func TestGeneralityFixtureCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string // arguments after the image (the CMD of the run)
		want string
	}{
		{"git", nil, "0e041fba758d7a26309f9b09c7d70ce500944630\tHEAD\n0e041fba758d7a26309f9b09c7d70ce500944630\trefs/heads/main\n"},
		{"git", []string{"-C", "demo.git", "log", "--format=%s"}, "second commit\nfirst commit\n"},
		{"imagemagick", nil, "PNG 16x12 c822042211d70855158aa8ae03a0e38ffc91a68d3379a0163e8a70a2712d6ac2\n"},
		{"imagemagick", []string{"rose:", "-resize", "50%", "-format", "%wx%h", "info:"}, "35x23"},
		{"ghostscript", nil, "     Hello from pare\r\n     2 + 3 = 5\r\n"},
		{"ghostscript", []string{"-dNODISPLAY", "calc.ps"}, "sum: 5\nsqrt2: 1.41421\nfonts: Courier\n"},
		{"poppler", nil, "Quarterly report\nRevenue grew by 12 percent.\npare keeps what programs need.\n\f"},
		{"tcl", nil, "apple     10 x   0.50\ncherry   100 x   0.05\npear       4 x   0.75\ntotal: 13.00\ndate: 1970-01-02 Friday\nlatin1 bytes: 7\n"},
		{"erlang", nil, "args: [3,4]\narea: 12\nsorted: [4,3]\nupper: PARE ERLANG\nbytes: 7\n"},
		{"erlang", []string{"-extra", "2", "5", "7"}, "args: [2,5,7]\narea: 70\nsorted: [7,5,2]\nupper: PARE ERLANG\nbytes: 7\n"},
		{"perl", nil, "locale: de_DE.UTF-8\nsorted: öl, Apfel, Äpfel, banane, Orange, Zebra\ndate: Dienstag, 10. Februar 1970\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+strings.Join(tt.args, "_"), func(t *testing.T) {
			img := Require(t, tt.name)
			args := append([]string{"run", "--rm", "--network", "none", img}, tt.args...)
			if got := Docker(t, args...); got != tt.want {
				t.Errorf("docker %s printed\n%q\nwant\n%q", strings.Join(args, " "), got, tt.want)
			}
		})
	}
}

// TestGeneralityFixtureServers starts each HTTP server fixture of issue 7
// and checks one answer.
func TestGeneralityFixtureServers(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{"mini-httpd", "/docs/about.txt", "relative to WORKDIR\n"},
		{"lighttpd", "/hello.txt", "hello from lighttpd\n"},
		{"haproxy", "/", "haproxy ok"},
		{"apache2", "/hello.txt", "hello from apache2\n"},
		{"npm", "/", `{"app":"npm","modules":["mustache","debug","ms"],"uptimeFormat":"1 day"}` + "\n"},
		{"venv", "/", `{"app": "venv", "bottle": "0.12.23", "sha256": "` + parePrint + `", "total": 16, "venv": true}` + "\n"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := Require(t, tt.name)
			port := Ports[tt.name]
			RunServer(t, img, port)
			url := "http://127.0.0.1:" + strconv.Itoa(port) + tt.path
			var body string
			// A server may accept connections a moment before it answers.
			for i := 0; ; i++ {
				resp, err := client.Get(url)
				if err == nil {
					b, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					if rerr == nil && resp.StatusCode == http.StatusOK {
						body = string(b)
						break
					}
					err = rerr
				}
				if i == 20 {
					t.Fatalf("GET %s: %v", url, err)
				}
				time.Sleep(250 * time.Millisecond)
			}
			if body != tt.want {
				t.Errorf("GET %s = %q, want %q", url, body, tt.want)
			}
		})
	}
}
