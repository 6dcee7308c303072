// Today's patrols: each assignment with its time and the area's threat
// windows, the way to the patrol screen, referrals, the library and sync.

import GuardianKit
import SwiftUI

struct AssignmentsView: View {
    @EnvironmentObject private var handset: Handset
    @State private var assignments: [Assignment] = []
    @State private var areas: [String: AreaInfo] = [:]
    @State private var error: String?

    var body: some View {
        List {
            StatusBar()
            if let patrol = handset.patrol {
                NavigationLink("Open patrol: \(patrol.areaName)") { PatrolView(areaId: patrol.areaId) }
            }
            Section("Today's patrols") {
                if assignments.isEmpty {
                    Text("No patrols assigned for today yet. They arrive when the phone syncs.")
                        .foregroundStyle(.secondary)
                }
                ForEach(assignments, id: \.id) { assignment in
                    NavigationLink {
                        PatrolView(areaId: assignment.areaId)
                    } label: {
                        AssignmentRow(assignment: assignment, area: areas[assignment.areaId])
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
            Section {
                NavigationLink("New referral") { ReferralView(draftId: nil) }
                NavigationLink("My referrals") { ReferralsView() }
                NavigationLink("Practice library") { LibraryView() }
                NavigationLink("Bookmarks") { BookmarksView() }
                Button("Sync now") { Task { await handset.syncNow(); await load() } }
            }
        }
        .navigationTitle(handset.officer.map { "Hello, \($0.displayName)" } ?? "Today")
        .task { await load() }
        .refreshable { await handset.syncNow(); await load() }
    }

    private func load() async {
        guard let core = handset.core else { return }
        do {
            assignments = try await core.todaysAssignments()
            let known = await core.areas()
            areas = Dictionary(uniqueKeysWithValues: known.map { ($0.id, $0) })
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }
}

struct AssignmentRow: View {
    let assignment: Assignment
    let area: AreaInfo?

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(area?.name ?? assignment.areaId).font(.headline)
            Text("\(Clock.time(assignment.startMs)) – \(Clock.time(assignment.endMs))")
            if let area {
                ForEach(Array(area.windows.enumerated()), id: \.offset) { _, window in
                    Text(windowText(window)).font(.caption).foregroundStyle(.secondary)
                }
            }
        }
    }

    private func windowText(_ window: ThreatWindow) -> String {
        var text = "\(window.days.joined(separator: " ")) \(window.start)–\(window.end)"
        if let from = window.seasonFrom, let to = window.seasonTo { text += " (\(from) to \(to))" }
        return text
    }
}

/// Online/offline and what has not reached the force yet, on every screen
/// that records something.
struct StatusBar: View {
    @EnvironmentObject private var handset: Handset

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            Label(
                handset.online ? "Online" : "Offline: everything is kept on the phone and sent when signal returns.",
                systemImage: handset.online ? "wifi" : "wifi.slash"
            )
            .foregroundStyle(handset.online ? Color.primary : Color.orange)
            if let sync = handset.sync {
                if sync.pending > 0 { Text("\(sync.pending) not yet sent to the force") }
                if sync.rejected > 0 {
                    Text("\(sync.rejected) refused by the force: tell your supervisor").foregroundStyle(.red)
                }
            }
            if let notice = handset.notice { Text(notice).font(.footnote) }
        }
        .font(.callout)
    }
}
