# retry.sh, sourced by the protocol probes: retry_attempt runs the caller's
# function attempt (which writes what the server said to $tmp) until it
# succeeds, for 10s, then prints the last answer and exits 0 or 1. A server
# may accept connections a moment before it answers (postgres starting up);
# each attempt runs in a subshell, which a failed connection may end.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
retry_attempt() {
	for _ in $(seq 40); do
		if (attempt) 2>/dev/null; then
			cat "$tmp"
			exit 0
		fi
		sleep 0.25
	done
	cat "$tmp"
	exit 1
}
