//! The force's identity provider: the backend as an OpenID Connect resource
//! server. A bearer token is trusted only when an issuer named at start
//! signed it with a key from that issuer's published key set, with an
//! algorithm this server pinned, for this server's audience, and within its
//! lifetime (60 s leeway either side for clocks).
//!
//! Signature checking is `jsonwebtoken` on its RustCrypto backend (the
//! SHA-2 and HMAC crates the store already builds; no C library). The key
//! set is fetched at start and cached by `kid`; a token naming a `kid` not
//! in the cache refetches it, at most once every [`REFETCH_EVERY`] however
//! many unknown `kid`s arrive, so a provider's key rotation needs no
//! restart and a flood of made-up `kid`s is not a flood of fetches.

mod claims;
mod keys;
mod web;

use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use reqwest::Url;
use serde_json::{Map, Value};

pub use claims::ClaimNames;
use keys::{Fetched, Issuer};
pub(crate) use web::{WebAttempt, digest as web_digest, random_token as web_random};
pub use web::{WebClientConfig, WebSignInError};

use crate::token::Claims;

/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_S: u64 = 60;
/// The shortest time between two fetches of one issuer's key set.
pub const REFETCH_EVERY: Duration = Duration::from_secs(10);
/// A key set older than this is read again on the next request, so a key
/// the provider withdrew stops verifying within it, even when no unknown
/// `kid` ever asks for a refetch.
pub const MAX_KEY_AGE: Duration = Duration::from_secs(10 * 60);
/// A discovery document or key set takes at most this long to arrive.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What `serve --oidc-*` says.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Issuer URLs exactly as the tokens' `iss` says them.
    pub issuers: Vec<String>,
    /// A token must name one of these in `aud`.
    pub audiences: Vec<String>,
    /// The only algorithms accepted; a token's own `alg` header never
    /// widens this.
    pub algorithms: Vec<Algorithm>,
    pub claims: ClaimNames,
    /// A key set older than this is read again on the next request
    /// ([`MAX_KEY_AGE`] unless a test shortens it).
    pub max_key_age: Duration,
}

impl OidcConfig {
    pub fn new(issuers: Vec<String>, audiences: Vec<String>) -> Self {
        Self {
            issuers,
            audiences,
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            claims: ClaimNames::default(),
            max_key_age: MAX_KEY_AGE,
        }
    }
}

/// Why the provider could not be reached or read at start.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("{0}")]
    Config(String),
    #[error("{url}: {reason}")]
    Fetch { url: String, reason: String },
}

/// Why a bearer token was refused. Each is a 401 with its own slug, except
/// [`AuthError::KeysUnavailable`] (503: the provider's keys could not be
/// fetched and none are cached), [`AuthError::KeyPending`] (503: a `kid` not
/// yet seen, within the refetch interval) and the role errors (403: the
/// provider vouched for someone this service has no role for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not a well-formed token")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is signed with an algorithm this server does not accept")]
    Algorithm,
    #[error("the token is not from an issuer this server trusts")]
    UntrustedIssuer,
    #[error("the token is not meant for this service")]
    WrongAudience,
    #[error("the token's signing key is not one the issuer publishes")]
    UnknownKey,
    #[error("the token lacks the {0} claim")]
    MissingClaim(String),
    #[error("the identity provider's keys cannot be fetched; try again shortly")]
    KeysUnavailable,
    #[error("the token's signing key is new to this server; its key set is read again shortly")]
    KeyPending,
    #[error("the token carries no role this service knows")]
    NoRole,
    #[error("the token carries more than one of this service's roles")]
    AmbiguousRole,
}

/// The trusted issuers, their key caches and the claim mapping.
pub struct Oidc {
    issuers: Vec<Issuer>,
    validation: Validation,
    claims: ClaimNames,
    /// The web pages' own sign-in, when configured.
    web: Option<web::WebClient>,
}

impl Oidc {
    /// Reads each issuer's discovery document and key set. Refuses an
    /// `http://` issuer anywhere but on loopback.
    pub async fn discover(config: OidcConfig) -> Result<Oidc, OidcError> {
        if config.issuers.is_empty() {
            return Err(OidcError::Config("give at least one --oidc-issuer".into()));
        }
        if config.audiences.is_empty() {
            return Err(OidcError::Config(
                "give --oidc-audience: the audience this service's tokens name".into(),
            ));
        }
        if config.algorithms.is_empty() {
            return Err(OidcError::Config("give at least one --oidc-alg".into()));
        }
        if let Some(alg) = config
            .algorithms
            .iter()
            .find(|a| !matches!(a, Algorithm::RS256 | Algorithm::ES256))
        {
            return Err(OidcError::Config(format!(
                "--oidc-alg {alg:?}: only RS256 and ES256 are accepted"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // Fetches are rare; a pooled connection would outlive the
            // runtime that opened it.
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Config(format!("HTTP client: {e}")))?;
        let mut issuers = Vec::with_capacity(config.issuers.len());
        for url in &config.issuers {
            checked_url("--oidc-issuer", url)?;
            issuers.push(Issuer::discover(http.clone(), url, config.max_key_age).await?);
        }
        let mut validation = Validation::new(config.algorithms[0]);
        validation.algorithms = config.algorithms.clone();
        validation.leeway = LEEWAY_S;
        validation.validate_nbf = true;
        validation.set_audience(&config.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        Ok(Oidc {
            issuers,
            validation,
            claims: config.claims,
            web: None,
        })
    }

    /// [`Oidc::discover`] from outside any async runtime (the CLI, tests).
    pub fn discover_blocking(config: OidcConfig) -> Result<Oidc, OidcError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OidcError::Config(format!("runtime: {e}")))?
            .block_on(Oidc::discover(config))
    }

    /// The issuers, for the server's start line.
    pub fn issuer_urls(&self) -> Vec<&str> {
        self.issuers.iter().map(Issuer::url).collect()
    }

    /// How many key-set fetches this server has made since start (the
    /// first included), over every issuer.
    pub fn key_fetches(&self) -> u64 {
        self.issuers.iter().map(Issuer::fetches).sum()
    }

    pub(crate) async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.decode(token, None).await?;
        self.claims.map(&claims)
    }

    /// A token's verified claims: signed by a trusted issuer's key, with an
    /// algorithm we pinned, in date, and for one of our audiences (or, for
    /// an ID token, for `audience`).
    async fn decode(&self, token: &str, audience: Option<&str>) -> Result<Map<String, Value>, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(AuthError::Algorithm);
        }
        // The issuer is read unverified only to choose whose keys check
        // the signature; `decode` then requires it again.
        let iss = claims::peek_issuer(token).ok_or(AuthError::MissingClaim("iss".into()))?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.url() == iss)
            .ok_or(AuthError::UntrustedIssuer)?;
        let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
        issuer.refresh_if_stale().await;
        let key = match issuer.key(kid) {
            Some(k) => k,
            None => {
                let fetched = issuer.refetch().await;
                match issuer.key(kid) {
                    Some(k) => k,
                    None if issuer.is_empty() => return Err(AuthError::KeysUnavailable),
                    None if issuer.retired(kid) => return Err(AuthError::UnknownKey),
                    // Not read again yet: a key the provider just rotated in
                    // looks like this, so "try again", not "never".
                    None if matches!(fetched, Fetched::TooSoon) => return Err(AuthError::KeyPending),
                    None => return Err(AuthError::UnknownKey),
                }
            }
        };
        if !key.signs(header.alg) {
            return Err(AuthError::Algorithm);
        }
        let mut validation = self.validation.clone();
        validation.set_issuer(&[issuer.url()]);
        // jsonwebtoken wants every listed algorithm to fit the key; the
        // header's is one of ours (checked above) and fits it.
        validation.algorithms = vec![header.alg];
        if let Some(aud) = audience {
            validation.set_audience(&[aud]);
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.into_kind() {
                K::ExpiredSignature => AuthError::Expired,
                K::ImmatureSignature => AuthError::NotYetValid,
                K::InvalidIssuer => AuthError::UntrustedIssuer,
                K::InvalidAudience => AuthError::WrongAudience,
                K::InvalidSignature => AuthError::BadSignature,
                K::InvalidAlgorithm | K::MissingAlgorithm => AuthError::Algorithm,
                K::MissingRequiredClaim(c) => AuthError::MissingClaim(c),
                _ => AuthError::Malformed,
            }
        })?;
        Ok(data.claims)
    }
}

/// Tokens are headers; anything longer is not a token.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// An https URL, or http on loopback (tests and a provider on this host).
fn checked_url(what: &str, url: &str) -> Result<Url, OidcError> {
    let parsed = Url::parse(url).map_err(|e| OidcError::Config(format!("{what} {url:?}: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(OidcError::Config(format!(
            "{what} {url:?}: an identity provider is reached over https (http only on loopback)"
        ))),
        other => Err(OidcError::Config(format!(
            "{what} {url:?}: not an http(s) URL ({other})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_issuer_is_refused_off_loopback_and_https_is_required() {
        assert!(checked_url("x", "https://login.example.test/tenant/v2.0").is_ok());
        assert!(checked_url("x", "http://127.0.0.1:8080/realms/guardian").is_ok());
        assert!(checked_url("x", "http://[::1]:8080/realms/guardian").is_ok());
        assert!(checked_url("x", "http://localhost:8080/realms/guardian").is_ok());
        for bad in [
            "http://idp.example.test/realms/guardian",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(matches!(checked_url("x", bad), Err(OidcError::Config(_))), "{bad}");
        }
    }
}
