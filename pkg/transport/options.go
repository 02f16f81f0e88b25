package transport

import (
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
)

// Option configures Read and Write.
type Option func(*options)

type options struct {
	platform     v1.Platform
	insecure     bool
	progress     chan<- v1.Update
	daemonClient daemon.Client
	tempDir      string
}

// WithTempDir puts the buffer of a docker-daemon read in dir (default
// os.TempDir()). The buffer is unlinked as soon as it is created, so it never
// outlives the process.
func WithTempDir(dir string) Option {
	return func(o *options) { o.tempDir = dir }
}

// WithPlatform selects the image of an index (default linux/<host arch>).
func WithPlatform(p v1.Platform) Option {
	return func(o *options) { o.platform = p }
}

// WithInsecure allows plain HTTP and unverified TLS for docker:// registries.
// (Loopback registries such as localhost:5000 use HTTP without it.)
func WithInsecure(insecure bool) Option {
	return func(o *options) { o.insecure = insecure }
}

// WithProgress makes Write send progress updates on ch, as
// go-containerregistry does. Write closes ch when it returns. Only registry
// and docker-archive writes report byte-level progress; oci reports per
// blob; docker-daemon sends a single final update.
func WithProgress(ch chan<- v1.Update) Option {
	return func(o *options) { o.progress = ch }
}

// WithDaemonClient sets the Docker API client for docker-daemon references
// (default: from the environment, with API version negotiation).
func WithDaemonClient(c daemon.Client) Option {
	return func(o *options) { o.daemonClient = c }
}

// DefaultPlatform is linux on the host's architecture.
func DefaultPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p
}

func makeOptions(opts []Option) *options {
	o := &options{platform: DefaultPlatform()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}
