#!/bin/sh
set -e

# first arg is `-f` or `--some-option`
if [ "${1#-}" != "$1" ]; then
	set -- memcached "$@"
fi

# drop root to the memcache user
if [ "$1" = 'memcached' ] && [ "$(id -u)" = '0' ]; then
	exec gosu memcache "$@"
fi

exec "$@"
