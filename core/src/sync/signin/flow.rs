//! The pure half of the sign-in (RFC 8252 with PKCE, RFC 7636): the secrets
//! one attempt is made of, the authorization URL, what a redirect says, and
//! whether an ID token names this attempt and who it names. No sockets, no
//! clock: tested on their own.
//!
//! The ID token's signature is not checked here: it came straight from the
//! provider's token endpoint over TLS, which OpenID Connect Core 3.1.3.7
//! accepts in place of the signature; the backend checks every access
//! token's signature itself.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::sync::SyncError;

/// Clock skew allowed between the phone and the provider.
pub const LEEWAY_S: i64 = 60;
/// Longer than any officer id a force issues; anything longer is not one.
const MAX_OFFICER_ID: usize = 128;

/// One sign-in attempt's secrets: kept in memory from the URL until the
/// redirect, and used once.
#[derive(Clone, PartialEq, Eq)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Attempt(..)")
    }
}

fn random_token(bytes: usize) -> Result<String, SyncError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SyncError::Config(format!("no random source: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

impl Attempt {
    /// A fresh attempt: a 43-character verifier (32 random bytes, the
    /// RFC's recommendation), and 128-bit state and nonce.
    pub fn new() -> Result<Self, SyncError> {
        Ok(Self {
            state: random_token(16)?,
            nonce: random_token(16)?,
            verifier: random_token(32)?,
        })
    }

    /// S256, the only method: `plain` would hand the verifier to anyone
    /// who sees the URL.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

/// What the handset asks the provider for, from the app's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated; `openid` is always asked for.
    pub scopes: String,
}

impl Client {
    pub fn authorization_url(&self, endpoint: &str, attempt: &Attempt) -> Result<String, SyncError> {
        let mut url = Url::parse(endpoint)
            .map_err(|e| SyncError::BadReply(format!("the provider's authorization endpoint: {e}")))?;
        let scopes = if self.scopes.split(' ').any(|s| s == "openid") {
            self.scopes.clone()
        } else {
            format!("openid {}", self.scopes).trim().to_string()
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &scopes)
            .append_pair("state", &attempt.state)
            .append_pair("nonce", &attempt.nonce)
            .append_pair("code_challenge", &attempt.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// The code from the browser's redirect, once it is shown to answer
    /// this attempt: sent to the app's own redirect URI, carrying its
    /// state, and (RFC 9207, when the provider says) from its issuer.
    pub fn read_redirect(&self, redirect: &str, attempt: &Attempt, issuer: &str) -> Result<String, SyncError> {
        let refused = |why: &str| SyncError::Auth(format!("the sign-in redirect {why}"));
        let got = Url::parse(redirect).map_err(|_| refused("is not a URL"))?;
        let want =
            Url::parse(&self.redirect_uri).map_err(|e| SyncError::Config(format!("the app's redirect URI: {e}")))?;
        let same_place = got.scheme() == want.scheme()
            && got.host_str() == want.host_str()
            && got.path() == want.path()
            && (want.port().is_none() || got.port() == want.port());
        if !same_place {
            return Err(refused("is not to this app"));
        }
        let param = |name: &str| got.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        if param("state").as_deref() != Some(attempt.state.as_str()) {
            return Err(refused("does not answer this sign-in (state)"));
        }
        if let Some(iss) = param("iss")
            && iss != issuer
        {
            return Err(refused("names another provider"));
        }
        if let Some(error) = param("error") {
            let detail = param("error_description").unwrap_or_default();
            return Err(SyncError::Auth(
                format!("the force's sign-in refused: {error} {detail}").trim().into(),
            ));
        }
        param("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refused("carries no code"))
    }
}

/// Who the ID token says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub officer_id: String,
}

/// The claims a token's middle part holds (no signature check: see the
/// module's note).
pub fn claims(jwt: &str) -> Result<Value, SyncError> {
    let bad = |why: &str| SyncError::BadReply(format!("the provider's token {why}"));
    let mut parts = jwt.split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("is not a JWT"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(bad("holds no claims")),
    }
}

/// Checks an ID token answers this attempt for this client from this
/// issuer and is current, and reads the officer's id from `id_claim`.
pub fn check_id_token(
    jwt: &str,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now_s: i64,
    id_claim: &str,
) -> Result<Identity, SyncError> {
    let c = claims(jwt)?;
    let refused = |why: &str| SyncError::Auth(format!("the provider's ID token {why}"));
    if c["iss"].as_str() != Some(issuer) {
        return Err(refused("is from another issuer"));
    }
    let audiences: Vec<&str> = match &c["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&client_id) {
        return Err(refused("is for another client"));
    }
    if audiences.len() > 1 && c["azp"].as_str() != Some(client_id) {
        return Err(refused("was issued to another party"));
    }
    if c["nonce"].as_str() != Some(nonce) {
        return Err(refused("does not answer this sign-in (nonce)"));
    }
    match c["exp"].as_i64() {
        Some(exp) if exp + LEEWAY_S > now_s => {}
        Some(_) => return Err(refused("has expired")),
        None => return Err(refused("has no expiry")),
    }
    let officer_id = match &c[id_claim] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(refused(&format!("has no `{id_claim}` claim"))),
    };
    if officer_id.is_empty() || officer_id.len() > MAX_OFFICER_ID || officer_id.chars().any(char::is_control) {
        return Err(refused(&format!("has an unusable `{id_claim}`")));
    }
    Ok(Identity { officer_id })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn client() -> Client {
        Client {
            client_id: "guardian-handset".into(),
            redirect_uri: "uk.police.guardian:/oauth2redirect".into(),
            scopes: "offline_access".into(),
        }
    }

    fn attempt() -> Attempt {
        Attempt {
            state: "st".into(),
            nonce: "no".into(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        }
    }

    fn jwt(claims: Value) -> String {
        format!(
            "e30.{}.c2ln",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        )
    }

    const ISS: &str = "https://login.example/tenant/v2.0";

    fn good() -> Value {
        json!({"iss": ISS, "aud": "guardian-handset", "nonce": "no", "exp": 1_000_300, "oid": "officer-7"})
    }

    #[test]
    fn the_challenge_is_rfc_7636s_worked_example() {
        // RFC 7636 appendix B.
        assert_eq!(attempt().challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let a = Attempt::new().unwrap();
        assert_eq!(a.verifier.len(), 43);
        assert_ne!(a.state, Attempt::new().unwrap().state);
    }

    #[test]
    fn the_url_asks_for_a_code_with_s256_and_openid() {
        let url = client()
            .authorization_url("https://login.example/authorize?p=1", &attempt())
            .unwrap();
        let u = Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["p"], "1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["scope"], "openid offline_access");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], attempt().challenge());
        assert_eq!(q["redirect_uri"], "uk.police.guardian:/oauth2redirect");
        assert!(
            !url.contains(&attempt().verifier),
            "the verifier never leaves the phone"
        );
    }

    #[test]
    fn a_redirect_gives_its_code_only_when_it_answers_this_attempt() {
        let c = client();
        let a = attempt();
        let ok = "uk.police.guardian:/oauth2redirect?code=abc&state=st";
        assert_eq!(c.read_redirect(ok, &a, ISS).unwrap(), "abc");
        let with_iss = format!("{ok}&iss={}", url_escape(ISS));
        assert_eq!(c.read_redirect(&with_iss, &a, ISS).unwrap(), "abc");
        for (bad, why) in [
            ("uk.police.guardian:/oauth2redirect?code=abc&state=other", "state"),
            ("uk.police.guardian:/oauth2redirect?code=abc", "state"),
            ("evil.app:/oauth2redirect?code=abc&state=st", "not to this app"),
            ("uk.police.guardian:/elsewhere?code=abc&state=st", "not to this app"),
            ("uk.police.guardian:/oauth2redirect?state=st", "no code"),
            ("uk.police.guardian:/oauth2redirect?code=&state=st", "no code"),
            (
                "uk.police.guardian:/oauth2redirect?code=abc&state=st&iss=https%3A%2F%2Fevil",
                "another provider",
            ),
            (
                "uk.police.guardian:/oauth2redirect?error=access_denied&state=st",
                "access_denied",
            ),
            ("not a url", "not a URL"),
        ] {
            let e = c.read_redirect(bad, &a, ISS).unwrap_err();
            assert!(matches!(&e, SyncError::Auth(m) if m.contains(why)), "{bad}: {e}");
        }
    }

    fn url_escape(s: &str) -> String {
        Url::parse_with_params("x:/", [("v", s)]).unwrap().query().unwrap()[2..].to_string()
    }

    #[test]
    fn an_id_token_names_the_officer_only_if_it_answers_this_attempt() {
        let check = |c: Value| check_id_token(&jwt(c), ISS, "guardian-handset", "no", 1_000_000, "oid");
        assert_eq!(check(good()).unwrap().officer_id, "officer-7");
        let mut two = good();
        two["aud"] = json!(["guardian-handset", "other"]);
        two["azp"] = json!("guardian-handset");
        assert!(check(two.clone()).is_ok());
        two["azp"] = json!("other");
        assert!(check(two).is_err());
        // Just expired, within the leeway; then beyond it.
        let mut late = good();
        late["exp"] = json!(1_000_000 - LEEWAY_S + 1);
        assert!(check(late.clone()).is_ok());
        late["exp"] = json!(1_000_000 - LEEWAY_S);
        assert!(check(late).is_err());
        for (key, value) in [
            ("iss", json!("https://evil")),
            ("aud", json!("other")),
            ("nonce", json!("replayed")),
            ("nonce", Value::Null),
            ("exp", Value::Null),
            ("oid", Value::Null),
            ("oid", json!("")),
            ("oid", json!("a\nb")),
            ("oid", json!("x".repeat(129))),
        ] {
            let mut c = good();
            c[key] = value;
            assert!(matches!(check(c), Err(SyncError::Auth(_))), "{key}");
        }
        for junk in [
            "",
            "a.b",
            "a.!!.c",
            "a.b.c.d",
            &format!("e30.{}.x", URL_SAFE_NO_PAD.encode("[1]")),
        ] {
            assert!(matches!(claims(junk), Err(SyncError::BadReply(_))), "{junk}");
        }
    }
}
