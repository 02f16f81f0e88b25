// Package transport opens and writes images by skopeo-style references:
//
//	docker-archive:PATH[:NAME[:TAG]]   a docker save tarball
//	oci:DIR[:TAG]                      an OCI image layout directory
//	docker-daemon:NAME[:TAG]           the local Docker daemon
//	docker://REF                       a registry
//	dir:PATH                           a plain root filesystem (read only)
//
// Every source is returned as a v1.Image and every sink takes one. The
// package never prints; progress is reported on an optional channel.
package transport

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind is a transport name.
type Kind string

// Transports.
const (
	DockerArchive Kind = "docker-archive"
	OCI           Kind = "oci"
	DockerDaemon  Kind = "docker-daemon"
	Docker        Kind = "docker"
	Dir           Kind = "dir"
)

// Kinds lists the transports in the order they are documented.
var Kinds = []Kind{DockerArchive, OCI, DockerDaemon, Docker, Dir}

// Reference names an image in one transport.
type Reference struct {
	Kind Kind
	// Path is the file (docker-archive), layout directory (oci) or root
	// directory (dir).
	Path string
	// Tag is the image's ref name inside an OCI layout (oci only).
	Tag string
	// Name is the image reference, verbatim as given: the daemon image
	// (docker-daemon), the registry reference (docker), or the optional
	// repo tag inside a docker-archive.
	Name string
}

// ErrUnknownTransport is returned by Parse for a transport name it does not know.
var ErrUnknownTransport = errors.New("unknown transport")

// validTransports is the list shown in parse errors.
const validTransports = "docker-archive:PATH, oci:DIR[:TAG], docker-daemon:NAME[:TAG], docker://REF, dir:PATH"

// Parse parses a transport reference such as "oci:out:latest" or
// "docker://alpine:3.20". As in skopeo, a path ends at the first colon.
func Parse(s string) (Reference, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Reference{}, fmt.Errorf("invalid image reference %q: no transport (valid: %s)", s, validTransports)
	}
	ref := Reference{Kind: Kind(kind)}
	switch ref.Kind {
	case DockerArchive:
		ref.Path, ref.Name, _ = strings.Cut(rest, ":")
		if ref.Name != "" {
			if _, err := name.NewTag(ref.Name); err != nil {
				return Reference{}, fmt.Errorf("invalid image reference %q: bad tag %q: %w", s, ref.Name, err)
			}
		}
	case OCI:
		ref.Path, ref.Tag, _ = strings.Cut(rest, ":")
		if strings.Contains(rest, ":") && ref.Tag == "" {
			return Reference{}, fmt.Errorf("invalid image reference %q: empty tag", s)
		}
	case Dir:
		ref.Path = rest
	case DockerDaemon:
		ref.Name = rest
	case Docker:
		r, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return Reference{}, fmt.Errorf("invalid image reference %q: the registry transport is docker://REF", s)
		}
		ref.Name = r
	default:
		return Reference{}, fmt.Errorf("invalid image reference %q: %w %q (valid: %s)", s, ErrUnknownTransport, kind, validTransports)
	}
	switch ref.Kind {
	case DockerArchive, OCI, Dir:
		if ref.Path == "" {
			return Reference{}, fmt.Errorf("invalid image reference %q: empty path", s)
		}
	case DockerDaemon, Docker:
		if ref.Name == "" {
			return Reference{}, fmt.Errorf("invalid image reference %q: empty image name", s)
		}
		if _, err := name.ParseReference(ref.Name); err != nil {
			return Reference{}, fmt.Errorf("invalid image reference %q: %w", s, err)
		}
	}
	return ref, nil
}

// String returns the reference in the form Parse accepts.
func (r Reference) String() string {
	switch r.Kind {
	case DockerArchive:
		if r.Name != "" {
			return string(r.Kind) + ":" + r.Path + ":" + r.Name
		}
		return string(r.Kind) + ":" + r.Path
	case OCI:
		if r.Tag != "" {
			return string(r.Kind) + ":" + r.Path + ":" + r.Tag
		}
		return string(r.Kind) + ":" + r.Path
	case Dir:
		return string(r.Kind) + ":" + r.Path
	case DockerDaemon:
		return string(r.Kind) + ":" + r.Name
	case Docker:
		return "docker://" + r.Name
	}
	return string(r.Kind) + ":" + r.Path
}
