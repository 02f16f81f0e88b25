// Package assemble turns a set of files from an image view, plus generated
// files, into one reproducible single-layer image.
package assemble

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Item returns the layer item for entry e of view v: its metadata, and for a
// regular file a lazy opener of its content.
func Item(v *rootfs.View, e *rootfs.Entry) tarlayer.Item {
	it := tarlayer.Item{Entry: *e}
	if e.Type == rootfs.TypeReg {
		p := e.Path
		it.Open = func() (io.ReadCloser, error) { return v.Open(p) }
	}
	return it
}

// ref is Item by reference: e is only read (a view's own entry).
func ref(v *rootfs.View, e *rootfs.Entry) tarlayer.Ref {
	r := tarlayer.Ref{Entry: e}
	if e.Type == rootfs.TypeReg {
		p := e.Path
		r.Open = func() (io.ReadCloser, error) { return v.Open(p) }
	}
	return r
}

// Flatten squashes every file of v into one reproducible layer and returns
// the image with cf's config carried over. Setuid and setgid bits are kept:
// flatten changes the layering, not the content.
func Flatten(v *rootfs.View, cf *v1.ConfigFile, createdBy string, opts ...tarlayer.Option) (v1.Image, error) {
	var items []tarlayer.Ref
	err := v.Walk("/", func(e *rootfs.Entry) error {
		items = append(items, ref(v, e))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the image: %w", err)
	}
	return image(items, cf, createdBy, opts...)
}

func image(items []tarlayer.Ref, cf *v1.ConfigFile, createdBy string, opts ...tarlayer.Option) (v1.Image, error) {
	layer, err := tarlayer.LayerOf(items, opts...)
	if err != nil {
		return nil, fmt.Errorf("writing the layer: %w", err)
	}
	ic := tarlayer.ConfigFrom(cf)
	ic.CreatedBy = createdBy
	img, err := tarlayer.NewImage(layer, ic, opts...)
	if err != nil {
		return nil, fmt.Errorf("making the image: %w", err)
	}
	return img, nil
}

// dropSetid clears setuid and setgid bits.
func dropSetid(m fs.FileMode) fs.FileMode { return m &^ (fs.ModeSetuid | fs.ModeSetgid) }

// bytesRef is a generated file, by reference.
func bytesRef(e rootfs.Entry, data []byte) tarlayer.Ref {
	it := bytesItem(e, data)
	return tarlayer.Ref{Entry: &it.Entry, Open: it.Open}
}

// bytesItem is a generated file.
func bytesItem(e rootfs.Entry, data []byte) tarlayer.Item {
	return tarlayer.Item{Entry: e, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}
