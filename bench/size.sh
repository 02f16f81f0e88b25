#!/usr/bin/env bash
# size.sh prints, for every fixture (or those named), the original size,
# the static and the traced pared sizes, and the floor: what a probe-only
# slimmer keeps (the files the traced run used plus their loader closure),
# with the ratios traced/floor and static/floor and a total line. The
# probes are the acceptance tests' (internal/e2e genFixtures); the driver
# is internal/e2e TestSizeTable, which runs only when asked (never in CI).
#
#   bench/size.sh [FIXTURE...]          e.g. bench/size.sh nginx redis postgres
#
# Sizes are the bytes of the regular files of each image (what pare's
# reports count), in MiB. REPORTS=DIR keeps the build reports. VERIFY=1 also verifies both pared images under
# the probes. SRC=DIR runs the driver from another checkout (for a
# before/after comparison; the driver file is copied there if missing).
# LOG=FILE keeps the driver's output there. Fixture images come from
# scripts/fixtures.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=${SRC:-$ROOT}
docker info >/dev/null 2>&1 || { echo "size.sh: docker is not available" >&2; exit 1; }
if [[ ! -f $SRC/internal/e2e/sizes_test.go ]]; then
	cp "$ROOT/internal/e2e/sizes_test.go" "$SRC/internal/e2e/sizes_test.go"
fi
fixtures=$(IFS=,; echo "$*")
for f in "$@"; do
	docker image inspect "pare-fixture/$f:latest" >/dev/null 2>&1 || bash "$ROOT/scripts/fixtures.sh" "$f" >&2
done
if [[ -z ${LOG:-} ]]; then
	LOG=$(mktemp "${TMPDIR:-/tmp}/pare-size.XXXXXX")
	trap 'rm -f "$LOG"' EXIT
fi
(cd "$SRC" && PARE_BENCH_SIZE=1 PARE_BENCH_VERIFY=${VERIFY:-} PARE_BENCH_REPORTS=${REPORTS:-} PARE_BENCH_FIXTURES=$fixtures \
	go test -count=1 -timeout 6h -run 'TestSizeTable' ./internal/e2e/ -v) >"$LOG" 2>&1 || {
	echo "size.sh: the driver failed (rows below are those that finished):" >&2
	grep -E -- '--- FAIL|Error|error' "$LOG" | head -20 >&2 || true
}
grep '^SIZE ' "$LOG" | awk '
function mib(b) { return sprintf("%.1f", b / 1048576) }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
BEGIN {
	print "| fixture | original MiB | static MiB | traced MiB | floor MiB | traced/floor | static/floor | verify static/traced |"
	print "|---|---|---|---|---|---|---|---|"
}
{
	name = $2
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, mib(v["original"]), mib(v["static"]), mib(v["traced"]), mib(v["floor"]),
		ratio(v["traced"], v["floor"]), ratio(v["static"], v["floor"]), v["verify"]
	to += v["original"]; ts += v["static"]; tt += v["traced"]; tf += v["floor"]
}
END {
	printf "| **total** | %s | %s | %s | %s | %s | %s | |\n", mib(to), mib(ts), mib(tt), mib(tf), ratio(tt, tf), ratio(ts, tf)
}'
