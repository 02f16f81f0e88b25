#!/usr/bin/env bash
# export.sh measures rootfs.FromImage + rootfs.Export (bench/cmd/export) on a
# fat image against plain tar, and prints wall times and peak RSS.
#
#   bench/export.sh [IMAGE]
#
# IMAGE defaults to pare-bench/fat:latest, built here (once) from
# pare-fixture/base:bookworm plus a copy of the host's Go toolchain (~340 MB,
# ~17k files, one layer of whiteouts). Runs, best of $RUNS (default 2):
#   ref-daemon   docker save IMAGE | tar -x            (the brief's reference)
#   pare-daemon  export docker-daemon:IMAGE DIR        (docker save inside)
#   ref-archive  tar -x of every layer of a saved archive into one dir
#   pare-archive export docker-archive:FILE DIR
# With PARE_CLI=1 the pare runs use `pare export` (./cmd/pare) instead of the
# library driver bench/cmd/export (which also prints per-phase times).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMG=${1:-pare-bench/fat:latest}
RUNS=${RUNS:-2}
export DOCKER_BUILDKIT=0

docker info >/dev/null 2>&1 || { echo "export.sh: docker is not available" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pare-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if ! docker image inspect "$IMG" >/dev/null 2>&1; then
	[[ $IMG == pare-bench/fat:latest ]] || { echo "export.sh: no image $IMG" >&2; exit 1; }
	echo "building $IMG ..." >&2
	mkdir "$WORK/ctx"
	cp -a "$(go env GOROOT)" "$WORK/ctx/go"
	cat >"$WORK/ctx/Dockerfile" <<'DOCKERFILE'
FROM pare-fixture/base:bookworm
COPY go /usr/local/go
RUN rm -rf /usr/local/go/test/fixedbugs /usr/local/go/api \
 && ln /usr/local/go/bin/gofmt /usr/local/bin/gofmt-hard \
 && ln -s /usr/local/go/bin/go /usr/local/bin/go \
 && chmod u+s /usr/local/go/pkg/tool/linux_amd64/vet
DOCKERFILE
	docker build -q --network none -t "$IMG" "$WORK/ctx" >/dev/null
	rm -rf "$WORK/ctx"
fi

if [[ ${PARE_CLI:-0} == 1 ]]; then
	(cd "$ROOT" && GOFLAGS=-mod=mod go build -o "$WORK/pare" ./cmd/pare)
	printf '#!/bin/sh\nexec "%s" export "$@"\n' "$WORK/pare" >"$WORK/export"
	chmod +x "$WORK/export"
else
	(cd "$ROOT" && GOFLAGS=-mod=mod go build -o "$WORK/export" ./bench/cmd/export)
fi
size=$(docker image inspect -f '{{.Size}}' "$IMG")
echo "image $IMG: $((size >> 20)) MiB"
docker save "$IMG" -o "$WORK/img.tar"

# timed NAME CMD...: runs CMD under /usr/bin/time, records "seconds maxrss-KiB".
timed() {
	local name=$1
	shift
	/usr/bin/time -o "$WORK/time" -f '%e %M' "$@" 2>"$WORK/err" >/dev/null || { cat "$WORK/err" >&2; exit 1; }
	read -r secs kib <"$WORK/time"
	echo "$name $secs $kib" >>"$WORK/results"
	grep -h '^layers:' "$WORK/err" >>"$WORK/detail" || true
}

ref_archive() {
	local x=$WORK/x rootfs=$WORK/ref
	mkdir -p "$x" "$rootfs"
	tar -xf "$WORK/img.tar" -C "$x"
	python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' "$x/manifest.json" |
		while read -r l; do tar -xf "$x/$l" -C "$rootfs"; done
}

clean() { rm -rf "$WORK/ref" "$WORK/x" "$WORK/out"; sync; }

: >"$WORK/results"
for _ in $(seq "$RUNS"); do
	clean; mkdir "$WORK/ref"
	timed ref-daemon bash -c "docker save '$IMG' | tar -x -C '$WORK/ref'"
	clean
	timed pare-daemon "$WORK/export" "docker-daemon:$IMG" "$WORK/out"
	clean
	export -f ref_archive
	timed ref-archive bash -c "WORK='$WORK'; $(declare -f ref_archive); ref_archive"
	clean
	timed pare-archive "$WORK/export" "docker-archive:$WORK/img.tar" "$WORK/out"
done
clean

best() { awk -v n="$1" '$1 == n { if (!s || $2 < s) { s = $2 } if ($3 > r) r = $3 } END { printf "%s %d", s, r / 1024 }' "$WORK/results"; }
printf '%-13s %8s %10s\n' run seconds "peak MiB"
for n in ref-daemon pare-daemon ref-archive pare-archive; do
	read -r s r <<<"$(best $n)"
	printf '%-13s %8s %10s\n' "$n" "$s" "$r"
done
read -r rd _ <<<"$(best ref-daemon)"
read -r pd _ <<<"$(best pare-daemon)"
read -r ra _ <<<"$(best ref-archive)"
read -r pa _ <<<"$(best pare-archive)"
awk -v rd="$rd" -v pd="$pd" -v ra="$ra" -v pa="$pa" \
	'BEGIN { printf "ratio daemon %.2fx, archive %.2fx (goal <= 1.3x)\n", pd / rd, pa / ra }'
echo "pare phases:"
sed 's/^/  /' "$WORK/detail"
