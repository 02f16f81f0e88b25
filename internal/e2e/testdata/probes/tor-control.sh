#!/usr/bin/env bash
# tor-control.sh PORT: PROTOCOLINFO on tor's control port (allowed before
# authentication); prints the answer and succeeds when it ends in 250 OK.
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
. "$(dirname "${BASH_SOURCE[0]}")/retry.sh"
attempt() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'PROTOCOLINFO 1\r\nQUIT\r\n' >&3
	out=$(timeout 10 cat <&3 | tr -d '\r')
	printf '%s\n' "$out" >"$tmp"
	grep -q '^250-PROTOCOLINFO 1$' <<<"$out" && grep -q '^250 OK$' <<<"$out"
}
retry_attempt
