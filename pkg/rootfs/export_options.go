package rootfs

import "os"

// ExportStats counts what Export wrote.
type ExportStats struct {
	Dirs, Files, Symlinks, Hardlinks int
	Bytes                            int64 // content bytes written
	Skipped                          int   // device nodes, FIFOs, sockets
	// Warnings name each entry skipped or written incompletely (for example
	// an xattr the filesystem refused).
	Warnings []string
}

type exportOptions struct {
	chown bool
}

// ExportOption configures Export.
type ExportOption func(*exportOptions)

// WithOwnership sets whether Export applies the image's uid/gid; the default
// is to do so only when running as root.
func WithOwnership(on bool) ExportOption {
	return func(o *exportOptions) { o.chown = on }
}

func makeExportOptions(opts []ExportOption) exportOptions {
	o := exportOptions{chown: os.Geteuid() == 0}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
