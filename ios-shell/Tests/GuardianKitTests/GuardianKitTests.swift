// Run on a Mac in the iOS simulator (see ios-shell/README.md): the real
// core under GuardianKit. On Linux CI this file is only parsed and its
// calls checked against the generated bindings (scripts/ios-checks.sh).

import CoreLocation
import XCTest
@testable import GuardianKit

final class GuardianKitTests: XCTestCase {
    private func freshConfig() -> GuardianConfig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return GuardianConfig(
            dbPath: dir.appendingPathComponent("guardian.db").path,
            backendUrl: "https://127.0.0.1:9",
            pinnedCaPem: nil,
            requestTimeoutMs: nil
        )
    }

    func testAFreshStoreHasNoOpenPatrol() async throws {
        let core = try await Core.open(config: freshConfig(), key: Data(repeating: 7, count: 32))
        defer { core.close() }
        let status = try await core.patrolStatus()
        XCTAssertNil(status)
    }

    func testAWrongKeyIsAStoreErrorWithTheCoresWords() async throws {
        let config = freshConfig()
        let first = try await Core.open(config: config, key: Data(repeating: 1, count: 32))
        first.close()
        do {
            _ = try await Core.open(config: config, key: Data(repeating: 2, count: 32))
            XCTFail("opened with the wrong key")
        } catch StoreError.WrongKey {
            // expected
        }
    }

    func testAShortKeyIsRefusedNotACrash() async {
        do {
            _ = try await Core.open(config: freshConfig(), key: Data(repeating: 1, count: 5))
            XCTFail("opened with a 5-byte key")
        } catch {
            XCTAssertFalse(describe(error).isEmpty)
        }
    }

    func testUnknownCoreLocationValuesBecomeNil() {
        let location = CLLocation(
            coordinate: CLLocationCoordinate2D(latitude: 52.4776, longitude: -1.8990),
            altitude: 140, horizontalAccuracy: 8, verticalAccuracy: -1,
            course: -1, speed: -1, timestamp: Date()
        )
        let fix = PatrolTracker.fix(from: location)
        XCTAssertNil(fix.altitudeM)
        XCTAssertNil(fix.speedMps)
        XCTAssertNil(fix.bearingDeg)
        XCTAssertEqual(fix.accuracyM, 8)
        XCTAssertGreaterThan(fix.monoNs, 0)
    }

    func testEventsReachEverySubscriber() async {
        let fanOut = EventFanOut()
        let a = fanOut.subscribe()
        let b = fanOut.subscribe()
        fanOut.onEvent(event: .wiped)
        fanOut.finish()
        var seenA: [GuardianEvent] = []
        for await e in a { seenA.append(e) }
        var seenB: [GuardianEvent] = []
        for await e in b { seenB.append(e) }
        XCTAssertEqual(seenA, [.wiped])
        XCTAssertEqual(seenB, [.wiped])
    }
}
