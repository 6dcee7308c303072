#!/usr/bin/env bash
# The Android shell's CI, in one command: installs what a fresh machine
# lacks, runs the Robolectric suite (the real shell against the real core
# library and a real backend on loopback; screens drawn into
# android-shell/target/screens/), prints the count, then builds and checks
# the debug APK (scripts/android-apk.sh). Fails on any failing test.
#
# Needs the outputs of scripts/bindings.sh in $CARGO_TARGET_DIR/bindings
# (the generated Kotlin bindings, the release library) and the debug
# guardian-backend it builds; scripts/test-all.sh runs that first.
# Maven fetches Kotlin, Robolectric, its instrumented android-all, JNA, R8.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
TARGET="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"

# Debian's Android build tools (aapt2, aapt, zipalign, apksigner) and the
# framework resources aapt2 links against; a JDK and Maven. Only if missing.
need=()
for tool in aapt2 aapt zipalign apksigner; do
    command -v "$tool" >/dev/null || need+=(android-sdk-build-tools)
done
[ -f /usr/share/android-framework-res/framework-res.apk ] || need+=(android-framework-res)
{ command -v mvn >/dev/null && command -v javac >/dev/null; } || need+=(maven default-jdk-headless)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q
    # shellcheck disable=SC2046
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u)
fi

kotlin_bindings="$TARGET/bindings/kotlin/uniffi/guardian_ffi/guardian_ffi.kt"
if [ ! -f "$kotlin_bindings" ] || [ ! -f "$TARGET/bindings/lib/libguardian_ffi.so" ]; then
    echo "android: no bindings in $TARGET/bindings: run scripts/bindings.sh first" >&2
    exit 1
fi
export GUARDIAN_FIXTURES="${GUARDIAN_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"

(
    cd android-shell
    rm -rf target/surefire-reports target/screens
    status=0
    mvn -q -B -Dstyle.color=never test -Dguardian.target="$TARGET" || status=$?
    # `-q` hides Surefire's summary: count the reports instead.
    python3 - "$status" <<'PY'
import glob, sys
import xml.etree.ElementTree as ET
t = f = s = 0
for p in glob.glob("target/surefire-reports/TEST-*.xml"):
    r = ET.parse(p).getroot()
    t += int(r.get("tests")); s += int(r.get("skipped"))
    f += int(r.get("failures")) + int(r.get("errors"))
print(f"android: {t - f - s} passed, {f} failed, {s} skipped")
raise SystemExit(1 if f or not t or sys.argv[1] != "0" else 0)
PY
    shots=$(ls target/screens/*.png 2>/dev/null | wc -l)
    echo "android: $shots screens drawn into android-shell/target/screens/"
)

bash scripts/android-apk.sh
echo "android: done in $(( $(date +%s) - started )) s"
