#!/usr/bin/env bash
# start-docker.sh starts dockerd (as root) when no Docker daemon answers,
# with the flags this machine needs, and waits up to 60s for it.
#
#   bash scripts/start-docker.sh
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

if docker info >/dev/null 2>&1; then
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "start-docker.sh: no Docker daemon answers and not root: start dockerd first" >&2
	exit 1
fi
echo "starting dockerd (log in /var/log/dockerd.log)"
setsid dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/dockerd.log 2>&1 </dev/null &
for ((i = 0; i < 60; i++)); do
	if docker info >/dev/null 2>&1; then
		exit 0
	fi
	sleep 1
done
echo "start-docker.sh: dockerd did not answer within 60s; /var/log/dockerd.log ends with:" >&2
tail -n 30 /var/log/dockerd.log >&2
exit 1
