#!/usr/bin/env bash
# fixtures.sh builds the real Docker images the docker tests use.
#
#   scripts/fixtures.sh [NAME...]    (no NAME: every fixture)
#
# The Debian bookworm base root is debootstrapped once and cached under
# ${PARE_CACHE:-$HOME/.cache/pare}/testdata, then imported as
# pare-fixture/base:bookworm. Each fixture testdata/images/NAME is built as
# pare-fixture/NAME:latest and rebuilt only when its build context (or the
# base image) changed: the image carries a label with the hash of both.
# Fixtures build ${PARE_FIXTURE_JOBS:-3} at a time, each with its log in
# $CACHE/logs/NAME.log; a failure names the fixture and shows its log's tail.
# Concurrent runs are serialized with a lock file in the cache dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PARE_CACHE:-$HOME/.cache/pare}/testdata
IMAGES=$ROOT/testdata/images
PROGRAMS=$ROOT/testdata/programs
BASE=pare-fixture/base:bookworm
# Bump when the way the base root is made or stripped changes.
BASE_VERSION=1
LABEL=dev.pare.fixture.hash
LOGS=$CACHE/logs
JOBS=${PARE_FIXTURE_JOBS:-3}
SUITE=bookworm

export DOCKER_BUILDKIT=0

log() { printf 'fixtures: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# mirror prints the Debian mirror URI configured for the host's apt.
mirror() {
	local uri=""
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
		uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
	fi
	if [[ -z $uri && -r /etc/apt/sources.list ]]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
	fi
	[[ -n $uri ]] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
	printf '%s\n' "$uri"
}

# security_mirror prints the host's Debian security mirror URI, if any.
security_mirror() {
	{
		if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
			awk '/^URIs:/ && $2 ~ /security/ {print $2}' /etc/apt/sources.list.d/*.sources
		fi
		if [[ -r /etc/apt/sources.list ]]; then
			awk '$1 == "deb" && $0 ~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) print $i }' /etc/apt/sources.list
		fi
	} | head -n1
}

# unmount_under unmounts what an interrupted debootstrap left mounted in $1
# (proc, sys), so that removing the directory cannot reach into them.
unmount_under() {
	local dir m
	dir=$(realpath "$1")
	findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r | while read -r m; do
		umount -l "$m" || true
	done
}

# make_rootfs debootstraps $CACHE/rootfs once. The debootstrap log ends with a
# line "OK" on success; a rootfs.tmp without it is from an interrupted run.
make_rootfs() {
	local rootfs=$CACHE/rootfs tmp=$CACHE/rootfs.tmp logf=$CACHE/debootstrap.log
	if [[ -f $rootfs/.pare-complete && $(cat "$rootfs/.pare-complete") == "v$BASE_VERSION" ]]; then
		return
	fi
	if [[ -d $rootfs ]]; then
		log "removing incomplete or outdated $rootfs"
		rm -rf "$rootfs"
	fi
	if [[ -d $tmp && -f $logf ]] && [[ $(tail -n1 "$logf") == OK ]] && [[ -x $tmp/usr/bin/apt-get ]]; then
		log "reusing finished debootstrap in $tmp"
	else
		if [[ -d $tmp ]]; then
			log "removing interrupted debootstrap in $tmp"
			unmount_under "$tmp"
			rm -rf "$tmp"
		fi
		local uri
		uri=$(mirror)
		log "debootstrap $SUITE (minbase) into $tmp, log in $logf"
		mkdir -p "$CACHE"
		if ! timeout 30m debootstrap --variant=minbase "$SUITE" "$tmp" "$uri" >"$logf" 2>&1; then
			unmount_under "$tmp"
			tail -n 20 "$logf" >&2
			die "debootstrap failed"
		fi
		echo OK >>"$logf"
	fi
	configure_rootfs "$tmp"
	echo "v$BASE_VERSION" >"$tmp/.pare-complete"
	mv "$tmp" "$rootfs"
}

# configure_rootfs makes the root look like the official debian image:
# apt sources of the host's mirror, the docker-* apt and dpkg settings of the
# slim variant (no docs, man pages or translations), no apt lists or caches.
configure_rootfs() {
	local r=$1 uri sec
	uri=$(mirror)
	sec=$(security_mirror)
	rm -f "$r/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" "$SUITE" "$SUITE"
		if [[ -n $sec ]]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$sec" "$SUITE"
		fi
	} >"$r/etc/apt/sources.list.d/debian.sources"

	cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
	echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
	printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' >"$r/etc/apt/apt.conf.d/docker-gzip-indexes"
	echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
	cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
	# Services must not start while packages are installed in docker build.
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 0755 "$r/usr/sbin/policy-rc.d"

	# What the excludes above would have kept out, had they been there first.
	find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
	find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/groff/* "$r"/usr/share/lintian/* "$r"/usr/share/linda/*
	find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/archives/partial/*
	mkdir -p "$r/var/lib/apt/lists/partial"
	rm -rf "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old "$r"/var/log/apt/* "$r"/var/log/dpkg.log "$r"/var/log/bootstrap.log "$r"/var/log/alternatives.log
	rm -rf "$r"/dev/* "$r"/proc/* "$r"/sys/* "$r"/run/* "$r"/tmp/* "$r"/var/tmp/*
	: >"$r/etc/machine-id"
	echo localhost >"$r/etc/hostname"
	: >"$r/etc/resolv.conf"
}

image_label() {
	docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true
}

ensure_base() {
	local want="base-v$BASE_VERSION"
	if [[ $(image_label "$BASE") == "$want" ]]; then
		return
	fi
	make_rootfs
	log "importing $BASE"
	tar -C "$CACHE/rootfs" --numeric-owner --exclude=./.pare-complete -c . |
		docker import \
			--change "LABEL $LABEL=$want" \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["bash"]' \
			- "$BASE" >/dev/null
}

# prepare NAME builds what a fixture's context needs from testdata/programs.
prepare() {
	local name=$1 ctx=$IMAGES/$1
	case $name in
	gostatic)
		(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$ctx/gostatic" ./testdata/programs/gostatic)
		;;
	gocgo)
		(cd "$ROOT" && CGO_ENABLED=1 go build -trimpath -buildvcs=false -tags netcgo -o "$ctx/gocgo" ./testdata/programs/gocgo)
		;;
	cplugin)
		command -v gcc >/dev/null || die "gcc not found (apt-get install gcc libc6-dev)"
		rm -rf "$ctx/build"
		mkdir -p "$ctx/build/bin" "$ctx/build/lib" "$ctx/build/plugins"
		# Relative source names keep the binaries identical from any checkout.
		(
			cd "$PROGRAMS/cplugin"
			gcc -O2 -fPIC -shared -Wl,-soname,libgreet.so.1 -o "$ctx/build/lib/libgreet.so.1" greet.c
			ln -s libgreet.so.1 "$ctx/build/lib/libgreet.so"
			gcc -O2 -o "$ctx/build/bin/app" app.c -L"$ctx/build/lib" -lgreet -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
			gcc -O2 -fPIC -shared -o "$ctx/build/plugins/hello.so" plugin.c -lm
		)
		;;
	cmusl)
		command -v musl-gcc >/dev/null || die "musl-gcc not found (apt-get install musl-tools)"
		rm -rf "$ctx/build"
		mkdir -p "$ctx/build/bin" "$ctx/build/lib" "$ctx/build/plugins"
		(
			cd "$PROGRAMS/cplugin"
			musl-gcc -O2 -fPIC -shared -Wl,-soname,libgreet.so.1 -o "$ctx/build/lib/libgreet.so.1" greet.c
			ln -s libgreet.so.1 "$ctx/build/lib/libgreet.so"
			musl-gcc -O2 -o "$ctx/build/bin/app" app.c -L"$ctx/build/lib" -lgreet
			musl-gcc -O2 -fPIC -shared -o "$ctx/build/plugins/hello.so" plugin.c -lm
		)
		;;
	npm)
		# npm install in the build stage talks HTTPS to the npm registry:
		# trust what the host trusts (a TLS-inspecting egress proxy, say).
		cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
		;;
	java)
		command -v javac >/dev/null || die "javac not found (apt-get install openjdk-17-jdk-headless)"
		rm -rf "$ctx/classes"
		mkdir -p "$ctx/classes"
		javac --release 17 -d "$ctx/classes" "$PROGRAMS"/java/*.java
		;;
	esac
}

# context_hash hashes a build context (paths, modes and contents) and the base.
context_hash() {
	local ctx=$1
	{
		docker image inspect -f '{{.Id}}' "$BASE"
		(cd "$ctx" && find . -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
			if [[ -f $f ]]; then
				printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
			elif [[ -L $f ]]; then
				printf '%s -> %s\n' "$f" "$(readlink "$f")"
			else
				printf '%s %s\n' "$f" "$(stat -c %a "$f")"
			fi
		done)
	} | sha256sum | cut -d' ' -f1
}

# build NAME builds pare-fixture/NAME:latest unless its label holds the
# current context hash. The docker build output goes to $LOGS/NAME.log.
build() {
	local name=$1 ctx=$IMAGES/$1 tag=pare-fixture/$1:latest hash start logf=$LOGS/$1.log
	[[ -f $ctx/Dockerfile ]] || die "unknown fixture $name (no $ctx/Dockerfile)"
	: >"$logf"
	prepare "$name" >>"$logf" 2>&1 || die "preparing the context of $name failed (log: $logf)"
	hash=$(context_hash "$ctx")
	if [[ $(image_label "$tag") == "$hash" ]]; then
		log "$tag is up to date"
		return
	fi
	log "building $tag (log: $logf)"
	start=$SECONDS
	if ! docker build --network host --label "$LABEL=$hash" -t "$tag" "$ctx" >>"$logf" 2>&1; then
		die "building $tag failed (log: $logf)"
	fi
	log "built $tag in $((SECONDS - start))s"
}

# build_all builds the fixtures named in its arguments, up to $JOBS at a time
# (they only share the base, which is ready by then). Every build runs to its
# end; then the failing fixtures are named, each with the tail of its log.
build_all() {
	local -A running=()
	local failed=() n pid
	reap() {
		local p
		if wait -n -p p; then
			unset "running[$p]"
		else
			failed+=("${running[$p]}")
			unset "running[$p]"
		fi
	}
	for n in "$@"; do
		[[ $n == base ]] && continue
		while ((${#running[@]} >= JOBS)); do
			reap
		done
		build "$n" &
		running[$!]=$n
	done
	while ((${#running[@]} > 0)); do
		reap
	done
	if ((${#failed[@]} > 0)); then
		for n in "${failed[@]}"; do
			log "---- last lines of $LOGS/$n.log"
			tail -n 40 "$LOGS/$n.log" >&2 || true
		done
		die "failed to build fixture(s): ${failed[*]}"
	fi
}

all_names() {
	local d
	for d in "$IMAGES"/*/; do
		[[ -f $d/Dockerfile ]] && basename "$d"
	done
}

main() {
	command -v docker >/dev/null || die "docker not found"
	docker info >/dev/null 2>&1 || die "no docker daemon answers"
	mkdir -p "$CACHE" "$LOGS"
	exec 9>"$CACHE/fixtures.lock"
	flock 9

	ensure_base
	local names=("$@")
	if [[ ${#names[@]} -eq 0 ]]; then
		mapfile -t names < <(all_names)
	fi
	local start=$SECONDS
	build_all "${names[@]}"
	log "fixtures ready in $((SECONDS - start))s (${JOBS} at a time)"
	docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
}

# Run unless sourced (tests source it to call make_rootfs and friends).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
