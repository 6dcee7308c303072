#!/usr/bin/env bash
# Builds GuardianFFI.xcframework from the Rust core's static library, and
# the Swift bindings GuardianKit compiles, on a Mac. Not run on the Linux
# CI machine (no Apple SDKs there): scripts/ios-checks.sh checks what can
# be checked without them.
#
# Needs: Xcode (xcodebuild, lipo), rustup with the three iOS targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#
#   bash ios-shell/scripts/build-xcframework.sh        # release
#   PROFILE=debug bash ios-shell/scripts/build-xcframework.sh
#
# Makes (all ignored by git):
#   ios-shell/build/GuardianFFI.xcframework
#       ios-arm64/                    device: libguardian_ffi.a + Headers
#       ios-arm64_x86_64-simulator/   one fat library for both simulators
#   ios-shell/Sources/GuardianFFI/guardian_ffi.swift
#
# One Rust static library per app: two would each carry the Rust standard
# library and clash at link time (see the design's pitfalls).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${PROFILE:-release}"
OUT="$ROOT/ios-shell/build"
FLAG=()
[ "$PROFILE" = release ] && FLAG=(--release)

if [ "$(uname -s)" != Darwin ]; then
    echo "build-xcframework.sh needs macOS with Xcode; on Linux run scripts/ios-checks.sh" >&2
    exit 2
fi

export IPHONEOS_DEPLOYMENT_TARGET=16.0
for triple in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
    # The static library alone (as bindings.sh links the cdylib alone):
    # built beside the rlib and cdylib, LTO leaves more code in it.
    cargo rustc "${FLAG[@]}" -p guardian-ffi --lib --crate-type staticlib --target "$triple"
done

# The Swift bindings come from the host library in library mode (it needs
# the unstripped build; the interface is the same for every target).
cargo build -p guardian-ffi --features cli --lib --bin uniffi-bindgen
GEN="$OUT/generated"
rm -rf "$GEN" && mkdir -p "$GEN"
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libguardian_ffi.dylib" \
    --language swift --out-dir "$GEN"

# Headers as SwiftPM and Xcode expect them: the C header and a
# module.modulemap declaring the `guardian_ffiFFI` module the Swift file
# imports.
HEADERS="$OUT/headers"
rm -rf "$HEADERS" && mkdir -p "$HEADERS"
cp "$GEN/guardian_ffiFFI.h" "$HEADERS/"
cp "$GEN/guardian_ffiFFI.modulemap" "$HEADERS/module.modulemap"

SIM="$OUT/sim"
mkdir -p "$SIM"
lipo -create \
    "$TARGET/aarch64-apple-ios-sim/$PROFILE/libguardian_ffi.a" \
    "$TARGET/x86_64-apple-ios/$PROFILE/libguardian_ffi.a" \
    -output "$SIM/libguardian_ffi.a"

rm -rf "$OUT/GuardianFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$TARGET/aarch64-apple-ios/$PROFILE/libguardian_ffi.a" -headers "$HEADERS" \
    -library "$SIM/libguardian_ffi.a" -headers "$HEADERS" \
    -output "$OUT/GuardianFFI.xcframework"

cp "$GEN/guardian_ffi.swift" "$ROOT/ios-shell/Sources/GuardianFFI/"
echo "made $OUT/GuardianFFI.xcframework and Sources/GuardianFFI/guardian_ffi.swift"
echo "next: cd ios-shell && xcodegen generate && open Guardian.xcodeproj"
echo "tests: xcodebuild test -scheme GuardianKit -destination 'platform=iOS Simulator,name=iPhone 15'"
