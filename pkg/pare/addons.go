package pare

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/toolbin"
)

// Healthcheck is a HEALTHCHECK that BuildOptions.Healthcheck adds: a GET of
// URL (2xx and 3xx are healthy) or a Command run in the container, by
// pare-healthcheck at /.pare/healthcheck. Zero durations and retries take
// the defaults (interval 30s, timeout 5s, retries 3).
type Healthcheck = assemble.Healthcheck

// Where Build puts pare's programs in the pared image.
const (
	InitPath        = assemble.InitPath
	HealthcheckPath = assemble.HealthcheckPath
)

// addons returns the files AddInit and Healthcheck add to the pared image,
// and sets their config in cf. The programs are found next to the running
// executable or built from the module (toolbin.Find) for the image's
// architecture.
func addons(cf *v1.ConfigFile, o *BuildOptions) ([]assemble.Extra, []string, error) {
	var extras []assemble.Extra
	var notes []string
	if h := cf.Config.Healthcheck; h != nil && o.Healthcheck == nil {
		// the source's check names its own tools (a shell, curl), which
		// are not kept for it: it is dropped, as it always was
		if len(h.Test) > 0 && h.Test[0] != "NONE" {
			notes = append(notes, fmt.Sprintf("the source's HEALTHCHECK %q is dropped; --add-healthcheck adds one that needs no shell", h.Test))
		}
		cf.Config.Healthcheck = nil
	}
	add := func(name, at, what string) error {
		bin, err := toolbin.Find(context.Background(), name, toolbin.GOARCH(cf.Architecture), o.ToolCacheDir)
		if err != nil {
			return err
		}
		if err := toolbin.Check(bin, toolbin.GOARCH(cf.Architecture)); err != nil {
			return err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		extras = append(extras, assemble.Extra{Path: at, Mode: 0o755, Data: data})
		notes = append(notes, fmt.Sprintf("added %s (%s, %d bytes): %s", at, name, len(data), what))
		return nil
	}
	if o.Healthcheck != nil {
		if err := assemble.WithHealthcheck(cf, HealthcheckPath, *o.Healthcheck); err != nil {
			return nil, nil, err
		}
		if err := add(toolbin.Healthcheck, HealthcheckPath, "the HEALTHCHECK"); err != nil {
			return nil, nil, err
		}
	}
	if o.AddInit {
		if err := add(toolbin.Init, InitPath, "PID 1, forwards signals to the program and reaps zombies"); err != nil {
			return nil, nil, err
		}
		assemble.WithInit(cf, InitPath)
	}
	return extras, notes, nil
}

// countExtras adds the added files to the report's size after paring: they
// are in the image, though not from the source.
func countExtras(rep *Report, extras []assemble.Extra) {
	for _, x := range extras {
		rep.After.Files++
		rep.After.Bytes += int64(len(x.Data))
	}
}
