package transport

import "testing"

// FuzzParse parses image references: no panic, and a parsed reference
// prints as a string that parses to the same reference.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"docker-archive:/tmp/a.tar:app:1", "oci:layout:v1", "docker-daemon:nginx:latest", "docker://127.0.0.1:5000/a/b@sha256:" +
		"0000000000000000000000000000000000000000000000000000000000000000", "dir:/", "dir:", "x:", ":", "oci:", "docker-archive:a.tar@sha256:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		r2, err := Parse(r.String())
		if err != nil || r2 != r {
			t.Errorf("Parse(%q) = %+v; its String %q parses to %+v, %v", s, r, r.String(), r2, err)
		}
	})
}
