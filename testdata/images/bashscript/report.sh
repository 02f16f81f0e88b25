#!/bin/bash
# report.sh prints a deterministic report of the data files in $1.
set -euo pipefail
dir=${1:-/data}

echo "== people.json (jq)"
jq -r '.people | sort_by(.name)[] | "\(.name) \(.age)"' "$dir/people.json"
echo "oldest: $(jq -r '.people | max_by(.age) | .name' "$dir/people.json")"

echo "== people.csv (gawk, sort, grep, sed, tr)"
tail -n +2 "$dir/people.csv" | gawk -F, '{ sum += $3; n++ } END { printf "cities=%d mean_age=%.1f\n", n, sum / n }'
cut -d, -f2 "$dir/people.csv" | tail -n +2 | sort | uniq -c | sed -E 's/^ +//' | sort -k2
grep -c ',Paris,' "$dir/people.csv" | sed 's/^/paris rows: /'
head -n1 "$dir/people.csv" | tr 'a-z,' 'A-Z;'
echo "sha256: $(sha256sum "$dir/people.csv" | cut -c1-16)"
echo "lines: $(cat "$dir"/people.* | wc -l)"
