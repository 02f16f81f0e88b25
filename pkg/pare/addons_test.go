package pare

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBuildAddons: AddInit and a command Healthcheck add pare's programs to
// the layer, put init in front of the Entrypoint, set the HEALTHCHECK, and
// keep the check's program (perl, otherwise unused) with its closure.
func TestBuildAddons(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pare-init and pare-healthcheck")
	}
	src := pythonApp()
	src.ConfigFile.Config.Healthcheck = nil
	res, err := Build(src, BuildOptions{
		AddInit:      true,
		Healthcheck:  &Healthcheck{Command: []string{"perl", "-e", "exit 0"}, Interval: 2 * time.Second},
		ToolCacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	files := layerFiles(t, res.Image)
	for _, p := range []string{InitPath, HealthcheckPath, "/usr/bin/perl", lib + "/libc.so.6"} {
		if !files[p] {
			t.Errorf("%s not in the layer", p)
		}
	}
	cf, err := res.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{InitPath, "--", "/opt/venv/bin/python", "/app/main.py"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("Entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	h := cf.Config.Healthcheck
	if h == nil || !slices.Equal(h.Test, []string{"CMD", HealthcheckPath, "-timeout", "5s", "--", "perl", "-e", "exit 0"}) || h.Interval != 2*time.Second || h.Retries != 3 {
		t.Errorf("Healthcheck %+v", h)
	}
	notes := strings.Join(res.Report.Notes, "\n")
	if !strings.Contains(notes, "added "+InitPath) || !strings.Contains(notes, "added "+HealthcheckPath) {
		t.Errorf("notes do not name the added programs:\n%s", notes)
	}
	withAddons := res.Report.After
	// without the options: no programs, the command as it was
	res, err = Build(pythonApp(), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// the added programs count in the size after paring (perl is a small
	// synthetic ELF, the programs are megabytes)
	if d := withAddons.Bytes - res.Report.After.Bytes; withAddons.Files != res.Report.After.Files+3 || d < 1<<20 {
		t.Errorf("after paring: %+v with the programs, %+v without", withAddons, res.Report.After)
	}
	files = layerFiles(t, res.Image)
	if files[InitPath] || files[HealthcheckPath] || files["/usr/bin/perl"] {
		t.Errorf("added files without the options")
	}
}
