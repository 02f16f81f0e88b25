package pare

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pare-dev/pare/pkg/transport"
)

// TestBuildLabelsSource: the pared image names its source by reference and
// config digest, keeps the source's own labels, and two builds of the same
// source have the same digest while another source changes it.
func TestBuildLabelsSource(t *testing.T) {
	build := func(ref string, label string) (map[string]string, string, string) {
		src := pythonApp()
		src.ConfigFile.Config.Labels = map[string]string{"org.example": label, SourceIDLabel: "sha256:stale"}
		img, err := mutate.ConfigFile(empty.Image, src.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		r, err := transport.Parse(ref)
		if err != nil {
			t.Fatal(err)
		}
		src.Ref, src.Image = r, img
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		res, err := Build(src, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cf, err := res.Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		dg, err := res.Image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return cf.Config.Labels, id.String(), dg.String()
	}
	l, id, d1 := build("docker-daemon:app:1", "a")
	if l[SourceImageLabel] != "docker-daemon:app:1" || l[SourceIDLabel] != id || l["org.example"] != "a" {
		t.Errorf("labels %v, want the source docker-daemon:app:1, its id %s and the source's own label", l, id)
	}
	if _, _, d2 := build("docker-daemon:app:1", "a"); d2 != d1 {
		t.Errorf("same source built twice: digests %s and %s", d1, d2)
	}
	l3, id3, d3 := build("docker-daemon:app:1", "b")
	if id3 == id || l3[SourceIDLabel] != id3 || d3 == d1 {
		t.Errorf("another source config: id %s (was %s), label %s, digest %s (was %s)", id3, id, l3[SourceIDLabel], d3, d1)
	}

	// a dir: source has no image id
	res, err := Build(pythonApp(), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := res.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cf.Config.Labels[SourceIDLabel]; ok || cf.Config.Labels[SourceImageLabel] != "dir:/mem" {
		t.Errorf("dir: source labels %v", cf.Config.Labels)
	}
}
