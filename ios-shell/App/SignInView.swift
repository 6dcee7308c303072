// Sign-in: with the force's provider configured, its page in the system
// browser (`SignInBrowser`); without one (the demo backend), a pasted dev
// token. Then a first sync pulls the officer, areas and assignments.

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
                if handset.forceSignIn {
                    Text("Sign in with your force account. Your force's sign-in page opens, then brings you back here.")
                } else {
                    Text("Paste the token from the force's login (the demo server's dev token).")
                    SecureField("Force login token", text: $token)
                        .textContentType(.password)
                        .autocorrectionDisabled()
                }
            }
            if let error {
                Text(error).foregroundStyle(.red)
            }
            Button(working ? "Signing in…" : (handset.forceSignIn ? "Sign in with the force" : "Sign in")) {
                Task { await signIn() }
            }
            .disabled(working || (!handset.forceSignIn && token.isEmpty))
        }
        .navigationTitle("Sign in")
    }

    private func signIn() async {
        working = true
        defer { working = false }
        do {
            if handset.forceSignIn {
                try await handset.signInWithForce()
            } else {
                try await handset.signIn(token: token)
            }
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }
}
