// Sign-in: the force login's token (a force build replaces this with its
// own login), then a first sync pulls the officer, areas and assignments.

import GuardianKit
import SwiftUI

struct SignInView: View {
    @EnvironmentObject private var handset: Handset
    @State private var token = ""
    @State private var working = false
    @State private var error: String?

    var body: some View {
        Form {
            Section {
                Text("Force server: \(handset.backendURL)").font(.footnote)
                Text("Paste the token from the force's login. (A force build replaces this with its own sign-in.)")
                SecureField("Force login token", text: $token)
                    .textContentType(.password)
                    .autocorrectionDisabled()
            }
            if let error {
                Text(error).foregroundStyle(.red)
            }
            Button(working ? "Signing in…" : "Sign in") {
                Task { await signIn() }
            }
            .disabled(working || token.isEmpty)
        }
        .navigationTitle("Sign in")
    }

    private func signIn() async {
        working = true
        defer { working = false }
        do {
            try await handset.signIn(token: token)
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }
}
