//! The backend as an OpenID Connect resource server, against a provider on
//! loopback that publishes a real discovery document and key set over
//! HTTP: good tokens of both pinned algorithms, each hostile token refused
//! with a 401 and its own slug (never a 500), key rotation with no
//! restart, no fetch storm from made-up `kid`s, and a provider that is down.
//! `scripts/keycloak-tests.sh` runs the same server against Keycloak.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use guardian_backend::{Oidc, OidcConfig, REFETCH_EVERY, Role, spawn};
use guardian_core::patrol::Rank;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use common::{assert_error, fresh_store, loopback, open_store};

const AUDIENCE: &str = "guardian-api";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test key")
}

struct SigningKey {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

impl SigningKey {
    fn rsa(kid: &str, file: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(&key(file)).expect("rsa key"),
        }
    }

    fn ec(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(&key("ec-p256.pem")).expect("ec key"),
        }
    }

    /// The public half as a JWKS entry. `with_alg: false` is Entra's shape.
    fn jwk(&self, with_alg: bool) -> Value {
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&self.key, self.alg).expect("jwk")).expect("json");
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        if !with_alg && let Some(m) = jwk.as_object_mut() {
            m.remove("alg");
        }
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign")
    }
}

/// A provider on loopback: its discovery document and a key set the test
/// can change, take down, and count fetches of.
struct Provider {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    up: Arc<AtomicBool>,
    fetches: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct ProviderState {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    up: Arc<AtomicBool>,
    fetches: Arc<AtomicU64>,
}

async fn discovery(State(s): State<ProviderState>) -> Response {
    axum::Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/keys", s.issuer),
        "authorization_endpoint": format!("{}/auth", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
    }))
    .into_response()
}

async fn key_set(State(s): State<ProviderState>) -> Response {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    if !s.up.load(Ordering::SeqCst) {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let keys = s.keys.lock().expect("keys").clone();
    axum::Json(json!({ "keys": keys })).into_response()
}

impl Provider {
    fn start(keys: Vec<Value>) -> Provider {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(loopback()))
            .expect("bind");
        let issuer = format!("http://{}/realms/test", listener.local_addr().expect("addr"));
        let state = ProviderState {
            issuer: issuer.clone(),
            keys: Arc::new(Mutex::new(keys)),
            up: Arc::new(AtomicBool::new(true)),
            fetches: Arc::new(AtomicU64::new(0)),
        };
        let app = axum::Router::new()
            .route("/realms/test/.well-known/openid-configuration", get(discovery))
            .route("/realms/test/keys", get(key_set))
            .with_state(state.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Provider {
            issuer,
            keys: state.keys,
            up: state.up,
            fetches: state.fetches,
            _runtime: runtime,
        }
    }

    fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn claims(p: &Provider, oid: &str, role: &str) -> Value {
    json!({
        "iss": p.issuer, "aud": AUDIENCE, "sub": format!("pairwise-{oid}"), "oid": oid,
        "tid": "00000000-0000-0000-0000-00000000f0ce", "roles": [role],
        "iat": now_s(), "nbf": now_s() - 5, "exp": now_s() + 300,
    })
}

struct Server {
    _dir: tempfile::TempDir,
    _server: guardian_backend::ServerHandle,
    base: String,
    http: reqwest::blocking::Client,
}

impl Server {
    fn trusting(issuers: &[&Provider]) -> Server {
        Server::with_config(OidcConfig::new(
            issuers.iter().map(|p| p.issuer.clone()).collect(),
            vec![AUDIENCE.into()],
        ))
    }

    fn with_config(config: OidcConfig) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = fresh_store(dir.path());
        let mut backend = open_store(&store);
        backend
            .create_officer("pc-a", "PC Able", Rank::Constable)
            .expect("officer");
        let oidc = Oidc::discover_blocking(config).expect("discover");
        backend.trust_identity_provider(oidc);
        let server = spawn(backend, loopback()).expect("spawn");
        Server {
            base: format!("http://{}", server.addr),
            _dir: dir,
            _server: server,
            http: reqwest::blocking::Client::new(),
        }
    }

    fn get(&self, token: &str, path: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .expect("send")
    }
}

fn assert_ok(r: reqwest::blocking::Response) {
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().unwrap_or_default());
}

#[test]
fn tokens_signed_by_the_provider_under_either_pinned_algorithm_are_accepted() {
    let rsa = SigningKey::rsa("rsa-a", "rsa-a.pem");
    let ec = SigningKey::ec("ec-a");
    // Entra publishes its keys without `alg`; Keycloak with.
    let p = Provider::start(vec![rsa.jwk(false), ec.jwk(true)]);
    let s = Server::trusting(&[&p]);
    assert_ok(s.get(&rsa.sign(&claims(&p, "pc-a", "Guardian.Officer")), "/v1/me/patrols"));
    assert_ok(s.get(&ec.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
    // Expired 30 s ago is inside the 60 s leeway.
    let mut late = claims(&p, "pc-a", "officer");
    late["exp"] = json!(now_s() - 30);
    assert_ok(s.get(&rsa.sign(&late), "/v1/me/patrols"));
}

#[test]
fn hostile_tokens_are_each_refused_with_401_and_their_own_slug() {
    let rsa = SigningKey::rsa("rsa-a", "rsa-a.pem");
    let p = Provider::start(vec![rsa.jwk(true)]);
    let s = Server::trusting(&[&p]);
    let good = claims(&p, "pc-a", "officer");
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        rsa.sign(&c)
    };
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "kid": "rsa-a"})), b64(&good));
    // The classic confusion: HS256 keyed with the RSA public key's PEM.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("rsa-a".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &good,
        &EncodingKey::from_secret(&key("rsa-a.pub.pem")).expect("secret"),
    )
    .expect("hs256");
    let other_issuer = Provider::start(vec![rsa.jwk(true)]);
    let cases = [
        (unsigned, "token-malformed"),
        (confused, "token-algorithm"),
        (
            with("iss", json!("https://login.example.test/other/v2.0")),
            "token-issuer",
        ),
        (rsa.sign(&claims(&other_issuer, "pc-a", "officer")), "token-issuer"),
        (with("aud", json!("another-api")), "token-audience"),
        (with("exp", json!(now_s() - 120)), "token-expired"),
        (with("nbf", json!(now_s() + 120)), "token-not-yet-valid"),
        (SigningKey::rsa("rsa-a", "rsa-b.pem").sign(&good), "token-signature"),
        ("not.a.token".to_string(), "token-malformed"),
    ];
    for (token, slug) in cases {
        assert_error(s.get(&token, "/v1/me/patrols"), 401, slug);
    }
    let mut no_exp = good.clone();
    no_exp.as_object_mut().map(|m| m.remove("exp"));
    assert_error(s.get(&rsa.sign(&no_exp), "/v1/me/patrols"), 401, "token-claims");
    // Vouched for, but not for anything here.
    assert_error(
        s.get(&with("roles", json!(["reader"])), "/v1/me/patrols"),
        403,
        "no-role",
    );
    // A valid officer's token on a Navigator route.
    assert_error(s.get(&rsa.sign(&good), "/v1/navigator/referrals"), 403, "forbidden");
}

#[test]
fn with_a_provider_trusted_the_dev_tokens_stop_working_and_none_are_issued() {
    let rsa = SigningKey::rsa("rsa-a", "rsa-a.pem");
    let p = Provider::start(vec![rsa.jwk(true)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fresh_store(dir.path());
    let dev = open_store(&store)
        .issue_token("pc-a", Role::Officer, 600)
        .expect("dev token");
    let s = Server::trusting(&[&p]);
    assert_error(s.get(&dev, "/v1/me/patrols"), 401, "token-malformed");
    let mut admin = open_store(&store);
    admin.trust_identity_provider(
        Oidc::discover_blocking(OidcConfig::new(vec![p.issuer.clone()], vec![AUDIENCE.into()])).expect("discover"),
    );
    let refused = admin.issue_token("pc-a", Role::Officer, 600).expect_err("refused");
    assert!(refused.to_string().contains("identity provider"), "{refused}");
}

#[test]
fn a_flood_of_unknown_kids_is_one_fetch_and_a_rotated_key_is_picked_up_without_a_restart() {
    let old = SigningKey::rsa("rsa-a", "rsa-a.pem");
    let p = Provider::start(vec![old.jwk(true)]);
    let s = Server::trusting(&[&p]);
    assert_eq!(p.fetches(), 1, "the key set is fetched once at start");
    // Within the refetch interval an unknown kid may be a key rotated in
    // a moment ago: "try again" (503 key-pending), never a fetch each.
    for i in 0..40 {
        let forged = SigningKey::rsa(&format!("made-up-{i}"), "rsa-b.pem");
        let r = s.get(&forged.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols");
        assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("10"));
        assert_error(r, 503, "key-pending");
    }
    assert_eq!(p.fetches(), 1, "40 unknown kids inside the interval made no fetch");
    // Once the key set has been read again and the kid is still not in it,
    // it is no key of the provider's.
    std::thread::sleep(REFETCH_EVERY + Duration::from_millis(300));
    let forged = SigningKey::rsa("made-up-late", "rsa-b.pem");
    assert_error(
        s.get(&forged.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"),
        401,
        "token-key",
    );
    assert_eq!(p.fetches(), 2);

    // The provider rotates: a new key beside the old, then the old withdrawn.
    let new = SigningKey::ec("ec-new");
    p.keys.lock().expect("keys").push(new.jwk(true));
    std::thread::sleep(REFETCH_EVERY + Duration::from_millis(300));
    assert_ok(s.get(&new.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
    assert_ok(s.get(&old.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
}

#[test]
fn a_key_the_provider_withdrew_stops_verifying_once_the_key_set_is_stale_with_no_unknown_kid() {
    let old = SigningKey::rsa("rsa-a", "rsa-a.pem");
    let new = SigningKey::ec("ec-new");
    let p = Provider::start(vec![old.jwk(true), new.jwk(true)]);
    let mut config = OidcConfig::new(vec![p.issuer.clone()], vec![AUDIENCE.into()]);
    config.max_key_age = REFETCH_EVERY;
    let s = Server::with_config(config);
    assert_ok(s.get(&old.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
    // The provider retires the old key; only known kids arrive from now on.
    p.keys.lock().expect("keys").remove(0);
    assert_ok(s.get(&old.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
    std::thread::sleep(REFETCH_EVERY + Duration::from_millis(300));
    assert_ok(s.get(&new.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
    assert_eq!(p.fetches(), 2, "the stale key set was read again");
    assert_error(
        s.get(&old.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"),
        401,
        "token-key",
    );
}

#[test]
fn a_provider_that_is_down_keeps_cached_keys_working_and_with_none_cached_is_a_503() {
    let rsa = SigningKey::rsa("rsa-a", "rsa-a.pem");
    let p = Provider::start(vec![rsa.jwk(true)]);
    let s = Server::trusting(&[&p]);
    p.up.store(false, Ordering::SeqCst);
    assert_ok(s.get(&rsa.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));

    // A server that started while the key set was down has nothing cached.
    let cold = Server::trusting(&[&p]);
    let r = cold.get(&rsa.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols");
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("10"));
    assert_error(r, 503, "keys-unavailable");
    // Once the provider is back, after the refetch interval, it works.
    p.up.store(true, Ordering::SeqCst);
    std::thread::sleep(REFETCH_EVERY + Duration::from_millis(300));
    assert_ok(cold.get(&rsa.sign(&claims(&p, "pc-a", "officer")), "/v1/me/patrols"));
}
