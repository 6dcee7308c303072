// The officer-readable text of an error from the core. Every error the core
// throws carries the core's own words (its `message` or `reason`); the
// generated `localizedDescription` would show the Swift case instead.

import Foundation

public func describe(_ error: Error) -> String {
    if case ReferralError.Invalid(let fields) = error {
        return fields.map(\.message).joined(separator: "\n")
    }
    if error is StoreError || error is PatrolError || error is SyncError || error is ReferralError
        || error is LibraryError || error is AuthError,
        let payload = Mirror(reflecting: error).children.first?.value
    {
        if let text = payload as? String { return text }
        if let text = Mirror(reflecting: payload).children.first?.value as? String { return text }
    }
    return error.localizedDescription
}

/// Times as the screens show them: the officer's wall clock, Europe/London
/// (the force's), whatever zone the phone is set to.
public enum Clock {
    public static let london = TimeZone(identifier: "Europe/London")!

    public static func time(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.timeZone = london
        f.dateFormat = "HH:mm"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(ms) / 1000))
    }
}
