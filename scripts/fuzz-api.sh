#!/usr/bin/env bash
# Fuzzes the reference backend from backend/openapi.yaml with schemathesis
# (PyPI), against a real server on loopback holding realistic data: every
# check, the examples, coverage, fuzzing and stateful phases, as an admin,
# a supervisor (the review routes), an officer, a Navigator and with no
# token. Fails on any 5xx, any answer
# the document does not describe, or any other failed check.
#
#   bash scripts/fuzz-api.sh [SECONDS_PER_ROLE] [SEED]
#
# CI runs it seeded and short (`.ci/run`); run it longer by hand:
#   bash scripts/fuzz-api.sh 600 $RANDOM
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/backend.sh
SECONDS_PER_ROLE="${1:-60}"
SEED="${2:-20261130}"
TARGET="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
FIXTURES="${GUARDIAN_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
BIN="$TARGET/debug/guardian-backend"
cargo build -q -p guardian-backend --bin guardian-backend

backend_work
DB="$WORK/backend.db"

# Realistic data: the demo areas, the seven authorities' ward boundaries,
# officers of two ranks, a Navigator team, today's draw and the library.
"$BIN" load-areas --db "$DB" sim/data/demo-areas.geojson >/dev/null
"$BIN" load-boundaries --db "$DB" "$FIXTURES/boundaries" >/dev/null
"$BIN" create-officer --db "$DB" --id pc-fuzz --name "PC Fuzz" --rank constable >/dev/null
"$BIN" create-officer --db "$DB" --id pcso-fuzz --name "PCSO Fuzz" --rank pcso >/dev/null
"$BIN" create-navigator --db "$DB" --id nav-fuzz --name "Navigator Fuzz" --authority birmingham >/dev/null
"$BIN" schedule --db "$DB" --date "$(date -u +%F)" --seed 7 >/dev/null
"$BIN" publish-library --db "$DB" library >/dev/null
ADMIN="$("$BIN" token --db "$DB" --sub admin-fuzz --role admin)"
OFFICER="$("$BIN" token --db "$DB" --sub pc-fuzz --role officer)"
NAVIGATOR="$("$BIN" token --db "$DB" --sub nav-fuzz --role navigator)"
SUPERVISOR="$("$BIN" token --db "$DB" --sub sgt-fuzz --role supervisor)"
AUDITOR="$("$BIN" token --db "$DB" --sub dpo-fuzz --role auditor)"

serve_backend "$BIN" "$DB" "$WORK/server.log"

export SCHEMATHESIS_HOOKS=hooks
export PYTHONPATH="$PWD/backend/fuzz${PYTHONPATH:+:$PYTHONPATH}"
status=0
for role in admin supervisor officer navigator auditor anonymous; do
    case "$role" in
        admin) auth=(-H "Authorization: Bearer $ADMIN") ;;
        supervisor) auth=(-H "Authorization: Bearer $SUPERVISOR") ;;
        officer) auth=(-H "Authorization: Bearer $OFFICER") ;;
        navigator) auth=(-H "Authorization: Bearer $NAVIGATOR") ;;
        auditor) auth=(-H "Authorization: Bearer $AUDITOR") ;;
        anonymous) auth=() ;;
    esac
    echo "== fuzzing as $role for ${SECONDS_PER_ROLE}s (seed $SEED)"
    if ! st run backend/openapi.yaml --url "$BACKEND_URL" "${auth[@]}" \
        --checks all --exclude-checks positive_data_acceptance \
        --phases examples,coverage,fuzzing,stateful \
        --seed "$SEED" --max-time "$SECONDS_PER_ROLE" --workers 2 \
        --generation-database none --no-color --suppress-health-check all \
        --report junit --report-dir "$TARGET/fuzz-api/$role"; then
        status=1
    fi
done
if grep -q "panicked" "$WORK/server.log"; then
    echo "the server panicked:" >&2
    grep -A3 panicked "$WORK/server.log" >&2
    status=1
fi
kill "$BACKEND_PID" 2>/dev/null || true
wait "$BACKEND_PID" 2>/dev/null || true
BACKEND_PID=""
exit "$status"
