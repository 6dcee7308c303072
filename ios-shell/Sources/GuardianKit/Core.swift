// The process's one Guardian core, with async/await over its calls and its
// events as AsyncStreams.
//
// The generated bindings' plain methods block on SQLite for a few
// milliseconds; each is run here on a detached task, never on the main
// actor. The core's own `async` methods (check-in/out, batches, sync,
// submit, sign-out) already run on the core's runtime and are awaited as
// they are. Nothing is decided here: every method hands its arguments to
// the core and its answer back.

import Foundation
@_exported import GuardianFFI

public final class Core: @unchecked Sendable {
    /// The bindings' handle. Reached only through this wrapper.
    let ffi: Guardian
    public let config: GuardianConfig
    private let fanOut: EventFanOut

    private init(ffi: Guardian, config: GuardianConfig, fanOut: EventFanOut) {
        self.ffi = ffi
        self.config = config
        self.fanOut = fanOut
    }

    /// Opens (creating if absent) the encrypted store with the Keychain's
    /// key. Throws `StoreError` (`WrongKey`, `Corrupt`, `Full`, …) for the
    /// shell to show; never crashes on a bad file.
    public static func open(config: GuardianConfig, key: Data) async throws -> Core {
        let ffi = try await detached { try Guardian.open(config: config, key: key) }
        let fanOut = EventFanOut()
        ffi.setEventListener(listener: fanOut)
        return Core(ffi: ffi, config: config, fanOut: fanOut)
    }

    /// Moves a damaged store aside and starts a clean one with what could be
    /// read (after `StoreError.Corrupt` or a `StorageDamaged` from any call).
    /// Close every `Core` on the file first.
    public static func recover(config: GuardianConfig, key: Data) async throws -> RecoveryReport {
        try await detached { try recoverStore(config: config, key: key) }
    }

    /// Stops sync and the listener. The database stays; open again to use it.
    public func close() {
        ffi.stopSync()
        ffi.setEventListener(listener: nil)
        fanOut.finish()
    }

    public static var version: String { coreVersion() }

    // MARK: events

    /// A new stream of the core's events (arrivals, departures, minutes
    /// reached, plan changes, sync progress, wipes). Each subscriber gets
    /// its own; it ends when the subscriber stops iterating or the core is
    /// closed.
    public func events() -> AsyncStream<GuardianEvent> {
        fanOut.subscribe()
    }

    // MARK: officer, areas, assignments

    public func officer() async throws -> Officer? {
        try await Self.detached { [ffi] in try ffi.officer() }
    }

    public func areas() async -> [AreaInfo] {
        await Self.detachedValue { [ffi] in ffi.areas() }
    }

    public func area(id: String) async -> AreaInfo? {
        await Self.detachedValue { [ffi] in ffi.area(areaId: id) }
    }

    public func todaysAssignments() async throws -> [Assignment] {
        try await Self.detached { [ffi] in try ffi.todaysAssignments() }
    }

    // MARK: the track and the patrol

    /// One fix from the OS, committed before this returns.
    public func ingest(_ fix: Fix) async throws -> FixOutcome {
        try await Self.detached { [ffi] in try ffi.ingestFix(fix: fix) }
    }

    /// Fixes the OS delivered together (deferred updates), in one commit.
    public func ingest(_ fixes: [Fix]) async throws -> BatchOutcome {
        try await ffi.ingestFixes(fixes: fixes)
    }

    public func checkIn(areaId: String, at fix: Fix) async throws -> String {
        try await ffi.checkIn(areaId: areaId, fix: fix)
    }

    public func checkOut(at fix: Fix) async throws -> PatrolReport {
        try await ffi.checkOut(fix: fix)
    }

    public func patrolStatus() async throws -> PatrolStatus? {
        try await Self.detached { [ffi] in try ffi.patrolStatus() }
    }

    /// The core's words for `status`, as the patrol screen shows them.
    public static func text(for status: PatrolStatus) -> PatrolStatusText {
        patrolStatusText(status: status)
    }

    public func patrolReport(id: String) async throws -> PatrolReport {
        try await Self.detached { [ffi] in try ffi.patrolReport(patrolId: id) }
    }

    public func complianceSummary() async throws -> ComplianceSummary {
        try await Self.detached { [ffi] in try ffi.complianceSummary() }
    }

    /// What to ask Core Location for now.
    public func samplingPlan() async -> SamplingPlan {
        await Self.detachedValue { [ffi] in ffi.samplingPlan() }
    }

    public func areasInside() async -> [String] {
        await Self.detachedValue { [ffi] in ffi.areasInside() }
    }

    // MARK: sync

    /// `nil`: the core's own force sign-in supplies the tokens; a provider
    /// is for the demo backend's dev tokens.
    public func startSync(tokens: TokenProvider?) throws {
        try ffi.startSync(tokens: tokens)
    }

    /// Names the force's provider; call once after `open`.
    public func configureSignIn(_ config: SignInConfig) throws {
        try ffi.configureSignIn(config: config)
    }

    /// The provider's page for the `SignInBrowser`.
    public func beginSignIn() async throws -> String {
        try await ffi.beginSignIn()
    }

    /// The browser's redirect, whole; returns the officer's id. Throws
    /// `SyncError.Auth` (refused, or not this sign-in) and
    /// `SyncError.Unsynced` (another officer's records wait).
    public func completeSignIn(redirect: String) async throws -> String {
        try await ffi.completeSignIn(redirectUrl: redirect)
    }

    public func setOnline(_ online: Bool) async throws {
        try await Self.detached { [ffi] in try ffi.setOnline(online: online) }
    }

    public func syncNow() async throws -> PassReport {
        try await ffi.syncNow()
    }

    public func syncStatus() async throws -> SyncStatus {
        try await Self.detached { [ffi] in try ffi.syncStatus() }
    }

    /// Refused with `SyncError.Unsynced` / `.PatrolOpen` unless `force`.
    public func signOut(force: Bool) async throws -> UInt32 {
        try await ffi.signOut(force: force)
    }

    // MARK: referrals

    public func routeReferral(latitude: Double, longitude: Double) async -> RoutePreview {
        await Self.detachedValue { [ffi] in ffi.routeReferral(lat: latitude, lon: longitude) }
    }

    /// Saves the draft (always, even when it would not yet submit) and
    /// returns its id.
    public func saveDraft(id: String?, form: ReferralForm) async throws -> String {
        try await Self.detached { [ffi] in try ffi.saveReferralDraft(draftId: id, form: form) }
    }

    public func draft(id: String) async throws -> ReferralForm {
        try await Self.detached { [ffi] in try ffi.referralDraft(draftId: id) }
    }

    public func drafts() async throws -> [DraftSummary] {
        try await Self.detached { [ffi] in try ffi.referralDrafts() }
    }

    public func discardDraft(id: String) async throws {
        try await Self.detached { [ffi] in try ffi.discardReferralDraft(draftId: id) }
    }

    /// Throws `ReferralError.Invalid(fields:)` with every problem at once;
    /// the draft stays as saved.
    public func submit(draftId: String) async throws -> Receipt {
        try await ffi.submitReferral(draftId: draftId)
    }

    public func receipts() async throws -> [Receipt] {
        try await Self.detached { [ffi] in try ffi.referralReceipts() }
    }

    public static func name(of authority: Authority) -> String {
        authorityName(authority: authority)
    }

    // MARK: library

    public func libraryStatus() async throws -> LibraryStatus {
        try await Self.detached { [ffi] in try ffi.libraryStatus() }
    }

    public func search(_ query: String, limit: UInt32 = 50) async throws -> SearchResults {
        try await Self.detached { [ffi] in try ffi.librarySearch(query: query, limit: limit) }
    }

    public func topics() async throws -> [TopicEntry] {
        try await Self.detached { [ffi] in try ffi.libraryTopics() }
    }

    public func articles(topicId: String?) async throws -> [ArticleSummary] {
        try await Self.detached { [ffi] in
            if let topicId {
                return try ffi.libraryTopicArticles(topicId: topicId)
            }
            return try ffi.libraryArticles()
        }
    }

    /// The article, recorded as read (for "recent").
    public func openArticle(id: String) async throws -> ArticleView {
        try await Self.detached { [ffi] in try ffi.libraryOpenArticle(articleId: id) }
    }

    public func setBookmark(articleId: String, _ bookmarked: Bool) async throws -> Bool {
        try await Self.detached { [ffi] in try ffi.librarySetBookmark(articleId: articleId, bookmarked: bookmarked) }
    }

    public func bookmarks() async throws -> [PrefsEntry] {
        try await Self.detached { [ffi] in try ffi.libraryBookmarks() }
    }

    public func recent() async throws -> [PrefsEntry] {
        try await Self.detached { [ffi] in try ffi.libraryRecent() }
    }

    // MARK: off the main actor

    static func detached<T>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await Task.detached(priority: .userInitiated) { try work() }.value
    }

    static func detachedValue<T>(_ work: @escaping @Sendable () -> T) async -> T {
        await Task.detached(priority: .userInitiated) { work() }.value
    }
}

/// The core's listener: called on whichever thread made the change (the
/// caller's or sync's), it hands each event to every subscriber's stream.
final class EventFanOut: EventListener, @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<GuardianEvent>.Continuation] = [:]

    func onEvent(event: GuardianEvent) {
        lock.lock()
        let targets = Array(subscribers.values)
        lock.unlock()
        for continuation in targets {
            continuation.yield(event)
        }
    }

    func subscribe() -> AsyncStream<GuardianEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<GuardianEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        lock.lock()
        subscribers[id] = continuation
        lock.unlock()
        return stream
    }

    func finish() {
        lock.lock()
        let targets = Array(subscribers.values)
        subscribers.removeAll()
        lock.unlock()
        for continuation in targets {
            continuation.finish()
        }
    }

    private func remove(_ id: UUID) {
        lock.lock()
        subscribers[id] = nil
        lock.unlock()
    }
}
