package e2etrace

import (
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

// server is a server fixture traced through its probes.
type server struct {
	name string
	// traceFlags are the probe flags of pare build --trace; "{script}"
	// stands for the path of postgresScript, written at run time.
	traceFlags []string
	// answer asks a running instance (original or pared) the questions
	// the probes asked while tracing and returns the answers.
	answer func(t *testing.T, id string) []string
	// want is a substring of the first answer of the original image.
	want string
	// witnesses are paths only a run loads (modules, extensions), which
	// the traced image must keep for a trace reason.
	witnesses []string
}

// httpServer is a fixture asked GET / (and each gzip variant) on its port.
func httpServer(name string, gzipToo bool, want string, witnesses ...string) server {
	port := testimages.Ports[name]
	return server{
		name:       name,
		traceFlags: []string{"--http-probe", fmt.Sprintf("/:%d", port)},
		answer: func(t *testing.T, _ string) []string {
			out := []string{get(t, port, "/", false).String()}
			if gzipToo {
				r := get(t, port, "/", true)
				if r.ContentEncoding != "gzip" {
					t.Errorf("GET / with Accept-Encoding: gzip: not gzip-encoded: %s", r)
				}
				out = append(out, r.String())
			}
			return out
		},
		want:      want,
		witnesses: witnesses,
	}
}

// psql is the client of the postgres fixture: its own psql, which the pared
// image lacks.
const psql = "/usr/lib/postgresql/15/bin/psql"

// postgresQueries exercise pgcrypto (digest, hmac, crypt, gen_random_uuid),
// PL/pgSQL (a DO block and a function), collation, time zones and numeric
// formatting.
var postgresQueries = []string{
	`SELECT encode(digest('pare','sha256'),'hex')`,
	`SELECT encode(hmac('pare','key','sha256'),'hex'), crypt('pare','$1$saltsalt'), gen_random_uuid() IS NOT NULL`,
	`DO $$DECLARE n int; BEGIN SELECT count(*) INTO n FROM pg_extension WHERE extname = 'pgcrypto'; IF n <> 1 THEN RAISE EXCEPTION 'pgcrypto missing'; END IF; END$$`,
	`CREATE FUNCTION pg_temp.tri(n int) RETURNS int LANGUAGE plpgsql AS $$DECLARE s int := 0; BEGIN FOR i IN 1..n LOOP s := s + i; END LOOP; RETURN s; END$$`,
	`SELECT pg_temp.tri(10)`,
	`SELECT upper('grüße'), string_agg(x, ',' ORDER BY x) FROM (VALUES ('b'),('A'),('a'),('B')) v(x)`,
	`SELECT ('2020-07-01 12:00:00+00'::timestamptz AT TIME ZONE 'Europe/Paris')::text, to_char(1234567.891, 'FM9G999G999D99')`,
	`CREATE TEMP TABLE t AS SELECT g FROM generate_series(1, 5000) g; CREATE INDEX ON t (g); SELECT sum(g), count(*) FROM t WHERE g % 7 = 0`,
}

// psqlArgv is the psql command line that runs the queries, one -c each, in
// one session.
func psqlArgv() []string {
	argv := []string{psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "app"}
	for _, q := range postgresQueries {
		argv = append(argv, "-c", q)
	}
	return argv
}

// postgresScript is the host probe script of the postgres trace: pare
// starts it once port 5432 accepts connections, and it waits on until the
// server accepts queries (postgres answers "starting up" for a while), then
// runs the queries with the fixture's psql through docker exec (as the
// image user). The server's backends are traced (they are children of the
// traced postmaster); psql itself, run by docker exec outside the sensor,
// is not, so it stays out of the traced image.
func postgresScript() string {
	q := func(argv []string) string {
		var b strings.Builder
		for _, a := range argv {
			b.WriteString(" '" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		}
		return b.String()
	}
	ping := []string{psql, "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-d", "app", "-c", "SELECT 1"}
	return `#!/bin/bash
ok=
for i in $(seq 1 300); do
	if docker exec -u postgres "$PARE_CONTAINER_ID"` + q(ping) + ` >/dev/null 2>&1; then ok=1; break; fi
	sleep 0.2
done
[ -n "$ok" ] || { echo "postgres did not accept queries" >&2; exit 1; }
exec docker exec -u postgres "$PARE_CONTAINER_ID"` + q(psqlArgv()) + `
`
}

func postgresServer() server {
	return server{
		name:       "postgres",
		traceFlags: []string{"--network", "host", "--probe-script", "{script}"},
		answer: func(t *testing.T, _ string) []string {
			// The same queries from a client container of the original
			// image on the host network (the pared image has no psql).
			args := append([]string{"run", "--rm", "--network", "host", "--entrypoint", psql, testimages.Image("postgres")}, psqlArgv()[1:]...)
			out, err := testimages.DockerErr(t.Context(), args...)
			if err != nil {
				t.Errorf("psql: %v", err)
			}
			return strings.Split(strings.TrimRight(out, "\n"), "\n")
		},
		want: sha256Pare,
		witnesses: []string{
			"/usr/lib/postgresql/15/lib/pgcrypto.so",
			"/usr/lib/postgresql/15/lib/plpgsql.so",
		},
	}
}

var servers = []server{
	httpServer("python", false, `"sha256": "`+sha256Pare+`"`,
		"/usr/lib/python3/dist-packages/flask/__init__.py",
		"/usr/lib/python3.11/decimal.py",
		"/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so"),
	httpServer("ruby", false, `"sha256":"`+sha256Pare+`"`,
		"/usr/share/rubygems-integration/all/gems/webrick-1.8.1/lib/webrick.rb",
		"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/zlib.so",
		"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/openssl.so"),
	httpServer("node", true, `"sha256":"`+sha256Pare+`"`,
		"/app/server.js"),
	httpServer("java", false, "java ok sha256(pare)="+sha256Pare,
		"/app/App.class",
		"/usr/lib/jvm/java-17-openjdk-amd64/lib/modules",
		"/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so",
		"/usr/lib/jvm/java-17-openjdk-amd64/lib/libnet.so"),
	postgresServer(),
}

// TestTracedServers is the acceptance test of dynamic mode: each server
// fixture is pared statically and with --trace under its probes; the
// traced image answers like the original, is smaller than the static one,
// and keeps the files the run used for a trace reason.
func TestTracedServers(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) { testTracedServer(t, s) })
	}
}

func testTracedServer(t *testing.T, s server) {
	orig := testimages.Require(t, s.name)
	sensorBin := sensor(t)
	port := testimages.Ports[s.name]
	dir := t.TempDir()
	staticTag := testimages.TagPrefix + "pare-e2etrace/" + s.name + ":static"
	tracedTag := testimages.TagPrefix + "pare-e2etrace/" + s.name + ":traced"
	remember(staticTag)
	remember(tracedTag)

	// 1. static
	staticFile := filepath.Join(dir, "static.json")
	buildPared(t, "build", "docker-daemon:"+orig, "docker-daemon:"+staticTag, "--report", staticFile, "--quiet")
	static := readReport(t, staticFile)

	// 2. traced: the original runs on the host network on port, so hold
	// its lock while tracing.
	tracedFile := filepath.Join(dir, "traced.json")
	var traceErr string
	t.Run("trace", func(t *testing.T) {
		testimages.LockPort(t, port)
		args := []string{"build", "docker-daemon:" + orig, "docker-daemon:" + tracedTag, "--trace",
			"--sensor", sensorBin, "--report", tracedFile}
		for _, f := range s.traceFlags {
			if f == "{script}" {
				f = filepath.Join(dir, "probe.sh")
				if err := os.WriteFile(f, []byte(postgresScript()), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			args = append(args, f)
		}
		traceErr = buildPared(t, args...)
	})
	if _, err := os.Stat(tracedFile); err != nil {
		t.Fatalf("traced build wrote no report: %v", err)
	}
	traced := readReport(t, tracedFile)

	// 3. same answers from the original and the traced image.
	var want, got []string
	// The answers end with how the server exits when stopped with its
	// StopSignal: the shutdown path must work in the pared image too.
	serve(t, "original", orig, port, func(t *testing.T, id string) { want = append(s.answer(t, id), stop(t, id)) })
	serve(t, "traced", tracedTag, port, func(t *testing.T, id string) { got = append(s.answer(t, id), stop(t, id)) })
	if len(want) == 0 || !strings.Contains(want[0], s.want) {
		t.Errorf("original %s answered %q, want it to contain %q", s.name, want, s.want)
	}
	t.Logf("original answered: %q", want)
	if !slices.Equal(got, want) {
		t.Errorf("traced image answers differ from the original:\n  original: %q\n  traced:   %q", want, got)
	}

	// 4. sizes
	orig0, st, tr := static.Before.Bytes, static.After.Bytes, traced.After.Bytes
	t.Logf("SIZES %s original=%d static=%d traced=%d (MiB %.1f / %.1f / %.1f; files %d / %d / %d)", s.name, orig0, st, tr,
		mib(orig0), mib(st), mib(tr), static.Before.Files, static.After.Files, traced.After.Files)
	if traced.Before != static.Before {
		t.Errorf("original measured differently: static %+v, traced %+v", static.Before, traced.Before)
	}
	if !(tr < st && st < orig0) {
		t.Errorf("want traced < static < original, got traced=%d static=%d original=%d", tr, st, orig0)
	}

	// 5. the trace section and the reasons
	checkTraceReport(t, s, static, traced)
	if t.Failed() {
		t.Logf("pare build --trace stderr:\n%s", tail(traceErr, 30))
	}
}

// buildPared runs pare build and returns its stderr. When it fails only
// because libraries were not found, that is reported and the build is
// retried with --allow-missing, so the remaining checks still run.
func buildPared(t *testing.T, args ...string) string {
	t.Helper()
	_, errOut, code := pare(t.Context(), args...)
	if code != 0 && strings.Contains(errOut, "libraries not found") {
		msg := tail(errOut, 1)
		if len(msg) > 400 {
			msg = msg[:400] + "..."
		}
		t.Errorf("pare %s: exit %d: %s", strings.Join(args, " "), code, msg)
		_, errOut = mustPare(t, append(args, "--allow-missing")...)
	} else if code != 0 {
		t.Fatalf("pare %s: exit %d\n%s", strings.Join(args, " "), code, tail(errOut, 40))
	}
	return errOut
}

// stop stops a container with its stop signal (docker stop, 20 s grace) and
// returns its exit code as "exit N".
func stop(t *testing.T, id string) string {
	t.Helper()
	testimages.Docker(t, "stop", "-t", "20", id)
	return "exit " + strings.TrimSpace(testimages.Docker(t, "inspect", "-f", "{{.State.ExitCode}}", id))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// checkTraceReport checks the report of a traced build: every probe ok, the
// witnesses kept for a trace reason, and every file the traced image keeps
// beyond the static one kept because the run used it.
func checkTraceReport(t *testing.T, s server, static, traced *report.Report) {
	t.Helper()
	tr := traced.Trace
	if tr == nil {
		t.Fatal("traced report has no trace section")
	}
	if static.Trace != nil {
		t.Errorf("static report has a trace section: %+v", static.Trace)
	}
	want := 0
	for _, f := range s.traceFlags {
		if f == "--http-probe" || f == "--exec" || f == "--probe-script" {
			want++
		}
	}
	if len(tr.Probes) != want {
		t.Errorf("trace ran %d probes, want %d: %+v", len(tr.Probes), want, tr.Probes)
	}
	if len(tr.Probes) == 0 {
		t.Error("trace section lists no probes")
	}
	for _, p := range tr.Probes {
		if !p.OK {
			t.Errorf("probe %s failed while tracing: %s", p.Name, p.Err)
		}
	}
	for _, w := range tr.Warnings {
		t.Logf("trace warning: %s", w)
	}

	kept := map[string]report.Kept{}
	nTrace := 0
	for _, k := range traced.Kept {
		kept[k.Path] = k
		if hasKind(k, keptset.KindTrace) {
			nTrace++
		}
	}
	if nTrace == 0 {
		t.Error("no kept path has a reason of kind trace")
	}
	for _, w := range s.witnesses {
		k, ok := kept[w]
		switch {
		case !ok:
			t.Errorf("traced image lacks %s, which the run loads", w)
		case !hasKind(k, keptset.KindTrace):
			t.Errorf("%s kept for %v, want a reason of kind trace", w, kinds(k))
		}
	}
	inStatic := map[string]bool{}
	for _, k := range static.Kept {
		inStatic[k.Path] = true
	}
	// A file only the traced image keeps was used by the run, or is in the
	// closure of a file that was (its library or interpreter, a path its
	// config or binary names, at any depth).
	var fromTrace func(p string, depth int) bool
	fromTrace = func(p string, depth int) bool {
		k, ok := kept[p]
		if !ok || depth > 32 {
			return false
		}
		if hasKind(k, keptset.KindTrace) {
			return true
		}
		for _, r := range k.Reasons {
			if r.From != "" && r.From != p && r.Kind != keptset.KindKnowledge && fromTrace(r.From, depth+1) {
				return true
			}
		}
		return false
	}
	for _, k := range traced.Kept {
		if inStatic[k.Path] || k.Type != "file" || hasKind(k, keptset.KindTrace) {
			continue
		}
		if !fromTrace(k.Path, 0) {
			t.Errorf("traced image keeps %s (not kept statically) for %v, not for the trace", k.Path, kinds(k))
		}
	}
}
