#!/usr/bin/env bash
# test.sh is the project's one test command (CI runs it through .ci/run):
#
#   bash scripts/test.sh [go test args]    (default: ./...)
#
# It is idempotent. On a fresh Debian bookworm machine, as root, it installs
# the Debian packages the tests need (only the missing ones), starts dockerd
# when no daemon answers, builds the fixture images (scripts/fixtures.sh),
# then runs gofmt, go vet, staticcheck and the full go test suite.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin

# Debian packages the tests and fixtures need.
PACKAGES=(
	# the static busybox of pare build --debug-variant (/bin/busybox)
	busybox-static
	docker.io crun debootstrap gcc libc6-dev musl-tools git ca-certificates curl
	openjdk-17-jdk-headless util-linux xz-utils
	# headless browser for the HTML report tests (internal/report/browser_test.go)
	chromium
)

phase_start=$SECONDS
phase() {
	printf '==> %s (t=%ds)\n' "$*" "$((SECONDS - phase_start))"
}

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
			missing+=("$p")
		fi
	done
	[[ ${#missing[@]} -eq 0 ]] && return
	if [[ $(id -u) -ne 0 ]]; then
		echo "test.sh: missing packages ${missing[*]} and not root: install them first" >&2
		exit 1
	fi
	phase "installing ${missing[*]}"
	# Keep maintainer scripts from starting services: dockerd is started below
	# with the flags this machine needs.
	local policy=/usr/sbin/policy-rc.d created=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	local rc=0
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	if [[ $created -eq 1 ]]; then
		rm -f "$policy"
	fi
	if [[ $rc -ne 0 ]]; then
		echo "test.sh: installing ${missing[*]} failed" >&2
		exit 1
	fi
}

install_packages
phase "docker daemon"
bash scripts/start-docker.sh

phase "building fixture images"
fixtures_start=$SECONDS
bash scripts/fixtures.sh
echo "fixtures took $((SECONDS - fixtures_start))s"

phase "gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi

phase "go vet"
go vet ./...

phase "portable analysis: go vet for linux/arm64, darwin/arm64 (sensor and dir: excepted by build tags)"
GOOS=linux GOARCH=arm64 go vet ./...
GOOS=darwin GOARCH=arm64 go vet ./...

phase "staticcheck"
go tool staticcheck ./...

# Fuzzing (issue 10): every `func Fuzz` target for FUZZTIME each (default
# 4s); a crash fails CI and its input lands in the package's testdata/fuzz/.
phase "fuzz"
bash scripts/fuzz.sh

phase "go test"
if [[ $# -eq 0 ]]; then
	set -- ./...
fi
go test -count=1 -timeout 75m "$@"

# The race detector on the packages that run goroutines of their own: layer
# decoding (pkg/rootfs), in-place layer files (pkg/transport), the parallel
# gzip writer (internal/tarlayer), the ELF scanning pool (internal/keep).
# -short skips their Docker tests (run above); the 100 MB shell-scan timing
# test is skipped (it measures speed, which the race detector changes).
phase "go test -race (concurrent packages)"
go test -count=1 -race -short -timeout 10m -skip 'TestScanShellLarge' \
	./pkg/rootfs/ ./pkg/transport/ ./internal/tarlayer/ ./internal/keep/
phase "done"
