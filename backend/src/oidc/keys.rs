//! One issuer's signing keys: discovery, the key set, the cache by `kid`
//! and the rate limit on refetching it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;

use super::{OidcError, REFETCH_EVERY, checked_url};

/// A discovery document or key set is small; anything bigger is refused.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

pub(super) struct Key {
    pub key: DecodingKey,
    family: AlgorithmFamily,
    /// The key's own `alg`, when it names one (Entra's keys do not).
    alg: Option<Algorithm>,
}

impl Key {
    /// Whether this key may check a signature made with `alg`: the same
    /// family, and the key's own `alg` if it has one.
    pub fn signs(&self, alg: Algorithm) -> bool {
        alg.family() == self.family && self.alg.is_none_or(|a| a == alg)
    }
}

#[must_use]
pub(super) enum Fetched {
    Keys,
    /// The last fetch was under [`REFETCH_EVERY`] ago.
    TooSoon,
    Failed,
}

pub(super) struct Issuer {
    url: String,
    jwks_uri: String,
    /// (authorization, token) endpoints, when the document names both.
    endpoints: Option<(String, String)>,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, Arc<Key>>>,
    /// `kid`s a fetch found withdrawn: refused at once, never "pending".
    retired: RwLock<std::collections::HashSet<String>>,
    /// When the last fetch began; held across a fetch so concurrent
    /// unknown `kid`s wait for one fetch rather than each making one.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
    max_age: Duration,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    /// Only the web pages' sign-in needs these two.
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<serde_json::Value>,
}

impl Issuer {
    pub async fn discover(http: reqwest::Client, url: &str, max_age: Duration) -> Result<Issuer, OidcError> {
        let at = format!("{}/.well-known/openid-configuration", url.trim_end_matches('/'));
        let doc: Discovery = serde_json::from_slice(&fetch(&http, &at).await?).map_err(|e| OidcError::Fetch {
            url: at.clone(),
            reason: format!("not a discovery document: {e}"),
        })?;
        // OpenID Connect Discovery §4.3: the document must name the issuer
        // it was fetched for, or it is someone else's.
        if doc.issuer != url {
            return Err(OidcError::Fetch {
                url: at,
                reason: format!("names issuer {:?}, not {url:?}", doc.issuer),
            });
        }
        checked_url("jwks_uri", &doc.jwks_uri)?;
        let issuer = Issuer {
            url: url.to_string(),
            jwks_uri: doc.jwks_uri,
            endpoints: doc.authorization_endpoint.zip(doc.token_endpoint),
            http,
            keys: RwLock::new(HashMap::new()),
            retired: RwLock::default(),
            last_fetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            max_age,
        };
        // A key set that cannot be fetched now is not fatal: the server
        // starts, answers 503 until it can, and keeps trying.
        if let Fetched::Failed = issuer.refetch().await {
            tracing::warn!(issuer = %issuer.url, "starting with no signing keys; tokens are refused with 503 until the key set can be fetched");
        }
        Ok(issuer)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn endpoints(&self) -> Option<(&str, &str)> {
        self.endpoints.as_ref().map(|(a, t)| (a.as_str(), t.as_str()))
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub fn key(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    pub fn retired(&self, kid: &str) -> bool {
        self.retired.read().is_ok_and(|r| r.contains(kid))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.read().map_or(true, |k| k.is_empty())
    }

    /// Reads the key set again if the last read is older than its maximum
    /// age. Never waits behind a fetch already under way.
    pub async fn refresh_if_stale(&self) {
        let stale = match self.last_fetch.try_lock() {
            Ok(last) => last.is_none_or(|t| t.elapsed() >= self.max_age.max(REFETCH_EVERY)),
            Err(_) => false,
        };
        if stale {
            let _ = self.refetch().await;
        }
    }

    /// Fetches the key set again unless that was done under
    /// [`REFETCH_EVERY`] ago. A failed fetch keeps the cached keys: a
    /// provider that is down does not sign anyone out.
    pub async fn refetch(&self) -> Fetched {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < REFETCH_EVERY) {
            return Fetched::TooSoon;
        }
        *last = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = fetch(&self.http, &self.jwks_uri)
            .await
            .map_err(|e| e.to_string())
            .and_then(|bytes| parse_key_set(&bytes));
        match fetched {
            Ok(keys) if !keys.is_empty() => {
                if let (Ok(mut held), Ok(mut retired)) = (self.keys.write(), self.retired.write()) {
                    // Replaced, not merged: a key the provider withdrew
                    // stops verifying.
                    retired.extend(held.keys().filter(|kid| !keys.contains_key(*kid)).cloned());
                    retired.retain(|kid| !keys.contains_key(kid));
                    *held = keys;
                }
                Fetched::Keys
            }
            Ok(_) => {
                tracing::warn!(issuer = %self.url, "the key set lists no usable key; the cached keys stay");
                Fetched::Failed
            }
            Err(reason) => {
                tracing::warn!(issuer = %self.url, %reason, "the key set could not be fetched; the cached keys stay");
                Fetched::Failed
            }
        }
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, OidcError> {
    let failed = |reason: String| OidcError::Fetch {
        url: url.to_string(),
        reason,
    };
    let resp = http.get(url).send().await.map_err(|e| failed(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(failed(format!("answered {}", resp.status())));
    }
    read_capped(resp).await.map_err(failed)
}

/// A provider's answer, refused past [`MAX_DOCUMENT_BYTES`].
pub(super) async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The signing keys of a JWKS document by `kid`. Keys this server cannot
/// use (encryption keys, unknown types, no `kid`) are skipped, not fatal:
/// providers publish those beside their signing keys.
fn parse_key_set(bytes: &[u8]) -> Result<HashMap<String, Arc<Key>>, String> {
    let set: KeySet = serde_json::from_slice(bytes).map_err(|e| format!("not a key set: {e}"))?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => match signing_algorithm(a) {
                Some(a) => Some(a),
                None => continue,
            },
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let family = key.family();
        if family == AlgorithmFamily::Hmac {
            // A shared secret in a public key set is a misconfiguration.
            continue;
        }
        keys.insert(kid, Arc::new(Key { key, family, alg }));
    }
    Ok(keys)
}

fn signing_algorithm(a: KeyAlgorithm) -> Option<Algorithm> {
    Some(match a {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_without_alg_signs_under_its_family_and_an_encryption_key_is_skipped() {
        let set = serde_json::json!({"keys": [
            // Entra's shape: no `alg`.
            {"kty": "RSA", "use": "sig", "kid": "a", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
            {"kty": "RSA", "use": "enc", "kid": "b", "alg": "RSA-OAEP", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
            {"kty": "oct", "kid": "c", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "weird", "kid": "d"}
        ]});
        let keys = parse_key_set(set.to_string().as_bytes()).expect("parse");
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
        let a = &keys["a"];
        assert!(a.signs(Algorithm::RS256));
        assert!(a.signs(Algorithm::RS384));
        assert!(!a.signs(Algorithm::ES256));
        assert!(!a.signs(Algorithm::HS256));
    }

    #[test]
    fn a_key_naming_its_alg_signs_only_with_it() {
        let set = serde_json::json!({"keys": [
            {"kty": "EC", "kid": "e", "alg": "ES256", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]});
        let keys = parse_key_set(set.to_string().as_bytes()).expect("parse");
        assert!(keys["e"].signs(Algorithm::ES256));
        assert!(!keys["e"].signs(Algorithm::ES384));
        assert!(parse_key_set(b"{\"nokeys\": []}").is_err());
    }
}
