package testimages

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
)

func TestRequireLayersRuns(t *testing.T) {
	img := Require(t, "layers")
	if img != "pare-fixture/layers:latest" {
		t.Fatalf("Require returned %q", img)
	}
	got := Docker(t, "run", "--rm", "--network", "none", img)
	if want := "hello\nnew\n"; got != want {
		t.Errorf("docker run %s printed %q, want %q", img, got, want)
	}
	// Require is idempotent within a process.
	if again := Require(t, "layers"); again != img {
		t.Errorf("second Require returned %q", again)
	}
}

func TestSaveArchive(t *testing.T) {
	img := Require(t, "layers")
	path := SaveArchive(t, img)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var manifest []struct {
		RepoTags []string
		Layers   []string
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatalf("decoding manifest.json: %v", err)
			}
		}
	}
	if len(manifest) != 1 {
		t.Fatalf("manifest.json has %d images, want 1", len(manifest))
	}
	if !slices.Contains(manifest[0].RepoTags, img) {
		t.Errorf("RepoTags = %v, want %s", manifest[0].RepoTags, img)
	}
	// base + apt layer + 4 RUN layers of testdata/images/layers/Dockerfile.
	if n := len(manifest[0].Layers); n != 6 {
		t.Errorf("image has %d layers, want 6", n)
	}
}

func TestRunServerGostatic(t *testing.T) {
	img := Require(t, "gostatic")
	port := Ports["gostatic"]
	RunServer(t, img, port)
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(body); resp.StatusCode != http.StatusOK || got != "gostatic ok\n" {
		t.Errorf("GET / = %d %q, want 200 %q", resp.StatusCode, got, "gostatic ok\n")
	}
}

func TestImage(t *testing.T) {
	if got := Image("base"); got != "pare-fixture/base:bookworm" {
		t.Errorf("Image(base) = %q", got)
	}
	if got := Image("nginx"); got != "pare-fixture/nginx:latest" {
		t.Errorf("Image(nginx) = %q", got)
	}
}
