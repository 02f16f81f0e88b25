#!/usr/bin/env bash
# memcached.sh PORT: set and get a key in the text protocol; prints the
# answers and succeeds when they are the expected ones.
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
attempt() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'set pare 0 0 2\r\nok\r\nget pare\r\nquit\r\n' >&3
	out=$(timeout 10 cat <&3 | tr -d '\r')
	printf '%s\n' "$out" >"$tmp"
	[[ $out == $'STORED\nVALUE pare 0 2\nok\nEND' ]]
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
