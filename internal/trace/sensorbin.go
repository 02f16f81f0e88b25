package trace

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// SensorBinaryName is the file name of the sensor program.
const SensorBinaryName = "pare-sensor"

// FindSensor returns the path of a pare-sensor binary for goarch ("amd64",
// "arm64"), looking in order at: pare-sensor-<goarch> and (for the host
// architecture) pare-sensor next to the running executable; then a build
// from source with BuildSensor into cacheDir, which works in a checkout of
// the pare module with a Go toolchain. cacheDir "" means
// os.UserCacheDir()/pare.
func FindSensor(ctx context.Context, goarch, cacheDir string) (string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		cands := []string{filepath.Join(dir, SensorBinaryName+"-"+goarch)}
		if goarch == runtime.GOARCH {
			cands = append(cands, filepath.Join(dir, SensorBinaryName))
		}
		for _, c := range cands {
			if err := checkSensor(c, goarch); err == nil {
				return c, nil
			}
		}
	}
	return BuildSensor(ctx, goarch, cacheDir)
}

// BuildSensor builds cmd/pare-sensor as a static binary (CGO_ENABLED=0) for
// goarch into cacheDir/sensor-<goarch>/pare-sensor and returns its path.
// It needs the go command and the pare source tree this package was
// compiled from; the go build cache makes repeated calls cheap.
func BuildSensor(ctx context.Context, goarch, cacheDir string) (string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("building pare-sensor: %w", err)
	}
	if cacheDir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("building pare-sensor: %w", err)
		}
		cacheDir = filepath.Join(uc, "pare")
	}
	outDir := filepath.Join(cacheDir, "sensor-"+goarch)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("building pare-sensor: %w", err)
	}
	out := filepath.Join(outDir, SensorBinaryName)
	tf, err := os.CreateTemp(outDir, SensorBinaryName+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("building pare-sensor: %w", err)
	}
	tf.Close()
	tmp := tf.Name() // unique: concurrent builds do not collide
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./cmd/pare-sensor")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building pare-sensor: %w: %s", err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("building pare-sensor: %w", err)
	}
	return out, checkSensor(out, goarch)
}

// moduleRoot finds the pare module directory from this source file's path.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("pare source tree not available (binary built with -trimpath?); pass the sensor path")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "cmd", "pare-sensor")); err != nil {
		return "", fmt.Errorf("pare source tree not available: %w; pass the sensor path", err)
	}
	return root, nil
}

// checkSensor verifies that path is a static ELF executable for goarch: the
// sensor runs inside arbitrary images, which may have no libc at all.
func checkSensor(path, goarch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("sensor %s: %w", path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM, "riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}[goarch]
	if want == 0 || f.Machine != want {
		return fmt.Errorf("sensor %s: machine %s, want %s", path, f.Machine, goarch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("sensor %s: dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}
