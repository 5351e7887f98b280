#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the memory-store tests and print its SQLAlchemy URL.
#
#   export FPPS_TEST_PG_URL="$(.ci/postgres.sh)"
#
# Installs Debian's `postgresql` with apt-get when it is missing, creates a cluster under
# $FPPS_PG_DATA (default /tmp/fpps-pg) listening on 127.0.0.1:$FPPS_PG_PORT (default 54329),
# a user `fpps` (trust auth, loopback only) and a database `fpps_test`. Idempotent: a running
# cluster is reused. Everything but the URL goes to stderr.
set -euo pipefail
PORT="${FPPS_PG_PORT:-54329}"
DATA="${FPPS_PG_DATA:-/tmp/fpps-pg}"
DB=fpps_test
PGUSER_NAME=fpps

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "installing postgresql (apt-get)" >&2
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# initdb and postgres refuse to run as root: run them as the `postgres` system user then.
RUN=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
  RUN=(runuser -u postgres --)
fi
mkdir -p "$DATA"
[ "$(id -u)" = 0 ] && chown postgres "$DATA"
chmod 700 "$DATA"

if [ ! -f "$DATA/PG_VERSION" ]; then
  "${RUN[@]}" "$BIN/initdb" -D "$DATA" -U "$PGUSER_NAME" --auth=trust -E UTF8 >&2
fi
if ! "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA" -w -t 60 -l "$DATA/server.log" \
    -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
fi
if ! "${RUN[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d postgres -tAc \
     "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
  "${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" "$DB" >&2
fi
echo "postgresql+psycopg://$PGUSER_NAME@127.0.0.1:$PORT/$DB"
