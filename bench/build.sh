#!/usr/bin/env bash
# build.sh measures `pare build` (the CLI binary, as a child process) on a
# fixture image against merely reading the image's layers, and prints wall
# times, CPU (user+sys) and peak RSS (ru_maxrss of the child, from GNU time).
# CPU seconds are the steadier figure on a loaded machine.
#
#   bench/build.sh [FIXTURE]
#
# FIXTURE defaults to nginx (pare-fixture/nginx:latest, built by
# scripts/fixtures.sh if needed). Runs, best time of $RUNS (default 3), max RSS:
#   read-tar       docker save IMAGE | tar -x            (reading the layers, no pare)
#   read-ls        pare ls docker-daemon:IMAGE -o json   (pare reading the layers)
#   why            pare why docker-daemon:IMAGE /etc/passwd  (read + closure, nothing written)
#   build-oci      pare build docker-daemon:IMAGE oci:DIR:pared --report FILE
#   build-daemon   pare build docker-daemon:IMAGE docker-daemon:pare-bench/FIXTURE:pared
#   read-ls-arch   pare ls docker-archive:FILE -o json   (saved once beforehand)
#   build-arch     pare build docker-archive:FILE oci:DIR:pared
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${1:-nginx}
IMG=pare-fixture/$NAME:latest
OUT=pare-bench/$NAME:pared
RUNS=${RUNS:-3}

docker info >/dev/null 2>&1 || { echo "build.sh: docker is not available" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "build.sh: needs GNU time (/usr/bin/time)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pare-bench.XXXXXX")
trap 'rm -rf "$WORK"; docker rmi -f "$OUT" >/dev/null 2>&1 || true' EXIT

bash "$ROOT/scripts/fixtures.sh" "$NAME" >&2
(cd "$ROOT" && GOFLAGS=-mod=mod go build -o "$WORK/pare" ./cmd/pare)
size=$(docker image inspect -f '{{.Size}}' "$IMG")
echo "image $IMG: $((size >> 20)) MiB, $(docker image inspect -f '{{len .RootFS.Layers}}' "$IMG") layers"
docker save "$IMG" -o "$WORK/img.tar"

# timed NAME CMD...: runs CMD under /usr/bin/time, records "seconds cpu-seconds maxrss-KiB".
timed() {
	local name=$1
	shift
	/usr/bin/time -o "$WORK/time" -f '%e %U %S %M' "$@" 2>"$WORK/err" >/dev/null || { cat "$WORK/err" >&2; exit 1; }
	read -r secs usr sys kib <"$WORK/time"
	echo "$name $secs $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') $kib" >>"$WORK/results"
}

clean() { rm -rf "$WORK/ref" "$WORK/out" "$WORK/report.json"; sync; }

P=$WORK/pare
: >"$WORK/results"
for _ in $(seq "$RUNS"); do
	clean; mkdir "$WORK/ref"
	timed read-tar bash -c "docker save '$IMG' | tar -x -C '$WORK/ref'"
	clean
	timed read-ls "$P" ls -q "docker-daemon:$IMG" --output json
	clean
	timed why "$P" why -q "docker-daemon:$IMG" /etc/passwd
	clean
	timed build-oci "$P" build -q "docker-daemon:$IMG" "oci:$WORK/out:pared" --report "$WORK/report.json"
	clean
	timed build-daemon "$P" build -q "docker-daemon:$IMG" "docker-daemon:$OUT"
	clean
	timed read-ls-arch "$P" ls -q "docker-archive:$WORK/img.tar" --output json
	clean
	timed build-arch "$P" build -q "docker-archive:$WORK/img.tar" "oci:$WORK/out:pared"
done
clean

best() { awk -v n="$1" '$1 == n { if (!s || $2 < s) s = $2; if (!c || $3 < c) c = $3; if ($4 > r) r = $4 } END { printf "%s %s %d", s, c, r / 1024 }' "$WORK/results"; }
echo "best of $RUNS (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-13s %8s %8s %10s\n' run seconds cpu-s "peak MiB"
for n in read-tar read-ls why build-oci build-daemon read-ls-arch build-arch; do
	read -r s c r <<<"$(best "$n")"
	printf '%-13s %8s %8s %10s\n' "$n" "$s" "$c" "$r"
done
read -r rt _ <<<"$(best read-tar)"
read -r rl _ <<<"$(best read-ls)"
read -r bo _ <<<"$(best build-oci)"
read -r la _ <<<"$(best read-ls-arch)"
read -r ba _ <<<"$(best build-arch)"
awk -v rt="$rt" -v rl="$rl" -v bo="$bo" -v la="$la" -v ba="$ba" \
	'BEGIN { printf "build-oci / read-tar %.2fx, build-oci / read-ls %.2fx, build-arch / read-ls-arch %.2fx\n", bo / rt, bo / rl, ba / la }'
