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
# that user alone, and TLS only: a throwaway CA signs the server's
# certificate (for 127.0.0.1), plain connections over TCP are refused, and
# the URL names the CA (`sslmode=require&sslrootcert=…`), so everything run
# against it reaches the database as production should, encrypted and
# verified. Nothing outside the temporary directory is touched.
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
    tls="$dir/tls"
    mkdir "$tls"
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=Guardian throwaway test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr"
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$tls/server.ext"
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
            -days 2 -extfile "$tls/server.ext" -out "$tls/server.pem"
    } >"$dir/tls.log" 2>&1 || { cat "$dir/tls.log" >&2; exit 1; }
    chmod 600 "$tls/server.key" "$tls/ca.key"
    [ "$(id -u)" = 0 ] && chown -R postgres "$tls"
    # TLS or a local socket; a plain TCP connection finds no entry.
    printf 'local all %s trust\nhostssl all %s 127.0.0.1/32 trust\n' "$user" "$user" > "$dir/pg_hba.conf"
    as_owner cp "$dir/pg_hba.conf" "$dir/data/pg_hba.conf"
    # Sized for the storm on a small machine: connections for two
    # instances' pools and the tests' admin connections; fsync stays on
    # (an acknowledged upload must survive a crash here as in production).
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c shared_buffers=256MB -c ssl=on -c ssl_cert_file=$tls/server.pem -c ssl_key_file=$tls/server.key" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "export GUARDIAN_PG_DIR=$dir"
    echo "export GUARDIAN_TEST_DATABASE_URL='postgres://$user@127.0.0.1:$port/postgres?sslmode=require&sslrootcert=$tls/ca.pem'"
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
