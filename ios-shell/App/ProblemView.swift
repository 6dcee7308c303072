// What the officer sees when the core cannot be used: what happened, what
// is safe, and the one thing to do. Never a crash.

import SwiftUI

struct ProblemView: View {
    @EnvironmentObject private var handset: Handset
    let problem: Problem

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            Text(title).font(.title2).bold()
            Text(explanation)
            if let detail { Text("Details: \(detail)").font(.footnote).foregroundStyle(.secondary) }
            Button(action: act) { Text(actionTitle) }
                .buttonStyle(.borderedProminent)
        }
        .padding()
    }

    private var title: String {
        switch problem {
        case .unreadable: return "The data on this phone cannot be read"
        case .locked: return "Unlock the phone"
        case .damaged: return "Guardian's data on this phone is damaged"
        case .storageFull, .storage: return "Guardian cannot use this phone's storage"
        case .tooNew: return "Guardian needs an update"
        }
    }

    private var explanation: String {
        switch problem {
        case .unreadable:
            return "The key that protects Guardian's data is no longer on this phone (for example after the phone was restored). Nothing can be recovered from it here. Sign in again to start afresh; anything already sent to the force is safe."
        case .locked:
            return "Guardian's data is locked until the phone has been unlocked once since it started."
        case .damaged:
            return "Guardian can keep what it can still read, set the damaged copy aside for the force's support, and carry on. Unsent records it keeps are sent at the next sync."
        case .storageFull:
            return "The phone's storage is full. Nothing already recorded is harmed. Free some space, then try again."
        case .storage:
            return "The phone's storage failed. Restart the phone, then try again."
        case .tooNew:
            return "The data on this phone was written by a newer version of Guardian. Update the app to carry on."
        }
    }

    private var detail: String? {
        switch problem {
        case .damaged(let d), .storageFull(let d), .storage(let d), .tooNew(let d): return d
        case .unreadable, .locked: return nil
        }
    }

    private var actionTitle: String {
        switch problem {
        case .unreadable: return "Sign in again"
        case .damaged: return "Keep what can be read"
        default: return "Try again"
        }
    }

    private func act() {
        Task {
            switch problem {
            case .unreadable: await handset.startAfresh()
            case .damaged: await handset.recover()
            default: await handset.open()
            }
        }
    }
}
