// The app. Keep namespace, SDK levels and version equal to
// tools/link-resources.sh (the CI and APK builds that run without AGP).
//
// The Rust core: build libguardian_ffi.so per ABI with cargo-ndk before
// assembling (the task below runs it), and the Kotlin bindings with
// scripts/bindings.sh (library mode needs an unstripped host build):
//
//   cargo install cargo-ndk
//   rustup target add aarch64-linux-android x86_64-linux-android
//   bash scripts/bindings.sh          # writes $CARGO_TARGET_DIR/bindings/kotlin
//   ./gradlew :app:assembleDebug      # runs cargoNdk first
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

val repo = rootDir.parentFile
val cargoTarget = System.getenv("CARGO_TARGET_DIR") ?: "$repo/target"
val jniOut = layout.buildDirectory.dir("rust/jniLibs")

android {
    namespace = "guardian.android"
    compileSdk = 35
    defaultConfig {
        applicationId = "guardian.android"
        minSdk = 31
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    sourceSets["main"].apply {
        // The generated UniFFI bindings (never committed) and the per-ABI libraries.
        kotlin.srcDir("$cargoTarget/bindings/kotlin")
        jniLibs.srcDir(jniOut)
    }
    testOptions.unitTests.isIncludeAndroidResources = true
    // 16 KB pages (Android 15+): keep the .so uncompressed and page-aligned.
    packaging.jniLibs.useLegacyPackaging = false
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation("net.java.dev.jna:jna:5.18.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.robolectric:robolectric:4.17")
    testImplementation("net.java.dev.jna:jna:5.18.1")
}

// libguardian_ffi.so for each ABI a patrol phone has, with 16 KB page
// alignment (set for the Android targets in .cargo/config.toml or here).
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repo
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384")
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "x86_64", "--platform", "31",
        // `rustc --crate-type cdylib`: linked on its own, LTO leaves ~1 MB
        // less in it than when the crate's other types are built with it.
        "-o", jniOut.get().asFile.path, "rustc", "--release", "-p", "guardian-ffi", "--lib", "--crate-type", "cdylib",
    )
}
tasks.named("preBuild") { dependsOn(cargoNdk) }
