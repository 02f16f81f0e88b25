package cli

import (
	"strings"
	"testing"
)

// FuzzShellWords splits --cmd/--entrypoint/--run values: no panic, and
// words joined back with single quotes split into the same words.
func FuzzShellWords(f *testing.F) {
	for _, s := range []string{`nginx -g 'daemon off;'`, `sh -c "echo \"hi\" \\ x"`, `a\ b c`, `'`, `"\`, `\`, "a\tb\nc", `""`, `''x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := shellWords(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := shellWords(strings.Join(quoted, " "))
		if err != nil || strings.Join(again, "\x00") != strings.Join(words, "\x00") || len(again) != len(words) {
			t.Errorf("shellWords(%q) = %q; quoted back: %q, %v", s, words, again, err)
		}
	})
}
