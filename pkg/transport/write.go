package transport

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// ErrDirTransport is returned when writing to a dir: reference: pare never
// extracts an image onto the host filesystem.
var ErrDirTransport = errors.New("dir: is a source only; it cannot be written")

// Write stores img at ref. File sinks are atomic: a docker-archive is
// written to a temp file in the same directory and renamed into place; a new
// oci layout is written to a temp directory and renamed, and an existing
// layout gets its blobs first and then a new index.json, renamed over the
// old one (an image with the same tag is replaced). docker-daemon loads the
// image with the tag in ref; docker:// pushes it.
func Write(ctx context.Context, ref Reference, img v1.Image, opts ...Option) error {
	o := makeOptions(opts)
	var fw *forwarder
	if o.progress != nil {
		fw = newForwarder(o.progress)
		defer fw.finish()
	}
	if err := write(ctx, ref, img, o, fw); err != nil {
		err = fmt.Errorf("writing %s: %w", ref, err)
		fw.send(v1.Update{Error: err})
		return err
	}
	return nil
}

func write(ctx context.Context, ref Reference, img v1.Image, o *options, fw *forwarder) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch ref.Kind {
	case DockerArchive:
		return writeArchive(ctx, ref, img, fw)
	case OCI:
		return writeLayout(ctx, ref, img, fw)
	case DockerDaemon:
		return writeDaemon(ctx, ref, img, o)
	case Docker:
		return writeRemote(ctx, ref, img, o, fw)
	case Dir:
		return ErrDirTransport
	}
	return fmt.Errorf("%w %q (valid: %s)", ErrUnknownTransport, ref.Kind, validTransports)
}

// forwarder relays go-containerregistry updates to the caller's channel,
// drops ggcr's io.EOF "done" marker, and closes the channel at the end.
type forwarder struct {
	out  chan<- v1.Update
	mu   sync.Mutex
	done bool
}

func newForwarder(out chan<- v1.Update) *forwarder { return &forwarder{out: out} }

func (f *forwarder) send(u v1.Update) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || errors.Is(u.Error, io.EOF) {
		return
	}
	f.out <- u
}

// relay returns a channel for a ggcr writer and a wait func that returns
// once everything sent on it was relayed. closeIn says whether wait should
// close the channel (ggcr's remote package closes it itself).
func (f *forwarder) relay(closeIn bool) (chan<- v1.Update, func()) {
	in := make(chan v1.Update, 16)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for u := range in {
			f.send(u)
		}
	}()
	return in, func() {
		if closeIn {
			close(in)
		} else {
			closeQuietly(in)
		}
		<-stopped
	}
}

// closeQuietly closes ch unless it is already closed.
func closeQuietly(ch chan v1.Update) {
	defer func() { _ = recover() }()
	close(ch)
}

func (f *forwarder) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done {
		f.done = true
		close(f.out)
	}
}

func writeArchive(ctx context.Context, ref Reference, img v1.Image, fw *forwarder) error {
	var r name.Reference
	if ref.Name != "" {
		t, err := name.NewTag(ref.Name)
		if err != nil {
			return err
		}
		r = t
	} else {
		// A digest reference writes no RepoTags.
		d, err := img.Digest()
		if err != nil {
			return fmt.Errorf("computing image digest: %w", err)
		}
		r, err = name.NewDigest("pare@" + d.String())
		if err != nil {
			return err
		}
	}
	if fi, err := os.Stat(ref.Path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", ref.Path)
	}
	dir, base := filepath.Split(ref.Path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var topts []tarball.WriteOption
	var wait func()
	if fw != nil {
		var ch chan<- v1.Update
		ch, wait = fw.relay(true)
		topts = append(topts, tarball.WithProgress(ch))
	}
	bw := bufio.NewWriterSize(&ctxWriter{ctx: ctx, w: f}, 1<<20)
	err = tarball.Write(r, img, bw, topts...)
	if wait != nil {
		wait()
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, ref.Path); err != nil {
		return err
	}
	ok = true
	return nil
}

// ctxWriter stops writing once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func isLayout(dir string) bool {
	_, err1 := os.Stat(filepath.Join(dir, "oci-layout"))
	_, err2 := os.Stat(filepath.Join(dir, "index.json"))
	return err1 == nil && err2 == nil
}

func writeLayout(ctx context.Context, ref Reference, img v1.Image, fw *forwarder) error {
	fi, err := os.Stat(ref.Path)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory", ref.Path)
	case err == nil && isLayout(ref.Path):
		return addToLayout(ctx, ref.Path, ref.Tag, img, fw)
	case err == nil:
		ents, err := os.ReadDir(ref.Path)
		if err != nil {
			return err
		}
		if len(ents) > 0 {
			return fmt.Errorf("%s exists and is neither an OCI layout nor empty", ref.Path)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	// A new layout: build it under a temp name, then rename it into place
	// (rename replaces an empty directory).
	clean := filepath.Clean(ref.Path)
	tmp, err := os.MkdirTemp(filepath.Dir(clean), "."+filepath.Base(clean)+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := layout.Write(tmp, empty.Index); err != nil {
		return err
	}
	if err := addToLayout(ctx, tmp, ref.Tag, img, fw); err != nil {
		return err
	}
	// unix.Rename, not os.Rename: os.Rename refuses to replace a directory.
	if err := unix.Rename(tmp, clean); err != nil {
		return &os.LinkError{Op: "rename", Old: tmp, New: clean, Err: err}
	}
	ok = true
	return nil
}

// addToLayout writes img's blobs into the layout at dir, then atomically
// replaces index.json with one that lists img (tagged tag, replacing any
// image with that tag).
func addToLayout(ctx context.Context, dir, tag string, img v1.Image, fw *forwarder) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return err
	}
	ls, err := img.Layers()
	if err != nil {
		return fmt.Errorf("listing layers: %w", err)
	}
	var total, done int64
	if fw != nil {
		for _, l := range ls {
			s, err := l.Size()
			if err != nil {
				return fmt.Errorf("layer size: %w", err)
			}
			total += s
		}
	}
	for i, l := range ls {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("layer %d digest: %w", i, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("reading layer %d: %w", i, err)
		}
		var r io.ReadCloser = rc
		if fw != nil {
			r = &progressReader{ReadCloser: rc, fw: fw, total: total, done: &done}
		}
		if err := p.WriteBlob(d, r); err != nil {
			rc.Close()
			return fmt.Errorf("writing layer %d (%s): %w", i, d, err)
		}
		rc.Close()
	}
	// Blobs already present are skipped; this writes config and manifest.
	if err := p.WriteImage(img); err != nil {
		return err
	}
	desc, err := imageDescriptor(img)
	if err != nil {
		return err
	}
	if tag != "" {
		desc.Annotations = map[string]string{ociRefName: tag}
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading index.json: %w", err)
	}
	next := *im
	next.Manifests = nil
	for _, d := range im.Manifests {
		if tag != "" && d.Annotations[ociRefName] == tag {
			continue
		}
		if tag == "" && d.Digest == desc.Digest && d.Annotations[ociRefName] == "" {
			continue // the same untagged image again
		}
		next.Manifests = append(next.Manifests, d)
	}
	next.Manifests = append(next.Manifests, desc)
	b, err := json.Marshal(&next)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".index.json.tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, "index.json")); err != nil {
		return err
	}
	fw.send(v1.Update{Total: total, Complete: total})
	return nil
}

func imageDescriptor(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading media type: %w", err)
	}
	size, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading manifest size: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("computing image digest: %w", err)
	}
	desc := v1.Descriptor{MediaType: mt, Size: size, Digest: d}
	if cf, err := img.ConfigFile(); err == nil {
		desc.Platform = cf.Platform()
	}
	return desc, nil
}

type progressReader struct {
	io.ReadCloser
	fw    *forwarder
	total int64
	done  *int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	if n > 0 {
		*p.done += int64(n)
		p.fw.send(v1.Update{Total: p.total, Complete: *p.done})
	}
	return n, err
}

func writeDaemon(ctx context.Context, ref Reference, img v1.Image, o *options) error {
	tag, err := name.NewTag(ref.Name)
	if err != nil {
		return fmt.Errorf("docker-daemon needs a NAME[:TAG] to load as: %w", err)
	}
	resp, err := daemon.Write(tag, img, daemonOptions(ctx, o)...)
	if err != nil {
		return err
	}
	return loadError(resp)
}

// loadError finds an error in the JSON message stream of a docker load.
func loadError(resp string) error {
	dec := json.NewDecoder(strings.NewReader(resp))
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			return nil // end of stream, or not JSON: nothing to report
		}
		if m.ErrorDetail.Message != "" {
			return fmt.Errorf("docker load: %s", m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return fmt.Errorf("docker load: %s", m.Error)
		}
	}
}

func writeRemote(ctx context.Context, ref Reference, img v1.Image, o *options, fw *forwarder) error {
	r, err := parseRemote(ref, o)
	if err != nil {
		return err
	}
	ropts := remoteOptions(ctx, o)
	var wait func()
	if fw != nil {
		var ch chan<- v1.Update
		ch, wait = fw.relay(false)
		ropts = append(ropts, remote.WithProgress(ch))
	}
	err = remote.Write(r, img, ropts...)
	if wait != nil {
		wait()
	}
	return err
}
