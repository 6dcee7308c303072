// NWPathMonitor → the core's online flag. Going online starts a sync pass
// in the core; going offline only tells it to stop trying. The shell keeps
// the last answer for its offline indicator.

import Foundation
import Network
import os

public final class Connectivity: @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "uk.police.guardian.connectivity")
    private let core: Core
    private let onChange: @Sendable (Bool) -> Void

    /// `onChange` is called on a background queue with each new state.
    public init(core: Core, onChange: @escaping @Sendable (Bool) -> Void) {
        self.core = core
        self.onChange = onChange
    }

    public func start() {
        monitor.pathUpdateHandler = { [core, onChange] path in
            let online = path.status == .satisfied
            onChange(online)
            Task.detached {
                // A store problem here shows on the next screen call; the
                // flag itself cannot be lost (the core reads it again).
                try? await core.setOnline(online)
            }
        }
        monitor.start(queue: queue)
    }

    public func stop() {
        monitor.cancel()
    }
}

/// The force login's token for the core's sync engine (called on its
/// thread). A pasted token cannot be renewed on the handset: `refresh`
/// fails, the pass fails with `SyncError.Auth`, and the shell asks the
/// officer to sign in again.
public final class KeychainTokens: TokenProvider, @unchecked Sendable {
    private let vault: KeyVault

    public init(vault: KeyVault) {
        self.vault = vault
    }

    public func token() throws -> String {
        guard let token = vault.token() else {
            throw AuthError.Failed(reason: "the officer is not signed in")
        }
        return token
    }

    public func refresh() throws -> String {
        throw AuthError.Failed(reason: "the login has expired: sign in again")
    }
}

/// The core's log lines (never personal data: see bindings/src/log.rs) to
/// the unified log, public so the force's support can read them.
public final class SystemLog: LogSink, @unchecked Sendable {
    private let logger = Logger(subsystem: "uk.police.guardian", category: "core")

    public init() {}

    public static func install() {
        setLogSink(sink: SystemLog(), maxLevel: .info)
    }

    public func log(record: LogRecord) {
        let text = "\(record.target): \(record.message)"
        switch record.level {
        case .error: logger.error("\(text, privacy: .public)")
        case .warn: logger.warning("\(text, privacy: .public)")
        case .info: logger.info("\(text, privacy: .public)")
        case .debug, .trace: logger.debug("\(text, privacy: .public)")
        }
    }
}
