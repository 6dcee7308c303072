//! A force identity provider on loopback, for the handset's sign-in tests:
//! discovery, a key set, an authorization endpoint that signs in whichever
//! user the test names (the login form is the provider's business; Keycloak
//! runs the real one in `scripts/keycloak-tests.sh`), and a token endpoint
//! that checks PKCE, issues RS256 access tokens the backend verifies, and
//! rotates refresh tokens with reuse detection, as Entra and Keycloak do.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const AUDIENCE: &str = "guardian-api";
pub const CLIENT_ID: &str = "guardian-handset";
pub const REDIRECT_URI: &str = "uk.police.guardian:/oauth2redirect";
/// The review pages' confidential client.
pub const WEB_CLIENT_ID: &str = "guardian-web";
pub const WEB_CLIENT_SECRET: &str = "web-secret-for-tests";
const KID: &str = "test-rsa-a";

/// What the test can change between requests.
#[derive(Debug, Default)]
pub struct Knobs {
    /// The user the next authorization signs in (their `oid`).
    pub user: String,
    /// Lifetime of the access tokens issued.
    pub access_s: i64,
    /// The next access token is for another audience (the backend refuses it).
    pub wrong_audience_once: bool,
    /// The next ID token carries another nonce.
    pub wrong_nonce_once: bool,
    /// The role the next tokens carry (`officer` when empty).
    pub role: String,
}

#[derive(Default)]
struct Books {
    /// code -> (client, user, nonce, challenge, redirect_uri)
    codes: HashMap<String, (String, String, String, String, String)>,
    /// live refresh token -> user
    refresh: HashMap<String, String>,
    /// refresh tokens already spent (a second use revokes the user's all)
    spent: HashSet<String>,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    key: Arc<EncodingKey>,
    jwk: Value,
    knobs: Arc<Mutex<Knobs>>,
    books: Arc<Mutex<Books>>,
    counter: Arc<AtomicU64>,
    refreshes: Arc<AtomicU64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct Provider {
    pub issuer: String,
    shared: Shared,
    _runtime: tokio::runtime::Runtime,
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn params(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn refuse(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

impl Shared {
    fn fresh(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}-{}",
            self.counter.fetch_add(1, Ordering::SeqCst),
            fastrand::u64(..)
        )
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap_or_default()
    }

    /// Access, refresh and (on a code) ID tokens for `user`.
    fn issue(&self, client: &str, user: &str, nonce: Option<&str>) -> Response {
        let (access_s, aud, nonce, role) = {
            let mut k = lock(&self.knobs);
            let aud = if std::mem::take(&mut k.wrong_audience_once) {
                "elsewhere"
            } else {
                AUDIENCE
            };
            let nonce = nonce.map(|n| {
                if std::mem::take(&mut k.wrong_nonce_once) {
                    "forged".to_string()
                } else {
                    n.to_string()
                }
            });
            let role = if k.role.is_empty() {
                "officer".to_string()
            } else {
                k.role.clone()
            };
            (k.access_s.max(1), aud, nonce, role)
        };
        let now = now_s();
        let access = self.sign(&json!({
            "iss": self.issuer, "aud": aud, "oid": user, "sub": format!("pairwise-{user}"),
            "roles": [role], "iat": now, "exp": now + access_s,
        }));
        let refresh = self.fresh("rt");
        lock(&self.books).refresh.insert(refresh.clone(), user.to_string());
        let mut reply = json!({
            "access_token": access, "token_type": "Bearer", "expires_in": access_s,
            "refresh_token": refresh,
        });
        if let Some(nonce) = nonce {
            reply["id_token"] = json!(self.sign(&json!({
                "iss": self.issuer, "aud": client, "oid": user, "nonce": nonce,
                "iat": now, "exp": now + 300,
            })));
        }
        axum::Json(reply).into_response()
    }
}

async fn discovery(State(s): State<Shared>) -> Response {
    axum::Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/keys", s.issuer),
        "authorization_endpoint": format!("{}/auth", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
    }))
    .into_response()
}

async fn keys(State(s): State<Shared>) -> Response {
    axum::Json(json!({ "keys": [s.jwk] })).into_response()
}

/// Signs in the test's user at once and redirects back with a code.
async fn authorize(State(s): State<Shared>, uri: Uri) -> Response {
    let q = params(uri.query().unwrap_or_default());
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let client = get("client_id");
    let redirect = get("redirect_uri");
    // The handset's custom scheme, or the pages' callback on loopback (any
    // port, as RFC 8252 §7.3 and Keycloak allow).
    let registered = match client.as_str() {
        CLIENT_ID => redirect == REDIRECT_URI,
        WEB_CLIENT_ID => redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/review/callback"),
        _ => false,
    };
    if get("response_type") != "code" || !registered {
        return refuse("invalid_request");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 || get("nonce").is_empty() {
        return refuse("invalid_request");
    }
    let code = s.fresh("code");
    let user = lock(&s.knobs).user.clone();
    lock(&s.books).codes.insert(
        code.clone(),
        (client, user, get("nonce"), get("code_challenge"), redirect.clone()),
    );
    let location = format!(
        "{redirect}?code={code}&state={}&iss={}",
        url::form_urlencoded::byte_serialize(get("state").as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(s.issuer.as_bytes()).collect::<String>(),
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The confidential client's `client_secret_basic`, when sent.
fn basic_client(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn token(State(s): State<Shared>, headers: axum::http::HeaderMap, body: String) -> Response {
    let f = params(&body);
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let client = match basic_client(&headers) {
        Some((id, secret)) if id == WEB_CLIENT_ID && secret == WEB_CLIENT_SECRET => id,
        Some(_) => return refuse("invalid_client"),
        None if get("client_id") == CLIENT_ID => CLIENT_ID.to_string(),
        None => return refuse("invalid_client"),
    };
    match get("grant_type").as_str() {
        "authorization_code" => {
            // A code is good once.
            let Some((issued_to, user, nonce, challenge, redirect)) = lock(&s.books).codes.remove(&get("code")) else {
                return refuse("invalid_grant");
            };
            let proof = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if proof != challenge || redirect != get("redirect_uri") || issued_to != client {
                return refuse("invalid_grant");
            }
            s.issue(&client, &user, Some(&nonce))
        }
        "refresh_token" => {
            let used = get("refresh_token");
            let user = {
                let mut b = lock(&s.books);
                match b.refresh.remove(&used) {
                    Some(user) => {
                        b.spent.insert(used);
                        user
                    }
                    None => {
                        if b.spent.contains(&used) {
                            // Reuse: someone else holds a copy. Revoke them all.
                            b.refresh.clear();
                        }
                        return refuse("invalid_grant");
                    }
                }
            };
            s.refreshes.fetch_add(1, Ordering::SeqCst);
            s.issue(&client, &user, None)
        }
        _ => refuse("unsupported_grant_type"),
    }
}

impl Provider {
    pub fn start() -> Provider {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .expect("bind");
        let issuer = format!("http://{}/realms/force", listener.local_addr().expect("addr"));
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../backend/tests/keys/rsa-a.pem")).expect("key");
        let key = EncodingKey::from_rsa_pem(&pem).expect("rsa key");
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk")).expect("json");
        jwk["kid"] = json!(KID);
        let shared = Shared {
            issuer: issuer.clone(),
            key: Arc::new(key),
            jwk,
            knobs: Arc::new(Mutex::new(Knobs {
                user: crate::handset::OFFICER.into(),
                access_s: 300,
                ..Knobs::default()
            })),
            books: Arc::default(),
            counter: Arc::default(),
            refreshes: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/realms/force/.well-known/openid-configuration", get(discovery))
            .route("/realms/force/keys", get(keys))
            .route("/realms/force/auth", get(authorize))
            .route("/realms/force/token", post(token))
            .with_state(shared.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Provider {
            issuer,
            shared,
            _runtime: runtime,
        }
    }

    pub fn knobs(&self) -> MutexGuard<'_, Knobs> {
        lock(&self.shared.knobs)
    }

    /// Refresh grants honoured so far.
    pub fn refreshes(&self) -> u64 {
        self.shared.refreshes.load(Ordering::SeqCst)
    }

    /// The force revokes every refresh token (a leaver, a stolen phone).
    pub fn revoke_all(&self) {
        lock(&self.shared.books).refresh.clear();
    }

    /// What the system browser does with the core's URL: the provider's
    /// redirect, as the app would receive it.
    pub fn browse(&self, url: &str) -> String {
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let resp = http.get(url).send().expect("authorize");
        assert_eq!(
            resp.status(),
            StatusCode::FOUND.as_u16(),
            "the provider refused the URL"
        );
        resp.headers()[header::LOCATION.as_str()]
            .to_str()
            .expect("location")
            .to_string()
    }
}
