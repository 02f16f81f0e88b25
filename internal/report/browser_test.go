package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/dustin/go-humanize"
	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/testimages"
	"github.com/pare-dev/pare/pkg/pare"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// chromium returns Debian's chromium. Without it the test is skipped, but
// not in CI (CI=true), where scripts/test.sh installs it: there it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI needs it for the HTML report tests (scripts/test.sh installs Debian's chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium): skipping the HTML report test in a browser")
	return ""
}

// TestHTMLReportInChromiumSynthetic opens the page of a report that
// report.Describe made from an in-memory image (hard links, a directory of
// many small dropped files, a path that looks like markup, files pare
// added) in headless Chromium and checks what it shows.
func TestHTMLReportInChromiumSynthetic(t *testing.T) {
	bin := chromium(t)
	const lib = "/usr/lib/x86_64-linux-gnu/"
	m := rootfs.NewMem()
	m.AddSymlink("/lib", "usr/lib")
	m.AddFile("/usr/sbin/app", 0o755, make([]byte, 2_400_000))
	m.AddFile(lib+"libc.so.6", 0o755, make([]byte, 1_900_000))
	m.AddFile(lib+"libssl.so.3", 0o755, make([]byte, 690_000))
	m.AddFile(lib+"ossl-modules/legacy.so", 0o644, make([]byte, 160_000))
	m.AddFile(lib+"libgone.so.1", 0o644, make([]byte, 3_100_000))
	m.AddFile("/usr/bin/perl", 0o755, make([]byte, 3_900_000))
	if err := m.AddHardlink("/usr/bin/perl5.36.0", "/usr/bin/perl"); err != nil {
		t.Fatal(err)
	}
	m.AddFile("/usr/bin/tool", 0o755, make([]byte, 300_000))
	if err := m.AddHardlink("/usr/bin/tool2", "/usr/bin/tool"); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		m.AddFile(fmt.Sprintf("/usr/share/zoneinfo/Zone/%03d", i), 0o644, make([]byte, 1000+10*i))
	}
	for i := range 40 {
		m.AddFile(fmt.Sprintf("/usr/share/doc/pkg%02d/copyright", i), 0o644, make([]byte, 3000+i))
	}
	m.AddFile("/var/cache/apt/pkgcache.bin", 0o644, make([]byte, 5_000_000))
	m.AddFile("/etc/app.conf", 0o644, []byte("x=1\n"))
	m.AddFile("/srv/</script><b>x</b>", 0o644, make([]byte, 5000))
	m.AddFile("/srv/données/é.txt", 0o644, make([]byte, 700))
	m.AddFile("/app.env", 0o644, make([]byte, 120))
	v := m.View()
	kept := keptset.NewSet(v)
	keep := func(p string, r keptset.Reason) {
		t.Helper()
		if _, err := kept.Keep(p, r); err != nil {
			t.Fatal(err)
		}
	}
	keep("/usr/sbin/app", keptset.Reason{Kind: keptset.KindEntrypoint})
	keep("/lib/x86_64-linux-gnu/libc.so.6", keptset.Reason{Kind: keptset.KindNeeded, From: "/usr/sbin/app"})
	keep(lib+"libssl.so.3", keptset.Reason{Kind: keptset.KindNeeded, From: "/usr/sbin/app"})
	keep(lib+"ossl-modules/legacy.so", keptset.Reason{Kind: keptset.KindDlopen, From: lib + "libssl.so.3", Detail: "OpenSSL provider"})
	keep("/usr/bin/perl", keptset.Reason{Kind: keptset.KindInclude})
	keep("/usr/bin/perl5.36.0", keptset.Reason{Kind: keptset.KindHardlink, From: "/usr/bin/perl"})
	keep("/usr/bin/tool2", keptset.Reason{Kind: keptset.KindInclude})
	for i := range 40 {
		keep(fmt.Sprintf("/usr/share/zoneinfo/Zone/%03d", i*7), keptset.Reason{Kind: keptset.KindKnowledge, Rule: "tzdata", From: "/usr/sbin/app"})
	}
	keep("/etc/app.conf", keptset.Reason{Kind: keptset.KindConfig, From: "/usr/sbin/app"})
	keep("/srv/</script><b>x</b>", keptset.Reason{Kind: keptset.KindApp})
	keep("/srv/données/é.txt", keptset.Reason{Kind: keptset.KindApp})
	keep("/app.env", keptset.Reason{Kind: keptset.KindApp})
	rep := &report.Report{Source: "docker-archive:synthetic.tar", Command: []string{"/usr/sbin/app"}, User: "65532:65532"}
	if err := report.Describe(rep, v, kept, false); err != nil {
		t.Fatal(err)
	}
	// What --add-init adds (pkg/pare counts such files in After only).
	rep.After.Files++
	rep.After.Bytes += 1_700_000

	shot := checkReportPage(t, bin, rep, lib+"ossl-modules/legacy.so")
	saveScreenshot(t, "synthetic", shot)
}

// TestHTMLReportInChromiumNginx builds the nginx fixture through the pkg/pare
// facade, as pare build --report-html does, and checks its page in headless
// Chromium against the JSON report.
func TestHTMLReportInChromiumNginx(t *testing.T) {
	bin := chromium(t)
	img := testimages.Require(t, "nginx")
	src, err := pare.Open(t.Context(), "docker-daemon:"+img, pare.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := pare.Build(src, pare.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The JSON report as pare build --report writes it is the reference.
	b, err := json.MarshalIndent(res.Report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Before.Bytes != rep.After.Bytes+rep.DroppedBytes {
		t.Errorf("before %d bytes, after %d, dropped %d: they do not add up", rep.Before.Bytes, rep.After.Bytes, rep.DroppedBytes)
	}
	files := 0
	for _, d := range rep.DroppedDirs {
		files += d.Files
	}
	if files != rep.Dropped || len(rep.DroppedDirs) == 0 {
		t.Errorf("dropped_dirs count %d files in %d dirs, dropped_files is %d", files, len(rep.DroppedDirs), rep.Dropped)
	}
	// The kept file with the longest chain to the entrypoint.
	query, longest := "", 0
	for k := range rep.KeptPaths() {
		if n := len(chainSteps(&rep, k.Path)); k.Type == "file" && n > longest && strings.HasSuffix(k.Chain, "← entrypoint") {
			query, longest = k.Path, n
		}
	}
	if longest < 3 {
		t.Fatalf("no kept file is two steps or more from the entrypoint (%s: %d)", query, longest)
	}
	shot := checkReportPage(t, bin, &rep, query)
	saveScreenshot(t, "nginx", shot)
}

func byPath(rep *report.Report, p string) *report.Kept {
	for k := range rep.KeptPaths() {
		if k.Path == p {
			return &k
		}
	}
	return nil
}

// saveScreenshot writes the screenshot to the test's temp dir and, when
// PARE_REPORT_SCREENSHOTS names a directory, there as well.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("PARE_REPORT_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		file := filepath.Join(d, "report-"+name+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", file, len(png))
	}
}

// shared is the one headless Chromium of the package's tests; each test
// opens its own tab. TestMain ends it.
var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel []context.CancelFunc
	dir    string
	err    error
}

// browser starts the shared Chromium: no sandbox (tests run as root) and no
// network (the host resolver resolves nothing; the page loads only itself).
func browser(t *testing.T, bin string) context.Context {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "pare-report-chromium-")
		if shared.err != nil {
			return
		}
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.UserDataDir(shared.dir),
			chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("no-pings", true),
			chromedp.WindowSize(1280, 1400))...)
		bctx, cancelB := chromedp.NewContext(actx)
		shared.ctx, shared.cancel = bctx, []context.CancelFunc{cancelB, cancelA}
		shared.err = chromedp.Do(bctx)
	})
	if shared.err != nil {
		t.Fatalf("starting %s: %v", bin, shared.err)
	}
	return shared.ctx
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range shared.cancel {
		c()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// node is one rectangle of the treemap as the page drew it.
type node struct {
	Path    string  `json:"path"`
	Kind    string  `json:"kind"`
	Depth   int     `json:"depth"`
	Bytes   int64   `json:"bytes"`
	Kept    int64   `json:"kept"`
	Dropped int64   `json:"dropped"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	W       float64 `json:"w"`
	H       float64 `json:"h"`
	Parent  int     `json:"parent"` // index of the enclosing node, -1 at the top
	Title   string  `json:"title"`
}

const readTreemap = `Array.from(document.querySelectorAll("#treemap g.tm-node")).map(function (g, i, all) {
  var r = g.querySelector(":scope > rect.tm-box"), p = g.parentElement.closest("g.tm-node");
  return {path: g.dataset.path, kind: g.dataset.kind, depth: +g.dataset.depth, bytes: +g.dataset.bytes,
    kept: +g.dataset.kept, dropped: +g.dataset.dropped,
    x: +r.getAttribute("x"), y: +r.getAttribute("y"), w: +r.getAttribute("width"), h: +r.getAttribute("height"),
    parent: p ? all.indexOf(p) : -1, title: g.querySelector(":scope > title").textContent};
})`

// The treemap's drawing area (its viewBox).
const tmW, tmH = 1000.0, 560.0

// children totals what the treemap shows directly in dir, worked out from
// the report: its subdirectories, its kept files (each inode once), its
// dropped files, and at the top what pare added.
func children(rep *report.Report, dir string) map[string]int64 {
	out := map[string]int64{}
	under := func(p string) (string, bool) { // the child of dir on the way to p
		if dir == "/" {
			rest := strings.TrimPrefix(p, "/")
			first, _, _ := strings.Cut(rest, "/")
			return "/" + first, strings.Contains(rest, "/")
		}
		rest, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			return "", false
		}
		first, _, _ := strings.Cut(rest, "/")
		return dir + "/" + first, strings.Contains(rest, "/")
	}
	var kept int64
	for k := range rep.KeptPaths() {
		if k.Type != "file" || k.SameAs != "" {
			continue
		}
		kept += k.Size
		if c, deeper := under(k.Path); c != "" {
			if deeper {
				out["dir:"+c] += k.Size
			} else {
				out["file:"+c] += k.Size
			}
		}
	}
	for _, d := range rep.DroppedDirs {
		if d.Dir == dir {
			out["dropped:"+dir] += d.Bytes
		} else if c, _ := under(d.Dir + "/x"); c != "" {
			out["dir:"+c] += d.Bytes
		}
	}
	if dir == "/" && rep.After.Bytes > kept {
		out["added:/"] = rep.After.Bytes - kept
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// checkTop checks the top rectangles of the treemap against want (from
// children): each one's bytes, their areas proportional to the bytes and
// tiling the drawing area; the rectangles inside each one likewise.
func checkTop(t *testing.T, nodes []node, want map[string]int64) {
	t.Helper()
	var total, sum int64
	for _, v := range want {
		total += v
	}
	shown := map[string]bool{}
	var other int64 = -1
	var area float64
	for i, n := range nodes {
		if n.Depth != 1 {
			continue
		}
		sum += n.Bytes
		area += n.W * n.H
		if n.Bytes != n.Kept+n.Dropped {
			t.Errorf("%s %s: %d bytes, %d kept + %d dropped", n.Kind, n.Path, n.Bytes, n.Kept, n.Dropped)
		}
		if n.Kind == "other" {
			other = n.Bytes
		} else {
			key := n.Kind + ":" + n.Path
			shown[key] = true
			if want[key] != n.Bytes {
				t.Errorf("%s: %d bytes in the treemap, %d in the report", key, n.Bytes, want[key])
			}
		}
		if got, exp := n.W*n.H/(tmW*tmH), float64(n.Bytes)/float64(total); math.Abs(got-exp) > 1e-6 {
			t.Errorf("%s %s: %.6f of the area for %.6f of the bytes", n.Kind, n.Path, got, exp)
		}
		if n.X < -1e-6 || n.Y < -1e-6 || n.X+n.W > tmW+1e-6 || n.Y+n.H > tmH+1e-6 {
			t.Errorf("%s %s: %+v lies outside the drawing", n.Kind, n.Path, n)
		}
		for _, o := range nodes[:i] {
			if o.Depth == 1 {
				if ov := overlap(n, o); ov > 1e-6 {
					t.Errorf("%s and %s overlap by %g", n.Path, o.Path, ov)
				}
			}
		}
		checkInside(t, nodes, i)
	}
	var rest int64
	for k, v := range want {
		if !shown[k] {
			rest += v
		}
	}
	if rest != 0 && other != rest || rest == 0 && other != -1 {
		t.Errorf("the smaller items hold %d bytes, the report's not shown %d", other, rest)
	}
	if sum != total || math.Abs(area-tmW*tmH) > 1e-6*tmW*tmH {
		t.Errorf("top rectangles: %d bytes of %d, area %.3f of %.3f", sum, total, area, tmW*tmH)
	}
}

// checkInside checks the rectangles drawn inside node i: their bytes add up
// to its bytes, their areas share its inside in proportion, and they lie in
// it.
func checkInside(t *testing.T, nodes []node, i int) {
	t.Helper()
	p := nodes[i]
	var sum int64
	var area float64
	var kids []node
	for j, n := range nodes {
		if n.Parent == i {
			kids = append(kids, n)
			sum += n.Bytes
			area += n.W * n.H
			checkInside(t, nodes, j)
		}
	}
	if len(kids) == 0 {
		return
	}
	if sum != p.Bytes {
		t.Errorf("%s: %d bytes, its rectangles %d", p.Path, p.Bytes, sum)
	}
	for _, n := range kids {
		if got, exp := n.W*n.H/area, float64(n.Bytes)/float64(sum); math.Abs(got-exp) > 1e-6 {
			t.Errorf("%s in %s: %.6f of the area for %.6f of the bytes", n.Path, p.Path, got, exp)
		}
		if n.X < p.X-1e-6 || n.Y < p.Y-1e-6 || n.X+n.W > p.X+p.W+1e-6 || n.Y+n.H > p.Y+p.H+1e-6 {
			t.Errorf("%s lies outside %s", n.Path, p.Path)
		}
	}
}

func overlap(a, b node) float64 {
	w := math.Min(a.X+a.W, b.X+b.W) - math.Max(a.X, b.X)
	h := math.Min(a.Y+a.H, b.Y+b.H) - math.Max(a.Y, b.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// commas formats n as the page does (en-US grouping).
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// chainSteps follows the first reason of p up to a root, as pare why does.
func chainSteps(rep *report.Report, p string) []step {
	var out []step
	seen := map[string]bool{}
	for p != "" && !seen[p] {
		seen[p] = true
		k := byPath(rep, p)
		if k == nil {
			break
		}
		r := k.Reasons[0]
		out = append(out, step{Path: p, Kind: string(r.Kind)})
		p = r.From
		if r.Kind == keptset.KindTrace || r.Kind == keptset.KindSymlink && r.From == k.Path {
			break
		}
	}
	return out
}

type step struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// checkReportPage renders rep as pare build --report-html does, opens it in
// a tab of the shared headless Chromium (the page may load nothing but
// itself) and checks the figures, the treemap, zooming, a tooltip and the search for
// query. It returns a screenshot of the treemap and the search.
func checkReportPage(t *testing.T, bin string, rep *report.Report, query string) []byte {
	t.Helper()
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d kept paths, %d dropped dirs, page %d bytes", rep.Source, len(rep.KeptList()), len(rep.DroppedDirs), page.Len())

	var mu sync.Mutex
	var problems []string
	start := time.Now()
	ctx, cancel := chromedp.NewContext(browser(t, bin), chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("uncaught exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("browser log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
				problems = append(problems, "the page requested "+u)
			}
		}
	}))
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string, v any) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatalf("evaluating %.60q: %v", js, err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("evaluating %.60q: %v", js, err)
		}
	}
	do("opening the page", chromedp.EmulateViewport(1280, 1400), chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS("#treemap g.tm-node")))
	t.Logf("page drawn after %s (the first test starts the browser)", time.Since(start).Round(time.Millisecond))

	// The figures: the JSON report's, in the cards and above the treemap.
	type fig struct{ Value, Text string }
	var figs map[string]fig
	eval(`Object.fromEntries(Array.from(document.querySelectorAll("#tm-figures b[id]")).map(function (b) { return [b.id, {Value: b.dataset.value, Text: b.textContent}]; })
	  .concat(["card-kept-bytes", "card-kept-files", "card-before-files", "card-dropped-files"].map(function (id) { return [id, {Text: document.getElementById(id).textContent}]; })))`, &figs)
	wantFigs := map[string]fig{
		"fig-kept-bytes":     {strconv.FormatInt(rep.After.Bytes, 10), humanize.IBytes(uint64(rep.After.Bytes))},
		"fig-kept-files":     {strconv.Itoa(rep.After.Files), commas(rep.After.Files)},
		"fig-dropped-bytes":  {strconv.FormatInt(rep.DroppedBytes, 10), humanize.IBytes(uint64(rep.DroppedBytes))},
		"fig-dropped-files":  {strconv.Itoa(rep.Dropped), commas(rep.Dropped)},
		"fig-before-bytes":   {strconv.FormatInt(rep.Before.Bytes, 10), humanize.IBytes(uint64(rep.Before.Bytes))},
		"fig-before-files":   {strconv.Itoa(rep.Before.Files), commas(rep.Before.Files)},
		"card-kept-bytes":    {"", humanize.IBytes(uint64(rep.After.Bytes))},
		"card-kept-files":    {"", strconv.Itoa(rep.After.Files)},
		"card-before-files":  {"", strconv.Itoa(rep.Before.Files)},
		"card-dropped-files": {"", strconv.Itoa(rep.Dropped)},
	}
	if d := cmp.Diff(wantFigs, figs); d != "" {
		t.Errorf("figures in the page (-report +page):\n%s", d)
	}

	// The treemap at the top, then zoomed into its largest directory by a
	// click on that directory's header, then back through the breadcrumb.
	var nodes []node
	eval(readTreemap, &nodes)
	top := children(rep, "/")
	checkTop(t, nodes, top)
	depth := 0
	big := -1
	for i, n := range nodes {
		depth = max(depth, n.Depth)
		if n.Depth == 1 && n.Kind == "dir" && (big < 0 || n.Bytes > nodes[big].Bytes) {
			big = i
		}
	}
	if depth < 2 || big < 0 {
		t.Fatalf("the treemap nests %d levels and has no directory at the top (%d rectangles)", depth, len(nodes))
	}
	zoomed := nodes[big]
	var box struct{ X, Y float64 }
	eval(fmt.Sprintf(`(function () { var g = document.querySelectorAll("#treemap g.tm-node")[%d]; g.scrollIntoView({block: "center"});
	  var r = g.querySelector(":scope > rect.tm-box").getBoundingClientRect(); return {X: r.left + 3, Y: r.top + 4}; })()`, big), &box)
	do("hovering over "+zoomed.Path, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X, box.Y))
	var hover string
	eval(`document.getElementById("tm-info").textContent`, &hover)
	if hover != zoomed.Title || !strings.HasPrefix(hover, zoomed.Path+" — ") || !strings.Contains(hover, humanize.IBytes(uint64(zoomed.Kept))+" kept") {
		t.Errorf("hovering over %s shows %q, its tooltip is %q", zoomed.Path, hover, zoomed.Title)
	}
	do("clicking "+zoomed.Path, chromedp.MouseClickXY(box.X, box.Y))
	var crumbs struct {
		Up   []string
		Here string
	}
	eval(`({Up: Array.from(document.querySelectorAll("#tm-crumbs button")).map(function (b) { return b.dataset.path; }), Here: document.querySelector("#tm-crumbs b").textContent})`, &crumbs)
	if crumbs.Here != path.Base(zoomed.Path) || !cmp.Equal(crumbs.Up, []string{"/"}) {
		t.Errorf("after a click on %s the breadcrumb is %+v", zoomed.Path, crumbs)
	}
	var in []node
	eval(readTreemap, &in)
	checkTop(t, in, children(rep, zoomed.Path))
	do("going back up", chromedp.Click(chromedp.CSS(`#tm-crumbs button[data-path="/"]`)))
	var again []node
	eval(readTreemap, &again)
	if d := cmp.Diff(nodes, again); d != "" {
		t.Errorf("the top after going back up differs (-before +after):\n%s", d)
	}

	// The search: the path's reason chain, as pare why prints it from the
	// report, down to the entrypoint.
	do("searching", chromedp.SendKeys(chromedp.ID("search"), query), chromedp.WaitVisible(chromedp.CSS("#why-steps li")))
	var why struct {
		First string
		Chain string
		Steps []step
	}
	eval(`({First: document.querySelector("#search-results li").dataset.path, Chain: document.getElementById("why-chain").textContent,
	  Steps: Array.from(document.querySelectorAll("#why-steps li")).map(function (li) { return {path: li.dataset.path, kind: li.dataset.kind}; })})`, &why)
	wantWhy := pare.WhyInReport(rep, query)
	steps := chainSteps(rep, query)
	if why.First != query || why.Chain != wantWhy.Text || !cmp.Equal(why.Steps, steps) {
		t.Errorf("searching %s shows %+v; pare why says %q, the steps %+v", query, why, wantWhy.Text, steps)
	}
	if n := len(why.Steps); n < 2 || why.Steps[n-1].Kind != string(keptset.KindEntrypoint) || !strings.HasSuffix(why.Chain, "← entrypoint") {
		t.Errorf("the chain of %s does not reach the entrypoint: %+v", query, why.Steps)
	}
	// The paths of the first reason group, listed when it is opened.
	do("opening a reason group", chromedp.Click(chromedp.CSS("details.group summary")), chromedp.WaitVisible(chromedp.CSS("details.group tr")))
	var group struct {
		Key    string
		Paths  []string
		Chains []string
	}
	eval(`(function () { var d = document.querySelector("details.group"), rows = Array.from(d.querySelectorAll("tr"));
	  return {Key: d.dataset.group, Paths: rows.filter(function (r, i) { return i % 2 === 0; }).map(function (r) { return r.cells[0].textContent; }),
	    Chains: rows.filter(function (r, i) { return i % 2 === 1; }).map(function (r) { return r.cells[0].textContent; })}; })()`, &group)
	chains := map[string]string{}
	for k := range rep.KeptPaths() {
		key := string(k.Reasons[0].Kind)
		if k.Reasons[0].Rule != "" {
			key += ": " + k.Reasons[0].Rule
		}
		if k.Type != "dir" && key == group.Key {
			name := k.Path
			if k.Link != "" {
				name += " → " + k.Link
			}
			chains[name] = k.Chain
		}
	}
	listed := map[string]string{}
	for i, p := range group.Paths {
		if i < len(group.Chains) {
			listed[p] = group.Chains[i]
		}
	}
	if len(chains) == 0 || !cmp.Equal(chains, listed) || len(group.Paths) != len(chains) {
		t.Errorf("group %q lists %d paths, the report has %d: %s", group.Key, len(group.Paths), len(chains), cmp.Diff(chains, listed))
	}
	do("scrolling up", chromedp.ScrollIntoView(chromedp.ID("bytes")))
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("bytes")))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	checkColours(t, shot)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("browser checks took %s", time.Since(start).Round(time.Millisecond))
	return shot
}

// checkColours checks that the screenshot shows kept and dropped bytes in
// their legend's colours.
func checkColours(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colours := map[string][3]uint32{"kept": {0x2f, 0x85, 0x5a}, "dropped": {0xf0, 0xb4, 0xb4}}
	count := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for name, c := range colours {
				if near(r>>8, c[0]) && near(g>>8, c[1]) && near(bl>>8, c[2]) {
					count[name]++
				}
			}
		}
	}
	if px := b.Dx() * b.Dy(); count["kept"] < px/200 || count["dropped"] < px/200 || b.Dx() < 800 {
		t.Errorf("screenshot %v: %d kept and %d dropped pixels", b, count["kept"], count["dropped"])
	}
}

func near(a, b uint32) bool { return a+3 >= b && b+3 >= a }
