#!/usr/bin/env bash
# The backend as an OpenID Connect resource server against a real Keycloak
# 26 (scripts/keycloak.sh, the realms in scripts/keycloak/): tokens from the
# real login form by authorization code + PKCE, the role routes, hostile
# tokens, disabled users and a signing-key rotation under a running backend
# (scripts/keycloak-e2e.py).
#
#   bash scripts/keycloak-tests.sh
#   GUARDIAN_KEYCLOAK_URL=http://127.0.0.1:8081 bash scripts/keycloak-tests.sh
#
# With GUARDIAN_KEYCLOAK_URL a running Keycloak holding those realms is used
# (and left running; GUARDIAN_KEYCLOAK_ADMIN[_PASSWORD] name its admin);
# otherwise one is started and stopped on exit. BACKEND_BIN names the
# binary; without it the debug build is built first. Needs a JDK 21+ for
# Keycloak, Maven (first run: the distribution) and Python 3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/keycloak.sh

if [ -z "${BACKEND_BIN:-}" ]; then
    cargo build -q -p guardian-backend --bin guardian-backend
    BACKEND_BIN="${CARGO_TARGET_DIR:-target}/debug/guardian-backend"
fi

if [ -n "${GUARDIAN_KEYCLOAK_URL:-}" ]; then
    KEYCLOAK_URL="$GUARDIAN_KEYCLOAK_URL"
    echo "keycloak-tests: using the Keycloak on $KEYCLOAK_URL"
else
    # Stopped however the script ends, also when it never came up.
    trap keycloak_stop EXIT
    keycloak_start
fi

started=$SECONDS
# The handset core's own sign-in too, when the Python bindings are built.
bindings="${CARGO_TARGET_DIR:-target}/bindings/python"
extra=()
[ -f "$bindings/guardian_ffi.py" ] && extra=(--bindings "$bindings")
python3 scripts/keycloak-e2e.py --keycloak "$KEYCLOAK_URL" --backend "$BACKEND_BIN" "${extra[@]}"
echo "keycloak-tests: passed in $((SECONDS - started)) s"
