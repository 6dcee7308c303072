// BGTaskScheduler → the core's sync, for what was recorded offline while
// the app was not in front. The task needs a network; iOS chooses when.
// Register at launch (before it finishes), schedule on entering the
// background. The identifier is in Info.plist's
// BGTaskSchedulerPermittedIdentifiers.

import BackgroundTasks
import Foundation

public enum BackgroundSync {
    public static let identifier = "uk.police.guardian.sync"

    /// Registers the handler. `core` gives the open core, or nil when it
    /// cannot be opened (then the task ends at once, unsuccessful).
    public static func register(core: @escaping @Sendable () async -> Core?) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            schedule()
            let work = Task {
                guard let core = await core() else {
                    task.setTaskCompleted(success: false)
                    return
                }
                do {
                    _ = try await core.syncNow()
                    task.setTaskCompleted(success: true)
                } catch {
                    // Nothing is lost: the outbox stays and the next pass
                    // (online, foreground or this task again) sends it.
                    task.setTaskCompleted(success: false)
                }
            }
            task.expirationHandler = { work.cancel() }
        }
    }

    /// Asks iOS for a sync with a network, no sooner than 15 minutes.
    public static func schedule() {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.requiresExternalPower = false
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }
}
