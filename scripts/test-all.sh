#!/usr/bin/env bash
# Every check CI runs: formatting, the layer rules, lints as errors, all
# tests. Needs the Rust toolchain and a C compiler, Python 3 with pytest,
# schemathesis and sqlcipher3-binary, a nightly toolchain with cargo-fuzz
# (optional: the fuzz step says so and skips without), a JDK 17 with Maven
# (which fetches Kotlin, JNA and JUnit itself), and Node.js with Debian's
# Chromium (the review page's browser tests);
# `.ci/run` installs what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
# The import rules written in core/src/lib.rs and backend/src/lib.rs.
python3 scripts/layers.py --self-test
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# The same backend suite again on PostgreSQL (Debian's server, a throwaway
# cluster on loopback run as an unprivileged user; scripts/pg.sh), then the
# reconnect storm at a size that runs in about a minute on each store.
if [ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ]; then
    eval "$(bash scripts/pg.sh start)"
    trap 'bash scripts/pg.sh stop' EXIT
    cargo test -p guardian-backend
    echo "backend suite: passed on PostgreSQL"
    storm_db="$(mktemp -d)/storm.db"
    "${CARGO_TARGET_DIR:-target}/debug/guardian-sim" load --handsets 200 --backlog-minutes 60 --serve-db "$storm_db"
    "${CARGO_TARGET_DIR:-target}/debug/guardian-sim" load --handsets 200 --backlog-minutes 60 \
        --serve-database-url "$GUARDIAN_TEST_DATABASE_URL"
else
    echo "PostgreSQL is not installed: the backend suite ran on SQLite only" >&2
    [ -z "${CI:-}" ] || exit 1
fi
# Nothing acknowledged is lost, nothing is stored twice: the handset process
# SIGKILLed 100 times (some inside a sync pass, a pack apply, opening the
# store, a migration) and its power cut 200 times under the fault VFS
# (unsynced writes kept, dropped or torn), seeded; README has the 1,000-kill
# command. The binary is the one `cargo test` just built.
"${CARGO_TARGET_DIR:-target}/debug/guardian-sim" torture --kills 100 --power-cuts 200 --seed "${GUARDIAN_TORTURE_SEED:-20261130}"
# The core's parsers and decoders under libFuzzer, from the committed
# corpora, 20 s a target (nightly + cargo-fuzz; the stable replay of the
# same corpora ran in `cargo test` above either way).
bash scripts/fuzz-core.sh 20
# The backend fuzzed from its OpenAPI document, as an admin, a supervisor,
# an officer, a Navigator and with no token (schemathesis; seeded, 45 s a
# role here).
bash scripts/fuzz-api.sh 45
# The supervisors' review page in Chromium against a backend holding
# simulated patrols: figures against the export, tracks drawn, roles, axe.
bash scripts/review-browser.sh

# The UniFFI surface, proven from the foreign side: build the library and
# generate its bindings (Swift's C header is compiled with gcc there), then
# drive them from Python and from Kotlin on the JVM against the real library
# and a real backend on loopback.
bash scripts/bindings.sh
# The iOS shell as far as Linux can check it (no Swift compiler here): every
# Swift file parses, every bindings name it uses exists in the generated
# Swift, the C header compiles as its module with clang; and each check
# fails on a broken input (its self-test).
bash scripts/ios-checks.sh --self-test
python3 -m pytest -q -p no:cacheprovider bindings/python
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
(
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

# The Android shell: the real shell under Robolectric against the real
# library and a backend on loopback (screens drawn into
# android-shell/target/screens/), then a debug APK built and verified.
bash scripts/android-shell.sh
