#!/usr/bin/env bash
# tor-control.sh PORT: PROTOCOLINFO on tor's control port (allowed before
# authentication); prints the answer and succeeds when it ends in 250 OK.
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
attempt() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'PROTOCOLINFO 1\r\nQUIT\r\n' >&3
	out=$(timeout 10 cat <&3 | tr -d '\r')
	printf '%s\n' "$out" >"$tmp"
	grep -q '^250-PROTOCOLINFO 1$' <<<"$out" && grep -q '^250 OK$' <<<"$out"
}
# A server may accept connections a moment before it answers (postgres
# starting up): try for 10s. Each attempt runs in a subshell, which a failed
# connection may end.
for _ in $(seq 40); do
	if (attempt) 2>/dev/null; then
		cat "$tmp"
		exit 0
	fi
	sleep 0.25
done
cat "$tmp"
exit 1
