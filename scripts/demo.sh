#!/usr/bin/env bash
# Pare this machine's own root filesystem down to what /bin/ls needs, write it
# as an OCI layout, and — when a Docker engine answers — load and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PARE_DEMO_OUT:-/tmp/pare-demo}
mkdir -p bin
go build -o bin/pare ./cmd/pare
rm -rf "$out"
./bin/pare build dir:/ "oci:$out:ls" --entrypoint '["/bin/ls","-l","/"]' --report "$out.report.json"
./bin/pare why --report "$out.report.json" - /lib64/ld-linux-x86-64.so.2 || true
if docker info >/dev/null 2>&1; then
  ./bin/pare flatten "oci:$out:ls" docker-daemon:pare-demo:ls --quiet >/dev/null
  echo "--- docker run pare-demo:ls"
  docker run --rm --network none pare-demo:ls
fi
