package transport

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// needDocker skips the test unless a Docker daemon answers; with CI=true a
// missing daemon is a failure.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("docker test skipped in -short mode")
	}
	if err := exec.CommandContext(t.Context(), "docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but docker is not usable: %v", err)
		}
		t.Skipf("docker not usable: %v", err)
	}
}

func TestDaemonRoundTrip(t *testing.T) {
	needDocker(t)
	ctx := t.Context()
	b := make([]byte, 6)
	rand.Read(b)
	tag := "pare-transport-test:" + hex.EncodeToString(b)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	img := testImage(t, "amd64")
	ref := mustParse(t, "docker-daemon:"+tag)
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
	// The daemon stores layers uncompressed: diff_ids and config survive,
	// compressed digests do not.
	if d := cmp.Diff(summarize(t, img), summarize(t, got)); d != "" {
		t.Errorf("image changed (-want +got):\n%s", d)
	}
	// Write again (already present: only tagged) and through to a file.
	if err := Write(ctx, ref, got); err != nil {
		t.Errorf("second write: %v", err)
	}
	out := Reference{Kind: DockerArchive, Path: t.TempDir() + "/d.tar", Name: "pare/out:1"}
	if err := Write(ctx, out, got); err != nil {
		t.Fatal(err)
	}
	back, err := Read(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(summarize(t, img), summarize(t, back)); d != "" {
		t.Errorf("daemon to archive (-want +got):\n%s", d)
	}
}

func TestDaemonErrors(t *testing.T) {
	needDocker(t)
	ref := mustParse(t, "docker-daemon:pare-transport-test:does-not-exist")
	_, err := Read(t.Context(), ref)
	if err == nil {
		t.Fatal("no error for a missing image")
	}
	if !strings.Contains(err.Error(), ref.String()) {
		t.Errorf("err = %v, want it to name %s", err, ref)
	}
	err = Write(t.Context(), mustParse(t, "docker-daemon:x@sha256:"+hex.EncodeToString(make([]byte, 32))), testImage(t, "amd64"))
	if err == nil || !strings.Contains(err.Error(), "NAME[:TAG]") {
		t.Errorf("write to a digest: err = %v", err)
	}
}

// TestDockerSave reads what this Docker engine itself writes: an image
// made with docker import (no registry needed), loaded from the daemon and
// from a docker save archive.
func TestDockerSave(t *testing.T) {
	needDocker(t)
	ctx := t.Context()
	b := make([]byte, 6)
	rand.Read(b)
	tag := "pare-transport-test:save-" + hex.EncodeToString(b)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/hello", Mode: 0o644, Size: 5})
	tw.Write([]byte("hello"))
	tw.Close()
	imp := exec.CommandContext(ctx, "docker", "import", "--change", `ENTRYPOINT ["/hello"]`, "-", tag)
	imp.Stdin = &rootfs
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	archive := filepath.Join(t.TempDir(), "saved.tar")
	if out, err := exec.CommandContext(ctx, "docker", "save", "-o", archive, tag).CombinedOutput(); err != nil {
		t.Fatalf("docker save: %v: %s", err, out)
	}
	var sums []summary
	for _, s := range []string{"docker-archive:" + archive, "docker-archive:" + archive + ":" + tag, "docker-daemon:" + tag} {
		img, err := Read(ctx, mustParse(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(img); err != nil {
			t.Errorf("%s: Verify: %v", s, err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s: validate.Image: %v", s, err)
		}
		sums = append(sums, summarize(t, img))
	}
	for _, s := range sums[1:] {
		if d := cmp.Diff(sums[0], s); d != "" {
			t.Errorf("archive and daemon differ (-archive +other):\n%s", d)
		}
	}
	if got := sums[0].Config.Entrypoint; !cmp.Equal(got, []string{"/hello"}) {
		t.Errorf("entrypoint %q", got)
	}
}
