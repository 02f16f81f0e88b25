package shells

import "testing"

func TestShells(t *testing.T) {
	for _, tc := range []struct {
		p            string
		shell, posix bool
	}{
		{"/bin/sh", true, true}, {"dash", true, true}, {"/usr/bin/busybox", true, true},
		{"/bin/tcsh", true, false}, {"fish", true, false}, {"/usr/bin/python3", false, false}, {"shx", false, false},
	} {
		if Is(tc.p) != tc.shell || IsPOSIX(tc.p) != tc.posix {
			t.Errorf("%s: Is %v IsPOSIX %v, want %v %v", tc.p, Is(tc.p), IsPOSIX(tc.p), tc.shell, tc.posix)
		}
	}
}
