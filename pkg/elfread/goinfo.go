package elfread

import (
	"debug/buildinfo"
	"fmt"
	"io"
)

// MaxGoInfoSize is the largest file GoInfo hands to debug/buildinfo.
const MaxGoInfoSize = 4 << 30

// GoBuild is what a Go binary says about how it was built.
type GoBuild struct {
	GoVersion string // "go1.22.1"
	Path      string // main package path
	// CGO reports the build setting CGO_ENABLED=1. A cgo binary uses the
	// system's libc, and with it NSS and the dynamic loader's rules.
	CGO bool
	// Settings holds the build settings ("CGO_ENABLED", "GOOS", "-ldflags").
	Settings map[string]string
}

// GoInfo reads the Go build information of an ELF file. It returns nil and
// no error when the file is not a Go binary (or its build information cannot
// be found). debug/buildinfo is not hardened against hostile input, so it
// runs under recover() and only on files below MaxGoInfoSize.
func GoInfo(r io.ReaderAt, size int64) (g *GoBuild, err error) {
	if size > MaxGoInfoSize || size < 64 {
		return nil, nil
	}
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, fmt.Errorf("%w: reading Go build info: %v", ErrMalformed, p)
		}
	}()
	bi, err := buildinfo.Read(io.NewSectionReader(r, 0, size))
	if err != nil {
		// Not a Go binary, or one whose build info cannot be located.
		return nil, nil
	}
	g = &GoBuild{GoVersion: bi.GoVersion, Path: bi.Path, Settings: map[string]string{}}
	for _, s := range bi.Settings {
		g.Settings[s.Key] = s.Value
	}
	g.CGO = g.Settings["CGO_ENABLED"] == "1"
	return g, nil
}
