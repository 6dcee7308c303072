// The officer's referrals: drafts first (one the force returned says why,
// one near its discard time says when), then what was submitted, each with
// where it stands and, once closed, the team's outcome code. The words are
// the core's; no name or detail of a young person is on this screen.

import GuardianKit
import SwiftUI

struct ReferralsView: View {
    @EnvironmentObject private var handset: Handset
    @State private var drafts: [DraftSummary] = []
    @State private var receipts: [Receipt] = []
    @State private var error: String?

    var body: some View {
        List {
            if drafts.isEmpty && receipts.isEmpty && error == nil {
                Text("No drafts or referrals on this phone.").foregroundStyle(.secondary)
            }
            if !drafts.isEmpty {
                Section("Drafts") {
                    ForEach(drafts, id: \.id) { draft in
                        NavigationLink {
                            ReferralView(draftId: draft.id)
                        } label: {
                            VStack(alignment: .leading) {
                                Text("Draft, last saved \(Clock.time(draft.updatedMs))")
                                if let refused = draft.refused { Text(refused).font(.footnote).foregroundStyle(.red) }
                                if let warning = draft.warning { Text(warning).font(.footnote).foregroundStyle(.secondary) }
                            }
                        }
                    }
                }
            }
            if !receipts.isEmpty {
                Section("Submitted") {
                    ForEach(receipts, id: \.id) { receipt in
                        VStack(alignment: .leading) {
                            Text("\(receipt.reference), made \(Clock.time(receipt.createdMs))")
                            Text(referralStatusText(receipt: receipt)).font(.footnote).foregroundStyle(.secondary)
                        }
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle("My referrals")
        .task { await load() }
        .refreshable { await handset.syncNow(); await load() }
    }

    private func load() async {
        guard let core = handset.core else { return }
        do {
            drafts = try await core.drafts()
            receipts = try await core.receipts()
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }
}
