package cli

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
)

// TestAddonFlags: a URL or a command for --add-healthcheck, the timing
// flags, and the usage errors.
func TestAddonFlags(t *testing.T) {
	parse := func(args ...string) (pare.BuildOptions, error) {
		var f addonFlags
		cmd := &cobra.Command{Use: "x"}
		f.register(cmd)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		var o pare.BuildOptions
		return o, f.apply(cmd, &o)
	}
	o, err := parse("--add-init", "--add-healthcheck", "http://127.0.0.1:8080/healthz", "--healthcheck-interval", "2s")
	if err != nil {
		t.Fatal(err)
	}
	if h := o.Healthcheck; !o.AddInit || h == nil || h.URL != "http://127.0.0.1:8080/healthz" || h.Command != nil ||
		h.Interval != 2*time.Second || h.Timeout != 5*time.Second || h.Retries != 3 {
		t.Errorf("options %+v, healthcheck %+v", o, o.Healthcheck)
	}
	for arg, want := range map[string][]string{
		"pg_isready -h 127.0.0.1":          {"pg_isready", "-h", "127.0.0.1"},
		`["redis-cli","-p","6379","ping"]`: {"redis-cli", "-p", "6379", "ping"},
		"check --url http://x/":            {"check", "--url", "http://x/"},
	} {
		o, err := parse("--add-healthcheck", arg)
		if err != nil {
			t.Fatal(err)
		}
		if o.AddInit || o.Healthcheck == nil || o.Healthcheck.URL != "" || !slices.Equal(o.Healthcheck.Command, want) {
			t.Errorf("%q: %+v, want command %q", arg, o.Healthcheck, want)
		}
	}
	if o, err := parse(); err != nil || o.AddInit || o.Healthcheck != nil {
		t.Errorf("no flags: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"--add-healthcheck", "https://127.0.0.1/"},
		{"--add-healthcheck", ""},
		{"--add-healthcheck", "[1]"},
		{"--healthcheck-interval", "1s"},
		{"--add-healthcheck", "http://127.0.0.1/", "--healthcheck-retries", "0"},
		{"--add-healthcheck", "http://127.0.0.1/", "--healthcheck-timeout", "-1s"},
	} {
		var ue usageError
		if _, err := parse(args...); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
