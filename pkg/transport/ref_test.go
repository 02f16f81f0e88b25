package transport

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Reference
		str  string // String() when it differs from in
	}{
		{in: "docker-archive:img.tar", want: Reference{Kind: DockerArchive, Path: "img.tar"}},
		{in: "docker-archive:/tmp/img.tar:app:1.0", want: Reference{Kind: DockerArchive, Path: "/tmp/img.tar", Name: "app:1.0"}},
		{in: "docker-archive:/tmp/img.tar:app", want: Reference{Kind: DockerArchive, Path: "/tmp/img.tar", Name: "app"}},
		{in: "oci:out", want: Reference{Kind: OCI, Path: "out"}},
		{in: "oci:/a/b:latest", want: Reference{Kind: OCI, Path: "/a/b", Tag: "latest"}},
		{in: "docker-daemon:alpine:3.20", want: Reference{Kind: DockerDaemon, Name: "alpine:3.20"}},
		{in: "docker-daemon:alpine", want: Reference{Kind: DockerDaemon, Name: "alpine"}},
		{in: "docker-daemon:ghcr.io/x/y@sha256:" + strings.Repeat("a", 64), want: Reference{Kind: DockerDaemon, Name: "ghcr.io/x/y@sha256:" + strings.Repeat("a", 64)}},
		{in: "docker://alpine:3.20", want: Reference{Kind: Docker, Name: "alpine:3.20"}},
		{in: "docker://localhost:5000/app", want: Reference{Kind: Docker, Name: "localhost:5000/app"}},
		{in: "dir:/", want: Reference{Kind: Dir, Path: "/"}},
		{in: "dir:rootfs", want: Reference{Kind: Dir, Path: "rootfs"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Parse = %+v, want %+v", got, tt.want)
			}
			str := tt.str
			if str == "" {
				str = tt.in
			}
			if got.String() != str {
				t.Errorf("String = %q, want %q", got.String(), str)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"alpine", `invalid image reference "alpine": no transport (valid: docker-archive:PATH`},
		{"foo:bar", `unknown transport "foo" (valid: docker-archive:PATH, oci:DIR[:TAG], docker-daemon:NAME[:TAG], docker://REF, dir:PATH)`},
		{"docker:alpine", "the registry transport is docker://REF"},
		{"docker://", "empty image name"},
		{"docker://UPPER/case", "invalid image reference"},
		{"docker-daemon:", "empty image name"},
		{"oci:", "empty path"},
		{"oci:dir:", "empty tag"},
		{"dir:", "empty path"},
		{"docker-archive:", "empty path"},
		{"docker-archive:x.tar:Bad Tag", "bad tag"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) err = %v, want containing %q", tt.in, err, tt.want)
			}
		})
	}
	if _, err := Parse("sftp:x"); !errors.Is(err, ErrUnknownTransport) {
		t.Errorf("err = %v, want ErrUnknownTransport", err)
	}
}
