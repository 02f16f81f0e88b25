#!/usr/bin/env bash
# redis.sh PORT: PING, SET and GET in the inline protocol; prints the answers
# and succeeds when they are the expected ones.
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
attempt() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'PING\r\nSET pare ok\r\nGET pare\r\nQUIT\r\n' >&3
	out=$(timeout 10 cat <&3 | tr -d '\r')
	printf '%s\n' "$out" >"$tmp"
	[[ $out == $'+PONG\n+OK\n$2\nok\n+OK' ]]
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
