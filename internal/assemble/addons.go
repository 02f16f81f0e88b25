package assemble

import (
	"fmt"
	"io/fs"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// Where pare puts its own programs in a pared image.
const (
	AddonDir        = "/.pare"
	InitPath        = AddonDir + "/init"
	HealthcheckPath = AddonDir + "/healthcheck"
)

// Extra is a file pare adds to the pared image that the source did not
// have (pare-init, pare-healthcheck). It is owned by root and replaces a
// source file of the same path; missing parent directories are made 0755.
type Extra struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// addExtras puts the extra files into items.
func addExtras(items *layoutItems, extras []Extra, ensureDir func(string)) error {
	for _, x := range extras {
		p := path.Clean(x.Path)
		if !path.IsAbs(p) || p == "/" {
			return fmt.Errorf("added file %q: not an absolute file path", x.Path)
		}
		for d := parent(p); d != "/"; d = parent(d) {
			if it, ok := items.get(d); ok && it.Entry.Type != rootfs.TypeDir {
				return fmt.Errorf("added file %s: %s is not a directory in the image", p, d)
			}
		}
		var dirs []string
		for d := parent(p); d != "/"; d = parent(d) {
			dirs = append(dirs, d)
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			ensureDir(dirs[i])
		}
		e := rootfs.Entry{Path: p, Type: rootfs.TypeReg, Mode: x.Mode.Perm(), Size: int64(len(x.Data))}
		items.set(p, bytesRef(e, x.Data))
	}
	return nil
}

// WithInit puts the init program at initPath in front of cf's command:
// the Entrypoint becomes [initPath, "--", Entrypoint...] and Cmd stays, so
// that arguments of docker run still replace Cmd only. An Entrypoint that
// already starts with initPath (a pared image pared again) is left alone.
func WithInit(cf *v1.ConfigFile, initPath string) {
	if len(cf.Config.Entrypoint) > 0 && cf.Config.Entrypoint[0] == initPath {
		return
	}
	cf.Config.Entrypoint = append([]string{initPath, "--"}, cf.Config.Entrypoint...)
}

// Healthcheck is a HEALTHCHECK run by pare-healthcheck: a GET of URL, or
// Command run in the container. Zero durations and retries take the
// Default* values.
type Healthcheck struct {
	URL         string
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// HEALTHCHECK defaults of pared images: Docker's, but a check that takes
// more than 5 s is a failure.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	DefaultHealthRetries  = 3
)

// WithHealthcheck sets cf's Healthcheck to run the health-check program at
// hcPath as h says. The program gets the same timeout as Docker.
func WithHealthcheck(cf *v1.ConfigFile, hcPath string, h Healthcheck) error {
	if (h.URL == "") == (len(h.Command) == 0) {
		return fmt.Errorf("a health check needs a URL or a command")
	}
	if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.Retries < 0 {
		return fmt.Errorf("health check durations and retries must not be negative")
	}
	if h.Interval == 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Retries == 0 {
		h.Retries = DefaultHealthRetries
	}
	test := []string{"CMD", hcPath, "-timeout", h.Timeout.String()}
	if h.URL != "" {
		test = append(test, h.URL)
	} else {
		test = append(append(test, "--"), h.Command...)
	}
	cf.Config.Healthcheck = &v1.HealthConfig{
		Test: test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries,
	}
	return nil
}
