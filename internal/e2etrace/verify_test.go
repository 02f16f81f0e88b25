package e2etrace

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/testimages"
)

// TestVerifyNamesProbe: a pared server that dies at start is a difference,
// and verify exits 1 naming the probe: nginx (HTTP) without its config
// file, and redis (not HTTP: the original "fails" GET / too) given a config
// file that the pared image lacks.
func TestVerifyNamesProbe(t *testing.T) {
	redisCmd := `["redis-server", "/etc/redis/redis.conf", "--daemonize", "no", "--logfile", "", "--save", "", "--appendonly", "no"]`
	for _, tc := range []struct {
		fixture, exclude string
		flags            []string
	}{
		{"nginx", "/etc/nginx/nginx.conf", nil},
		{"redis", "/etc/redis/redis.conf", []string{"--cmd", redisCmd}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			orig := testimages.Require(t, tc.fixture)
			port := testimages.Ports[tc.fixture]
			tag := testimages.TagPrefix + "pare-e2etrace/" + tc.fixture + ":no-config"
			remember(tag)
			mustPare(t, append([]string{"build", "docker-daemon:" + orig, "docker-daemon:" + tag, "--exclude", tc.exclude, "--quiet"}, tc.flags...)...)
			testimages.LockPort(t, port)
			out, errOut, code := pare(t.Context(), append([]string{"verify", "docker-daemon:" + orig, "docker-daemon:" + tag, "--quiet"}, tc.flags...)...)
			probe := "port " + strconv.Itoa(port)
			if code != 1 {
				t.Fatalf("verify: exit %d, want 1\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "behaves differently under "+probe) {
				t.Errorf("verify error does not name the probe %q: %s", probe, errOut)
			}
			if !strings.Contains(out, "DIFFERENT "+probe+": outcome ok != exited") {
				t.Errorf("verify output:\n%s", out)
			}
			if !strings.Contains(out, "probe "+probe+": failed (exited)") {
				t.Errorf("verify output does not say the pared image exited:\n%s", out)
			}
		})
	}
}
