package e2etrace

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/testimages"
)

// batchFixtures are images that run a program to completion and expose no
// port. trace-groff formats files of its WorkingDir given by relative
// paths, as a non-root user.
var batchFixtures = []string{"bashscript", "sqlite", "cmusl", "trace-groff"}

// TestTracedBatchNoFlags: pare build --trace with no probe flag runs a
// batch image to completion (rather than stopping it at once) and the
// result passes pare verify with no flags either.
func TestTracedBatchNoFlags(t *testing.T) {
	sensorBin := sensor(t)
	for _, name := range batchFixtures {
		t.Run(name, func(t *testing.T) {
			orig := testimages.Require(t, name)
			tag := testimages.TagPrefix + "pare-e2etrace/" + name + ":traced-noflags"
			remember(tag)
			rep := filepath.Join(t.TempDir(), "report.json")
			_, errOut := mustPare(t, "build", "docker-daemon:"+orig, "docker-daemon:"+tag, "--trace", "--sensor", sensorBin, "--report", rep)
			r := readReport(t, rep)
			if r.Trace == nil || r.Trace.ExitCode != 0 || len(r.Trace.Probes) != 1 || r.Trace.Probes[0].Name != "exit" || !r.Trace.Probes[0].OK {
				t.Fatalf("trace section %+v, want the program run to exit 0\n%s", r.Trace, tail(errOut, 20))
			}
			out, errOut, code := pare(t.Context(), "verify", "docker-daemon:"+orig, "docker-daemon:"+tag)
			if code != 0 {
				t.Errorf("verify: exit %d\n%s%s", code, out, tail(errOut, 10))
			}
			t.Logf("SIZES %s original=%d traced=%d files %d/%d", name, r.Before.Bytes, r.After.Bytes, r.Before.Files, r.After.Files)
		})
	}
}

// groffRuns are more invocations of the trace-groff fixture, each with
// other macro packages, devices and a preprocessor (tbl for -t).
var groffRuns = []string{
	"groff -mdoc -Tlatin1 notes.7",
	`["groff", "-t", "-man", "-Tascii", "table.1"]`,
}

// TestTracedBatchRuns: --run traces more invocations of a batch image,
// each a run of its own with relative paths resolved in the WorkingDir as
// the image's user; what each used is kept, the CMD stays the image's,
// and verify with the same --run sets finds the same behaviour.
func TestTracedBatchRuns(t *testing.T) {
	sensorBin := sensor(t)
	orig := testimages.Require(t, "trace-groff")
	tag := testimages.TagPrefix + "pare-e2etrace/trace-groff:traced-runs"
	remember(tag)
	repFile := filepath.Join(t.TempDir(), "report.json")
	args := []string{"build", "docker-daemon:" + orig, "docker-daemon:" + tag, "--trace", "--sensor", sensorBin, "--report", repFile}
	var verifyArgs []string
	for _, r := range groffRuns {
		args = append(args, "--run", r)
		verifyArgs = append(verifyArgs, "--run", r)
	}
	mustPare(t, args...)
	rep := readReport(t, repFile)
	var names []string
	for _, p := range rep.Trace.Probes {
		names = append(names, p.Name)
		if !p.OK {
			t.Errorf("probe %s failed while tracing: %s", p.Name, p.Err)
		}
	}
	want := []string{"exit", "run groff -mdoc -Tlatin1 notes.7: exit", "run groff -t -man -Tascii table.1: exit"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("trace probes %q, want %q", names, want)
	}

	// what only a later run used is kept, for a trace reason
	kept := map[string]report.Kept{}
	for _, k := range rep.Kept {
		kept[k.Path] = k
	}
	for _, w := range []string{"/usr/bin/tbl", "/usr/share/groff/1.22.4/tmac/doc.tmac", "/usr/share/groff/1.22.4/tmac/mdoc/doc-common", "/usr/share/groff/1.22.4/font/devlatin1/DESC",
		"/usr/share/groff/1.22.4/font/devascii/DESC", "/usr/share/groff/1.22.4/font/devutf8/DESC", "/work/notes.7", "/work/table.1"} {
		k, ok := kept[w]
		if !ok {
			t.Errorf("traced image lacks %s, which a run used", w)
		} else if !hasKind(k, keptset.KindTrace) {
			t.Errorf("%s kept for %v, want a trace reason", w, kinds(k))
		}
	}

	// the output's CMD is the image's
	var cfg struct{ Cmd []string }
	if err := json.Unmarshal([]byte(testimages.Docker(t, "inspect", "-f", "{{json .Config}}", tag)), &cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Cmd, " ") != "groff -man -Tutf8 page.1" {
		t.Errorf("pared CMD = %q, want the image's", cfg.Cmd)
	}

	out, errOut, code := pare(t.Context(), append([]string{"verify", "docker-daemon:" + orig, "docker-daemon:" + tag, "--output", "json"}, verifyArgs...)...)
	if code != 0 {
		t.Errorf("verify with the same runs: exit %d\n%s%s", code, out, tail(errOut, 10))
	}
	var vr struct {
		Pared []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"pared"`
	}
	if err := json.Unmarshal([]byte(out), &vr); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(vr.Pared) != 3 {
		t.Fatalf("verify ran %d probes, want one per run: %s", len(vr.Pared), out)
	}
	for _, p := range vr.Pared {
		if p.Size == 0 {
			t.Errorf("%s: no output (the formatted page)", p.Name)
		}
	}
	t.Logf("SIZES trace-groff runs original=%d traced=%d files %d/%d", rep.Before.Bytes, rep.After.Bytes, rep.Before.Files, rep.After.Files)
}
