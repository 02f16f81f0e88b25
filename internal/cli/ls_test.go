package cli

import (
	"fmt"
	"io/fs"
	"math"
	"testing"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// TestAppendLsLine checks the allocation-free line of pare ls against the
// fmt format it replaces, over types, special bits and number widths.
func TestAppendLsLine(t *testing.T) {
	modes := []fs.FileMode{0, 0o755, 0o644, 0o777 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky, 0o600 | fs.ModeSetuid | fs.ModeSticky, 0o2710 & 0o777}
	ids := []int{0, 7, 65534, 123456, -1, math.MaxInt32}
	sizes := []int64{0, 1, 99999, 1234567890, 98765432101234, -5}
	var buf []byte
	n := 0
	for typ := rootfs.Type(0); typ <= rootfs.TypeSocket+1; typ++ {
		for _, m := range modes {
			for i, id := range ids {
				e := &rootfs.Entry{Path: "/usr/bin/x y", Type: typ, Mode: m, UID: id, GID: ids[len(ids)-1-i], Size: sizes[i], Linkname: "../lib/é"}
				want := fmt.Sprintf("%s %5d:%-5d %10d %s", oldSymbolicMode(e), e.UID, e.GID, e.Size, e.Path)
				if e.Type == rootfs.TypeSymlink {
					want += " -> " + e.Linkname
				}
				want += "\n"
				buf = appendLsLine(buf[:0], e)
				if string(buf) != want {
					t.Errorf("appendLsLine(%+v) = %q, want %q", e, buf, want)
				}
				n++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d cases", n)
	}
}

// oldSymbolicMode is the map-based formatting appendSymbolicMode replaced.
func oldSymbolicMode(e *rootfs.Entry) string {
	t := map[rootfs.Type]byte{rootfs.TypeReg: '-', rootfs.TypeDir: 'd', rootfs.TypeSymlink: 'l', rootfs.TypeChar: 'c',
		rootfs.TypeBlock: 'b', rootfs.TypeFIFO: 'p', rootfs.TypeSocket: 's'}[e.Type]
	b := []byte{t}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if e.Mode&(1<<uint(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	special := func(idx int, bit fs.FileMode, c byte) {
		if e.Mode&bit != 0 {
			if b[idx] == 'x' {
				b[idx] = c
			} else {
				b[idx] = c - 32
			}
		}
	}
	special(3, fs.ModeSetuid, 's')
	special(6, fs.ModeSetgid, 's')
	special(9, fs.ModeSticky, 't')
	return string(b)
}
