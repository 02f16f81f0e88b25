package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/testimages"
)

// TestSizeTable is the size benchmark of bench/size.sh, not a CI test: it
// runs only with PARE_BENCH_SIZE=1. For each fixture of the generality
// table (genFixtures: the same probes as the acceptance tests), or those
// PARE_BENCH_FIXTURES lists (comma-separated), it builds the static and
// the traced image (the traced one under the fixture's probes and runs)
// and prints
//
//	SIZE <fixture> original=<bytes> static=<bytes> traced=<bytes> floor=<bytes> verify=<static>/<traced>
//
// where the floor is what a probe-only slimmer keeps: the files the traced
// run used (a trace reason) with their loader closure (interpreter,
// DT_NEEDED, the links and directories on the way), computed from the
// traced build's report. Sizes are the bytes of the regular files, as the
// reports count them. With PARE_BENCH_VERIFY=1 both images are also
// verified under the fixture's probes ("pass" or "fail"). With
// PARE_BENCH_REPORTS=DIR the reports are kept in DIR/<fixture>/.
func TestSizeTable(t *testing.T) {
	if os.Getenv("PARE_BENCH_SIZE") == "" {
		t.Skip("a benchmark: set PARE_BENCH_SIZE=1 (bench/size.sh)")
	}
	var want []string
	if l := os.Getenv("PARE_BENCH_FIXTURES"); l != "" {
		want = strings.Split(l, ",")
	}
	for _, f := range genFixtures {
		if want != nil && !slices.Contains(want, f.name) {
			continue
		}
		t.Run(f.name, func(t *testing.T) { sizeRow(t, f) })
	}
}

func sizeRow(t *testing.T, f genFixture) {
	testimages.Require(t, f.name)
	lockPorts(t, f.name)
	dir := t.TempDir()
	if d := os.Getenv("PARE_BENCH_REPORTS"); d != "" {
		dir = filepath.Join(d, f.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	orig := testimages.Image(f.name)
	runs := append(slices.Clone(f.runs), f.traceRuns...)
	build := func(variant string, flags ...string) (*report.Report, string) {
		rep := filepath.Join(dir, variant+".json")
		tag := fmt.Sprintf("pare-bench/%s:%s-%d", f.name, variant, os.Getpid()) // two runs at once do not share tags
		mu.Lock()
		created = append(created, tag)
		mu.Unlock()
		args := append([]string{"build", "docker-daemon:" + orig, "docker-daemon:" + tag, "--report", rep}, flags...)
		if _, errOut, code := pare(t, args...); code != 0 {
			t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, firstLines(errOut, 20))
		}
		b, err := os.ReadFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", rep, err)
		}
		return &r, tag
	}
	static, staticTag := build("static")
	traceFlags := append([]string{"--trace"}, f.probes...)
	for _, r := range runs {
		traceFlags = append(traceFlags, "--run", r)
	}
	traced, tracedTag := build("traced", traceFlags...)
	// static mode is verified on what it can know (the image's own
	// command and runs), the traced image on every run it saw, as the
	// generality tests do
	verdict := func(tag string, runs []string) string {
		if os.Getenv("PARE_BENCH_VERIFY") == "" {
			return "-"
		}
		code, r, errOut := genVerify(t, orig, tag, f.verifyFlags(runs))
		if code != 0 || !r.Same {
			t.Errorf("verify %s: exit %d: %s %s", tag, code, describeDiffs(r), firstLines(errOut, 3))
			return "fail"
		}
		return "pass"
	}
	line := fmt.Sprintf("SIZE %s original=%d static=%d traced=%d floor=%d verify=%s/%s", f.name,
		static.Before.Bytes, static.After.Bytes, traced.After.Bytes, floorBytes(traced), verdict(staticTag, f.runs), verdict(tracedTag, runs))
	t.Log(line)
	fmt.Println(line)
}

// floorBytes returns the bytes of the regular files of a traced report that
// a probe-only keep holds: those with a trace reason, and, transitively,
// what the loader needs for them and the links and directories on their
// way; and the whole kept tree of every data directory the run wrote into
// (see dataDirs): a database's tables the probes did not read are data a
// working image cannot lose, so a probe-only keep that works keeps them.
func floorBytes(r *report.Report) int64 {
	in := map[string]bool{}
	for _, k := range r.Kept {
		for _, why := range k.Reasons {
			if why.Kind == keptset.KindTrace {
				in[k.Path] = true
			}
		}
	}
	if dirs := dataDirs(r); len(dirs) > 0 {
		for _, k := range r.Kept {
			for _, d := range dirs {
				if strings.HasPrefix(k.Path, d+"/") {
					in[k.Path] = true
				}
			}
		}
	}
	for grew := true; grew; {
		grew = false
		for _, k := range r.Kept {
			if in[k.Path] {
				continue
			}
			for _, why := range k.Reasons {
				switch why.Kind {
				case keptset.KindInterp, keptset.KindNeeded, keptset.KindLoader, keptset.KindSymlink, keptset.KindParent, keptset.KindHardlink:
					if in[why.From] {
						in[k.Path] = true
						grew = true
					}
				}
			}
		}
	}
	var n int64
	for _, k := range r.Kept {
		if in[k.Path] && k.Type == "file" {
			n += k.Size
		}
	}
	return n
}

// dataDirs returns the directories of a traced report that the run wrote
// into (a trace reason "directory written into") and that are named as
// data: a package's state directory (/var/lib/N), writable state, or a
// directory named directly by the command line, the Env or a
// configuration (PGDATA), not one kept as part of a tree.
func dataDirs(r *report.Report) []string {
	var out []string
	for _, k := range r.Kept {
		if k.Type != "dir" {
			continue
		}
		written, data := false, false
		for _, why := range k.Reasons {
			switch why.Kind {
			case keptset.KindTrace:
				written = written || strings.HasPrefix(why.Detail, "directory written into")
			case keptset.KindState:
				data = true
			case keptset.KindPackage:
				data = data || strings.HasSuffix(why.Detail, ": state directory")
			case keptset.KindEntrypoint, keptset.KindConfig:
				data = data || why.Detail != "" && !strings.HasPrefix(why.Detail, "in tree ")
			}
		}
		if written && data && k.Path != "/tmp" {
			out = append(out, k.Path)
		}
	}
	return out
}
