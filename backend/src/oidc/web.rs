//! The web pages' sign-in (review now, the Navigator's desk next): OpenID
//! Connect's authorization code flow with PKCE (S256), the backend being a
//! confidential client of the force's provider (`client_secret_basic`).
//!
//! The browser only carries the code. The backend exchanges it itself, then
//! checks both tokens: the ID token (signature, issuer, `aud` = our client,
//! `nonce` = this attempt's) says the person signed in for this attempt; the
//! access token (the same checks as any bearer token, for the API's
//! audience) gives their id and role, so a page session is exactly as
//! trusted as an API call. Neither token is kept: the pages run on a
//! server-side session (the session module's).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::keys::read_capped;
use super::{AuthError, Oidc, OidcError, checked_url};
use crate::token::Claims;

/// What `serve --web-client-*` says.
#[derive(Debug, Clone)]
pub struct WebClientConfig {
    /// The pages' client id at the provider (`guardian-web`).
    pub client_id: String,
    /// Its secret (read from a file or the environment, never argv).
    pub client_secret: String,
    /// Where browsers reach this server (`https://guardian.force.example`),
    /// from which the registered redirect URI is made; never taken from a
    /// request's `Host`.
    pub public_url: String,
}

pub(crate) struct WebClient {
    client_id: String,
    secret: String,
    redirect_uri: String,
    authorization: reqwest::Url,
    token: String,
    http: reqwest::Client,
    issuer: String,
}

/// Why the provider's answer to a sign-in was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebSignInError {
    /// The token endpoint said no (`invalid_grant`: a code used twice or
    /// expired; `invalid_client`: our secret is wrong).
    #[error("the identity provider refused the sign-in ({0})")]
    Refused(String),
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not what the flow requires (no ID token, a nonce
    /// from another attempt, tokens about two different people).
    #[error("the identity provider's answer was not accepted: {0}")]
    Invalid(String),
    /// The access token was refused as a bearer token would be.
    #[error(transparent)]
    Token(#[from] AuthError),
}

/// One browser's sign-in in progress: what goes into the provider's URL
/// (`state`, the `nonce`, the PKCE challenge), what stays here (the
/// verifier) and what the browser keeps in a cookie (`binding`, so a code
/// delivered to another browser is refused: login CSRF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebAttempt {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub binding: String,
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256, base64url: how a cookie's secret is kept (a leaked table names
/// no live session) and PKCE's S256.
pub(crate) fn digest(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

impl WebAttempt {
    pub fn new() -> Self {
        Self {
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
            binding: random_token(),
        }
    }
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
}

impl Oidc {
    /// Adds the pages' sign-in, with the first issuer's endpoints.
    pub fn with_web_client(mut self, config: WebClientConfig) -> Result<Oidc, OidcError> {
        let issuer = self
            .issuers
            .first()
            .ok_or_else(|| OidcError::Config("the web sign-in needs --oidc-issuer".into()))?;
        let (authorization, token) = issuer.endpoints().ok_or_else(|| {
            OidcError::Config(format!(
                "{}: the discovery document names no authorization and token endpoints",
                issuer.url()
            ))
        })?;
        let authorization = checked_url("authorization_endpoint", authorization)?;
        checked_url("token_endpoint", token)?;
        let public = checked_url("--public-url", &config.public_url)?;
        if public.query().is_some() || public.fragment().is_some() {
            return Err(OidcError::Config("--public-url: no query or fragment".into()));
        }
        if config.client_id.is_empty() || config.client_secret.is_empty() {
            return Err(OidcError::Config("the web client needs an id and a secret".into()));
        }
        self.web = Some(WebClient {
            client_id: config.client_id,
            secret: config.client_secret,
            redirect_uri: format!("{}/review/callback", public.as_str().trim_end_matches('/')),
            authorization,
            token: token.to_string(),
            http: issuer.http().clone(),
            issuer: issuer.url().to_string(),
        });
        Ok(self)
    }

    /// Whether browsers reach us over TLS (cookies are then `Secure`).
    pub(crate) fn web_public_https(&self) -> bool {
        self.web
            .as_ref()
            .is_some_and(|w| w.redirect_uri.starts_with("https://"))
    }

    /// Whether the review pages sign in with the provider.
    pub fn web_sign_in(&self) -> bool {
        self.web.is_some()
    }

    /// The origin of the provider's sign-in page: the sign-in form leads
    /// there through `/login/start`'s redirect, and a browser applies the
    /// page's CSP `form-action` to that redirect too.
    pub(crate) fn web_authorization_origin(&self) -> Option<String> {
        let web = self.web.as_ref()?;
        Some(web.authorization.origin().ascii_serialization()).filter(|o| o != "null")
    }

    /// Where the browser goes to sign in for `attempt`.
    pub(crate) fn web_authorization_url(&self, attempt: &WebAttempt) -> Option<String> {
        let web = self.web.as_ref()?;
        let mut url = web.authorization.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &web.client_id)
            .append_pair("redirect_uri", &web.redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("state", &attempt.state)
            .append_pair("nonce", &attempt.nonce)
            .append_pair("code_challenge", &digest(&attempt.verifier))
            .append_pair("code_challenge_method", "S256");
        Some(url.into())
    }

    /// The issuer the pages sign in with (RFC 9207's `iss` must name it).
    pub(crate) fn web_issuer(&self) -> Option<&str> {
        self.web.as_ref().map(|w| w.issuer.as_str())
    }

    /// Exchanges the code and checks both tokens; who signed in.
    pub(crate) async fn finish_web_sign_in(&self, code: &str, attempt: &WebAttempt) -> Result<Claims, WebSignInError> {
        let web = self
            .web
            .as_ref()
            .ok_or_else(|| WebSignInError::Invalid("no web client is configured".into()))?;
        // RFC 6749 §2.3.1: id and secret are form-encoded inside Basic.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let resp = web
            .http
            .post(&web.token)
            .basic_auth(enc(&web.client_id), Some(enc(&web.secret)))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &web.redirect_uri),
                ("code_verifier", &attempt.verifier),
            ])
            .send()
            .await
            .map_err(|e| WebSignInError::Unreachable(e.to_string()))?;
        let status = resp.status();
        let body = read_capped(resp).await.map_err(WebSignInError::Unreachable)?;
        let reply: TokenReply = serde_json::from_slice(&body)
            .map_err(|_| WebSignInError::Invalid(format!("the token endpoint answered {status} with no JSON")))?;
        if !status.is_success() {
            return Err(if status.is_client_error() {
                WebSignInError::Refused(reply.error.unwrap_or_else(|| status.to_string()))
            } else {
                WebSignInError::Unreachable(format!("the token endpoint answered {status}"))
            });
        }
        let id_token = reply
            .id_token
            .ok_or_else(|| WebSignInError::Invalid("no ID token".into()))?;
        let access = reply
            .access_token
            .ok_or_else(|| WebSignInError::Invalid("no access token".into()))?;
        let id = self.decode(&id_token, Some(&web.client_id)).await?;
        if id.get("nonce").and_then(Value::as_str) != Some(attempt.nonce.as_str()) {
            return Err(WebSignInError::Invalid(
                "the ID token is for another sign-in (nonce)".into(),
            ));
        }
        if id.get("iss").and_then(Value::as_str) != Some(web.issuer.as_str()) {
            return Err(WebSignInError::Invalid("the ID token is from another issuer".into()));
        }
        let who = self.verify(&access).await?;
        // The ID token names the person when it carries the id claim: it
        // must be the access token's person.
        if let Some(person) = id.get(&self.claims.id).and_then(Value::as_str)
            && person != who.sub
        {
            return Err(WebSignInError::Invalid(
                "the two tokens are about different people".into(),
            ));
        }
        Ok(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_random_and_the_challenge_is_s256() {
        let (a, b) = (WebAttempt::new(), WebAttempt::new());
        assert_ne!(a, b);
        assert_eq!(a.state.len(), 43, "256 bits, base64url");
        // RFC 7636 appendix B.
        assert_eq!(
            digest("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
