package transport

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// ErrNotImage is returned when the input exists but does not hold an image
// in the format of its transport.
var ErrNotImage = errors.New("not an image")

// ociRefName is the annotation holding a tag in an OCI layout index.
const ociRefName = "org.opencontainers.image.ref.name"

// Read opens the image named by ref. Nothing is downloaded or decompressed
// up front beyond manifests and config; layer contents are verified against
// their digest and diff_id as they are read, and a mismatch, truncation or
// corruption gives an error naming ref and the layer (see Verify to check a
// whole image at once).
//
// An image index is resolved to the image of the platform set with
// WithPlatform (default linux/<host arch>).
//
// For docker:// and docker-daemon: references, ctx is also used for the
// lazy fetches after Read returns, so it must stay live while the image is
// used. A docker-daemon image is saved once, on first use, to a temp file
// (go-containerregistry removes it when the image is garbage collected).
// A dir: image streams its one layer from the directory on every read; its
// digest is computed in one extra pass on first need, and is only stable if
// the directory does not change meanwhile.
func Read(ctx context.Context, ref Reference, opts ...Option) (v1.Image, error) {
	o := makeOptions(opts)
	img, err := read(ctx, ref, o)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return img, nil
}

func read(ctx context.Context, ref Reference, o *options) (v1.Image, error) {
	var (
		img v1.Image
		err error
	)
	switch ref.Kind {
	case DockerArchive:
		img, err = readArchive(ref)
	case OCI:
		img, err = readLayout(ref, o)
		if err == nil {
			img = &fileImage{Image: img, locate: layoutLocator(ref.Path)}
		}
	case DockerDaemon:
		img, err = readDaemon(ctx, ref, o)
	case Docker:
		// remote verifies blobs itself; keep its layers unwrapped so that
		// cross-repository mounts still work when writing.
		return readRemote(ctx, ref, o)
	case Dir:
		return readDir(ref.Path)
	default:
		return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownTransport, ref.Kind, validTransports)
	}
	if err != nil {
		return nil, err
	}
	// Docker save archives have no layer digests: the manifest would have to
	// be computed by reading (and maybe compressing) every layer, so check
	// only the config here.
	derived := ref.Kind == DockerArchive || ref.Kind == DockerDaemon
	if derived {
		err = checkConfig(img)
	} else {
		err = checkImage(img)
	}
	if err != nil {
		return nil, err
	}
	return &verifiedImage{Image: img, src: ref.String(), derived: derived}, nil
}

// checkConfig checks that the config parses.
func checkConfig(img v1.Image) error {
	raw, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	if _, err := v1.ParseConfigFile(bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("parsing config: %w", err)
	}
	return nil
}

// checkImage does the cheap consistency checks: manifest and config parse,
// the config matches its digest, layer and diff_id counts agree.
func checkImage(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("reading manifest: %w", err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(raw)); got != m.Config.Digest {
		return fmt.Errorf("config %s: %w (got %s)", m.Config.Digest, ErrDigestMismatch, got)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parsing config: %w", err)
	}
	if len(m.Layers) != len(cf.RootFS.DiffIDs) {
		return fmt.Errorf("manifest lists %d layers but config lists %d diff_ids", len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	return nil
}

func readArchive(ref Reference) (v1.Image, error) {
	files, links, err := checkArchive(ref.Path)
	if err != nil {
		return nil, err
	}
	opener := func() (io.ReadCloser, error) { return os.Open(ref.Path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%w: bad manifest.json: %w", ErrNotImage, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: manifest.json lists no image", ErrNotImage)
	}
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	var (
		tag  *name.Tag
		desc *tarball.Descriptor
	)
	if ref.Name != "" {
		t, err := name.NewTag(ref.Name)
		if err != nil {
			return nil, err
		}
		tag = &t
		for i, d := range m {
			for _, rt := range d.RepoTags {
				if have, err := name.NewTag(rt); err == nil && have.Name() == t.Name() {
					desc = &m[i]
				}
			}
		}
		if desc == nil {
			return nil, fmt.Errorf("tag %s not found in archive (tags: %s)", ref.Name, strings.Join(tags, ", "))
		}
	} else {
		if len(m) > 1 {
			return nil, fmt.Errorf("archive holds %d images; name one as docker-archive:%s:NAME:TAG (tags: %s)",
				len(m), ref.Path, strings.Join(tags, ", "))
		}
		desc = &m[0]
	}
	img, err := tarball.Image(opener, tag)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", desc.Config, err)
	}
	if len(desc.Layers) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("manifest.json lists %d layers but config lists %d diff_ids", len(desc.Layers), len(cf.RootFS.DiffIDs))
	}
	open := func() (*os.File, func() error, error) {
		f, err := os.Open(ref.Path)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	}
	return &fileImage{Image: img, locate: archiveLocator(desc, files, links, open)}, nil
}

// checkArchive checks that file is a tar file holding a manifest.json and
// returns the data ranges of its files and the targets of its links (see
// archiveMembers). It reads only tar headers (skipping contents by seeking).
func checkArchive(file string) (map[string]member, map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.IsDir() {
		return nil, nil, fmt.Errorf("%w: %s is a directory (use oci:%s for an OCI layout)", ErrNotImage, file, file)
	}
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(4); len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return nil, nil, fmt.Errorf("%w: the archive is gzip-compressed; decompress it first", ErrNotImage)
	} else if len(magic) == 4 && string(magic) == "\x28\xb5\x2f\xfd" {
		return nil, nil, fmt.Errorf("%w: the archive is zstd-compressed; decompress it first", ErrNotImage)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	tr := tar.NewReader(f)
	files := map[string]member{}
	links := map[string]string{}
	var sawManifest, sawLayout bool
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if n == 0 {
				return nil, nil, fmt.Errorf("%w: not a tar archive: %w", ErrNotImage, err)
			}
			return nil, nil, fmt.Errorf("archive is truncated or corrupt after %d entries: %w", n, err)
		}
		n++
		if err := addMember(files, links, h, f); err != nil {
			return nil, nil, err
		}
		switch filepath.Clean(h.Name) {
		case "manifest.json":
			sawManifest = true
		case "oci-layout":
			sawLayout = true
		}
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("%w: empty tar archive", ErrNotImage)
	}
	if !sawManifest {
		if sawLayout {
			return nil, nil, fmt.Errorf("%w: an OCI layout tarball, not a docker save tarball; extract it and use oci:DIR", ErrNotImage)
		}
		return nil, nil, fmt.Errorf("%w: a tar archive without manifest.json, not a docker save tarball", ErrNotImage)
	}
	return files, links, nil
}

func readLayout(ref Reference, o *options) (v1.Image, error) {
	fi, err := os.Stat(ref.Path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory (use docker-archive: for a docker save tarball)", ErrNotImage, ref.Path)
	}
	if _, err := os.Stat(filepath.Join(ref.Path, "index.json")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is not an OCI layout (no index.json)", ErrNotImage, ref.Path)
		}
		return nil, err
	}
	p, err := layout.FromPath(ref.Path)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%w: bad index.json: %w", ErrNotImage, err)
	}
	var tags []string
	var cands []v1.Descriptor
	for _, d := range im.Manifests {
		t := d.Annotations[ociRefName]
		if t != "" {
			tags = append(tags, t)
		}
		if ref.Tag == "" || t == ref.Tag {
			cands = append(cands, d)
		}
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	switch {
	case len(cands) == 0 && ref.Tag != "":
		return nil, fmt.Errorf("no image tagged %q in layout (tags: %s)", ref.Tag, strings.Join(tags, ", "))
	case len(cands) == 0:
		return nil, fmt.Errorf("%w: layout holds no image", ErrNotImage)
	case len(cands) > 1 && len(tags) > 1 && ref.Tag == "":
		return nil, fmt.Errorf("layout holds several images; name one as oci:%s:TAG (tags: %s)", ref.Path, strings.Join(tags, ", "))
	case len(cands) > 1:
		// Several untagged (or same-tagged) manifests: choose by platform.
		sub := &v1.IndexManifest{SchemaVersion: 2, MediaType: im.MediaType, Manifests: cands}
		return imageForPlatform(&subIndex{idx: idx, im: sub}, o.platform)
	}
	d := cands[0]
	switch {
	case d.MediaType.IsIndex():
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		return imageForPlatform(child, o.platform)
	case d.MediaType.IsImage():
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		raw, err := img.RawManifest()
		if err != nil {
			return nil, fmt.Errorf("reading manifest %s: %w", d.Digest, err)
		}
		if got, _, _ := v1.SHA256(bytes.NewReader(raw)); got != d.Digest {
			return nil, fmt.Errorf("manifest %s: %w (got %s)", d.Digest, ErrDigestMismatch, got)
		}
		return img, nil
	}
	return nil, fmt.Errorf("%w: unsupported media type %q in index.json", ErrNotImage, d.MediaType)
}

// subIndex is an index restricted to some of its descriptors.
type subIndex struct {
	idx v1.ImageIndex
	im  *v1.IndexManifest
}

func (s *subIndex) IndexManifest() (*v1.IndexManifest, error)   { return s.im, nil }
func (s *subIndex) Image(h v1.Hash) (v1.Image, error)           { return s.idx.Image(h) }
func (s *subIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) { return s.idx.ImageIndex(h) }

func daemonOptions(ctx context.Context, o *options) []daemon.Option {
	opts := []daemon.Option{daemon.WithContext(ctx)}
	if o.daemonClient != nil {
		opts = append(opts, daemon.WithClient(o.daemonClient))
	}
	return opts
}

func readDaemon(ctx context.Context, ref Reference, o *options) (v1.Image, error) {
	r, err := name.ParseReference(ref.Name)
	if err != nil {
		return nil, err
	}
	c := o.daemonClient
	if c == nil {
		dc, err := client.New(client.FromEnv)
		if err != nil {
			return nil, fmt.Errorf("connecting to docker: %w", err)
		}
		defer dc.Close()
		c = dc
	}
	// docker save into an unlinked temp file: go-containerregistry's
	// file-buffered opener leaves its file behind until a garbage
	// collection that may never come, so every read leaked a copy of the
	// image into $TMPDIR.
	rc, err := c.ImageSave(ctx, []string{r.Name()})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(o.tempDir, "pare-daemon-*.tar")
	if err != nil {
		return nil, fmt.Errorf("buffering image: %w", err)
	}
	os.Remove(f.Name())
	size, err := io.Copy(f, rc)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading image from docker: %w", err)
	}
	var tag *name.Tag
	if t, ok := r.(name.Tag); ok {
		tag = &t
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(f, 0, size)), nil }
	img, err := tarball.Image(opener, tag)
	if err != nil && tag != nil {
		img, err = tarball.Image(opener, nil) // saved by digest or ID: one image, no tag
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading docker save output: %w", err)
	}
	// Index the saved archive, so that its layers are read in place (the
	// views reading them keep f open; it is never closed before them).
	files, links, err := archiveMembers(io.NewSectionReader(f, 0, size))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading docker save output: %w", err)
	}
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading docker save output: %w", err)
	}
	tagName := ""
	if tag != nil {
		tagName = tag.String()
	}
	if desc := descriptorFor(m, tagName); desc != nil {
		shared := func() (*os.File, func() error, error) { return f, nil, nil }
		img = &fileImage{Image: img, locate: archiveLocator(desc, files, links, shared)}
	}
	return img, nil
}

func remoteOptions(ctx context.Context, o *options) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
	}
	if o.insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with WithInsecure
		opts = append(opts, remote.WithTransport(t))
	}
	return opts
}

func parseRemote(ref Reference, o *options) (name.Reference, error) {
	var nopts []name.Option
	if o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	return name.ParseReference(ref.Name, nopts...)
}

func readRemote(ctx context.Context, ref Reference, o *options) (v1.Image, error) {
	r, err := parseRemote(ref, o)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, remoteOptions(ctx, o)...)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		img, err = imageForPlatform(idx, o.platform)
		if err != nil {
			return nil, err
		}
	} else {
		img, err = desc.Image()
		if err != nil {
			return nil, err
		}
	}
	if err := checkImage(img); err != nil {
		return nil, err
	}
	return img, nil
}
