#!/usr/bin/env bash
# A debug-signed APK of the Android shell, built without the Android Gradle
# Plugin from the same app/src/main tree the Gradle build uses:
#
#   aapt2 link       resources + manifest (android-shell/tools/link-resources.sh)
#   kotlinc          the shell + generated bindings (Maven's Kotlin plugin, pom.xml)
#   D8               classes -> classes.dex (com.android.tools:r8 from Maven
#                    Central, android-all as the library)
#   zipalign, apksigner sign (a debug key made here), apksigner verify,
#   aapt dump badging
#
# The APK has NO native library: libguardian_ffi.so for arm64-v8a needs the
# Android NDK (cargo-ndk), which this machine does not have. It installs and
# its screens inflate, but the core cannot load on a phone; the Gradle
# build (app/build.gradle.kts) is the one that ships.
#
# Needs scripts/bindings.sh to have run (the generated Kotlin bindings), a
# JDK 17 with Maven, and Debian's android-sdk-build-tools + android-framework-res
# (scripts/android-shell.sh installs them). Output: android-shell/target/apk/.
set -euo pipefail
cd "$(dirname "$0")/../android-shell"
TARGET="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"
R8_VERSION=8.11.18
out="target/apk"
rm -rf "$out"
mkdir -p "$out/dex"

# 1. Resources, R.java and the classes: the same Maven build as the tests
#    (generate-sources runs link-resources.sh into target/android).
mvn -q -B -Dstyle.color=never compile -Dguardian.target="$TARGET"
# What the app ships besides its own classes (android-all is provided by the phone).
mvn -q -B -Dstyle.color=never dependency:build-classpath -DincludeScope=runtime -Dmdep.outputFile="$out/runtime.classpath" >/dev/null
mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="com.android.tools:r8:$R8_VERSION" -DoutputDirectory="$out/tools" >/dev/null
mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="org.robolectric:android-all:15-robolectric-14663667-2" -DoutputDirectory="$out/tools" >/dev/null
android_jar="$out/tools/android-all-15-robolectric-14663667-2.jar"

# 2. Dex. JNA's jar carries desktop natives (and AWT glue) the phone never
#    loads; D8 dexes its classes (a Gradle build uses JNA's aar instead).
IFS=: read -r -a jars < "$out/runtime.classpath" || true
jar cf "$out/app.jar" -C target/classes .
java -cp "$out/tools/r8-$R8_VERSION.jar" com.android.tools.r8.D8 \
    --release --min-api 31 --lib "$android_jar" --output "$out/dex" \
    "$out/app.jar" "${jars[@]}" 2> "$out/d8.log" || { cat "$out/d8.log" >&2; exit 1; }

# 3. The APK: linked resources + dex, aligned, signed with a debug key.
cp target/android/resources.ap_ "$out/unsigned.apk"
python3 - "$out/unsigned.apk" "$out/dex" <<'PY'
import os, sys, zipfile
apk, dex = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(apk, "a", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(dex)):
        if name.endswith(".dex"):
            z.write(os.path.join(dex, name), name)
PY
zipalign -p -f 4 "$out/unsigned.apk" "$out/aligned.apk"
keystore="$out/debug.keystore"
keytool -genkeypair -keystore "$keystore" -storepass android -keypass android -alias androiddebugkey \
    -keyalg RSA -keysize 2048 -validity 10000 -dname "CN=Android Debug,O=Android,C=US" >/dev/null 2>&1
apksigner sign --ks "$keystore" --ks-pass pass:android --key-pass pass:android \
    --out "$out/guardian-debug.apk" "$out/aligned.apk"

# 4. Checks: signatures verify, and the manifest reads as Android reads it.
apksigner verify --verbose "$out/guardian-debug.apk" | grep -E '^Verifie[sd]|^Verified' 
aapt dump badging "$out/guardian-debug.apk" > "$out/badging.txt"
grep -E "^package:|^sdkVersion|^targetSdkVersion|^launchable-activity|uses-permission: name='android.permission.(ACCESS_FINE_LOCATION|FOREGROUND_SERVICE_LOCATION)'" "$out/badging.txt"
if unzip -l "$out/guardian-debug.apk" | grep -q 'lib/arm64-v8a/'; then
    echo "apk: unexpected native library" >&2
    exit 1
fi
bytes=$(stat -c %s "$out/guardian-debug.apk")
echo "apk: $out/guardian-debug.apk ($bytes bytes, $(ls "$out/dex" | wc -l) dex file(s); no native library: no NDK here)"
