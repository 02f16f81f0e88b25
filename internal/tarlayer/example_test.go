package tarlayer_test

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// The digests printed here are part of pare's reproducibility promise.
func ExampleNewImage() {
	content := "#!/bin/sh\necho hello\n"
	items := []tarlayer.Item{
		{
			Entry: rootfs.Entry{Path: "/usr/bin/hello", Type: rootfs.TypeReg, Mode: 0o755, Size: int64(len(content))},
			Open:  func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
		},
		{Entry: rootfs.Entry{Path: "/tmp", Type: rootfs.TypeDir, Mode: 0o777 | fs.ModeSticky}},
	}
	epoch := tarlayer.WithEpoch(time.Unix(0, 0))
	layer, err := tarlayer.Layer(items, epoch)
	if err != nil {
		panic(err)
	}
	defer layer.(io.Closer).Close()
	img, err := tarlayer.NewImage(layer, tarlayer.ImageConfig{
		OS: "linux", Architecture: "amd64",
		Config:    v1.Config{Entrypoint: []string{"/usr/bin/hello"}, User: "65532"},
		CreatedBy: "pare example",
	}, epoch)
	if err != nil {
		panic(err)
	}
	diffID, _ := layer.DiffID()
	digest, _ := img.Digest()
	fmt.Println(diffID)
	fmt.Println(digest)
	// Output:
	// sha256:38dd50bbc50ae24541a6bd76126d43f5d176a39fd5b4ea797b5771841c5027f9
	// sha256:c127b5a68a17eca6713ae0990634020cf06debf0437dfb73aaadcbe87e41c5d5
}
