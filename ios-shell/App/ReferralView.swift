// The VRP referral form. Every change is saved as a draft in the core (the
// draft survives the app being killed); Submit asks the core, which answers
// with every problem at once (`ReferralError.Invalid(fields:)`): each is
// shown under its field and all are listed at the top, and the draft stays
// as it was typed. Whether the form is valid is the core's decision alone.

import GuardianKit
import SwiftUI

struct ReferralView: View {
    @EnvironmentObject private var handset: Handset
    @State var draftId: String?
    @State private var form = ReferralForm(
        subject: Subject(name: "", dateOfBirth: nil, estimatedAge: nil, address: nil, school: nil, carerContact: nil),
        reasons: [], narrative: "", consent: nil, safeguardingConcern: false, urgency: nil, location: nil,
        authorityChoice: nil
    )
    @State private var problems: [FieldError] = []
    @State private var message: String?
    @State private var otherReason = ""
    @State private var consentReason = ""
    @State private var route: RoutePreview?
    @State private var submitted = false

    private static let reasons: [(String, ReferralReason)] = [
        ("Knife carrying", .knifeCarrying),
        ("Criminal exploitation", .criminalExploitation),
        ("Gang association", .gangAssociation),
        ("VAWG / harmful sexual behaviour", .vawgHarmfulSexualBehaviour),
        ("Parent in prison", .parentInPrison),
        ("Missing episodes", .missingEpisodes),
        ("School exclusion", .schoolExclusion),
        ("Mental health", .mentalHealth),
    ]

    var body: some View {
        Form {
            if !problems.isEmpty {
                Section("Problems to fix") {
                    ForEach(problems, id: \.message) { Text($0.message).foregroundStyle(.red) }
                }
            }
            Section("Young person") {
                field("Name", text: $form.subject.name, key: "subject.name")
                field("Date of birth (YYYY-MM-DD)", text: optional(\.subject.dateOfBirth), key: "subject.date_of_birth")
                TextField("Estimated age", value: $form.subject.estimatedAge, format: .number)
                    .keyboardType(.numberPad)
                errors("subject.estimated_age")
                field("Address", text: optional(\.subject.address), key: "subject.address")
                field("School", text: optional(\.subject.school), key: "subject.school")
                field("Carer contact", text: optional(\.subject.carerContact), key: "subject.carer_contact")
            }
            Section("Reasons") {
                ForEach(Self.reasons, id: \.0) { label, reason in
                    Toggle(label, isOn: chosen(reason))
                }
                TextField("Other (describe)", text: $otherReason)
                errors("reasons")
            }
            Section("What happened") {
                TextEditor(text: $form.narrative).frame(minHeight: 120)
                errors("narrative")
            }
            Section("Consent") {
                Picker("Consent", selection: consentChoice) {
                    Text("Not recorded").tag(0)
                    Text("Given").tag(1)
                    Text("Refused").tag(2)
                    Text("Not sought").tag(3)
                }
                TextField("Why (refused or not sought)", text: $consentReason)
                Toggle("Safeguarding concern", isOn: $form.safeguardingConcern)
                errors("consent")
                errors("safeguarding_concern")
            }
            Section("Urgency") {
                Picker("Urgency", selection: $form.urgency) {
                    Text("Not chosen").tag(Urgency?.none)
                    Text("Routine").tag(Urgency?.some(.routine))
                    Text("Priority").tag(Urgency?.some(.priority))
                    Text("Urgent").tag(Urgency?.some(.urgent))
                }
                errors("urgency")
            }
            Section("Navigator team") {
                Button("Use my location (routes the referral)") { Task { await useLocation() } }
                if let authority = route?.authority { Text("Routed to \(Core.name(of: authority))") }
                if let why = route?.needsChoice { Text(why) }
                Picker("Navigator team", selection: $form.authorityChoice) {
                    Text("Choose from the location").tag(Authority?.none)
                    ForEach(Authority.allCases, id: \.self) { authority in
                        Text(Core.name(of: authority)).tag(Authority?.some(authority))
                    }
                }
                errors("location")
                errors("authority_choice")
            }
            Section {
                Button("Save draft") { Task { await save() } }
                Button("Submit") { Task { await submit() } }
                if let message { Text(message) }
            }
        }
        .navigationTitle("VRP referral")
        .task { await loadDraft() }
        .onDisappear { if !submitted { Task { await save() } } }
    }

    // MARK: fields

    private func field(_ title: String, text: Binding<String>, key: String) -> some View {
        Group {
            TextField(title, text: text)
            errors(key)
        }
    }

    /// The core's problems for `key` and the fields under it.
    @ViewBuilder
    private func errors(_ key: String) -> some View {
        ForEach(problems.filter { $0.field == key || $0.field.hasPrefix(key + ".") }, id: \.message) { problem in
            Text(problem.message).font(.footnote).foregroundStyle(.red)
        }
    }

    private func optional(_ path: WritableKeyPath<ReferralForm, String?>) -> Binding<String> {
        Binding(
            get: { form[keyPath: path] ?? "" },
            set: { form[keyPath: path] = $0.isEmpty ? nil : $0 }
        )
    }

    private func chosen(_ reason: ReferralReason) -> Binding<Bool> {
        Binding(
            get: { form.reasons.contains(reason) },
            set: { on in
                form.reasons.removeAll { $0 == reason }
                if on { form.reasons.append(reason) }
            }
        )
    }

    private var consentChoice: Binding<Int> {
        Binding(
            get: {
                switch form.consent {
                case nil: return 0
                case .given: return 1
                case .refused: return 2
                case .notSought: return 3
                }
            },
            set: { choice in
                switch choice {
                case 1: form.consent = .given
                case 2: form.consent = .refused(reason: consentReason)
                case 3: form.consent = .notSought(reason: consentReason)
                default: form.consent = nil
                }
            }
        )
    }

    /// The form as typed, with the two free-text parts folded in.
    private var typed: ReferralForm {
        var typed = form
        typed.reasons.removeAll { if case .other = $0 { return true } else { return false } }
        if !otherReason.isEmpty { typed.reasons.append(.other(text: otherReason)) }
        switch typed.consent {
        case .refused: typed.consent = .refused(reason: consentReason)
        case .notSought: typed.consent = .notSought(reason: consentReason)
        default: break
        }
        return typed
    }

    // MARK: the core

    private func loadDraft() async {
        guard let core = handset.core, let draftId else { return }
        do {
            form = try await core.draft(id: draftId)
            for reason in form.reasons {
                if case .other(let text) = reason { otherReason = text }
            }
            switch form.consent {
            case .refused(let reason), .notSought(let reason): consentReason = reason
            default: break
            }
        } catch {
            message = handset.explain(error)
        }
    }

    @discardableResult
    private func save() async -> Bool {
        guard let core = handset.core else { return false }
        do {
            draftId = try await core.saveDraft(id: draftId, form: typed)
            return true
        } catch {
            message = handset.explain(error)
            return false
        }
    }

    private func submit() async {
        guard let core = handset.core, await save(), let draftId else { return }
        do {
            let receipt = try await core.submit(draftId: draftId)
            problems = []
            message = "Referral \(receipt.reference) queued for the \(Core.name(of: receipt.authority)) Navigator team."
            submitted = true
            await handset.refresh()
        } catch ReferralError.Invalid(let fields) {
            problems = fields
            message = "The draft is saved on this phone."
        } catch {
            message = handset.explain(error)
        }
    }

    private func useLocation() async {
        guard let core = handset.core, let tracker = handset.tracking() else { return }
        do {
            tracker.requestPermission()
            let fix = try await tracker.currentFix()
            form.location = fix
            route = await core.routeReferral(latitude: fix.lat, longitude: fix.lon)
        } catch {
            message = handset.explain(error)
        }
    }
}
