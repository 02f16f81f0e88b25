#!/usr/bin/env bash
# postgres.sh PORT: a protocol-3 startup as postgres on database app (trust
# auth), one simple query that needs pgcrypto, and Terminate; prints the
# digest the query returns and succeeds when it is sha256("pare").
set -euo pipefail
port=${1:-$PARE_TARGET_PORT}
. "$(dirname "${BASH_SOURCE[0]}")/retry.sh"
attempt() {
	int32() {
		printf "\\x$(printf %02x $((($1 >> 24) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $(($1 & 255)))"
	}
	q="SELECT encode(digest('pare','sha256'),'hex')"
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	{
		# length 36: 4 (length) + 4 (version 3.0) + "user\0postgres\0database\0app\0\0" (28)
		int32 36
		int32 196608
		printf 'user\0postgres\0database\0app\0\0'
		printf 'Q'
		int32 $((4 + ${#q} + 1))
		printf '%s\0' "$q"
		printf 'X'
		int32 4
	} >&3
	out=$(timeout 10 cat <&3 | grep -ao '[0-9a-f]\{64\}' || true)
	printf '%s\n' "$out" >"$tmp"
	[[ $out == 6a6f02676afa294c96c7440f39ae13c357aee4782c8c811edddb8f04e3aa926c ]]
}
retry_attempt
