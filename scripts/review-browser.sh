#!/usr/bin/env bash
# The supervisors' patrol review in a real browser: `guardian-sim
# review-seed` walks four handsets (compliant, PCSO-led, too short, outside
# the window) through the core and syncs them to a new backend database;
# `guardian-backend serve` serves it on loopback; Debian's Chromium, driven
# by playwright-core (npm, pinned in backend/review-tests), signs in and
# checks the pages against `guardian-backend export` and `export --summary`
# (of the seeded day),
# runs axe-core on them, and saves screenshots under target/screens/.
#
#   bash scripts/review-browser.sh          (CHROMIUM=/path overrides the browser)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/backend.sh
started=$(date +%s)
TARGET="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$CHROMIUM" ]; then
    echo "no chromium: install Debian's chromium (.ci/run does)" >&2
    exit 1
fi
cargo build -q -p guardian-backend -p guardian-sim --bins
BIN="$TARGET/debug/guardian-backend"
SIM="$TARGET/debug/guardian-sim"

backend_work
DB="$WORK/force.db"

"$SIM" review-seed --db "$DB" >"$WORK/seed.json"
# The day view is compared with the export of the same day.
DAY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["day"])' "$WORK/seed.json")"
"$BIN" export --db "$DB" --summary --from "$DAY" --to "$DAY" >"$WORK/summary.json"
"$BIN" export --db "$DB" --from "$DAY" --to "$DAY" >"$WORK/compliance.csv"
SUPERVISOR="$("$BIN" token --db "$DB" --sub sgt-browser --role supervisor)"
OFFICER="$("$BIN" token --db "$DB" --sub pc-compliant --role officer)"
"$BIN" create-navigator --db "$DB" --id nav-browser --name "Navigator Browser" --authority birmingham >/dev/null
NAVIGATOR="$("$BIN" token --db "$DB" --sub nav-browser --role navigator)"
AUDITOR="$("$BIN" token --db "$DB" --sub dpo-browser --role auditor)"

serve_backend "$BIN" "$DB" "$WORK/server.log"

(cd backend/review-tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
status=0
REVIEW_BASE="$BACKEND_URL" REVIEW_SUPERVISOR="$SUPERVISOR" REVIEW_OFFICER="$OFFICER" REVIEW_NAVIGATOR="$NAVIGATOR" REVIEW_AUDITOR="$AUDITOR" \
    REVIEW_SEED="$WORK/seed.json" REVIEW_SUMMARY="$WORK/summary.json" REVIEW_CSV="$WORK/compliance.csv" \
    REVIEW_SCREENS="$TARGET/screens" CHROMIUM="$CHROMIUM" \
    node --test --test-reporter=spec backend/review-tests/review.test.mjs || status=1
if grep -q "panicked" "$WORK/server.log"; then
    echo "the server panicked:" >&2
    grep -A3 panicked "$WORK/server.log" >&2
    status=1
fi
echo "review browser suite: $(( $(date +%s) - started )) s; screenshots in $TARGET/screens/"
exit "$status"
