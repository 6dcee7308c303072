#!/usr/bin/env bash
# Every check CI runs: formatting, the layer rules, lints as errors, all
# tests. Needs the Rust toolchain and a C compiler, Python 3 with pytest,
# schemathesis and sqlcipher3-binary, a nightly toolchain with cargo-fuzz
# (optional: the fuzz step says so and skips without), a JDK 17 with Maven
# (which fetches Kotlin, JNA and JUnit itself), and Node.js with Debian's
# Chromium (the review page's browser tests);
# `.ci/run` installs what a fresh machine lacks.
#
# Each step's wall time is printed after it (`== NAME: 12 s`), and a table
# of them all at the end, also when a step fails (marked FAILED), so a CI
# log shows where the time went.
set -euo pipefail
cd "$(dirname "$0")/.."

STEP_NAMES=()
STEP_TIMES=()
CURRENT_STEP=""
CURRENT_START=0
PG_STARTED=""
ALL_START=$SECONDS

# step NAME -- COMMAND...: runs COMMAND (a failure still ends the script,
# under set -e) and records how long it took.
step() {
    local name="$1"
    shift
    [ "${1:-}" = "--" ] && shift
    CURRENT_STEP="$name"
    CURRENT_START=$SECONDS
    "$@"
    local took=$((SECONDS - CURRENT_START))
    STEP_NAMES+=("$name")
    STEP_TIMES+=("$took")
    CURRENT_STEP=""
    echo "== $name: $took s"
}

summary() {
    local i
    echo "== step times"
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-32s %6d s\n' "${STEP_NAMES[$i]}" "${STEP_TIMES[$i]}"
    done
    if [ -n "$CURRENT_STEP" ]; then
        printf '  %-32s %6d s  FAILED\n' "$CURRENT_STEP" "$((SECONDS - CURRENT_START))"
    fi
    printf '  %-32s %6d s\n' "total" "$((SECONDS - ALL_START))"
}

# Stops the PostgreSQL cluster if one was started, then prints the table;
# the script's exit status stays that of the failed step (or of the stop).
on_exit() {
    local status=$? stopped=0
    set +e
    if [ -n "$PG_STARTED" ]; then
        bash scripts/pg.sh stop
        stopped=$?
    fi
    summary
    [ "$status" -ne 0 ] && exit "$status"
    exit "$stopped"
}
trap on_exit EXIT

pg_start() {
    eval "$(bash scripts/pg.sh start)"
    PG_STARTED=1
}

# The Kotlin bindings' tests under Maven, in their own directory.
kotlin_tests() (
    cd bindings/kotlin
    rm -rf target/surefire-reports
    mvn -q -B test -Dguardian.target="$target"
    # `-q` hides Surefire's summary: count the reports instead.
    python3 - <<'PY'
import glob
import xml.etree.ElementTree as ET
t = f = s = 0
for p in glob.glob("target/surefire-reports/TEST-*.xml"):
    r = ET.parse(p).getroot()
    t += int(r.get("tests")); s += int(r.get("skipped"))
    f += int(r.get("failures")) + int(r.get("errors"))
print(f"kotlin: {t - f - s} passed, {f} failed, {s} skipped")
raise SystemExit(1 if f or not t else 0)
PY
)

step fmt -- cargo fmt --all --check
# The import rules written in core/src/lib.rs and backend/src/lib.rs.
step layers -- python3 scripts/layers.py --self-test
step clippy -- cargo clippy --workspace --all-targets -- -D warnings
step "cargo test" -- cargo test --workspace
# The simulator optimised, for the long runs below (the storms, the torture
# campaign, the bench): the handset work there is the core's own, about
# four times faster than the debug build's; the storms start the backend
# binary beside it. Their dependencies are the ones the FFI library's
# release build (bindings.sh) reuses.
step "release simulator" -- cargo build --release -p guardian-sim -p guardian-backend --bins
SIM="${CARGO_TARGET_DIR:-target}/release/guardian-sim"
# The same backend suite again on PostgreSQL (Debian's server, a throwaway
# cluster on loopback run as an unprivileged user; scripts/pg.sh), then the
# reconnect storm at a size that runs in about a minute on each store.
if [ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ]; then
    # Stopped by on_exit, however the script ends.
    step "PostgreSQL start" -- pg_start
    step "backend suite (PostgreSQL)" -- cargo test -p guardian-backend
    echo "backend suite: passed on PostgreSQL"
    storm_db="$(mktemp -d)/storm.db"
    step "storm (SQLite)" -- "$SIM" load --handsets 200 --backlog-minutes 60 --serve-db "$storm_db"
    step "storm (PostgreSQL)" -- "$SIM" load --handsets 200 --backlog-minutes 60 \
        --serve-database-url "$GUARDIAN_TEST_DATABASE_URL"
else
    echo "PostgreSQL is not installed: the backend suite ran on SQLite only" >&2
    [ -z "${CI:-}" ] || exit 1
fi
# Nothing acknowledged is lost, nothing is stored twice: the handset process
# SIGKILLed 100 times (some inside a sync pass, a pack apply, opening the
# store, a migration) and its power cut 200 times under the fault VFS
# (unsynced writes kept, dropped or torn), seeded; README has the 1,000-kill
# command.
step torture -- "$SIM" torture --kills 100 --power-cuts 200 --seed "${GUARDIAN_TORTURE_SEED:-20261130}"
# The core's parsers and decoders under libFuzzer, from the committed
# corpora, 8 s a target (nightly + cargo-fuzz; the stable replay of the
# same corpora ran in `cargo test` above either way).
# libFuzzer rebuilds the whole core on nightly with sanitizers (about 9
# minutes of a 2-core CI run); CI leaves it to GUARDIAN_FUZZ_CORE=1 and
# relies on the corpus replay with seeded mutations in `cargo test`.
if [ -z "${CI:-}" ] || [ -n "${GUARDIAN_FUZZ_CORE:-}" ]; then
    step fuzz-core -- bash scripts/fuzz-core.sh 8
else
    echo "fuzz-core: skipped in CI (GUARDIAN_FUZZ_CORE=1 runs it); the corpus replay ran in cargo test"
fi
# The backend fuzzed from its OpenAPI document, as an admin, a supervisor,
# an officer, a Navigator and with no token (schemathesis; seeded, 20 s a
# role here).
step fuzz-api -- bash scripts/fuzz-api.sh 20
# The supervisors' review page in Chromium against a backend holding
# simulated patrols: figures against the export, tracks drawn, roles, axe.
step review-browser -- bash scripts/review-browser.sh

# The UniFFI surface, proven from the foreign side: build the library and
# generate its bindings (Swift's C header is compiled with gcc there), then
# drive them from Python and from Kotlin on the JVM against the real library
# and a real backend on loopback.
step bindings -- bash scripts/bindings.sh
# The design's figures, quick sizes, on this (busy) machine: printed for the
# log, never a gate (README has the full run and why a loaded machine
# misses); the FFI library's size is the one bindings.sh just built.
step "bench (quick)" -- "$SIM" bench --quick
# The iOS shell as far as Linux can check it (no Swift compiler here): every
# Swift file parses, every bindings name it uses exists in the generated
# Swift, the C header compiles as its module with clang; and each check
# fails on a broken input (its self-test).
step ios-checks -- bash scripts/ios-checks.sh --self-test
step pytest -- python3 -m pytest -q -p no:cacheprovider bindings/python
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
step kotlin -- kotlin_tests
# A real identity provider: Keycloak 26 on loopback (scripts/keycloak.sh:
# fetched with Maven and its realms imported once, then cached), its real
# login form driven with PKCE; the release backend verifying its tokens
# (roles, hostile tokens, a disabled user, key rotation with no restart),
# and the handset core signing in through its Python bindings, renewing
# after a restart and told to sign in again when the account is disabled.
step keycloak -- env BACKEND_BIN="${CARGO_TARGET_DIR:-target}/release/guardian-backend" \
    bash scripts/keycloak-tests.sh

# The Android shell: the real shell under Robolectric against the real
# library and a backend on loopback (screens drawn into
# android-shell/target/screens/), then a debug APK built and verified.
step android -- bash scripts/android-shell.sh
