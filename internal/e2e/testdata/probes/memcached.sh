#!/usr/bin/env bash
# memcached.sh PORT: set and get a key in the text protocol; prints the
# answers and succeeds when they are the expected ones.
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
. "$(dirname "${BASH_SOURCE[0]}")/retry.sh"
attempt() {
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'set pare 0 0 2\r\nok\r\nget pare\r\nquit\r\n' >&3
	out=$(timeout 10 cat <&3 | tr -d '\r')
	printf '%s\n' "$out" >"$tmp"
	[[ $out == $'STORED\nVALUE pare 0 2\nok\nEND' ]]
}
retry_attempt
