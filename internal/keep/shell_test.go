package keep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScanShell(t *testing.T) {
	for _, tc := range []struct {
		src     string
		want    []string
		dynamic bool
	}{
		{`exec nginx -g 'daemon off;'`, []string{"nginx"}, false},
		{"set -e\nFOO=1 jq -r .a data.json | sort -u > out\nif grep -q x f; then sed -n 1p f; fi", []string{"jq", "sort", "grep", "sed"}, false},
		{`echo "$(date +%s) $(basename "$0")"`, []string{"date", "basename"}, false},
		{"# comment only\nawk '{print $1}' f # trailing", []string{"awk"}, false},
		{`"$PROG" --x; env -i A=1 wc -l`, []string{"env", "wc"}, true},
		{"timeout 5 cat x && nice -n 3 head -1 y", []string{"timeout", "cat", "nice", "head"}, false},
		{". /lib/lsb/functions\ncat <<EOF\nnot a command\nEOF\n", []string{"cat"}, false},
	} {
		sc := scanShell(tc.src)
		if d := cmp.Diff(tc.want, sc.Commands); d != "" {
			t.Errorf("scanShell(%q) commands (-want +got):\n%s", tc.src, d)
		}
		if sc.Dynamic != tc.dynamic {
			t.Errorf("scanShell(%q).Dynamic = %v", tc.src, sc.Dynamic)
		}
	}
	if got := scanShell(". /lib/lsb/functions\nsource ./x.sh").Sourced; !cmp.Equal(got, []string{"/lib/lsb/functions", "./x.sh"}) {
		t.Errorf("sourced = %v", got)
	}
}
