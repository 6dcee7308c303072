#!/usr/bin/env bash
# shellcheck shell=bash
# A throwaway Keycloak 26 on loopback: the real OpenID Connect provider that
# scripts/keycloak-tests.sh signs in against (realms in scripts/keycloak/,
# described in scripts/keycloak/README.md).
#
# Executed, like scripts/pg.sh (Keycloak keeps running after the script):
#   eval "$(bash scripts/keycloak.sh start)"  # exports GUARDIAN_KEYCLOAK_URL,
#                                             # GUARDIAN_KEYCLOAK_RUN
#   bash scripts/keycloak.sh stop             # stops it, deletes its run dir
# Sourced:
#   source scripts/keycloak.sh
#   trap keycloak_stop EXIT
#   keycloak_start    # sets KEYCLOAK_URL, KEYCLOAK_PID, KEYCLOAK_RUN
#
# Idempotent: the distribution is fetched with Maven and unzipped once, into
# ${GUARDIAN_CACHE:-$HOME/.cache/guardian}/keycloak, and the realms are
# imported once into a database kept there; every start runs on a fresh
# copy of it, so a test that disables a user or adds a signing key never
# leaks into the next run. One Keycloak per cache directory at a time (they
# share the unzipped tree). KC_PORT picks the port (default: a free one);
# KC_START_TIMEOUT the seconds to wait (240); progress goes to stderr.

KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.5.6}"
KEYCLOAK_CACHE="${GUARDIAN_CACHE:-$HOME/.cache/guardian}/keycloak"
KEYCLOAK_HOME="$KEYCLOAK_CACHE/keycloak-$KEYCLOAK_VERSION"
KEYCLOAK_REALMS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/keycloak"
# The master realm's admin, for the admin REST API only (loopback, throwaway).
export GUARDIAN_KEYCLOAK_ADMIN="${GUARDIAN_KEYCLOAK_ADMIN:-admin}"
export GUARDIAN_KEYCLOAK_ADMIN_PASSWORD="${GUARDIAN_KEYCLOAK_ADMIN_PASSWORD:-guardian-admin-1}"
KEYCLOAK_PID=""
KEYCLOAK_RUN=""
KEYCLOAK_URL=""
KEYCLOAK_JAVA_HOME=""

# Keycloak 26 needs Java 21+, the default java here is 17: KC_JAVA_HOME, else
# Temurin 25, else the newest JDK >= 21 under /usr/lib/jvm.
keycloak_java_home() {
    local dir major best="" best_major=0
    if [ -n "${KC_JAVA_HOME:-}" ]; then echo "$KC_JAVA_HOME"; return; fi
    if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
        echo /usr/lib/jvm/temurin-25-jdk-amd64
        return
    fi
    for dir in /usr/lib/jvm/*/; do
        [ -x "$dir/bin/java" ] || continue
        major="$("$dir/bin/java" -XshowSettings:properties -version 2>&1 |
            sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
        if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
            best="${dir%/}" best_major="$major"
        fi
    done
    [ -n "$best" ] || { echo "keycloak.sh: Keycloak needs a JDK 21 or newer under /usr/lib/jvm (or KC_JAVA_HOME)" >&2; return 1; }
    echo "$best"
}

# The distribution, once: Maven's local repository keeps the zip too, so a
# second cache directory costs an unzip, not a download.
keycloak_install() {
    local zip="$KEYCLOAK_CACHE/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" t
    [ -x "$KEYCLOAK_HOME/bin/kc.sh" ] && return 0
    mkdir -p "$KEYCLOAK_CACHE"
    if [ ! -f "$zip" ]; then
        t=$SECONDS
        mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
            -DoutputDirectory="$KEYCLOAK_CACHE" >&2
        echo "keycloak.sh: fetched $(basename "$zip") in $((SECONDS - t)) s" >&2
    fi
    # Unzipped beside and renamed, so a cut-short unzip is never taken for
    # an installed one.
    t=$SECONDS
    rm -rf "$KEYCLOAK_HOME.part"
    mkdir "$KEYCLOAK_HOME.part"
    unzip -q "$zip" -d "$KEYCLOAK_HOME.part"
    mv "$KEYCLOAK_HOME.part/keycloak-$KEYCLOAK_VERSION" "$KEYCLOAK_HOME"
    rmdir "$KEYCLOAK_HOME.part"
    echo "keycloak.sh: unzipped in $((SECONDS - t)) s" >&2
}

# The resident memory of Keycloak's JVM, in MB (kc.sh is its parent, or
# became it after a re-augmentation relaunch).
keycloak_rss_mb() {
    local p kb=0
    for p in "$KEYCLOAK_PID" $(pgrep -P "$KEYCLOAK_PID" 2>/dev/null); do
        if [ "$(ps -o comm= -p "$p" 2>/dev/null)" = java ]; then
            kb="$(ps -o rss= -p "$p")"
        fi
    done
    echo $((kb / 1024))
}

# keycloak_launch DBDIR LOG [ARGS...]: kc.sh start-dev on KEYCLOAK_URL's
# port with its H2 database in DBDIR, in the background in its own process
# group; waits for the guardian realm's discovery document. Sets
# KEYCLOAK_PID. On failure prints the log's end and stops it.
keycloak_launch() {
    local db="$1" log="$2" deadline
    shift 2
    # The add-opens is what Quarkus asks for on Java 24+ (its thread-local
    # reset), else worker threads die with IllegalAccessError.
    JAVA_HOME="$KEYCLOAK_JAVA_HOME" \
        KC_BOOTSTRAP_ADMIN_USERNAME="$GUARDIAN_KEYCLOAK_ADMIN" \
        KC_BOOTSTRAP_ADMIN_PASSWORD="$GUARDIAN_KEYCLOAK_ADMIN_PASSWORD" \
        JAVA_OPTS_APPEND="--add-opens=java.base/java.lang=ALL-UNNAMED" \
        setsid "$KEYCLOAK_HOME/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="${KEYCLOAK_URL##*:}" \
        --db=dev-file --db-url="jdbc:h2:file:$db/keycloakdb;NON_KEYWORDS=VALUE" "$@" \
        </dev/null >"$log" 2>&1 &
    KEYCLOAK_PID=$!
    echo "$KEYCLOAK_PID" >"$KEYCLOAK_RUN/pid"
    deadline=$((SECONDS + ${KC_START_TIMEOUT:-240}))
    until curl -sf -o /dev/null "$KEYCLOAK_URL/realms/guardian/.well-known/openid-configuration"; do
        if ! kill -0 "$KEYCLOAK_PID" 2>/dev/null; then
            echo "keycloak.sh: Keycloak exited before answering; the end of $log:" >&2
            tail -40 "$log" >&2
            KEYCLOAK_PID=""
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "keycloak.sh: no discovery document within ${KC_START_TIMEOUT:-240} s; the end of $log:" >&2
            tail -40 "$log" >&2
            keycloak_kill
            return 1
        fi
        sleep 0.25
    done
}

# keycloak_kill: TERM (kc.sh passes it on to the JVM, which closes the
# database), 15 s grace, then KILL for the whole process group. Fails if the
# KILL was needed.
keycloak_kill() {
    local pid="$KEYCLOAK_PID" i
    KEYCLOAK_PID=""
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    return 1
}

keycloak_start() {
    local started key snap part old
    keycloak_install || return 1
    KEYCLOAK_JAVA_HOME="$(keycloak_java_home)" || return 1
    KEYCLOAK_RUN="$(mktemp -d /tmp/guardian-keycloak.XXXXXX)"
    KEYCLOAK_URL="http://127.0.0.1:${KC_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
    started=$SECONDS
    # Creating the schema and importing the realms is most of a start
    # (here 17-26 s of start against 11 s without). So they are done once,
    # into an H2 file kept in the cache (keyed by the realm files, the
    # version and the admin's credentials, all of which it holds), and
    # every start runs on a fresh copy of it: the same realms, users and
    # keys each time, and nothing a test changed survives.
    key="$(cat "$KEYCLOAK_REALMS"/*-realm.json - <<<"$KEYCLOAK_VERSION $GUARDIAN_KEYCLOAK_ADMIN $GUARDIAN_KEYCLOAK_ADMIN_PASSWORD" |
        sha256sum | cut -c1-16)"
    snap="$KEYCLOAK_CACHE/snapshot-$key"
    if [ ! -f "$snap/keycloakdb.mv.db" ]; then
        # --import-realm reads every *-realm.json in data/import; only ours.
        rm -rf "$KEYCLOAK_HOME/data/import"
        mkdir -p "$KEYCLOAK_HOME/data/import"
        cp "$KEYCLOAK_REALMS"/*-realm.json "$KEYCLOAK_HOME/data/import/"
        part="$(mktemp -d "$snap.part.XXXXXX")"
        keycloak_launch "$part" "$KEYCLOAK_RUN/import.log" --import-realm || { rm -rf "$part"; return 1; }
        # Only a database closed by a clean stop is kept.
        if keycloak_kill && [ ! -e "$snap" ]; then
            for old in "$KEYCLOAK_CACHE"/snapshot-*; do
                case "$old" in *.part.*) ;; *) rm -rf "$old" ;; esac
            done
            mv "$part" "$snap"
        else
            rm -rf "$part"
        fi
        echo "keycloak.sh: realms imported into $snap in $((SECONDS - started)) s" >&2
        [ -f "$snap/keycloakdb.mv.db" ] || { echo "keycloak.sh: the import did not stop cleanly" >&2; return 1; }
        started=$SECONDS
    fi
    cp "$snap/keycloakdb.mv.db" "$KEYCLOAK_RUN/"
    keycloak_launch "$KEYCLOAK_RUN" "$KEYCLOAK_RUN/keycloak.log" || return 1
    echo "$KEYCLOAK_URL" >"$KEYCLOAK_RUN/url"
    echo "keycloak.sh: Keycloak $KEYCLOAK_VERSION on $KEYCLOAK_URL: discovery answered $((SECONDS - started)) s after start, RSS $(keycloak_rss_mb) MB (Java $(basename "$KEYCLOAK_JAVA_HOME"), log $KEYCLOAK_RUN/keycloak.log)" >&2
}

# Stops the Keycloak this shell started (or the one in KEYCLOAK_RUN/pid) and
# removes its run directory.
keycloak_stop() {
    [ -z "$KEYCLOAK_PID" ] && [ -n "$KEYCLOAK_RUN" ] && [ -f "$KEYCLOAK_RUN/pid" ] && KEYCLOAK_PID="$(cat "$KEYCLOAK_RUN/pid")"
    keycloak_kill || true
    [ -n "$KEYCLOAK_RUN" ] && rm -rf "$KEYCLOAK_RUN"
    KEYCLOAK_RUN=""
}

# Executed rather than sourced: start (print the exports) or stop.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
    start)
        keycloak_start
        printf 'export GUARDIAN_KEYCLOAK_URL=%q GUARDIAN_KEYCLOAK_RUN=%q\n' "$KEYCLOAK_URL" "$KEYCLOAK_RUN"
        ;;
    stop)
        KEYCLOAK_RUN="${GUARDIAN_KEYCLOAK_RUN:?keycloak.sh stop: GUARDIAN_KEYCLOAK_RUN is not set}"
        keycloak_stop
        ;;
    *)
        echo "usage: bash scripts/keycloak.sh start|stop (or source it: keycloak_start, keycloak_stop)" >&2
        exit 2
        ;;
    esac
fi
