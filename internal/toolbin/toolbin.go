// Package toolbin finds or builds pare's own small static programs
// (cmd/pare-sensor, cmd/pare-init, cmd/pare-healthcheck): the programs pare
// puts into images it runs or writes, which may have no libc at all.
package toolbin

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Program names.
const (
	Sensor      = "pare-sensor"
	Init        = "pare-init"
	Healthcheck = "pare-healthcheck"
)

// Find returns the path of the program name (a directory of cmd/, such as
// "pare-init") for goarch ("amd64", "arm64"; "" is the host's), looking in
// order at: name-<goarch> and (for the host architecture) name next to the
// running executable; then a build from source with Build into cacheDir,
// which works in a checkout of the pare module with a Go toolchain.
// cacheDir "" means os.UserCacheDir()/pare.
func Find(ctx context.Context, name, goarch, cacheDir string) (string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		cands := []string{filepath.Join(dir, name+"-"+goarch)}
		if goarch == runtime.GOARCH {
			cands = append(cands, filepath.Join(dir, name))
		}
		for _, c := range cands {
			if err := Check(c, goarch); err == nil {
				return c, nil
			}
		}
	}
	return Build(ctx, name, goarch, cacheDir)
}

// Build builds cmd/<name> as a small static binary (CGO_ENABLED=0,
// -trimpath, -ldflags "-s -w") for linux/goarch into
// cacheDir/<name>-<goarch>/<name> and returns its path. It needs the go
// command and the pare source tree this package was compiled from; the go
// build cache makes repeated calls cheap, and -trimpath makes the output
// the same for the same source and toolchain.
func Build(ctx context.Context, name, goarch, cacheDir string) (string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	root, err := moduleRoot(name)
	if err != nil {
		return "", fmt.Errorf("building %s: %w", name, err)
	}
	if cacheDir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("building %s: %w", name, err)
		}
		cacheDir = filepath.Join(uc, "pare")
	}
	outDir := filepath.Join(cacheDir, name+"-"+goarch)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("building %s: %w", name, err)
	}
	out := filepath.Join(outDir, name)
	tf, err := os.CreateTemp(outDir, name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("building %s: %w", name, err)
	}
	tf.Close()
	tmp := tf.Name() // unique: concurrent builds do not collide
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./cmd/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building %s: %w: %s", name, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("building %s: %w", name, err)
	}
	return out, Check(out, goarch)
}

// moduleRoot finds the pare module directory from this source file's path.
func moduleRoot(name string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", fmt.Errorf("pare source tree not available (binary built with -trimpath?); put %s next to the pare binary or pass its path", name)
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "cmd", name)); err != nil {
		return "", fmt.Errorf("pare source tree not available: %w; put %s next to the pare binary or pass its path", err, name)
	}
	return root, nil
}

// machines maps a GOARCH to its ELF machine.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM, "riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}

// Check verifies that path is a static ELF executable for goarch: pare's
// programs run inside arbitrary images, which may have no libc at all.
func Check(path, goarch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	want := machines[goarch]
	if want == 0 || f.Machine != want {
		return fmt.Errorf("%s: machine %s, want %s", path, f.Machine, goarch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// GOARCH returns the GOARCH of an image architecture as an OCI config or
// uname names it ("amd64", "x86_64", "aarch64").
func GOARCH(arch string) string {
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return arch
}
