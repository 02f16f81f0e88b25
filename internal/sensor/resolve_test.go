//go:build linux

package sensor

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestResolveFallback resolves paths of a thread whose /proc entries are
// gone: the cwd and fds the tracer tracked stand in.
func TestResolveFallback(t *testing.T) {
	tr := &Tracer{creds: &credMatcher{}}
	// No such thread: pid_max is at most 2^22.
	th := &thread{tid: 1 << 30, proc: &proc{cwd: "/srv/app", fds: map[int]string{7: "/etc/ssl"}}}
	for _, tc := range []struct {
		dirfd int
		path  string
		want  string
	}{
		{unix.AT_FDCWD, "/abs/../x//y", "/x/y" /* cleaned lexically */},
		{unix.AT_FDCWD, "conf/app.yml", "/srv/app/conf/app.yml"},
		{unix.AT_FDCWD, "../lib", "/srv/lib"},
		{7, "certs/ca.pem", "/etc/ssl/certs/ca.pem"},
		{9, "unknown.txt", "unknown.txt" /* base not known: left relative */},
	} {
		if got := tr.resolve(th, tc.dirfd, tc.path); got != tc.want {
			t.Errorf("resolve(%d, %q) = %q, want %q", tc.dirfd, tc.path, got, tc.want)
		}
	}
}
