package report

import (
	"bytes"
	"strings"
	"testing"

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
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"90.0% smaller", "/app ← entrypoint", "/lib/&lt;x&gt;.so", "<b>needed</b>", "shells</th><td class=\"gone mono\">sh </td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
