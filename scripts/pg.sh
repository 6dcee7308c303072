#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests and the storm:
#
#   eval "$(bash scripts/pg.sh start)"   # exports GUARDIAN_PG_DIR and
#                                        # GUARDIAN_TEST_DATABASE_URL
#   bash scripts/pg.sh stop              # stops it and deletes its files
#
# Debian's `postgresql` package (installed by .ci/run); the cluster runs as
# an unprivileged user (`postgres` when started by root), in a temporary
# directory, listening on 127.0.0.1 only, with trust authentication for
# that user alone. Nothing outside the temporary directory is touched.
set -euo pipefail
cmd="${1:-}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bindir" ]; then
    echo "pg.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2
    exit 1
fi
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
    port="${GUARDIAN_PG_PORT:-54329}"
    dir=$(mktemp -d /tmp/guardian-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    user=$(as_owner id -un)
    as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # Sized for the storm on a small machine: connections for two
    # instances' pools and the tests' admin connections; fsync stays on
    # (an acknowledged upload must survive a crash here as in production).
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c shared_buffers=256MB" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "export GUARDIAN_PG_DIR=$dir"
    echo "export GUARDIAN_TEST_DATABASE_URL=postgres://$user@127.0.0.1:$port/postgres"
    ;;
stop)
    dir="${GUARDIAN_PG_DIR:?pg.sh stop: GUARDIAN_PG_DIR is not set}"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg.sh start|stop" >&2
    exit 2
    ;;
esac
