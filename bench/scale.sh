#!/usr/bin/env bash
# scale.sh measures how pare's cost grows with image size, against reading
# the same docker-archive once. It builds (once, cached by tag and label)
# three multi-layer images from Debian packages on pare-fixture/base:bookworm,
# described by bench/images/NAME.layers (one Dockerfile line per layer):
#   s 0.35 GB, m 1.5 GB, l 3.3 GB (many small files: 200k generated)
# saves each with docker save, and for each runs, $RUNS times (default 3),
# whole processes under /usr/bin/time (wall seconds, peak RSS):
#   read   tar -xOf ARCHIVE >/dev/null      (reading every layer once)
#   build  pare build docker-archive:ARCHIVE docker-archive:OUT --entrypoint /usr/bin/python3
#   ls     pare ls docker-archive:ARCHIVE >/dev/null
# and prints the medians, the ratios build/read and ls/read, peak RSS and
# seconds per GiB (constant when cost is linear in size).
#
#   bench/scale.sh [NAME...]     (default: s m l)
#   SRC=DIR bench/scale.sh ...   (times pare built from the checkout DIR:
#                                 before/after figures on the same archives)
#   bench/scale.sh --clean       (removes $PARE_BENCH_DIR and the pare-bench/{s,m,l} images)
#
# Artefacts live in ${PARE_BENCH_DIR:-/var/tmp/pare-bench} (the l archive is
# ~3 GB); each run keeps its binaries, results and output in a directory of
# its own there, so runs of two checkouts may share the archives. Benchmarks
# never run in CI.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${PARE_BENCH_DIR:-/var/tmp/pare-bench}
RUNS=${RUNS:-3}
LABEL=dev.pare.bench
export DOCKER_BUILDKIT=0

if [[ ${1:-} == --clean ]]; then
	rm -rf "$WORK"
	for n in s m l; do
		docker images --format '{{.Repository}}:{{.Tag}}' "pare-bench/$n" | xargs -r docker rmi >/dev/null
	done
	exit 0
fi
docker info >/dev/null 2>&1 || { echo "scale.sh: docker is not available" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "scale.sh: needs GNU time (/usr/bin/time)" >&2; exit 1; }
mkdir -p "$WORK"
NAMES=("$@")
[[ ${#NAMES[@]} -gt 0 ]] || NAMES=(s m l)

# build_image NAME builds one tagged image per layer line of NAME.layers
# (pare-bench/NAME:layerK) by docker run + docker commit, not docker build:
# a commit makes the tagged image at once, so no untagged intermediate image
# exists for a concurrent prune to remove. It tags the last one
# pare-bench/NAME:latest. A layer is rebuilt only when its base or its line
# changed (the label dev.pare.bench holds their hash).
build_image() {
	local name=$1 spec=$ROOT/bench/images/$1.layers prev="" step=0 line tag key c cmd
	while IFS= read -r line; do
		[[ -z $line || $line == "#"* ]] && continue
		if [[ $line == "FROM "* ]]; then
			prev=${line#FROM }
			if [[ $prev == pare-bench/* ]]; then
				local dep=${prev#pare-bench/}
				build_image "${dep%%:*}"
			elif [[ $prev == pare-fixture/base:* ]]; then
				bash "$ROOT/scripts/fixtures.sh" base >&2
			fi
			continue
		fi
		step=$((step + 1))
		tag=pare-bench/$name:layer$step
		key=$(printf '%s\n%s\n%s\n' "$(docker image inspect -f '{{.Id}}' "$prev")" "$line" "$(sha256sum <"$ROOT/bench/images/gen.py")" | sha256sum | cut -c1-16)
		if [[ $(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$tag" 2>/dev/null) != "$key" ]]; then
			echo "scale.sh: building $tag: $line" >&2
			case $line in
			"RUN "*)
				c=$(docker create --network host --label "$LABEL=build" "$prev" sh -c "${line#RUN }")
				docker start -a "$c" >"$WORK/$name-layer$step.log" 2>&1 || { tail "$WORK/$name-layer$step.log" >&2; docker rm "$c" >/dev/null; exit 1; }
				;;
			"COPY "*)
				read -r _ src dst <<<"$line"
				c=$(docker create --label "$LABEL=build" "$prev" true)
				docker cp "$ROOT/bench/images/$src" "$c:$dst"
				;;
			*) echo "scale.sh: $spec: unknown line: $line" >&2; exit 1 ;;
			esac
			cmd=$(docker image inspect -f '{{json .Config.Cmd}}' "$prev")
			[[ $cmd == null ]] && cmd='[]'
			docker commit -c "LABEL $LABEL=$key" -c "CMD $cmd" "$c" "$tag" >/dev/null
			docker rm "$c" >/dev/null
		fi
		prev=$tag
	done <"$spec"
	docker tag "$prev" "pare-bench/$name:latest"
}

# save NAME writes $WORK/NAME.tar once per image ID.
save() {
	local id
	id=$(docker image inspect -f '{{.Id}}' "pare-bench/$1:latest")
	if [[ ! -f $WORK/$1.tar || $(cat "$WORK/$1.id" 2>/dev/null) != "$id" ]]; then
		docker save "pare-bench/$1:latest" -o "$WORK/$1.tar"
		echo "$id" >"$WORK/$1.id"
	fi
}

# timed NAME CMD... runs CMD under /usr/bin/time and appends
# "NAME wall-seconds cpu-seconds maxrss-KiB" to $RUN/results.
timed() {
	local name=$1 secs usr sys kib
	shift
	/usr/bin/time -o "$RUN/time" -f '%e %U %S %M' "$@" 2>"$RUN/err" >/dev/null || { cat "$RUN/err" >&2; exit 1; }
	read -r secs usr sys kib <"$RUN/time"
	echo "$name $secs $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') $kib" >>"$RUN/results"
}

RUN=$(mktemp -d "$WORK/run.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
(cd "${SRC:-$ROOT}" && go build -o "$RUN/pare" ./cmd/pare && go build -o "$RUN/hashfloor" ./bench/cmd/hashfloor)
P=$RUN/pare
for n in "${NAMES[@]}"; do
	build_image "$n"
	save "$n"
done
: >"$RUN/results"
for n in "${NAMES[@]}"; do
	A=$WORK/$n.tar
	cat "$A" >/dev/null # the page cache holds the archive for every run alike
	for _ in $(seq "$RUNS"); do
		timed "$n-read" tar -xOf "$A"
		timed "$n-hash" "$RUN/hashfloor" "$A"
		rm -f "$RUN/out.tar"
		timed "$n-build" "$P" build -q "docker-archive:$A" "docker-archive:$RUN/out.tar:pared" --entrypoint /usr/bin/python3
		timed "$n-ls" "$P" ls -q "docker-archive:$A"
	done
	rm -f "$RUN/out.tar"
done

# med NAME prints the median wall seconds, the median CPU seconds and the
# largest peak RSS (MiB) of NAME.
med() {
	awk -v n="$1" '
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((k + 1) / 2)]
	}
	$1 == n { w[++k] = $2; c[k] = $3; if ($4 > r) r = $4 }
	END { printf "%s %s %d", median(w, k), median(c, k), r / 1024 }' "$RUN/results"
}
echo "median of $RUNS, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
echo "wall seconds (CPU seconds, user+sys); ratios of wall (of CPU)"
printf '| image | archive | layers | entries | read | hash | build | ls | build/read | ls/read | ls/hash | peak RSS build / ls | build s/GiB | ls s/GiB |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for n in "${NAMES[@]}"; do
	A=$WORK/$n.tar
	bytes=$(stat -Lc %s "$A")
	layers=$(docker image inspect -f '{{len .RootFS.Layers}}' "pare-bench/$n:latest")
	files=$("$P" ls -q "docker-archive:$A" | wc -l)
	read -r rs rc _ <<<"$(med "$n-read")"
	read -r hs hc _ <<<"$(med "$n-hash")"
	read -r bs bc br <<<"$(med "$n-build")"
	read -r ls lc lr <<<"$(med "$n-ls")"
	awk -v n="$n" -v b="$bytes" -v l="$layers" -v f="$files" -v rs="$rs" -v rc="$rc" -v hs="$hs" -v hc="$hc" -v bs="$bs" -v bc="$bc" \
		-v ls="$ls" -v lc="$lc" -v br="$br" -v lr="$lr" 'BEGIN {
		g = b / 2^30
		printf "| pare-bench/%s | %.0f MiB | %d | %d | %.2f s (%.2f) | %.2f s (%.2f) | %.2f s (%.2f) | %.2f s (%.2f) | %.2f× (%.1f×) | %.2f× (%.1f×) | %.2f× (%.1f×) | %d / %d MiB | %.2f | %.2f |\n",
			n, b / 2^20, l, f, rs, rc, hs, hc, bs, bc, ls, lc, bs / rs, bc / rc, ls / rs, lc / rc, ls / hs, lc / hc, br, lr, bs / g, ls / g }'
done
