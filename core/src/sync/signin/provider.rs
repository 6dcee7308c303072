//! The force's identity provider over HTTP: its discovery document and its
//! token endpoint (a code exchanged, a refresh token spent). Its own client:
//! the provider is not the backend, so neither the backend's pinned CA nor
//! its device header go there.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::sync::SyncError;
use crate::sync::client::{is_loopback, read_limited, transport_reason};

const TIMEOUT: Duration = Duration::from_secs(20);

// Replies are read as `serde_json::Value` rather than derived structs: each
// derive is code in the phone library, whose size budget is nearly spent.

/// The two endpoints the handset uses, read from discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
}

/// What the token endpoint gave.
#[derive(Clone)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_string)
}

/// Why the token endpoint gave nothing.
#[derive(Debug)]
pub enum TokenError {
    /// The grant is dead (`invalid_grant` and its kin): the officer must
    /// sign in again.
    Refused(String),
    /// Worth trying again later (no signal, the provider down), or a
    /// reply that cannot be used: the grant may still be good.
    Other(SyncError),
}

/// https only, but for loopback (tests): a provider's answer decides who
/// the officer is.
pub fn checked_url(url: &str, what: &str) -> Result<Url, SyncError> {
    let u = Url::parse(url).map_err(|e| SyncError::Config(format!("{what}: {e}")))?;
    match u.scheme() {
        "https" => Ok(u),
        "http" if is_loopback(&u) => Ok(u),
        _ => Err(SyncError::Config(format!(
            "{what} must be https (plain http only to loopback)"
        ))),
    }
}

pub struct Provider {
    http: reqwest::Client,
    issuer: String,
}

impl Provider {
    pub fn new(issuer: &str) -> Result<Self, SyncError> {
        let url = checked_url(issuer, "the sign-in issuer")?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(url.scheme() == "https")
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| SyncError::Config(e.to_string()))?;
        Ok(Self {
            http,
            issuer: issuer.to_string(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The discovery document, checked to name the configured issuer
    /// (OpenID Connect Discovery 4.3) and to point at usable endpoints.
    pub async fn discover(&self) -> Result<Discovery, SyncError> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| SyncError::Network(format!("the force's sign-in: {}", transport_reason(&e))))?;
        let status = resp.status();
        let body = read_limited(resp)
            .await
            .map_err(|e| SyncError::Network(format!("the force's sign-in: {e}")))?;
        if !status.is_success() {
            return Err(SyncError::Server(format!(
                "the force's sign-in answered discovery with {status}"
            )));
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| SyncError::BadReply(format!("the provider's discovery document: {e}")))?;
        let (Some(issuer), Some(authorization_endpoint), Some(token_endpoint)) = (
            text(&v, "issuer"),
            text(&v, "authorization_endpoint"),
            text(&v, "token_endpoint"),
        ) else {
            return Err(SyncError::BadReply(
                "the provider's discovery document lacks an issuer or an endpoint".into(),
            ));
        };
        let d = Discovery {
            issuer,
            authorization_endpoint,
            token_endpoint,
        };
        if d.issuer != self.issuer {
            return Err(SyncError::BadReply(format!(
                "the provider's discovery names issuer {:?}, not {:?}",
                d.issuer, self.issuer
            )));
        }
        checked_url(&d.authorization_endpoint, "the provider's authorization endpoint")?;
        checked_url(&d.token_endpoint, "the provider's token endpoint")?;
        Ok(d)
    }

    /// One call to the token endpoint as a public client (the app holds no
    /// secret: PKCE stands in for it).
    pub async fn token(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<Tokens, TokenError> {
        let other = TokenError::Other;
        let resp = self.http.post(endpoint).form(form).send().await.map_err(|e| {
            other(SyncError::Network(format!(
                "the force's sign-in: {}",
                transport_reason(&e)
            )))
        })?;
        let status = resp.status();
        let body = read_limited(resp)
            .await
            .map_err(|e| other(SyncError::Network(format!("the force's sign-in: {e}"))))?;
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        if status.is_success() {
            let access_token = text(&v, "access_token").filter(|t| !t.is_empty());
            let Some(access_token) = access_token else {
                return Err(other(SyncError::BadReply(
                    "the provider's token reply has no access token".into(),
                )));
            };
            return Ok(Tokens {
                access_token,
                expires_in: v["expires_in"].as_i64(),
                refresh_token: text(&v, "refresh_token"),
                id_token: text(&v, "id_token"),
            });
        }
        if (status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED)
            && let Some(error) = text(&v, "error")
        {
            let why = format!("{error} {}", text(&v, "error_description").unwrap_or_default());
            return Err(TokenError::Refused(why.trim().to_string()));
        }
        Err(other(SyncError::Server(format!(
            "the force's sign-in answered {status}"
        ))))
    }
}
