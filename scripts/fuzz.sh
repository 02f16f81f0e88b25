#!/usr/bin/env bash
# Runs every fuzz target of the module (each `func FuzzX(f *testing.F)` in a
# _test.go file, found by scanning, so new targets join automatically) for
# FUZZTIME each (default 4s). A crash fails the script; go test writes the
# crashing input to the package's testdata/fuzz/FuzzX/, where, committed, it
# becomes a regression test that plain `go test` runs.
#
#   bash scripts/fuzz.sh                 # all targets
#   FUZZTIME=1m bash scripts/fuzz.sh ./internal/keep   # longer, one package
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH=/usr/local/go/bin:$PATH
FUZZTIME=${FUZZTIME:-4s}
dirs=("$@")
[[ ${#dirs[@]} -eq 0 ]] && dirs=(.)

failed=()
n=0
start=$SECONDS
while IFS=: read -r file name; do
	pkg=./$(dirname "${file#./}")
	n=$((n + 1))
	printf '==> fuzz %s %s (%s)\n' "$pkg" "$name" "$FUZZTIME"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/pare-fuzz.$$ 2>&1; then
		cat /tmp/pare-fuzz.$$
		# Go's fuzzing engine can end with "context deadline exceeded" and no
		# failing input when the time is up while it minimizes a new input;
		# that run is repeated once. A failure that wrote a failing input
		# always counts.
		if grep -q 'Failing input written to' /tmp/pare-fuzz.$$ ||
			! grep -q 'context deadline exceeded' /tmp/pare-fuzz.$$ ||
			! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/pare-fuzz.$$ 2>&1; then
			cat /tmp/pare-fuzz.$$
			failed+=("$pkg $name")
		else
			echo "fuzz: $name ended on the engine's deadline without a failing input; the repeat passed"
		fi
	fi
done < <(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' "${dirs[@]}" |
	sed -E 's/\(f \*testing\.F\)$//; s/:func /:/' | sort)
rm -f /tmp/pare-fuzz.$$
echo "fuzz: $n targets in $((SECONDS - start))s"
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz: failing targets (inputs saved under each package's testdata/fuzz/):" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
