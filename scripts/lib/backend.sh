# shellcheck shell=bash
# Sourced, not executed: starts a reference backend on loopback for a
# script that drives it (scripts/fuzz-api.sh, scripts/review-browser.sh).
#
#   source scripts/lib/backend.sh
#   backend_work
#   serve_backend "$BIN" "$DB" "$WORK/server.log" [more serve args...]
#   curl "$BACKEND_URL/healthz"
#
# backend_work's exit trap stops it: BACKEND_PID is set as soon as the
# server starts, so a server that never came up is stopped too.

# backend_work: a scratch directory in WORK, and an exit trap that stops the
# backend (once serve_backend has started one) and removes WORK.
backend_work() {
    WORK="$(mktemp -d)"
    BACKEND_PID=""
    trap backend_cleanup EXIT
}

backend_cleanup() {
    [ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null || true
    rm -rf "$WORK"
}

# serve_backend BIN DB LOG [ARGS...]: picks a free port, runs
# `BIN serve --db DB --addr 127.0.0.1:PORT ARGS...` in the background with
# its stderr in LOG, and waits until /healthz answers. Sets PORT,
# BACKEND_URL and BACKEND_PID. Fails, printing the log, if the server exits
# or does not answer within 30 s (then it is killed).
serve_backend() {
    local bin="$1" db="$2" log="$3"
    shift 3
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    BACKEND_URL="http://127.0.0.1:$PORT"
    "$bin" serve --db "$db" --addr "127.0.0.1:$PORT" "$@" 2>"$log" &
    BACKEND_PID=$!
    local deadline=$((SECONDS + 30))
    until python3 -c "import urllib.request; urllib.request.urlopen('$BACKEND_URL/healthz', timeout=1)" 2>/dev/null; do
        if ! kill -0 "$BACKEND_PID" 2>/dev/null; then
            echo "the backend exited before answering on $BACKEND_URL; its log:" >&2
            cat "$log" >&2
            BACKEND_PID=""
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "the backend did not answer on $BACKEND_URL/healthz within 30 s; its log:" >&2
            cat "$log" >&2
            kill "$BACKEND_PID" 2>/dev/null || true
            BACKEND_PID=""
            return 1
        fi
        sleep 0.1
    done
}
