// The one step of the force sign-in the core cannot take: showing the
// provider's page. The core builds the URL and checks the redirect; this
// only opens it and hands the redirect back. A force that must use
// Microsoft's MSAL broker (Intune app protection) puts its own
// implementation of `SignInBrowser` here (see README).

import AuthenticationServices
import UIKit

protocol SignInBrowser {
    /// Shows `url` and returns the redirect to `callbackScheme`.
    func open(_ url: URL, callbackScheme: String) async throws -> URL
}

/// ASWebAuthenticationSession: the system browser's sheet (RFC 8252: never
/// a WKWebView, whose page the app could read). Not ephemeral, so the
/// force's single sign-on in Safari carries over.
@MainActor
final class WebAuthSession: NSObject, SignInBrowser, ASWebAuthenticationPresentationContextProviding {
    private var session: ASWebAuthenticationSession?

    func open(_ url: URL, callbackScheme: String) async throws -> URL {
        try await withCheckedThrowingContinuation { continuation in
            let session = ASWebAuthenticationSession(url: url, callbackURLScheme: callbackScheme) { redirect, error in
                if let redirect {
                    continuation.resume(returning: redirect)
                } else {
                    continuation.resume(throwing: error ?? ASWebAuthenticationSessionError(.canceledLogin))
                }
            }
            session.presentationContextProvider = self
            session.prefersEphemeralWebBrowserSession = false
            self.session = session
            // When it cannot start, its handler is never called.
            if !session.start() {
                continuation.resume(throwing: ASWebAuthenticationSessionError(.presentationContextInvalid))
            }
        }
    }

    nonisolated func presentationAnchor(for session: ASWebAuthenticationSession) -> ASPresentationAnchor {
        MainActor.assumeIsolated {
            UIApplication.shared.connectedScenes
                .compactMap { ($0 as? UIWindowScene)?.keyWindow }
                .first ?? ASPresentationAnchor()
        }
    }
}
