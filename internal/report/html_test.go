package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/keptset"
)

func TestWriteHTML(t *testing.T) {
	r := &Report{
		Source: "docker-daemon:app", Command: []string{"/app"}, User: "65532:65532",
		Before: Size{Files: 10, Bytes: 1000}, After: Size{Files: 2, Bytes: 100}, Dropped: 8,
		Removed: Removed{Shells: []string{"/usr/bin/sh", "/usr/sbin/sh"}},
		Kept: []Kept{
			{Path: "/app", Type: "file", Size: 90, Reasons: []keptset.Reason{{Kind: keptset.KindEntrypoint}}, Chain: "/app ← entrypoint"},
			{Path: "/lib/<x>.so", Type: "file", Size: 10, Reasons: []keptset.Reason{{Kind: keptset.KindNeeded, From: "/app"}}, Chain: "/lib/x.so ← DT_NEEDED of /app ← entrypoint"},
		},
	}
	r.Kept = append(r.Kept, Kept{Path: "/srv/</script><script>alert(1)</script>", Type: "file", Reasons: []keptset.Reason{{Kind: keptset.KindApp}}, Chain: "x"})
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"90.0% smaller", `/lib/\u003cx\u003e.so`, "<b>needed</b>", "shells</th><td class=\"gone mono\">sh </td>", `<details class="group" data-group="entrypoint"><summary><b>entrypoint</b> — 1 paths, 90 B`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<x>") {
		t.Error("a path's text is not escaped in the page")
	}
	// The page embeds the report itself: it decodes to the same report.
	const open = `<script type="application/json" id="report-data">`
	i := strings.Index(page, open)
	j := strings.Index(page[i+len(open):], "</script>")
	if i < 0 || j < 0 {
		t.Fatal("no embedded report")
	}
	var got Report
	if err := json.Unmarshal([]byte(page[i+len(open):i+len(open)+j]), &got); err != nil {
		t.Fatalf("embedded report: %v", err)
	}
	if d := cmp.Diff(r, &got); d != "" {
		t.Errorf("embedded report differs (-want +got):\n%s", d)
	}
}
