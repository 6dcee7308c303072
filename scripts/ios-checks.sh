#!/usr/bin/env bash
# What CI can check of the iOS shell on Linux, where there is no Swift
# compiler and no Apple SDK (ios-shell/README.md says what only a Mac
# checks). Assumes scripts/bindings.sh has run: it reads the generated
# Swift bindings in $CARGO_TARGET_DIR/bindings/swift/.
#
#   (a) parse: every .swift file in ios-shell/ and the generated
#       guardian_ffi.swift parses with tree-sitter's Swift grammar;
#   (b) names: every bindings name the shell uses (types, members, enum
#       cases, functions, argument labels) exists in the generated Swift,
#       both read with the same parser (ios-shell/checks/swiftcheck.js);
#   (c) C: the generated header, as the module its modulemap declares,
#       compiles with clang -fmodules -Wall -Wextra -Werror (as C and as
#       Objective-C `@import`, the way Swift's importer loads it).
#
#   bash scripts/ios-checks.sh              the checks
#   bash scripts/ios-checks.sh --self-test  the checks, then proof that each
#                                           fails on a broken input
#
# Installs what a fresh machine lacks: node/npm and clang from Debian if
# missing, and the pinned npm packages (ios-shell/checks/package-lock.json,
# --ignore-scripts: both ship prebuilt N-API binaries for linux-x64, so
# nothing is compiled or downloaded at install) under the target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SWIFT_OUT="${SWIFT_BINDINGS_DIR:-$TARGET/bindings/swift}"
TOOLS="$TARGET/ios-checks"
CHECKS="$ROOT/ios-shell/checks"
SELF_TEST=false
[ "${1:-}" = --self-test ] && SELF_TEST=true
start=$(date +%s.%N)

apt_updated=false
need() { # need COMMAND DEBIAN-PACKAGE...
    command -v "$1" >/dev/null && return
    echo "ios-checks: installing ${*:2} (no $1 here)"
    if ! $apt_updated; then
        apt-get update -qq
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${@:2}" >/dev/null
}
need node nodejs
need npm npm
need clang clang

# The pinned grammar, reinstalled only when the lock file changes.
mkdir -p "$TOOLS"
stamp="$TOOLS/installed.sha256"
want=$(sha256sum "$CHECKS/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$TOOLS/node_modules/tree-sitter-swift" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    cp "$CHECKS/package.json" "$CHECKS/package-lock.json" "$TOOLS/"
    (cd "$TOOLS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi
export NODE_PATH="$TOOLS/node_modules"
if ! node -e 'new (require("tree-sitter"))().setLanguage(require("tree-sitter-swift"))' 2>/dev/null; then
    echo "ios-checks: the prebuilt tree-sitter binaries do not load on $(uname -sm) with node $(node --version)" >&2
    exit 1
fi

for f in guardian_ffi.swift guardian_ffiFFI.h guardian_ffiFFI.modulemap; do
    if [ ! -f "$SWIFT_OUT/$f" ]; then
        echo "ios-checks: $SWIFT_OUT/$f is missing: run scripts/bindings.sh first" >&2
        exit 1
    fi
done

shell_files() {
    find "$ROOT/ios-shell" -name '*.swift' -not -path '*/.build/*' -not -path '*/build/*' \
        -not -path '*/Sources/GuardianFFI/*' | sort
}

# (a) and (b): swiftcheck FILES... [--bindings B]
swiftcheck() {
    node "$CHECKS/swiftcheck.js" --platform "$CHECKS/platform-names.txt" "$@"
}

# (c): header_check DIR-WITH-HEADER-AND-MODULEMAP
header_check() {
    local dir=$1 work
    work=$(mktemp -d)
    printf '#include "guardian_ffiFFI.h"\nint main(void) { return 0; }\n' > "$work/check.c"
    printf '@import guardian_ffiFFI;\nint main(void) { return 0; }\n' > "$work/check.m"
    local flags=(-fsyntax-only -Wall -Wextra -Werror -fmodules -fmodules-cache-path="$work/cache"
        -fmodule-map-file="$dir/guardian_ffiFFI.modulemap" -I "$dir")
    local rc=0
    clang -std=c11 "${flags[@]}" "$work/check.c" || rc=1
    [ $rc = 0 ] && { clang -x objective-c "${flags[@]}" "$work/check.m" || rc=1; }
    rm -rf "$work"
    return $rc
}

mapfile -t files < <(shell_files)
echo "== (a)+(b) parse ${#files[@]} shell files and the bindings; check the names the shell uses"
swiftcheck --bindings "$SWIFT_OUT/guardian_ffi.swift" "${files[@]}"
echo "== (c) the C header and modulemap compile with clang (modules on, -Wall -Wextra -Werror)"
header_check "$SWIFT_OUT"
echo "clang: guardian_ffiFFI.h as module guardian_ffiFFI: clean"

if $SELF_TEST; then
    echo "== self-test: each check must fail on a broken input"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    passed=0 failed=0
    expect_failure() { # NAME EXPECTED-TEXT COMMAND...
        local name=$1 expected=$2 out
        shift 2
        if out=$("$@" 2>&1); then
            echo "self-test FAIL: $name: the check passed"
            failed=$((failed + 1))
        elif ! grep -qF -- "$expected" <<<"$out"; then
            echo "self-test FAIL: $name: failed without saying \"$expected\":"
            echo "$out" | tail -5
            failed=$((failed + 1))
        else
            echo "self-test ok: $name caught: $(grep -F -m1 -- "$expected" <<<"$out")"
            passed=$((passed + 1))
        fi
    }
    # mutant NAME FILE SED-EXPRESSION EXPECTED-TEXT: FILE with one change,
    # read with every other shell file, must fail saying EXPECTED-TEXT.
    mutant() {
        local name=$1 file="$ROOT/ios-shell/$2" expr=$3 expected=$4 rest=()
        mkdir -p "$work/$name"
        sed "$expr" "$file" > "$work/$name/$(basename "$file")"
        if cmp -s "$file" "$work/$name/$(basename "$file")"; then
            echo "self-test: the mutation $name changed nothing in $file" >&2
            exit 1
        fi
        for f in "${files[@]}"; do [ "$f" = "$file" ] || rest+=("$f"); done
        expect_failure "(b) $name" "$expected" \
            swiftcheck --bindings "$SWIFT_OUT/guardian_ffi.swift" "$work/$name/$(basename "$file")" "${rest[@]}"
    }

    # (a) a Swift file that does not parse
    mkdir -p "$work/parse"
    printf 'struct Broken {\n    func f( -> Int { return 1 }\n}\n' > "$work/parse/Broken.swift"
    expect_failure "(a) a broken Swift file" "parse/Broken.swift:" swiftcheck "$work/parse/Broken.swift"
    # (a) the generated bindings, damaged
    head -c 20000 "$SWIFT_OUT/guardian_ffi.swift" > "$work/parse/guardian_ffi.swift"
    expect_failure "(a) truncated bindings" "parse/guardian_ffi.swift:" swiftcheck "$work/parse/guardian_ffi.swift"

    # (b) names the bindings do not have, each used the way the shell uses names
    mutant "a non-existent method" Sources/GuardianKit/Core.swift \
        's/ffi\.checkIn(areaId:/ffi.checkInNow(areaId:/' "Guardian.checkInNow is not in the generated bindings"
    mutant "a non-existent function" Sources/GuardianKit/Core.swift \
        's/patrolStatusText(status: status)/patrolStatusWords(status: status)/' "patrolStatusWords(…) is not in the bindings"
    mutant "a wrong argument label" Sources/GuardianKit/Core.swift \
        's/ffi\.libraryOpenArticle(articleId: id)/ffi.libraryOpenArticle(id: id)/' "does not match the bindings'"
    mutant "a non-existent record field" App/PatrolView.swift \
        's/status\.inAreaNow/status.insideNow/' "PatrolStatus.insideNow is not in the generated bindings"
    mutant "a non-existent type" App/ReferralView.swift \
        's/@State private var route: RoutePreview?/@State private var route: RoutingPreview?/' "type RoutingPreview is not in the bindings"
    mutant "a non-existent error case" App/Handset.swift \
        's/case StoreError.Corrupt(let message)/case StoreError.Damaged(let message)/' "StoreError.Damaged is not a case"
    mutant "a non-existent enum case" Sources/GuardianKit/Connectivity.swift \
        's/case \.warn:/case .warning:/' ".warning is not a case of LogLevel"
    mutant "allCases of a type that is not CaseIterable" App/ReferralView.swift \
        's/ForEach(Authority\.allCases/ForEach(Fix.allCases/' \
        "is not CaseIterable in the generated bindings"

    # (c) a header that does not compile, one that only warns, and a
    # modulemap naming another module
    for kind in syntax warning modulemap; do
        mkdir -p "$work/h-$kind"
        cp "$SWIFT_OUT/guardian_ffiFFI.h" "$SWIFT_OUT/guardian_ffiFFI.modulemap" "$work/h-$kind/"
    done
    printf '\nvoid guardian_broken(int a\n' >> "$work/h-syntax/guardian_ffiFFI.h"
    expect_failure "(c) a broken header" "error:" header_check "$work/h-syntax"
    printf '\nstatic inline int guardian_warns(void) { int unused; return 0; }\n' >> "$work/h-warning/guardian_ffiFFI.h"
    expect_failure "(c) a header that warns (-Werror)" "-Werror" header_check "$work/h-warning"
    sed -i 's/module guardian_ffiFFI/module guardian_ffiFFI_renamed/' "$work/h-modulemap/guardian_ffiFFI.modulemap"
    expect_failure "(c) a modulemap without the module" "error:" header_check "$work/h-modulemap"

    echo "self-test: $passed passed, $failed failed"
    [ "$failed" = 0 ] || exit 1
fi

awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "ios-checks: done in %.1f s\n", e - s }'
