// Core Location → the core, at the rate and accuracy the core asks for.
//
// While a patrol is open the tracker runs standard location updates with
// background updates allowed (the blue indicator shows the officer it is
// on), and significant-change monitoring so that iOS relaunches the app if
// it was terminated mid-patrol; on launch the app asks the core whether a
// patrol is open and starts the tracker again. It stops at check-out.
//
// The core's `SamplingPlan` says how precise and how often: precision maps
// to `desiredAccuracy`, the distance filter to `distanceFilter`. Core
// Location has no request interval, so fixes that come sooner than
// `intervalMs` after the last one handed over are not handed over (they
// cost nothing more: the radio is on either way). When no fix has come
// for the plan's `overdueAfterMs` the tracker asks the core again, as the
// core's documentation says; the core then answers with a denser plan.
//
// Each fix carries a monotonic time: CLOCK_MONOTONIC (which on Darwin keeps
// counting through sleep, like Android's elapsedRealtimeNanos) at delivery,
// less the fix's age. The wall-clock time is the fix's own timestamp.

import CoreLocation
import Foundation

public final class PatrolTracker: NSObject, CLLocationManagerDelegate, @unchecked Sendable {
    /// What the officer has allowed, for the permission explanation.
    public enum Permission: Equatable {
        case notAsked, denied, whenInUse, always, reducedAccuracy
    }

    private let manager = CLLocationManager()
    private let core: Core
    private var plan: SamplingPlan?
    private var lastHandedMonoNs: Int64?
    private var overdue: Timer?
    private var running = false
    private var planWatch: Task<Void, Never>?

    /// Called on the main thread with every fix handed over (for the
    /// "last fix" line) and each permission change.
    public var onFix: ((Fix) -> Void)?
    public var onPermission: ((Permission) -> Void)?

    /// Create on the main thread: Core Location calls its delegate on the
    /// thread that made the manager.
    public init(core: Core) {
        self.core = core
        super.init()
        manager.delegate = self
        manager.activityType = .fitness
        manager.pausesLocationUpdatesAutomatically = false
    }

    public var permission: Permission {
        switch manager.authorizationStatus {
        case .notDetermined: return .notAsked
        case .denied, .restricted: return .denied
        case .authorizedAlways:
            return manager.accuracyAuthorization == .reducedAccuracy ? .reducedAccuracy : .always
        case .authorizedWhenInUse:
            return manager.accuracyAuthorization == .reducedAccuracy ? .reducedAccuracy : .whenInUse
        @unknown default: return .denied
        }
    }

    /// "When in use" first (enough, with background updates and the blue
    /// indicator), then "Always" so iOS can relaunch a terminated patrol.
    public func requestPermission() {
        switch manager.authorizationStatus {
        case .notDetermined: manager.requestWhenInUseAuthorization()
        case .authorizedWhenInUse: manager.requestAlwaysAuthorization()
        default: break
        }
    }

    /// Starts tracking for the open patrol (check-in, or launch with one open).
    public func start() {
        guard !running else { return }
        running = true
        manager.allowsBackgroundLocationUpdates = true
        manager.showsBackgroundLocationIndicator = true
        manager.startUpdatingLocation()
        if CLLocationManager.significantLocationChangeMonitoringAvailable() {
            manager.startMonitoringSignificantLocationChanges()
        }
        planWatch = Task { [weak self, core] in
            for await event in core.events() {
                if case .planChanged(let plan) = event {
                    await MainActor.run { self?.apply(plan) }
                }
            }
        }
        Task { [weak self, core] in
            let plan = await core.samplingPlan()
            await MainActor.run { self?.apply(plan) }
        }
    }

    /// Stops at check-out.
    public func stop() {
        running = false
        planWatch?.cancel()
        planWatch = nil
        overdue?.invalidate()
        overdue = nil
        manager.stopUpdatingLocation()
        manager.stopMonitoringSignificantLocationChanges()
        manager.allowsBackgroundLocationUpdates = false
    }

    /// One fix now, for check-in, check-out or a referral's location.
    public func currentFix() async throws -> Fix {
        if let location = manager.location, Date().timeIntervalSince(location.timestamp) < 10 {
            return Self.fix(from: location)
        }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.main.async {
                self.pending.append(continuation)
                self.manager.requestLocation()
            }
        }
    }

    private var pending: [CheckedContinuation<Fix, Error>] = []

    // MARK: the plan

    private func apply(_ plan: SamplingPlan) {
        self.plan = plan
        switch plan.precision {
        case .high: manager.desiredAccuracy = kCLLocationAccuracyBest
        case .balanced: manager.desiredAccuracy = kCLLocationAccuracyHundredMeters
        }
        manager.distanceFilter = plan.distanceFilterM > 0 ? plan.distanceFilterM : kCLDistanceFilterNone
        armOverdueTimer()
    }

    private func armOverdueTimer() {
        overdue?.invalidate()
        // The core says when its fix is overdue (never, under a distance
        // filter); at that moment its answer is a denser plan.
        guard running, let after = plan?.overdueAfterMs else { return }
        overdue = Timer.scheduledTimer(withTimeInterval: TimeInterval(after) / 1000, repeats: false) { [weak self, core] _ in
            Task {
                let plan = await core.samplingPlan()
                await MainActor.run { self?.apply(plan) }
            }
        }
    }

    // MARK: CLLocationManagerDelegate

    public func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        let fixes = locations.map(Self.fix(from:))
        if let last = fixes.last {
            let waiting = pending
            pending.removeAll()
            waiting.forEach { $0.resume(returning: last) }
        }
        guard running else { return }
        let due = fixes.filter { fix in
            guard let interval = plan?.intervalMs, let last = lastHandedMonoNs else { return true }
            return fix.monoNs - last >= interval * 1_000_000
        }
        guard let newest = due.last else { return }
        lastHandedMonoNs = newest.monoNs
        armOverdueTimer()
        onFix?(newest)
        Task.detached { [core] in
            // Durable before this returns; an invalid fix is refused by the
            // core with a typed error and changes nothing.
            if due.count == 1 {
                _ = try? await core.ingest(newest)
            } else {
                _ = try? await core.ingest(due)
            }
        }
    }

    public func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        let waiting = pending
        pending.removeAll()
        waiting.forEach { $0.resume(throwing: error) }
    }

    public func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        onPermission?(permission)
    }

    // MARK: fixes

    /// A Core Location fix as the core's `Fix`. Core Location marks unknown
    /// values with negatives; those become `nil`.
    public static func fix(from location: CLLocation) -> Fix {
        let age = max(0, Date().timeIntervalSince(location.timestamp))
        let now = Int64(clock_gettime_nsec_np(CLOCK_MONOTONIC))
        return Fix(
            timeMs: Int64((location.timestamp.timeIntervalSince1970 * 1000).rounded()),
            monoNs: now - Int64(age * 1_000_000_000),
            lat: location.coordinate.latitude,
            lon: location.coordinate.longitude,
            accuracyM: location.horizontalAccuracy,
            altitudeM: location.verticalAccuracy >= 0 ? location.altitude : nil,
            speedMps: location.speed >= 0 ? location.speed : nil,
            bearingDeg: location.course >= 0 ? location.course : nil
        )
    }
}
