//! The HTTP side of sync: one request per call, every answer classified
//! into acked, rejected for good, worth retrying, or refused login
//! ([`Outcome`]); what each means for the outbox is [`super::pass`]'s to
//! decide. TLS is rustls only; plain http is allowed to loopback, for tests
//! and the demo.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use guardian_protocol::codec;
use guardian_protocol::library::PrefsReply;
use guardian_protocol::wire::{
    Ack, ApiError, HEADER_DEVICE, HEADER_FORMAT, HEADER_PATROL_ID, HEADER_SEQ, SyncReply, TRACK_CONTENT_TYPE,
};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use super::pass::Outcome;
use super::{Login, SyncError};
use crate::store::outbox::{Item, Kind};

/// A reply bigger than this is not a reply our protocol makes.
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A read that needs the login: what was read, or the token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Got(T),
    Unauthorized,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    login: Login,
    /// A shell's token, asked for once and kept until refused.
    token: Mutex<Option<String>>,
}

impl Client {
    pub fn new(
        base_url: &str,
        pinned_ca_pem: Option<&[u8]>,
        request_timeout: Duration,
        device_id: Option<&str>,
        login: Login,
    ) -> Result<Self, SyncError> {
        let base = base_url.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|e| SyncError::Config(format!("bad backend URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => {
                return Err(SyncError::Config(
                    "the backend must be https (plain http only to loopback)".into(),
                ));
            }
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(id) = device_id {
            let value = reqwest::header::HeaderValue::from_str(id)
                .map_err(|_| SyncError::Config("the device id is not a header value".into()))?;
            headers.insert(HEADER_DEVICE, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .use_rustls_tls()
            .https_only(url.scheme() == "https")
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(request_timeout)
            .pool_idle_timeout(Duration::from_secs(30));
        if let Some(pem) = pinned_ca_pem {
            builder = builder.tls_built_in_root_certs(false);
            for cert in pinned_certificates(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| SyncError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base,
            login,
            token: Mutex::new(None),
        })
    }

    /// A shell's token is asked for once and kept until refused; the
    /// core's own sign-in keeps (and renews) its own.
    async fn current_token(&self) -> Result<String, SyncError> {
        let Login::Shell(_) = self.login else {
            return self.login.token().await;
        };
        if let Some(t) = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(t);
        }
        let t = self.login.token().await?;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.clone());
        Ok(t)
    }

    /// A fresh token after a 401 (the core's own sign-in holds its own).
    pub async fn refresh_token(&self) -> Result<(), SyncError> {
        let t = self.login.refresh().await?;
        if let Login::Shell(_) = self.login {
            *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
        }
        Ok(())
    }

    /// Sends a request built by `make` with the current token. A 401 is
    /// answered as [`Outcome::Unauthorized`], and so is transport trouble
    /// as [`Outcome::Transient`]: the caller decides.
    async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Result<reqwest::Response, Outcome>, SyncError> {
        let token = self.current_token().await?;
        let resp = match make().header(AUTHORIZATION, format!("Bearer {token}")).send().await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(Outcome::Transient {
                    reason: transport_reason(&e),
                    retry_after: None,
                }));
            }
        };
        if resp.status() == StatusCode::UNAUTHORIZED {
            return Ok(Err(Outcome::Unauthorized));
        }
        Ok(Ok(resp))
    }

    /// Uploads one outbox record; only an ack naming its id clears it.
    pub async fn upload(&self, item: &Item) -> Result<Outcome, SyncError> {
        match item.kind {
            Kind::TrackChunk => {
                self.put_chunk(
                    &item.id,
                    item.patrol_id.as_deref().unwrap_or_default(),
                    item.seq,
                    &item.payload,
                )
                .await
            }
            Kind::CheckIn | Kind::CheckOut => self.post_json("/v1/records", &item.id, &item.payload).await,
            Kind::Referral => self.post_json("/v1/referrals", &item.id, &item.payload).await,
            Kind::LibraryPrefs => self.post_json("/v1/library/prefs", &item.id, &item.payload).await,
        }
    }

    async fn post_json(&self, path: &str, id: &str, json: &[u8]) -> Result<Outcome, SyncError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .send(|| {
                self.http
                    .post(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(json.to_vec())
            })
            .await?;
        Ok(match resp {
            Ok(r) => classify(r, id).await,
            Err(o) => o,
        })
    }

    async fn put_chunk(&self, id: &str, patrol_id: &str, seq: u32, bytes: &[u8]) -> Result<Outcome, SyncError> {
        let url = format!("{}/v1/track/{id}", self.base);
        let resp = self
            .send(|| {
                self.http
                    .put(&url)
                    .header(CONTENT_TYPE, TRACK_CONTENT_TYPE)
                    .header(HEADER_PATROL_ID, patrol_id)
                    .header(HEADER_SEQ, seq.to_string())
                    .header(HEADER_FORMAT, codec::FORMAT.to_string())
                    .body(bytes.to_vec())
            })
            .await?;
        Ok(match resp {
            Ok(r) => classify(r, id).await,
            Err(o) => o,
        })
    }

    /// The force's changes since `cursor`. Any failure is an error: nothing
    /// is applied from a reply we could not read whole.
    pub async fn pull(&self, cursor: &str) -> Result<Answer<SyncReply>, SyncError> {
        let bytes = match self.get_bytes("/v1/sync", Some(("cursor", cursor.to_string()))).await? {
            Answer::Got(b) => b,
            Answer::Unauthorized => return Ok(Answer::Unauthorized),
        };
        serde_json::from_slice(&bytes)
            .map(Answer::Got)
            .map_err(|e| SyncError::BadReply(format!("sync reply: {e}")))
    }

    pub async fn ack_command(&self, id: &str) -> Result<Answer<()>, SyncError> {
        let url = format!("{}/v1/commands/{id}/ack", self.base);
        Ok(match self.send(|| self.http.post(&url)).await? {
            Ok(r) if r.status().is_success() => Answer::Got(()),
            // If this ack is lost the command comes again: wiping twice is
            // harmless, so a refused ack is not worth failing the pass for.
            Ok(r) => {
                tracing::warn!(status = r.status().as_u16(), "command ack refused");
                Answer::Got(())
            }
            Err(Outcome::Unauthorized) => Answer::Unauthorized,
            Err(o) => {
                tracing::warn!(reason = %outcome_reason(&o), "command ack not delivered");
                Answer::Got(())
            }
        })
    }

    // ---- the practice library ----

    /// `GET /v1/library/prefs`: the force's latest copy of the officer's
    /// library settings (made on any handset).
    pub async fn library_prefs(&self) -> Result<Answer<PrefsReply>, SyncError> {
        match self.get_bytes("/v1/library/prefs", None).await? {
            Answer::Got(bytes) => serde_json::from_slice(&bytes)
                .map(Answer::Got)
                .map_err(|e| SyncError::BadReply(format!("library prefs: {e}"))),
            Answer::Unauthorized => Ok(Answer::Unauthorized),
        }
    }

    /// `GET /v1/library?since=V`: a content pack taking the handset from
    /// `since` to the latest version (or a full one). Returned as bytes: the
    /// library checks them before anything is stored.
    pub async fn library_pack(&self, since: u64) -> Result<Answer<Vec<u8>>, SyncError> {
        self.get_bytes("/v1/library", Some(("since", since.to_string()))).await
    }

    /// A GET whose whole body is needed; any failure is an error.
    async fn get_bytes(&self, path: &str, query: Option<(&str, String)>) -> Result<Answer<Vec<u8>>, SyncError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .send(|| {
                let req = self.http.get(&url);
                match &query {
                    Some((k, v)) => req.query(&[(k, v)]),
                    None => req,
                }
            })
            .await?;
        let resp = match resp {
            Ok(r) => r,
            Err(Outcome::Unauthorized) => return Ok(Answer::Unauthorized),
            Err(o) => return Err(SyncError::Network(outcome_reason(&o))),
        };
        let status = resp.status();
        let bytes = read_limited(resp).await.map_err(SyncError::Network)?;
        if status.is_server_error() {
            return Err(SyncError::Network(format!("{path}: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(SyncError::Server(format!(
                "{path} refused: HTTP {status}: {}",
                api_reason(&bytes)
            )));
        }
        Ok(Answer::Got(bytes))
    }
}

/// The force's CA certificates to trust instead of the public roots: one,
/// or several while the force rotates its CA. Text with no certificate in it
/// is refused here; otherwise the client would trust nothing at all and every
/// sync would fail as if there were no signal.
fn pinned_certificates(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, SyncError> {
    let certs =
        reqwest::Certificate::from_pem_bundle(pem).map_err(|e| SyncError::Config(format!("bad pinned CA: {e}")))?;
    if certs.is_empty() {
        return Err(SyncError::Config("the pinned CA holds no PEM certificate".into()));
    }
    Ok(certs)
}

pub(super) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

pub(super) fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot reach the backend".into()
    } else {
        "connection failed".into()
    }
}

fn outcome_reason(o: &Outcome) -> String {
    match o {
        Outcome::Transient { reason, .. } => reason.clone(),
        Outcome::Rejected { reason, .. } => reason.clone(),
        Outcome::Acked(_) => "acked".into(),
        Outcome::Unauthorized => "the backend refused the token".into(),
    }
}

pub(super) async fn read_limited(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > MAX_REPLY_BYTES as u64) {
        return Err("reply too large".into());
    }
    let mut resp = resp;
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_REPLY_BYTES {
                    return Err("reply too large".into());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(format!("reply cut short ({})", transport_reason(&e))),
        }
    }
}

fn api_reason(bytes: &[u8]) -> String {
    match serde_json::from_slice::<ApiError>(bytes) {
        Ok(e) => format!("{}: {}", e.error, e.reason),
        Err(_) => "no readable reason".into(),
    }
}

/// Turns an HTTP answer to an upload into an outcome. Only a well-formed
/// ack naming this very record clears it from the outbox.
async fn classify(resp: reqwest::Response, id: &str) -> Outcome {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = match read_limited(resp).await {
        Ok(b) => b,
        Err(reason) => return Outcome::Transient { reason, retry_after },
    };
    if status.is_success() {
        return match serde_json::from_slice::<Ack>(&bytes) {
            Ok(ack) if ack.id == id => Outcome::Acked(ack.status),
            Ok(_) => Outcome::Transient {
                reason: "the backend acknowledged a different record".into(),
                retry_after: None,
            },
            Err(_) => Outcome::Transient {
                reason: "unreadable acknowledgement".into(),
                retry_after: None,
            },
        };
    }
    let transient =
        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT;
    if transient {
        return Outcome::Transient {
            reason: format!("HTTP {}", status.as_u16()),
            retry_after,
        };
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(e) => Outcome::Rejected {
            slug: e.error,
            reason: e.reason,
        },
        Err(_) => Outcome::Rejected {
            slug: format!("http-{}", status.as_u16()),
            reason: format!("refused with HTTP {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_ca_without_a_certificate_is_a_configuration_error() {
        for pem in [
            &b"not a certificate"[..],
            b"",
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            assert!(matches!(pinned_certificates(pem), Err(SyncError::Config(_))), "{pem:?}");
        }
    }
}
