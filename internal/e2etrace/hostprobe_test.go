package e2etrace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/testimages"
)

// TestProbeScriptAlone: a host probe script alone puts the container on
// the host network and starts once the exposed port accepts connections,
// so it reaches the server (a Node app here) and the pared image passes
// verify under the default probe.
func TestProbeScriptAlone(t *testing.T) {
	orig := testimages.Require(t, "node")
	port := testimages.Ports["node"]
	dir := t.TempDir()
	script := filepath.Join(dir, "probe.sh")
	// no retry loop: the script relies on pare to wait for the port
	body := "#!/bin/sh\nexec curl -fsS --noproxy '*' --max-time 20 -o /dev/null \"http://$PARE_TARGET_HOST:$PARE_TARGET_PORT/\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	tag := testimages.TagPrefix + "pare-e2etrace/node:script-only"
	remember(tag)
	rep := filepath.Join(dir, "report.json")
	testimages.LockPort(t, port)
	_, errOut := mustPare(t, "build", "docker-daemon:"+orig, "docker-daemon:"+tag, "--trace", "--sensor", sensor(t), "--probe-script", script, "--report", rep)
	r := readReport(t, rep)
	if r.Trace == nil || len(r.Trace.Probes) != 1 || !r.Trace.Probes[0].OK {
		t.Fatalf("probe script while tracing: %+v\n%s", r.Trace, tail(errOut, 20))
	}
	kept := false
	for _, k := range r.Kept {
		if k.Path == "/app/server.js" {
			kept = true
		}
	}
	if !kept {
		t.Error("/app/server.js not kept")
	}
	if out, errOut, code := pare(t.Context(), "verify", "docker-daemon:"+orig, "docker-daemon:"+tag, "--probe-script", script); code != 0 {
		t.Errorf("verify with the script: exit %d\n%s%s", code, out, tail(errOut, 10))
	}
}

// TestTracedTCPServerNoFlags: a server that does not speak HTTP (redis),
// traced and verified with no flags, gets a TCP probe on its port and
// passes.
func TestTracedTCPServerNoFlags(t *testing.T) {
	orig := testimages.Require(t, "redis")
	port := testimages.Ports["redis"]
	tag := testimages.TagPrefix + "pare-e2etrace/redis:traced-noflags"
	remember(tag)
	rep := filepath.Join(t.TempDir(), "report.json")
	testimages.LockPort(t, port)
	_, errOut := mustPare(t, "build", "docker-daemon:"+orig, "docker-daemon:"+tag, "--trace", "--sensor", sensor(t), "--report", rep)
	r := readReport(t, rep)
	if r.Trace == nil || len(r.Trace.Probes) != 1 || !r.Trace.Probes[0].OK || r.Trace.Probes[0].Name != "port 6379" {
		t.Fatalf("default probe while tracing: %+v\n%s", r.Trace, tail(errOut, 20))
	}
	out, errOut, code := pare(t.Context(), "verify", "docker-daemon:"+orig, "docker-daemon:"+tag, "--output", "json")
	if code != 0 {
		t.Errorf("verify: exit %d\n%s%s", code, out, tail(errOut, 10))
	}
	if !strings.Contains(out, `"kind": "tcp"`) {
		t.Errorf("the default probe did not take redis for a TCP server:\n%s", out)
	}
}

// TestExecUserAndWorkingDir: --exec runs like docker exec, as the image's
// user in its WorkingDir, under the tracer (relative paths work, and what
// the command reads is recorded).
func TestExecUserAndWorkingDir(t *testing.T) {
	orig := testimages.Require(t, "node")
	out, errOut := mustPare(t, "trace", "docker-daemon:"+orig, "--sensor", sensor(t), "--exec", "cat server.js >/dev/null && id -u && pwd", "--output", "json")
	var res struct {
		Probes []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
			Head string `json:"head"`
		} `json:"probes"`
		Observations struct {
			Files []struct {
				Path string `json:"path"`
				Exe  string `json:"exe"`
				OK   bool   `json:"ok"`
			} `json:"files"`
		} `json:"observations"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, tail(errOut, 10))
	}
	if len(res.Probes) != 1 || !res.Probes[0].OK || res.Probes[0].Head != "1002\n/app\n" {
		t.Fatalf("exec probe: %+v", res.Probes)
	}
	read := false
	for _, f := range res.Observations.Files {
		if f.Path == "/app/server.js" && f.OK && strings.HasSuffix(f.Exe, "/cat") {
			read = true
		}
	}
	if !read {
		t.Error("the exec's read of server.js (a relative path) was not recorded")
	}
}
