#!/bin/sh
# Like the official image: the server runs as its own user, in /data.
set -eu
if [ "$1" = valkey-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
