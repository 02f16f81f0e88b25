package trace

import (
	"context"
	"fmt"

	"github.com/pare-dev/pare/internal/toolbin"
)

// SensorBinaryName is the file name of the sensor program.
const SensorBinaryName = toolbin.Sensor

// FindSensor returns the path of a pare-sensor binary for goarch ("amd64",
// "arm64"): next to the running executable, else built from source into
// cacheDir (see toolbin.Find).
func FindSensor(ctx context.Context, goarch, cacheDir string) (string, error) {
	return toolbin.Find(ctx, SensorBinaryName, goarch, cacheDir)
}

// BuildSensor builds cmd/pare-sensor as a static binary for goarch into
// cacheDir and returns its path (see toolbin.Build).
func BuildSensor(ctx context.Context, goarch, cacheDir string) (string, error) {
	return toolbin.Build(ctx, SensorBinaryName, goarch, cacheDir)
}

// checkSensor verifies that path is a static ELF executable for goarch: the
// sensor runs inside arbitrary images, which may have no libc at all.
func checkSensor(path, goarch string) error {
	if err := toolbin.Check(path, goarch); err != nil {
		return fmt.Errorf("sensor %w", err)
	}
	return nil
}
