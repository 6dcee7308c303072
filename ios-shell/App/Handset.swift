// The app's one core and what the screens observe of it: opened with the
// Keychain's key, told about connectivity, given the login's token, its
// events turned into published state on the main actor. Everything the
// officer did lives in the core's database; nothing here would be lost if
// the process were killed.

import Foundation
import GuardianKit
import SwiftUI

/// Why the core cannot be used, as the problem screen explains it.
enum Problem: Equatable {
    /// The key left the Keychain but the data is still here.
    case unreadable
    /// Not unlocked since the phone started.
    case locked
    /// The file is damaged; recovery keeps what can be read.
    case damaged(String)
    case storageFull(String)
    case storage(String)
    case tooNew(String)

    static func of(_ error: Error) -> Problem {
        switch error {
        case KeyProblem.lost, KeyProblem.malformed: return .unreadable
        case KeyProblem.locked: return .locked
        case KeyProblem.keychain(let status): return .storage("Keychain error \(status)")
        case StoreError.WrongKey: return .unreadable
        case StoreError.BadKey: return .unreadable
        case StoreError.Corrupt(let message): return .damaged(message)
        case StoreError.Full(let message): return .storageFull(message)
        case StoreError.TooNew(let message): return .tooNew(message)
        case StoreError.NotEncrypted(let message): return .damaged(message)
        case StoreError.Storage(let message): return .storage(message)
        default: return .storage(error.localizedDescription)
        }
    }
}

@MainActor
final class Handset: ObservableObject {
    enum Phase: Equatable {
        case opening
        case problem(Problem)
        case signedOut
        case ready
    }

    @Published private(set) var phase: Phase = .opening
    @Published private(set) var online = false
    @Published private(set) var patrol: PatrolStatus?
    @Published private(set) var sync: SyncStatus?
    @Published private(set) var officer: Officer?
    @Published var notice: String?

    private(set) var core: Core?
    private(set) var tracker: PatrolTracker?
    private var connectivity: Connectivity?
    private var eventLoop: Task<Void, Never>?
    let vault = KeyVault()
    let backendURL: String

    /// The force's identity provider for this build; nil: the demo's
    /// pasted dev token.
    let signInConfig: SignInConfig?
    let browser: SignInBrowser = WebAuthSession()
    private static let signedInKey = "guardian.forceSignedIn"

    init() {
        backendURL = Bundle.main.object(forInfoDictionaryKey: "GuardianBackendURL") as? String
            ?? "https://guardian.example.police.uk"
        let info = { (key: String) in (Bundle.main.object(forInfoDictionaryKey: key) as? String) ?? "" }
        signInConfig = info("GuardianIssuer").isEmpty ? nil : SignInConfig(
            issuer: info("GuardianIssuer"), clientId: info("GuardianClientID"),
            redirectUri: info("GuardianRedirectURI"), scopes: info("GuardianScopes"), officerClaim: nil)
    }

    var forceSignIn: Bool { signInConfig != nil }

    /// The core holds the force sign-in; this only marks that there is one.
    private var signedIn: Bool {
        get { vault.token() != nil || UserDefaults.standard.bool(forKey: Self.signedInKey) }
        set { UserDefaults.standard.set(newValue, forKey: Self.signedInKey) }
    }

    private var databaseURL: URL {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var url = dir.appendingPathComponent("guardian.db")
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try? url.setResourceValues(values)
        return url
    }

    private var config: GuardianConfig {
        GuardianConfig(dbPath: databaseURL.path, backendUrl: backendURL, pinnedCaPem: nil, requestTimeoutMs: nil)
    }

    // MARK: opening

    /// Opens the core (once); a problem becomes a screen, never a crash.
    func open() async {
        if core != nil { return }
        phase = .opening
        do {
            let exists = FileManager.default.fileExists(atPath: databaseURL.path)
            let key = try vault.databaseKey(databaseExists: exists)
            let core = try await Core.open(config: config, key: key)
            self.core = core
            listen(to: core)
            if let signInConfig { try core.configureSignIn(signInConfig) }
            if signedIn {
                try startSync(core)
                officer = try await core.officer()
                phase = .ready
            } else {
                phase = .signedOut
            }
            await refresh()
            if patrol != nil { startTracking() }
        } catch {
            phase = .problem(Problem.of(error))
        }
    }

    /// For `BackgroundSync`: the core if it opens.
    func openedCore() async -> Core? {
        await open()
        return core
    }

    /// Stores the login's token, starts sync and pulls the officer, areas
    /// and assignments.
    func signIn(token: String) async throws {
        guard let core else { return }
        try vault.storeToken(token.trimmingCharacters(in: .whitespacesAndNewlines))
        try startSync(core)
        do {
            _ = try await core.syncNow()
        } catch {
            if case SyncError.Auth = error { vault.forgetToken() }
            throw error
        }
        officer = try await core.officer()
        phase = .ready
        await refresh()
    }

    /// The force's sign-in page in the system browser; its redirect to the
    /// core; then sync pulls the officer, areas and assignments.
    func signInWithForce() async throws {
        guard let core, let signInConfig, let page = URL(string: try await core.beginSignIn()) else { return }
        let scheme = URL(string: signInConfig.redirectUri)?.scheme ?? ""
        let redirect = try await browser.open(page, callbackScheme: scheme)
        _ = try await core.completeSignIn(redirect: redirect.absoluteString)
        signedIn = true
        try startSync(core)
        do {
            _ = try await core.syncNow()
        } catch SyncError.Network {
            // Signed in; the first sync waits for signal.
        }
        officer = try await core.officer()
        phase = .ready
        await refresh()
    }

    /// After `.unreadable`: deletes the database and its key and the login,
    /// so the officer signs in and starts afresh. What reached the force is
    /// kept there; what did not could not be read anyway.
    func startAfresh() async {
        close()
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: databaseURL.path + suffix)
        }
        vault.resetDatabaseKey()
        vault.forgetToken()
        signedIn = false
        await open()
    }

    /// After `.damaged`: the core keeps what it can read and starts clean.
    func recover() async {
        close()
        do {
            let key = try vault.databaseKey(databaseExists: true)
            let report = try await Core.recover(config: config, key: key)
            notice = report.damagedTables.isEmpty
                ? "Recovered: \(report.unsentRecords) unsent records and \(report.drafts) drafts kept."
                : "Recovered with losses in: \(report.damagedTables.joined(separator: ", "))."
            await open()
        } catch {
            phase = .problem(Problem.of(error))
        }
    }

    func close() {
        eventLoop?.cancel()
        tracker?.stop()
        connectivity?.stop()
        core?.close()
        core = nil
        tracker = nil
        connectivity = nil
    }

    private func startSync(_ core: Core) throws {
        try core.startSync(tokens: forceSignIn ? nil : KeychainTokens(vault: vault))
        let connectivity = Connectivity(core: core) { online in
            Task { @MainActor [weak self] in self?.online = online }
        }
        connectivity.start()
        self.connectivity = connectivity
        BackgroundSync.schedule()
    }

    /// The officer's words for a failed call. A damaged store, whichever
    /// call found it, becomes the recovery screen.
    func explain(_ error: Error) -> String {
        switch error {
        case PatrolError.StorageDamaged(let message), SyncError.StorageDamaged(let message),
            LibraryError.StorageDamaged(let message):
            phase = .problem(.damaged(message))
        case ReferralError.StorageDamaged(let reason):
            phase = .problem(.damaged(reason))
        default:
            break
        }
        return describe(error)
    }

    // MARK: events and state

    private func listen(to core: Core) {
        eventLoop = Task { [weak self] in
            for await event in core.events() {
                await self?.handle(event)
            }
        }
    }

    private func handle(_ event: GuardianEvent) async {
        switch event {
        case .wiped:
            vault.forgetToken()
            signedIn = false
            tracker?.stop()
            phase = .signedOut
        case .authRequired(let reason):
            // The outbox waits for the same officer; recording goes on.
            signedIn = false
            notice = reason
            phase = .signedOut
        case .syncFailed(let reason):
            notice = reason
        case .minutesReached:
            notice = "Enough minutes in the area for this patrol."
        default:
            break
        }
        await refresh()
    }

    /// Reads the patrol and sync figures again (after an event or a call).
    func refresh() async {
        guard let core else { return }
        patrol = try? await core.patrolStatus()
        sync = try? await core.syncStatus()
    }

    // MARK: patrol

    func tracking() -> PatrolTracker? {
        if tracker == nil, let core { tracker = PatrolTracker(core: core) }
        return tracker
    }

    func startTracking() {
        tracking()?.start()
    }

    func checkIn(areaId: String) async throws {
        guard let core, let tracker = tracking() else { return }
        tracker.requestPermission()
        let fix = try await tracker.currentFix()
        _ = try await core.checkIn(areaId: areaId, at: fix)
        tracker.start()
        await refresh()
    }

    func checkOut() async throws -> PatrolReport? {
        guard let core, let tracker = tracking() else { return nil }
        let fix = try await tracker.currentFix()
        let report = try await core.checkOut(at: fix)
        tracker.stop()
        await refresh()
        return report
    }

    func syncNow() async {
        guard let core else { return }
        do {
            _ = try await core.syncNow()
        } catch {
            notice = explain(error)
        }
        await refresh()
    }
}
