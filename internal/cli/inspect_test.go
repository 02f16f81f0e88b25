package cli

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/testimages"
)

// inspectArchive writes a two-layer docker-archive without a daemon: a
// static program, 4000 bytes of documentation, and 1000 bytes a second
// layer deletes.
func inspectArchive(t *testing.T) string {
	t.Helper()
	layer := func(files ...string) v1.Layer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i := 0; i < len(files); i += 2 {
			data := []byte(files[i+1])
			h := &tar.Header{Name: files[i], Mode: 0o755, Typeflag: tar.TypeReg, Size: int64(len(data))}
			if strings.HasSuffix(files[i], "/") {
				h.Typeflag = tar.TypeDir
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	app := string(elftest.Build(elftest.Spec{Type: elf.ET_EXEC, NoDynamic: true}))
	img, err := mutate.AppendLayers(empty.Image,
		layer("bin/", "", "bin/app", app, "usr/", "", "usr/share/", "", "usr/share/doc/", "", "usr/share/doc/README", strings.Repeat("d", 4000),
			"tmp/", "", "tmp/junk", strings.Repeat("j", 1000)),
		layer("tmp/", "", "tmp/.wh.junk", ""))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/bin/app"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "img.tar")
	tag, _ := name.NewTag(testimages.TagPrefix + "pare-test/inspect:latest")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return "docker-archive:" + p
}

func TestInspectCI(t *testing.T) {
	src := inspectArchive(t)
	var r struct {
		WastedBytes int64   `json:"wasted_bytes"`
		Efficiency  float64 `json:"efficiency"`
		Pared       struct {
			AfterBytes int64 `json:"after_bytes"`
		} `json:"pared"`
		CI []struct {
			Rule string `json:"rule"`
			OK   bool   `json:"ok"`
		} `json:"ci"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", src, "-o", "json", "--highest-wasted-bytes", "1kB")), &r); err != nil {
		t.Fatal(err)
	}
	if r.WastedBytes != 1000 || r.Pared.AfterBytes == 0 || len(r.CI) != 1 || r.CI[0].Rule != "highest-wasted-bytes" || !r.CI[0].OK {
		t.Fatalf("result %+v", r)
	}
	for _, c := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"--ci"}, ExitFailure, "lowest-efficiency"}, // 0.17 < dive's 0.9
		{[]string{"--ci", "--lowest-efficiency", "0.1"}, ExitOK, ""},
		{[]string{"--highest-wasted-bytes", "999"}, ExitFailure, "1 of 1 rules failed: highest-wasted-bytes"},
		{[]string{"--largest-pared-size", "1B", "--lowest-efficiency", "0.1"}, ExitFailure, "1 of 2 rules failed: largest-pared-size"},
		{[]string{"--lowest-efficiency", "1.5"}, ExitUsage, "between 0 and 1"},
		{[]string{"--largest-pared-size", "big"}, ExitUsage, "largest-pared-size"},
	} {
		out, errOut, code := run(t, append([]string{"inspect", src}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("inspect %v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}
}
