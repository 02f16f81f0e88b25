// Package busybox reads a static busybox binary for a debug variant of a
// pared image, without running it: the ELF file is parsed to check that it
// is static and built for the image's machine, and the applet names are
// read from the binary's own applet name table.
//
// busybox keeps the names of its applets in one array, applet_names: the
// names, NUL-terminated, one after the other, sorted (the applet lookup is
// a binary search over it). Applets finds the longest run of
// NUL-terminated applet-like names in strictly ascending order in the file;
// no other string data of a program is hundreds of sorted names long.
package busybox

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/pare-dev/pare/internal/toolbin"
	"github.com/pare-dev/pare/pkg/elfread"
)

// DefaultPath is where Debian's busybox-static package installs busybox.
const DefaultPath = "/bin/busybox"

// MinApplets is the fewest applet names Applets accepts as the table.
const MinApplets = 8

// Binary is a static busybox and the applets it provides.
type Binary struct {
	Path string
	Data []byte
	// Applets are the applet names, sorted, without "busybox" itself.
	Applets []string
}

// Load reads the busybox at path ("" is DefaultPath), checks that it is a
// static ELF executable for goarch and reads its applet names.
func Load(path, goarch string) (*Binary, error) {
	if path == "" {
		path = DefaultPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && path == DefaultPath {
			return nil, fmt.Errorf("reading busybox: %w (install Debian's busybox-static, or give its path with --busybox)", err)
		}
		return nil, fmt.Errorf("reading busybox: %w", err)
	}
	f, err := elfread.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("busybox %s: %w", path, err)
	}
	if (f.Kind != elfread.KindStatic && f.Kind != elfread.KindStaticPIE) || len(f.Needed) > 0 {
		return nil, fmt.Errorf("busybox %s is a %s ELF file needing %q, not a static executable (Debian's busybox-static is one)", path, f.Kind, f.Needed)
	}
	// the machine, as for pare's own programs
	if err := toolbin.Check(path, goarch); err != nil {
		return nil, fmt.Errorf("busybox: %w", err)
	}
	names, err := Applets(data)
	if err != nil {
		return nil, fmt.Errorf("busybox %s: %w", path, err)
	}
	return &Binary{Path: path, Data: data, Applets: names}, nil
}

// Applets returns the applet names in busybox's applet name table, sorted,
// without "busybox".
func Applets(data []byte) ([]string, error) {
	type run struct{ start, end, n int } // byte range and count of names
	var best, cur run
	var prev []byte
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], 0)
		if j < 0 {
			break
		}
		tok := data[i : i+j]
		switch {
		case appletName(tok) && cur.n > 0 && bytes.Compare(tok, prev) > 0:
			cur.end, cur.n = i+j, cur.n+1
		case appletName(tok):
			if cur.n > best.n {
				best = cur
			}
			cur = run{start: i, end: i + j, n: 1}
		default:
			if cur.n > best.n {
				best = cur
			}
			cur = run{}
		}
		prev = tok
		i += j + 1
	}
	if cur.n > best.n {
		best = cur
	}
	if best.n < MinApplets {
		return nil, fmt.Errorf("no applet name table found (the longest sorted run of names has %d)", best.n)
	}
	var names []string
	for _, b := range bytes.Split(data[best.start:best.end], []byte{0}) {
		if s := string(b); s != "busybox" {
			names = append(names, s)
		}
	}
	return names, nil
}

// appletName reports whether b looks like an applet name: "[", "[[", or a
// lower-case name of letters, digits, '-', '_' and '.' ("run-parts",
// "ssl_client", "mkfs.ext2").
func appletName(b []byte) bool {
	if len(b) == 0 || len(b) > 32 {
		return false
	}
	if string(b) == "[" || string(b) == "[[" {
		return true
	}
	if c := b[0]; c < 'a' || c > 'z' {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
