package transport

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/pgzip"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Layers stored uncompressed in a host file (a docker save archive's
// layer.tar members, an OCI layout's uncompressed blobs) implement
// rootfs.FileLayer, so rootfs.FromImage reads their content in place
// instead of copying it. The file must not change while the view is used;
// the view still checks each layer's diff_id as it indexes it.

// fileImage gives its layers a way to the host file holding them.
type fileImage struct {
	v1.Image
	// locate returns where layer n (l) is stored uncompressed, or nil.
	locate func(n int, l v1.Layer) (*rootfs.LayerFile, error)
}

func (i *fileImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &fileLayer{Layer: l, n: n, img: i}
	}
	return out, nil
}

type fileLayer struct {
	v1.Layer
	n   int
	img *fileImage
}

func (l *fileLayer) UncompressedFile() (*rootfs.LayerFile, error) { return l.img.locate(l.n, l.Layer) }

// UncompressedFile forwards to the layer below. Layers named by a digest
// of their compressed form (a registry, an OCI layout) are indexed in place
// only when that digest is the diff_id, so the view's diff_id check is also
// the digest check.
func (l *verifiedLayer) UncompressedFile() (*rootfs.LayerFile, error) {
	fl, ok := l.Layer.(rootfs.FileLayer)
	if !ok {
		return nil, nil
	}
	if !l.derived {
		d, err := l.Digest()
		if err != nil {
			return nil, nil
		}
		diffID, err := l.DiffID()
		if err != nil || d != diffID {
			return nil, nil
		}
	}
	return fl.UncompressedFile()
}

// member is the data range of a regular file in a tar archive.
type member struct{ off, size int64 }

// archiveMembers reads the headers of the tar r (skipping content by
// seeking) and returns the data range of each regular file by clean name,
// and the targets of its links.
func archiveMembers(r io.ReadSeeker) (map[string]member, map[string]string, error) {
	files := map[string]member{}
	links := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, links, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if err := addMember(files, links, h, r); err != nil {
			return nil, nil, err
		}
	}
}

// addMember records the data range of h if it is a regular file (r is
// positioned at its data) or its target if it is a link.
func addMember(files map[string]member, links map[string]string, h *tar.Header, r io.Seeker) error {
	name := path.Clean(h.Name)
	switch h.Typeflag {
	case tar.TypeReg:
		pos, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		files[name] = member{pos, h.Size}
	case tar.TypeSymlink:
		links[name] = path.Join(path.Dir(name), h.Linkname)
	case tar.TypeLink:
		links[name] = path.Clean(h.Linkname)
	}
	return nil
}

// archiveLocator locates the layers of the image desc in an archive whose
// members are files and links, opening the archive with open.
func archiveLocator(desc *tarball.Descriptor, files map[string]member, links map[string]string,
	open func() (*os.File, func() error, error)) func(int, v1.Layer) (*rootfs.LayerFile, error) {
	return func(n int, _ v1.Layer) (*rootfs.LayerFile, error) {
		if n >= len(desc.Layers) {
			return nil, nil
		}
		name := path.Clean(desc.Layers[n])
		for hops := 0; hops < 40; hops++ {
			t, ok := links[name]
			if !ok {
				break
			}
			name = t
		}
		m, ok := files[name]
		if !ok {
			return nil, nil
		}
		f, release, err := open()
		if err != nil {
			return nil, fmt.Errorf("opening archive: %w", err)
		}
		if compressedAt(f, m.off) {
			if release != nil {
				release()
			}
			return nil, nil
		}
		return &rootfs.LayerFile{File: f, Offset: m.off, Size: m.size, Release: release}, nil
	}
}

// compressedAt reports whether the data at off starts with a gzip or zstd
// magic number.
func compressedAt(f *os.File, off int64) bool {
	var b [4]byte
	n, _ := f.ReadAt(b[:], off)
	return (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) || (n == 4 && string(b[:]) == "\x28\xb5\x2f\xfd")
}

// layoutLocator locates uncompressed blobs of an OCI layout at root.
func layoutLocator(root string) func(int, v1.Layer) (*rootfs.LayerFile, error) {
	return func(_ int, l v1.Layer) (*rootfs.LayerFile, error) {
		mt, err := l.MediaType()
		if err != nil {
			return nil, nil
		}
		switch mt {
		case types.OCIUncompressedLayer, types.OCIUncompressedRestrictedLayer, types.DockerUncompressedLayer:
		default:
			return nil, nil
		}
		d, err := l.Digest()
		if err != nil {
			return nil, nil
		}
		f, err := os.Open(filepath.Join(root, "blobs", d.Algorithm, d.Hex))
		if err != nil {
			return nil, nil // let the layout reader report it
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || compressedAt(f, 0) {
			f.Close()
			return nil, nil
		}
		return &rootfs.LayerFile{File: f, Size: fi.Size(), Release: f.Close}, nil
	}
}

// descriptorFor returns the manifest.json entry of the image tagged tag
// (nil: the only one), or nil.
func descriptorFor(m tarball.Manifest, tag string) *tarball.Descriptor {
	if tag == "" {
		if len(m) == 1 {
			return &m[0]
		}
		return nil
	}
	for i, d := range m {
		for _, rt := range d.RepoTags {
			if rt == tag {
				return &m[i]
			}
		}
	}
	if len(m) == 1 {
		return &m[0]
	}
	return nil
}

// gunzip returns the layer's content decompressed from its gzip blob with
// a read-ahead reader (klauspost/pgzip: decompression runs in its own
// goroutine, ahead of the reader), checking the blob's digest and the
// content's diff_id; ok is false when the layer is not a gzip blob of its
// own (a docker save layer, another media type, other magic bytes), which
// the layer's own Uncompressed handles.
func (l *verifiedLayer) gunzip() (rc io.ReadCloser, ok bool, err error) {
	if l.derived {
		return nil, false, nil
	}
	diffID, err := l.DiffID()
	if err != nil {
		return nil, false, nil // Uncompressed reports it
	}
	if mt, err := l.MediaType(); err != nil || (mt != types.OCILayer && mt != types.DockerLayer) {
		return nil, false, nil
	}
	crc, err := l.Compressed()
	if err != nil {
		return nil, true, err
	}
	br := bufio.NewReaderSize(crc, 64<<10)
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		crc.Close()
		return nil, false, nil
	}
	zr, err := pgzip.NewReaderN(br, 1<<20, 4)
	if err != nil {
		crc.Close()
		return nil, true, fmt.Errorf("%s: decompressing: %w", l.name(diffID), err)
	}
	return newVerifier(&gzipReadCloser{zr, crc}, diffID, l.name(diffID)), true, nil
}

type gzipReadCloser struct {
	zr  *pgzip.Reader
	crc io.Closer
}

func (g *gzipReadCloser) Read(p []byte) (int, error) { return g.zr.Read(p) }

func (g *gzipReadCloser) Close() error {
	g.zr.Close()
	return g.crc.Close()
}
