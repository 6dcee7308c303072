// The app: one Handset, the screens over it, and the launch work iOS needs
// before the first frame (background task registration, and restarting the
// tracker when iOS relaunches the app for a location event mid-patrol).

import GuardianKit
import SwiftUI
import UIKit

@MainActor
final class AppDelegate: NSObject, UIApplicationDelegate {
    let handset = Handset()

    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        SystemLog.install()
        let handset = self.handset
        BackgroundSync.register { await handset.openedCore() }
        // Opening reads the core's open patrol and restarts tracking, so a
        // relaunch for a significant location change resumes the patrol.
        Task { @MainActor in await handset.open() }
        return true
    }
}

@main
struct GuardianApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView()
                .environmentObject(delegate.handset)
        }
        .onChange(of: scenePhase) { phase in
            if phase == .background { BackgroundSync.schedule() }
            if phase == .active { Task { await delegate.handset.refresh() } }
        }
    }
}

struct RootView: View {
    @EnvironmentObject private var handset: Handset

    var body: some View {
        switch handset.phase {
        case .opening:
            ProgressView("Opening…")
        case .problem(let problem):
            ProblemView(problem: problem)
        case .signedOut:
            SignInView()
        case .ready:
            NavigationStack {
                AssignmentsView()
            }
        }
    }
}
