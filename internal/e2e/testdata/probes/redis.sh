#!/usr/bin/env bash
# redis.sh PORT: PING, SET and GET in the inline protocol; prints the answers
# and succeeds when they are the expected ones.
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
. "$(dirname "${BASH_SOURCE[0]}")/retry.sh"
attempt() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'PING\r\nSET pare ok\r\nGET pare\r\nQUIT\r\n' >&3
	out=$(timeout 10 cat <&3 | tr -d '\r')
	printf '%s\n' "$out" >"$tmp"
	[[ $out == $'+PONG\n+OK\n$2\nok\n+OK' ]]
}
retry_attempt
