//! Signed dev tokens: `v1.<base64url(claims JSON)>.<base64url(HMAC-SHA256)>`.
//!
//! A stand-in for the force's identity provider that still has the property
//! that matters: the server can check, without a lookup, who a request is
//! from, what they may do and until when. The HMAC key lives in the backend
//! database, so a token issued by the CLI works with a server on that file.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "v1";
/// Tokens are headers; anything longer is not one of ours.
const MAX_TOKEN_LEN: usize = 4096;

// `ValueEnum`: `guardian-backend token --help` lists the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Admin,
    /// A VRP Navigator: their authority's referrals; no access to patrol
    /// routes.
    Navigator,
    /// A supervisor or force analyst: reads the patrol review pages and the
    /// compliance exports, changes nothing.
    Supervisor,
    /// The data protection officer (or whoever they delegate): reads and
    /// exports the access log, nothing else.
    Auditor,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "officer" => Some(Role::Officer),
            "admin" => Some(Role::Admin),
            "navigator" => Some(Role::Navigator),
            "supervisor" => Some(Role::Supervisor),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Admin => "admin",
            Role::Navigator => "navigator",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length, so this cannot fail.
    match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

pub fn sign(secret: &[u8], claims: &Claims) -> String {
    // Serialising a struct of strings and integers cannot fail.
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let signed = format!("{VERSION}.{payload}");
    let mut m = mac(secret);
    m.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{signed}.{sig}")
}

/// Checks the signature (in constant time) before reading the claims, and
/// the expiry against `now_s`.
pub fn verify(secret: &[u8], token: &str, now_s: i64) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(version), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    if version != VERSION {
        return Err(TokenError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Malformed)?;
    let mut m = mac(secret);
    m.update(version.as_bytes());
    m.update(b".");
    m.update(payload.as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now_s {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "pc-1".into(),
            role: Role::Officer,
            exp,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let t = sign(SECRET, &claims(1_000));
        assert_eq!(verify(SECRET, &t, 999), Ok(claims(1_000)));
        assert_eq!(verify(SECRET, &t, 1_000), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let t = sign(b"another key", &claims(1_000));
        assert_eq!(verify(SECRET, &t, 0), Err(TokenError::BadSignature));
    }

    #[test]
    fn changed_claims_break_the_signature() {
        let t = sign(SECRET, &claims(1_000));
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                role: Role::Admin,
                ..claims(1_000)
            })
            .expect("json"),
        );
        let sig = t.rsplit('.').next().expect("sig");
        let forged = format!("v1.{forged_payload}.{sig}");
        assert_eq!(verify(SECRET, &forged, 0), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "v1", "v1.a", "v2.a.b", "v1.a.b.c", "v1.!!.!!"] {
            assert_eq!(verify(SECRET, t, 0), Err(TokenError::Malformed), "{t}");
        }
    }
}
