#!/usr/bin/env bash
# pare-image.sh builds pare as a FROM-scratch image, pared by pare itself.
#
#   scripts/pare-image.sh [--out FILE] [--tag NAME] [--load] [--report FILE]
#
# 1. builds pare and the static programs it puts into images it runs or
#    writes (pare-sensor, pare-init, pare-healthcheck; found next to the
#    pare binary at run time) with CGO_ENABLED=0, -trimpath, -s -w;
# 2. builds a plain "fat" image FROM pare-fixture/base:bookworm (Debian
#    bookworm minbase, made by scripts/fixtures.sh) with ca-certificates
#    (that layer is kept as pare-build/base-ca:ID) and the four programs in
#    /usr/local/bin;
# 3. runs that same pare build on it: the closure of the static pare binary,
#    the CA certificates Go's crypto/x509 reads (for registries), the other
#    programs with --include /usr/local/bin, /tmp (1777), a non-root user
#    (65532, home /home/nonroot) and a rewritten package database;
# 4. writes it as a docker-archive (default build/pare-image.tar, tagged
#    NAME, default pare:latest) with its pare build report beside it
#    (FILE.report.json, or --report) and, with --load, loads it.
#
# The output is reproducible: the same source and Go toolchain give the same
# image digest (SOURCE_DATE_EPOCH, default 0, is every mtime).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/build/pare-image.tar
TAG=pare:latest
LOAD=0
REPORT=
BASE=pare-fixture/base:bookworm

log() { printf 'pare-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--tag) TAG=$2; shift 2 ;;
	--load) LOAD=1; shift ;;
	--report) REPORT=$2; shift 2 ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[[ $OUT = /* ]] || OUT=$PWD/$OUT
REPORT=${REPORT:-${OUT%.tar}.report.json}

command -v go >/dev/null || die "go not found"
command -v docker >/dev/null || die "docker not found"
docker image inspect "$BASE" >/dev/null 2>&1 || die "$BASE is missing: run scripts/fixtures.sh first"

work=$(mktemp -d)
fat=
cleanup() {
	[[ -z $fat ]] || docker rmi -f "$fat" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

goarch=$(go env GOARCH)
log "building pare, pare-sensor, pare-init, pare-healthcheck (linux/$goarch, static)"
mkdir -p "$work/ctx"
for p in pare pare-sensor pare-init pare-healthcheck; do
	(cd "$ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath -ldflags='-s -w' -o "$work/ctx/$p" "./cmd/$p")
done

# the base with CA certificates is kept as a build cache, named after the
# base's image ID (so rebuilt when the base changes)
cabase=pare-build/base-ca:$(docker image inspect -f '{{.Id}}' "$BASE" | cut -d: -f2 | cut -c1-16)
if ! docker image inspect "$cabase" >/dev/null 2>&1; then
	log "building $cabase (ca-certificates from the Debian mirror)"
	mkdir -p "$work/ca"
	cat >"$work/ca/Dockerfile" <<EOF
FROM $BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
EOF
	DOCKER_BUILDKIT=0 docker build -q --network host -t "$cabase" "$work/ca" >/dev/null
fi

cat >"$work/ctx/Dockerfile" <<EOF
FROM $cabase
COPY pare pare-sensor pare-init pare-healthcheck /usr/local/bin/
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/pare"]
CMD ["--help"]
EOF
# named after its content: the pared image's history names its source
fat=pare-build/pare-fat:$(cd "$work/ctx" && sha256sum Dockerfile pare pare-sensor pare-init pare-healthcheck | sha256sum | cut -c1-16)
log "building the fat image $fat"
DOCKER_BUILDKIT=0 docker build -q --network host -t "$fat" "$work/ctx" >/dev/null

log "paring it into $OUT ($TAG)"
mkdir -p "$(dirname "$OUT")"
"$work/ctx/pare" build "docker-daemon:$fat" "docker-archive:$OUT:$TAG" \
	--include /usr/local/bin --report "$REPORT" --quiet >/dev/null
size=$(stat -c %s "$OUT")
log "wrote $OUT: $size bytes (docker-archive, $TAG); report $REPORT"
if [[ $LOAD = 1 ]]; then
	docker load -q -i "$OUT" >&2
	log "loaded $TAG: $(docker image inspect -f '{{.Size}}' "$TAG") bytes"
fi
