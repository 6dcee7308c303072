// The patrol screen: check in and out, minutes in the area, what is still
// missing for compliance (the core's words), offline and unsynced counts.

import GuardianKit
import SwiftUI
import UIKit

struct PatrolView: View {
    @EnvironmentObject private var handset: Handset
    let areaId: String
    @State private var working = false
    @State private var error: String?
    @State private var report: PatrolReport?
    @State private var permission: PatrolTracker.Permission = .notAsked

    var body: some View {
        List {
            StatusBar()
            if let status = handset.patrol {
                let text = Core.text(for: status)
                Section(status.areaName) {
                    Text(status.inAreaNow ? "In the area now" : "Outside the area")
                    Text(text.minutesInArea).font(.title)
                    if let needed = text.stillNeeded { Text(needed) }
                    if status.report.reasonTexts.isEmpty {
                        Text("Nothing missing: this patrol complies so far.")
                    } else {
                        Text("Still missing for compliance:").bold()
                        ForEach(status.report.reasonTexts, id: \.self) { Text("• \($0)") }
                    }
                    Button("Check out") { Task { await checkOut() } }.disabled(working)
                }
            } else {
                Section {
                    Text("Not checked in.")
                    Button(working ? "Finding your location…" : "Check in") { Task { await checkIn() } }
                        .disabled(working)
                }
            }
            if let report {
                Section(report.compliant ? "Checked out: the patrol complies." : "Checked out: the patrol does not comply.") {
                    ForEach(report.reasonTexts, id: \.self) { Text($0) }
                }
            }
            if permission == .denied || permission == .reducedAccuracy {
                Section {
                    Text("Guardian needs your precise location to check you in and out and to count your minutes in the area. Without it a patrol cannot be recorded.")
                    Button("Open settings") {
                        if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle("Patrol")
        .task {
            if let tracker = handset.tracking() {
                permission = tracker.permission
                tracker.onPermission = { permission = $0 }
                tracker.onFix = { _ in Task { await handset.refresh() } }
            }
            await handset.refresh()
        }
    }

    private func checkIn() async {
        working = true
        defer { working = false }
        do {
            try await handset.checkIn(areaId: areaId)
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }

    private func checkOut() async {
        working = true
        defer { working = false }
        do {
            report = try await handset.checkOut()
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }
}
