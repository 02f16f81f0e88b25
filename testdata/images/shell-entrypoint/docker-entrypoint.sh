#!/bin/sh
# docker-entrypoint.sh in the style of the official images. Every program
# it runs is named in a place a line-by-line reading misses: a trap, a
# function body, $(…), a pipeline, a condition, and "$@" run through gosu.
set -eu

state=$(mktemp -d)

# prepare runs in a subshell, whose EXIT trap removes its scratch file.
prepare() (
	trap 'rm -f "$state/scratch"' EXIT
	seq 3 > "$state/scratch"
	[ -s "$state/scratch" ] && echo "prepared $(wc -l < "$state/scratch") lines"
)

if [ "${1#-}" != "$1" ]; then
	set -- bc "$@"
fi

prepare
echo "left after the trap: $(ls -A "$state" | wc -l)"
rmdir "$state"

if [ "$(id -u)" = 0 ]; then
	exec gosu someuser "$@"
fi
exec "$@"
