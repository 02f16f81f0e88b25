package transport

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testImage returns a small random image with a platform in its config.
func testImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Env = []string{"PATH=/bin", "ARCH=" + arch}
	cf.Config.Entrypoint = []string{"/bin/app"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testRegistry starts an in-memory registry on 127.0.0.1 and returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func mustParse(t *testing.T, s string) Reference {
	t.Helper()
	r, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type summary struct {
	ConfigName v1.Hash
	DiffIDs    []v1.Hash
	Config     v1.Config
	OS, Arch   string
}

func summarize(t *testing.T, img v1.Image) summary {
	t.Helper()
	cn, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return summary{cn, cf.RootFS.DiffIDs, cf.Config, cf.OS, cf.Architecture}
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	ctx := t.Context()
	img := testImage(t, "amd64")
	dir := t.TempDir()
	reg := testRegistry(t)
	tests := []struct {
		ref        string
		sameLayers bool // compressed layer digests survive
	}{
		{"docker-archive:" + filepath.Join(dir, "img.tar"), true},
		{"docker-archive:" + filepath.Join(dir, "tagged.tar") + ":pare/app:1", true},
		{"oci:" + filepath.Join(dir, "layout"), true},
		{"oci:" + filepath.Join(dir, "layout2") + ":v1", true},
		{"docker://" + reg + "/pare/app:v1", true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			ref := mustParse(t, tt.ref)
			if err := Write(ctx, ref, img); err != nil {
				t.Fatal(err)
			}
			got, err := Read(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(got); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
			if err := Verify(got); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if d := cmp.Diff(summarize(t, img), summarize(t, got)); d != "" {
				t.Errorf("image changed (-want +got):\n%s", d)
			}
			if tt.sameLayers {
				if d := cmp.Diff(layerDigests(t, img), layerDigests(t, got)); d != "" {
					t.Errorf("layer digests changed (-want +got):\n%s", d)
				}
			}
			// Writing the image read back again must work too (e.g. flatten).
			out := Reference{Kind: OCI, Path: filepath.Join(t.TempDir(), "again")}
			if err := Write(ctx, out, got); err != nil {
				t.Fatalf("writing the read image: %v", err)
			}
		})
	}
	// No temp files remain next to the outputs.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestArchiveTags(t *testing.T) {
	ctx := t.Context()
	p := filepath.Join(t.TempDir(), "a.tar")
	if err := Write(ctx, mustParse(t, "docker-archive:"+p+":pare/app:1"), testImage(t, "amd64")); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(ctx, mustParse(t, "docker-archive:"+p+":pare/app:1")); err != nil {
		t.Errorf("read by tag: %v", err)
	}
	_, err := Read(ctx, mustParse(t, "docker-archive:"+p+":pare/app:2"))
	if err == nil || !strings.Contains(err.Error(), "tag pare/app:2 not found in archive (tags: pare/app:1)") {
		t.Errorf("read by missing tag: err = %v", err)
	}
}

func TestOCIAppendReplace(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "layout")
	a, b, c := testImage(t, "amd64"), testImage(t, "amd64"), testImage(t, "amd64")
	for _, w := range []struct {
		tag string
		img v1.Image
	}{{"a", a}, {"b", b}, {"a", c}} {
		if err := Write(ctx, Reference{Kind: OCI, Path: dir, Tag: w.tag}, w.img); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var tags []string
	for _, d := range im.Manifests {
		tags = append(tags, d.Annotations[ociRefName])
	}
	if d := cmp.Diff([]string{"b", "a"}, tags); d != "" {
		t.Errorf("index tags (-want +got):\n%s", d)
	}
	for tag, want := range map[string]v1.Image{"a": c, "b": b} {
		got, err := Read(ctx, Reference{Kind: OCI, Path: dir, Tag: tag})
		if err != nil {
			t.Fatal(err)
		}
		wd, _ := want.Digest()
		gd, _ := got.Digest()
		if wd != gd {
			t.Errorf("tag %s: digest %s, want %s", tag, gd, wd)
		}
	}
	_, err = Read(ctx, Reference{Kind: OCI, Path: dir})
	if err == nil || !strings.Contains(err.Error(), "several images") || !strings.Contains(err.Error(), "tags: a, b") {
		t.Errorf("untagged read of multi-image layout: err = %v", err)
	}
	_, err = Read(ctx, Reference{Kind: OCI, Path: dir, Tag: "zz"})
	if err == nil || !strings.Contains(err.Error(), `no image tagged "zz"`) {
		t.Errorf("missing tag: err = %v", err)
	}
	// Into an empty existing directory: fine. Into a non-empty one: refused.
	empty := t.TempDir()
	if err := Write(ctx, Reference{Kind: OCI, Path: empty}, a); err != nil {
		t.Errorf("write into empty dir: %v", err)
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	err = Write(ctx, Reference{Kind: OCI, Path: full}, a)
	if err == nil || !strings.Contains(err.Error(), "neither an OCI layout nor empty") {
		t.Errorf("write into non-empty dir: err = %v", err)
	}
}

func platformIndex(t *testing.T) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	imgs := map[string]v1.Image{"amd64": testImage(t, "amd64"), "arm64": testImage(t, "arm64")}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: imgs["amd64"], Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: imgs["arm64"], Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	return idx, imgs
}

func TestPlatform(t *testing.T) {
	ctx := t.Context()
	idx, imgs := platformIndex(t)
	reg := testRegistry(t)
	regRef, _ := name.ParseReference(reg + "/multi:latest")
	if err := remote.WriteIndex(regRef, idx); err != nil {
		t.Fatal(err)
	}
	flat := t.TempDir() // index.json lists the platform images directly
	if _, err := layout.Write(flat, idx); err != nil {
		t.Fatal(err)
	}
	nested := t.TempDir() // index.json lists a tagged index
	p, err := layout.Write(nested, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{ociRefName: "multi"})); err != nil {
		t.Fatal(err)
	}
	// The same without descriptor platforms: selection reads the configs.
	bare := t.TempDir()
	p, err = layout.Write(bare, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	refs := []string{"docker://" + reg + "/multi:latest", "oci:" + flat, "oci:" + nested + ":multi", "oci:" + bare}
	for _, s := range refs {
		for _, arch := range []string{"amd64", "arm64"} {
			t.Run(s+"/"+arch, func(t *testing.T) {
				got, err := Read(ctx, mustParse(t, s), WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
				if err != nil {
					t.Fatal(err)
				}
				gd, _ := got.Digest()
				wd, _ := imgs[arch].Digest()
				if gd != wd {
					t.Errorf("got %s, want the %s image %s", gd, arch, wd)
				}
			})
		}
		t.Run(s+"/s390x", func(t *testing.T) {
			_, err := Read(ctx, mustParse(t, s), WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"}))
			if !errors.Is(err, ErrNoPlatform) {
				t.Fatalf("err = %v, want ErrNoPlatform", err)
			}
			if !strings.Contains(err.Error(), "linux/s390x") || !strings.Contains(err.Error(), "available: linux/amd64, linux/arm64") || !strings.Contains(err.Error(), s) {
				t.Errorf("error does not name input and platforms: %v", err)
			}
		})
	}
}

// corruptLayout writes img as an OCI layout and returns it and the path of
// the first layer blob.
func corruptLayout(t *testing.T, img v1.Image) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := Write(t.Context(), Reference{Kind: OCI, Path: dir}, img); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	return dir, filepath.Join(dir, "blobs", "sha256", m.Layers[0].Digest.Hex)
}

func readAllLayers(img v1.Image, compressed bool) error {
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range ls {
		open := l.Uncompressed
		if compressed {
			open = l.Compressed
		}
		if err := drain(open); err != nil {
			return err
		}
	}
	return nil
}

func TestCorruptInputs(t *testing.T) {
	ctx := t.Context()
	img := testImage(t, "amd64")
	tmp := t.TempDir()

	archive := filepath.Join(tmp, "good.tar")
	if err := Write(ctx, Reference{Kind: DockerArchive, Path: archive}, img); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(archive)
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	var ociTar bytes.Buffer
	tw = tar.NewWriter(&ociTar)
	tw.WriteHeader(&tar.Header{Name: "oci-layout", Mode: 0o644, Size: 2})
	tw.Write([]byte("{}"))
	tw.Close()

	tests := []struct {
		name string
		ref  string
		is   error
		want string
	}{
		{"missing file", "docker-archive:" + filepath.Join(tmp, "nope.tar"), fs.ErrNotExist, "no such file"},
		{"missing dir", "oci:" + filepath.Join(tmp, "nope"), fs.ErrNotExist, "no such file"},
		{"missing dir:", "dir:" + filepath.Join(tmp, "nope"), fs.ErrNotExist, "no such file"},
		{"not a tar", "docker-archive:" + write("text.tar", []byte(strings.Repeat("not a tar\n", 100))), ErrNotImage, "not a tar archive"},
		{"empty file", "docker-archive:" + write("empty.tar", nil), ErrNotImage, "empty tar archive"},
		{"plain tar", "docker-archive:" + write("plain.tar", plain.Bytes()), ErrNotImage, "without manifest.json"},
		{"oci tar", "docker-archive:" + write("oci.tar", ociTar.Bytes()), ErrNotImage, "OCI layout tarball"},
		{"gzip", "docker-archive:" + write("gz.tar", []byte{0x1f, 0x8b, 8, 0, 0, 0}), ErrNotImage, "gzip-compressed"},
		{"truncated archive", "docker-archive:" + write("trunc.tar", good[:len(good)/2]), nil, "truncated or corrupt"},
		{"dir as archive", "docker-archive:" + tmp, ErrNotImage, "is a directory"},
		{"file as layout", "oci:" + archive, ErrNotImage, "not a directory"},
		{"dir not a layout", "oci:" + tmp, ErrNotImage, "not an OCI layout"},
		{"file as dir:", "dir:" + archive, nil, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := mustParse(t, tt.ref)
			_, err := Read(ctx, ref)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), ref.String()) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want naming %s and containing %q", err, ref, tt.want)
			}
		})
	}

	t.Run("flipped byte in layer blob", func(t *testing.T) {
		dir, blob := corruptLayout(t, img)
		b, _ := os.ReadFile(blob)
		b[len(b)/2] ^= 0xff
		os.WriteFile(blob, b, 0o644)
		ref := Reference{Kind: OCI, Path: dir}
		got, err := Read(ctx, ref)
		if err != nil {
			t.Fatal(err) // layers are checked when read
		}
		for _, compressed := range []bool{true, false} {
			err := readAllLayers(got, compressed)
			if err == nil || !strings.Contains(err.Error(), ref.String()+": layer 0") {
				t.Errorf("compressed=%v: err = %v, want one naming the input and layer", compressed, err)
			}
		}
		if err := readAllLayers(got, true); !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("err = %v, want ErrDigestMismatch", err)
		}
		if err := Verify(got); err == nil || !strings.Contains(err.Error(), ref.String()) {
			t.Errorf("Verify: err = %v", err)
		}
		// Writing it elsewhere fails, leaving nothing behind.
		out := filepath.Join(t.TempDir(), "out.tar")
		if err := Write(ctx, Reference{Kind: DockerArchive, Path: out}, got); err == nil {
			t.Error("writing a corrupt image: no error")
		}
		if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
			t.Errorf("files left after failed write: %v", ents)
		}
	})
	t.Run("truncated layer blob", func(t *testing.T) {
		dir, blob := corruptLayout(t, img)
		b, _ := os.ReadFile(blob)
		os.WriteFile(blob, b[:len(b)/2], 0o644)
		ref := Reference{Kind: OCI, Path: dir}
		got, err := Read(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		err = readAllLayers(got, false)
		if err == nil || !strings.Contains(err.Error(), ref.String()+": layer 0") {
			t.Errorf("err = %v, want one naming the input and layer", err)
		}
	})
	t.Run("corrupt config", func(t *testing.T) {
		dir, _ := corruptLayout(t, img)
		cn, _ := img.ConfigName()
		p := filepath.Join(dir, "blobs", "sha256", cn.Hex)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, bytes.Replace(b, []byte("/bin/app"), []byte("/bin/bad"), 1), 0o644)
		_, err := Read(ctx, Reference{Kind: OCI, Path: dir})
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "config") {
			t.Errorf("err = %v, want config digest mismatch", err)
		}
	})
	t.Run("corrupt manifest", func(t *testing.T) {
		dir, _ := corruptLayout(t, img)
		d, _ := img.Digest()
		p := filepath.Join(dir, "blobs", "sha256", d.Hex)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, append(b, ' '), 0o644)
		_, err := Read(ctx, Reference{Kind: OCI, Path: dir})
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "manifest") {
			t.Errorf("err = %v, want manifest digest mismatch", err)
		}
	})
	t.Run("corrupt layer in docker-archive", func(t *testing.T) {
		m, _ := img.Manifest()
		// The layer blob is stored under its digest; flip a byte inside it.
		b := append([]byte(nil), good...)
		tr := tar.NewReader(bytes.NewReader(b))
		var off int64
		for {
			h, err := tr.Next()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(h.Name, m.Layers[0].Digest.Hex) {
				// Find the content offset by searching the header name.
				off = int64(bytes.Index(b, []byte(h.Name))) + 512 + 100
				break
			}
		}
		b[off] ^= 0xff
		ref := Reference{Kind: DockerArchive, Path: write("flipped.tar", b)}
		got, err := Read(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, compressed := range []bool{true, false} {
			err := readAllLayers(got, compressed)
			if err == nil || !strings.Contains(err.Error(), ref.String()+": layer 0") {
				t.Errorf("compressed=%v: err = %v, want one naming the input and layer", compressed, err)
			}
		}
	})
}

func TestWriteErrors(t *testing.T) {
	ctx := t.Context()
	img := testImage(t, "amd64")
	err := Write(ctx, Reference{Kind: Dir, Path: t.TempDir()}, img)
	if !errors.Is(err, ErrDirTransport) {
		t.Errorf("dir: write err = %v", err)
	}
	err = Write(ctx, Reference{Kind: DockerArchive, Path: filepath.Join(t.TempDir(), "no", "such", "dir", "x.tar")}, img)
	if err == nil || !strings.Contains(err.Error(), "writing docker-archive:") {
		t.Errorf("archive into missing dir: err = %v", err)
	}
	err = Write(ctx, Reference{Kind: DockerArchive, Path: t.TempDir()}, img)
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("archive onto a dir: err = %v", err)
	}
	err = Write(ctx, Reference{Kind: Kind("ftp"), Path: "x"}, img)
	if !errors.Is(err, ErrUnknownTransport) {
		t.Errorf("unknown kind: err = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	p := filepath.Join(t.TempDir(), "c.tar")
	if err := Write(cctx, Reference{Kind: DockerArchive, Path: p}, img); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Error("canceled write left a file")
	}
}

func TestProgress(t *testing.T) {
	ctx := t.Context()
	img := testImage(t, "amd64")
	reg := testRegistry(t)
	refs := []string{
		"docker://" + reg + "/progress:1",
		"docker-archive:" + filepath.Join(t.TempDir(), "p.tar"),
		"oci:" + filepath.Join(t.TempDir(), "p"),
	}
	for _, s := range refs {
		t.Run(s, func(t *testing.T) {
			ch := make(chan v1.Update)
			errc := make(chan error, 1)
			go func() { errc <- Write(ctx, mustParse(t, s), img, WithProgress(ch)) }()
			var last v1.Update
			n := 0
			for u := range ch { // Write closes the channel
				if u.Error != nil {
					t.Errorf("update error: %v", u.Error)
				}
				last = u
				n++
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if n == 0 || last.Total == 0 || last.Complete != last.Total {
				t.Errorf("%d updates, last %+v: want complete == total > 0", n, last)
			}
		})
	}
}

func TestInsecureTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ref := mustParse(t, "docker://"+strings.TrimPrefix(srv.URL, "https://")+"/tls:1")
	img := testImage(t, "amd64")
	if err := Write(t.Context(), ref, img); err == nil || !strings.Contains(err.Error(), ref.String()) {
		t.Errorf("self-signed registry without WithInsecure: err = %v", err)
	}
	if err := Write(t.Context(), ref, img, WithInsecure(true)); err != nil {
		t.Fatalf("WithInsecure: %v", err)
	}
	got, err := Read(t.Context(), ref, WithInsecure(true))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(summarize(t, img), summarize(t, got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestLoadError(t *testing.T) {
	if err := loadError(`{"stream":"Loaded image: x:1\n"}`); err != nil {
		t.Errorf("ok stream: %v", err)
	}
	err := loadError(`{"stream":"x"}` + "\n" + `{"errorDetail":{"message":"invalid tar header"},"error":"invalid tar header"}`)
	if err == nil || !strings.Contains(err.Error(), "invalid tar header") {
		t.Errorf("err = %v", err)
	}
}

func TestRemoteMissing(t *testing.T) {
	ref := mustParse(t, "docker://"+testRegistry(t)+"/nope:1")
	_, err := Read(t.Context(), ref)
	if err == nil || !strings.Contains(err.Error(), ref.String()) || !strings.Contains(err.Error(), "NAME_UNKNOWN") {
		t.Errorf("err = %v", err)
	}
}
