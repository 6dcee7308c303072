# shellcheck shell=bash
# Sourced, not executed: starts a reference backend on loopback for a
# script that drives it (scripts/fuzz-api.sh, scripts/review-browser.sh).
#
#   source scripts/lib/backend.sh
#   BACKEND_PID=""
#   trap '[ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null || true' EXIT
#   serve_backend "$BIN" "$DB" "$WORK/server.log" [more serve args...]
#   curl "$BACKEND_URL/healthz"
#
# Stopping it is the caller's: its exit trap kills "$BACKEND_PID", which is
# set as soon as the server starts, so a trap set before the call catches a
# server that never came up too.

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
