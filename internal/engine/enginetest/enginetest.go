// Package enginetest has helpers for tests that need a real Docker daemon:
// a connected engine (or a skip) and a tiny image holding a static test
// program, built on the fly, so docker tests do not depend on pulled images.
package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/engine"
)

// Docker returns an engine connected to the local daemon. The test is
// skipped in -short mode or when no daemon answers, unless CI=true, in
// which case a missing daemon fails it. Containers this process left
// behind are removed when the test ends.
func Docker(t testing.TB) *engine.Docker {
	t.Helper()
	if testing.Short() {
		t.Skip("docker test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := engine.NewDocker(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker daemon required in CI: %v", err)
		}
		t.Skipf("no docker daemon: %v", err)
	}
	t.Cleanup(func() {
		engine.Sweep(context.Background(), d)
		d.Close()
	})
	return d
}

// ToolImage tags and returns an image holding only /testtool (see
// testtool/main.go), /etc/passwd, /etc/group and /tmp. Its config:
// ENTRYPOINT ["/testtool"], CMD ["sleep","60s"], USER app (1000:1000),
// EXPOSE 8080/tcp, ENV GREETING=hello, WORKDIR /tmp.
func ToolImage(t testing.TB) string {
	t.Helper()
	toolOnce.Do(func() { toolRef, toolErr = buildToolImage() })
	if toolErr != nil {
		t.Fatalf("building test image: %v", toolErr)
	}
	return toolRef
}

var (
	toolOnce sync.Once
	toolRef  string
	toolErr  error
)

// PasswdFile and GroupFile are the account files of ToolImage.
const (
	PasswdFile = "root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000:app:/home/app:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	GroupFile  = "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnobody:x:65534:\n"
)

func buildToolImage() (string, error) {
	dir, err := os.MkdirTemp("", "pare-testtool-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "testtool")
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), "testtool")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build testtool: %w: %s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := []string{"etc/", "tmp/", "home/", "home/app/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: epoch})
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte(PasswdFile)},
		{"etc/group", 0o644, []byte(GroupFile)},
		{"testtool", 0o755, data},
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch})
		tw.Write(f.data)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := "pare-test/testtool:" + hex.EncodeToString(sum[:6])
	if exec.Command("docker", "image", "inspect", ref).Run() == nil {
		return ref, nil
	}
	imp := exec.Command("docker", "import",
		"--change", `ENTRYPOINT ["/testtool"]`,
		"--change", `CMD ["sleep","60s"]`,
		"--change", "USER app",
		"--change", "EXPOSE 8080/tcp",
		"--change", "ENV GREETING=hello",
		"--change", "WORKDIR /tmp",
		"-", ref)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker import: %w: %s", err, out)
	}
	return ref, nil
}

// Leftovers lists the containers labelled with this process's owner label.
func Leftovers(t testing.TB, eng engine.Engine) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := eng.List(ctx, map[string]string{engine.OwnerLabel: engine.OwnerValue})
	if err != nil {
		t.Fatalf("listing containers: %v", err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}
