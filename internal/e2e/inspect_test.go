package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/testimages"
	parelib "github.com/pare-dev/pare/pkg/pare"
)

// TestInspectLayers checks pare inspect's figures on the layers fixture,
// whose Dockerfile says what each layer overwrites and deletes, and that
// the --ci thresholds set the exit code.
func TestInspectLayers(t *testing.T) {
	image := testimages.Require(t, "layers")
	base := testimages.Require(t, "base")
	src := "docker-archive:" + testimages.SaveArchive(t, image)
	var r parelib.InspectResult
	if err := json.Unmarshal([]byte(mustPare(t, "inspect", src, "--output", "json", "--top", "10000")), &r); err != nil {
		t.Fatal(err)
	}

	// the fixture's own waste, from its Dockerfile; /etc/motd comes from the base
	motd, err := strconv.ParseInt(strings.Fields(testimages.Docker(t, "run", "--rm", "--network", "none", base, "wc", "-c", "/etc/motd"))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var big int64
	for n := 1; n <= 2000; n++ {
		big += int64(len(fmt.Sprintf("line %d\n", n)))
	}
	want := map[string]struct {
		bytes int64
		layer int
	}{
		"/opt/app/big.txt":       {big, 2}, // copied up by layer 6's hardlink
		"/data/deleted.txt":      {8, 2},   // "deleted\n", a whiteout in layer 4
		"/data/gone/x.txt":       {5, 2},   // a whited-out directory
		"/data/replaced/old.txt": {4, 2},   // under an opaque directory of layer 5
		"/data/becomes-dir":      {5, 2},   // a file replaced by a directory
		"/etc/motd":              {motd, 0},
	}
	got := map[string]parelib.WastedFile{}
	var sum int64
	for _, f := range r.WastedFiles {
		got[f.Path] = f
		sum += f.Bytes
	}
	for p, w := range want {
		f, ok := got[p]
		if !ok || f.Bytes != w.bytes || f.Copies != 1 || len(f.Layers) != 1 || f.Layers[0] != w.layer {
			t.Errorf("%s: wasted %+v, want %d bytes of layer index %d", p, f, w.bytes, w.layer)
		}
	}
	for p, f := range got {
		// the rest is what apt-get in layer 2 rewrote of the base
		if _, ok := want[p]; !ok && (len(f.Layers) != 1 || f.Layers[0] != 0 || !strings.HasPrefix(p, "/var/")) {
			t.Errorf("unexpected wasted file %+v", f)
		}
	}
	if r.WastedFileCount != len(r.WastedFiles) || sum != r.WastedBytes {
		t.Errorf("wasted %d bytes in %d files, the list sums %d in %d", r.WastedBytes, r.WastedFileCount, sum, len(r.WastedFiles))
	}
	if r.LayerCount != 6 || r.TotalBytes-r.WastedBytes != r.MergedBytes || math.Abs(r.Efficiency-(1-float64(r.WastedBytes)/float64(r.TotalBytes))) > 1e-12 {
		t.Errorf("layers %d total %d wasted %d merged %d efficiency %v", r.LayerCount, r.TotalBytes, r.WastedBytes, r.MergedBytes, r.Efficiency)
	}
	// per layer: what each hides, and the commands that made them
	var layers []parelib.InspectLayer
	var empty []string
	var total int64
	for _, l := range r.Layers {
		if l.Empty {
			empty = append(empty, strings.Fields(strings.TrimPrefix(l.Command, "/bin/sh -c #(nop) "))[0])
			continue
		}
		layers = append(layers, l)
		total += l.Bytes
	}
	if len(layers) != 6 || total != r.TotalBytes {
		t.Fatalf("%d layers summing %d bytes, total %d", len(layers), total, r.TotalBytes)
	}
	if !strings.HasPrefix(strings.Join(empty, " "), "ENV WORKDIR LABEL CMD") {
		t.Errorf("empty history entries %v", empty)
	}
	hides := []int64{0, r.WastedBytes - big - 8 - 5 - 4 - 5 - motd, 0, 8 + 5 + motd, 4 + 5, big}
	for i, l := range layers {
		if l.Index != i || l.Hidden != hides[i] {
			t.Errorf("layer %d (index %d) hides %d bytes, want %d", i+1, l.Index, l.Hidden, hides[i])
		}
	}
	if l := layers[2]; l.Wasted != big+8+5+4+5 || l.Files != 7 {
		t.Errorf("layer 3: %d files, %d wasted", l.Files, l.Wasted)
	}
	if l := layers[3]; !strings.Contains(l.Command, "rm /data/deleted.txt") || l.Whiteouts != 3 || l.Bytes != 0 {
		t.Errorf("layer 4: %+v", l)
	}
	if l := layers[4]; l.Whiteouts != 2 || l.Bytes != int64(len("new\ninside\n")) {
		t.Errorf("layer 5: %+v", l)
	}
	// the dry run measures the same merged filesystem
	p := r.Pared
	if p == nil {
		t.Fatalf("dry run failed: %s", r.ParedError)
	}
	if p.BeforeBytes != r.MergedBytes || p.AfterBytes <= 0 || p.AfterBytes >= p.BeforeBytes ||
		p.DroppedFiles != p.BeforeFiles-p.AfterFiles || len(p.TopDropped) == 0 {
		t.Errorf("dry run %+v (merged %d)", p, r.MergedBytes)
	}
	var dropped int64
	for _, d := range p.TopDropped {
		dropped += d.Bytes
	}
	if dropped != p.DroppedBytes {
		t.Errorf("dropped directories sum %d bytes, dropped %d", dropped, p.DroppedBytes)
	}

	// text output
	text := mustPare(t, "inspect", src)
	for _, s := range []string{"efficiency", "rm /data/deleted.txt", "/opt/app/big.txt", "pare build (dry run)", strconv.FormatInt(r.WastedBytes, 10) + " bytes"} {
		if !strings.Contains(text, s) {
			t.Errorf("text output lacks %q:\n%s", s, text)
		}
	}

	// CI thresholds around the measured figures
	eff := strconv.FormatFloat(r.Efficiency, 'f', -1, 64)
	wasted := strconv.FormatInt(r.WastedBytes, 10)
	pared := strconv.FormatInt(p.AfterBytes, 10)
	for _, c := range []struct {
		args   []string
		code   int
		failed []string
	}{
		{[]string{"--ci"}, 0, nil}, // dive's default 0.9
		{[]string{"--lowest-efficiency", eff, "--highest-wasted-bytes", wasted, "--largest-pared-size", pared}, 0, nil},
		{[]string{"--ci", "--highest-wasted-bytes", "20MB", "--largest-pared-size", "50MB"}, 0, nil},
		{[]string{"--ci", "--lowest-efficiency", strconv.FormatFloat(r.Efficiency+0.0001, 'f', -1, 64)}, 1, []string{parelib.RuleLowestEfficiency}},
		{[]string{"--ci", "--highest-wasted-bytes", strconv.FormatInt(r.WastedBytes-1, 10)}, 1, []string{parelib.RuleHighestWastedBytes}},
		{[]string{"--ci", "--highest-wasted-bytes", "20MB", "--largest-pared-size", strconv.FormatInt(p.AfterBytes-1, 10)}, 1, []string{parelib.RuleLargestParedSize}},
		{[]string{"--ci", "--lowest-efficiency", "1", "--largest-pared-size", "1KB"}, 1, []string{parelib.RuleLowestEfficiency, parelib.RuleLargestParedSize}},
	} {
		out, errOut, code := pare(t, append([]string{"inspect", src}, c.args...)...)
		if code != c.code {
			t.Errorf("inspect %v: exit %d, want %d\n%s", c.args, code, c.code, errOut)
		}
		for _, rule := range []string{parelib.RuleLowestEfficiency, parelib.RuleHighestWastedBytes, parelib.RuleLargestParedSize} {
			isFailed := strings.Contains(out, "FAIL: "+rule+":")
			wantFailed := false
			for _, f := range c.failed {
				wantFailed = wantFailed || f == rule
			}
			if isFailed != wantFailed || wantFailed && !strings.Contains(errOut, rule) {
				t.Errorf("inspect %v: rule %s failed=%v, want %v\n%s%s", c.args, rule, isFailed, wantFailed, out, errOut)
			}
		}
	}
	if _, _, code := pare(t, "inspect", src, "--highest-wasted-bytes", "lots"); code != 2 {
		t.Errorf("a bad size: exit %d, want 2", code)
	}
}
