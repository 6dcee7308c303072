// swift-tools-version:5.9
//
// GuardianKit: the Swift face of Guardian's Rust core for the iOS app.
//
//   guardian_ffiFFI  the Rust static library and its C header, as an
//                    XCFramework (made by scripts/build-xcframework.sh)
//   GuardianFFI      the Swift bindings UniFFI generates over that header
//                    (copied in by the same script; not committed)
//   GuardianKit      async/await over the core's blocking calls, events as
//                    AsyncStream, the Keychain key, connectivity and the
//                    location tracker. No rules: every decision is the core's.
import PackageDescription

let package = Package(
    name: "GuardianKit",
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "GuardianKit", targets: ["GuardianKit"]),
    ],
    targets: [
        .binaryTarget(name: "guardian_ffiFFI", path: "build/GuardianFFI.xcframework"),
        .target(
            name: "GuardianFFI", dependencies: ["guardian_ffiFFI"], path: "Sources/GuardianFFI",
            exclude: ["README.md"]
        ),
        .target(name: "GuardianKit", dependencies: ["GuardianFFI"], path: "Sources/GuardianKit"),
        .testTarget(name: "GuardianKitTests", dependencies: ["GuardianKit"], path: "Tests/GuardianKitTests"),
    ]
)
