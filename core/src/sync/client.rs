//! The HTTP side of sync: one request per record, every answer classified
//! into acked, rejected for good, worth retrying, or an auth failure. TLS is
//! rustls only; plain http is allowed to loopback, for tests and the demo.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use super::codec;
use super::protocol::{
    Ack, AckStatus, ApiError, HEADER_FORMAT, HEADER_PATROL_ID, HEADER_SEQ, SyncReply, TRACK_CONTENT_TYPE,
};
use super::{SyncError, TokenProvider};

/// A reply bigger than this is not a reply our protocol makes.
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Acked(AckStatus),
    /// The server refused the record for good; its slug and reason.
    Rejected {
        slug: String,
        reason: String,
    },
    /// Network trouble, a timeout, 5xx, 429: try again later.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Arc<dyn TokenProvider>,
    token: Mutex<Option<String>>,
    /// The longest Retry-After the server asked for in the current pass.
    retry_after: Mutex<Option<Duration>>,
}

impl Client {
    pub fn new(
        base_url: &str,
        pinned_ca_pem: Option<&[u8]>,
        request_timeout: Duration,
        auth: Arc<dyn TokenProvider>,
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
        let mut builder = reqwest::Client::builder()
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
            auth,
            token: Mutex::new(None),
            retry_after: Mutex::new(None),
        })
    }

    fn cached_token(&self) -> Result<String, SyncError> {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let t = self.auth.token().map_err(SyncError::Auth)?;
        *slot = Some(t.clone());
        Ok(t)
    }

    fn refreshed_token(&self) -> Result<String, SyncError> {
        let t = self.auth.refresh().map_err(SyncError::Auth)?;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.clone());
        Ok(t)
    }

    /// Sends a request built by `make`, asking the provider to refresh the
    /// token once on 401. A second 401 is an auth error.
    async fn send(
        &self,
        make: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Result<reqwest::Response, Outcome>, SyncError> {
        let mut token = self.cached_token()?;
        for attempt in 0..2 {
            let resp = match make(&token)
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    return Ok(Err(Outcome::Transient {
                        reason: transport_reason(&e),
                        retry_after: None,
                    }));
                }
            };
            if resp.status() == StatusCode::UNAUTHORIZED {
                if attempt == 0 {
                    token = self.refreshed_token()?;
                    continue;
                }
                return Err(SyncError::Auth("the backend refused the refreshed token".into()));
            }
            return Ok(Ok(resp));
        }
        Err(SyncError::Auth("the backend refused the token".into()))
    }

    /// Remembers a server's Retry-After so the scheduler waits at least that.
    fn note(&self, outcome: Outcome) -> Outcome {
        if let Outcome::Transient {
            retry_after: Some(d), ..
        } = &outcome
        {
            let mut slot = self.retry_after.lock().unwrap_or_else(|p| p.into_inner());
            *slot = Some(slot.map_or(*d, |old| old.max(*d)));
        }
        outcome
    }

    /// The Retry-After asked for since the last call, if any.
    pub fn take_retry_after(&self) -> Option<Duration> {
        self.retry_after.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Uploads one JSON record; only an ack naming `id` clears it.
    async fn post_json(&self, path: &str, id: &str, json: &[u8]) -> Result<Outcome, SyncError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .send(|_| {
                self.http
                    .post(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(json.to_vec())
            })
            .await?;
        Ok(self.note(match resp {
            Ok(r) => classify(r, id).await,
            Err(o) => o,
        }))
    }

    pub async fn post_record(&self, id: &str, json: &[u8]) -> Result<Outcome, SyncError> {
        self.post_json("/v1/records", id, json).await
    }

    pub async fn post_referral(&self, id: &str, json: &[u8]) -> Result<Outcome, SyncError> {
        self.post_json("/v1/referrals", id, json).await
    }

    pub async fn put_chunk(&self, id: &str, patrol_id: &str, seq: u32, bytes: &[u8]) -> Result<Outcome, SyncError> {
        let url = format!("{}/v1/track/{id}", self.base);
        let body = bytes.to_vec();
        let resp = self
            .send(|_| {
                self.http
                    .put(&url)
                    .header(CONTENT_TYPE, TRACK_CONTENT_TYPE)
                    .header(HEADER_PATROL_ID, patrol_id)
                    .header(HEADER_SEQ, seq.to_string())
                    .header(HEADER_FORMAT, codec::FORMAT.to_string())
                    .body(body.clone())
            })
            .await?;
        Ok(self.note(match resp {
            Ok(r) => classify(r, id).await,
            Err(o) => o,
        }))
    }

    /// The force's changes since `cursor`. Any failure is an error: nothing
    /// is applied from a reply we could not read whole.
    pub async fn pull(&self, cursor: &str) -> Result<SyncReply, SyncError> {
        let url = format!("{}/v1/sync", self.base);
        let resp = self.send(|_| self.http.get(&url).query(&[("cursor", cursor)])).await?;
        let resp = resp.map_err(|o| SyncError::Network(outcome_reason(&o)))?;
        let status = resp.status();
        let bytes = read_limited(resp).await.map_err(SyncError::Network)?;
        if !status.is_success() {
            return Err(SyncError::Server(format!(
                "sync refused: HTTP {status}: {}",
                api_reason(&bytes)
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| SyncError::BadReply(format!("sync reply: {e}")))
    }

    pub async fn ack_command(&self, id: &str) -> Result<Outcome, SyncError> {
        let url = format!("{}/v1/commands/{id}/ack", self.base);
        let resp = self.send(|_| self.http.post(&url)).await?;
        Ok(match resp {
            Ok(r) if r.status().is_success() => Outcome::Acked(AckStatus::Stored),
            Ok(r) => classify(r, id).await,
            Err(o) => o,
        })
    }

    // ---- the practice library ----

    /// `POST /v1/library/prefs`: the officer's bookmarks and recent reads,
    /// idempotent by record id like every upload.
    pub async fn post_library_prefs(&self, id: &str, json: &[u8]) -> Result<Outcome, SyncError> {
        self.post_json("/v1/library/prefs", id, json).await
    }

    /// `GET /v1/library/prefs`: the force's latest copy of the officer's
    /// library settings (made on any handset).
    pub async fn library_prefs(&self) -> Result<crate::library::PrefsReply, SyncError> {
        let bytes = self.get_bytes("/v1/library/prefs", None).await?;
        serde_json::from_slice(&bytes).map_err(|e| SyncError::BadReply(format!("library prefs: {e}")))
    }

    /// `GET /v1/library?since=V`: a content pack taking the handset from
    /// `since` to the latest version (or a full one). Returned as bytes: the
    /// library checks them before anything is stored.
    pub async fn library_pack(&self, since: u64) -> Result<Vec<u8>, SyncError> {
        self.get_bytes("/v1/library", Some(("since", since.to_string()))).await
    }

    /// A GET whose whole body is needed; any failure is an error.
    async fn get_bytes(&self, path: &str, query: Option<(&str, String)>) -> Result<Vec<u8>, SyncError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .send(|_| {
                let req = self.http.get(&url);
                match &query {
                    Some((k, v)) => req.query(&[(k, v)]),
                    None => req,
                }
            })
            .await?;
        let resp = resp.map_err(|o| SyncError::Network(outcome_reason(&o)))?;
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
        Ok(bytes)
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

fn is_loopback(url: &reqwest::Url) -> bool {
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

fn transport_reason(e: &reqwest::Error) -> String {
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
    }
}

async fn read_limited(resp: reqwest::Response) -> Result<Vec<u8>, String> {
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
        .map(|s| Duration::from_secs(s.min(3_600)));
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
