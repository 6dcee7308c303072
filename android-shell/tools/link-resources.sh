#!/usr/bin/env bash
# Links the app's resources with aapt2 the way the Android Gradle Plugin
# would, for the builds that run without it (the Maven/Robolectric build and
# scripts/android-apk.sh):
#
#   OUT/AndroidManifest.xml  the source manifest with its package, SDK levels
#                            and version put in (AGP's manifest merge does this
#                            from app/build.gradle.kts; keep the values equal)
#   OUT/resources.ap_        compiled resources + binary manifest
#   OUT/r/guardian/android/R.java
#
# Usage: link-resources.sh OUT_DIR
# Needs aapt2 (Debian android-sdk-build-tools) and the framework resources
# to link against (Debian android-framework-res: API 29's; every attribute
# the app uses exists there, and attribute ids never change between levels).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
main="$here/app/src/main"
framework="${ANDROID_FRAMEWORK_RES:-/usr/share/android-framework-res/framework-res.apk}"
# Keep equal to app/build.gradle.kts.
package=guardian.android
min_sdk=31
target_sdk=35
version_code=1
version_name=0.1.0

mkdir -p "$out"
rm -rf "$out/r" "$out/compiled.zip"
# The source manifest has no package (AGP 8 takes it from `namespace`) and
# no <uses-sdk> (AGP takes it from the build file): put both in, as AGP's
# merge does, so Robolectric reads the same target SDK the APK declares.
ns='<manifest xmlns:android="http://schemas.android.com/apk/res/android">'
grep -qF "$ns" "$main/AndroidManifest.xml" || { echo "manifest must open with: $ns" >&2; exit 1; }
sed "s|$ns|<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\" package=\"$package\" android:versionCode=\"$version_code\" android:versionName=\"$version_name\">\\n    <uses-sdk android:minSdkVersion=\"$min_sdk\" android:targetSdkVersion=\"$target_sdk\" />|" \
    "$main/AndroidManifest.xml" > "$out/AndroidManifest.xml"
# Debian's aapt2 (2.19) predates <queries> (API 30's package visibility,
# which the sign-in's Custom Tabs lookup declares) and refuses it: it is
# left out of these builds only; AGP's aapt2 links the manifest as written.
sed -i '/<queries>/,/<\/queries>/d' "$out/AndroidManifest.xml"
aapt2 compile --dir "$main/res" -o "$out/compiled.zip"
aapt2 link -I "$framework" \
    --manifest "$out/AndroidManifest.xml" \
    --java "$out/r" \
    -o "$out/resources.ap_" "$out/compiled.zip"
