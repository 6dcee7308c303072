//! From a verified token's claims to who is asking: the person's id and
//! their role here, each from a claim the force names.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use guardian_protocol::rules::{MAX_ID_LEN, check_id};
use serde_json::{Map, Value};

use super::AuthError;
use crate::token::{Claims, Role};

/// Which claims say who someone is. Entra's defaults: the object id `oid`
/// (stable, unlike a UPN that changes with a name) and app roles in
/// `roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The person's id here: `oid`, `sub` or a collar-number claim.
    pub id: String,
    /// A string or an array of strings; the values are this service's role
    /// names (`officer`, `navigator`, `supervisor`, `admin`), in any case,
    /// optionally prefixed (`Guardian.Officer`).
    pub role: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            id: "oid".into(),
            role: "roles".into(),
        }
    }
}

impl ClaimNames {
    pub(super) fn map(&self, claims: &Map<String, Value>) -> Result<Claims, AuthError> {
        let missing = |name: &str| AuthError::MissingClaim(name.to_string());
        let sub = claims
            .get(&self.id)
            .and_then(Value::as_str)
            .ok_or_else(|| missing(&self.id))?;
        check_id("sub", sub, MAX_ID_LEN).map_err(|_| AuthError::Malformed)?;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| missing("exp"))?;
        let role = self.role_of(claims.get(&self.role))?;
        Ok(Claims {
            sub: sub.to_string(),
            role,
            exp,
        })
    }

    fn role_of(&self, value: Option<&Value>) -> Result<Role, AuthError> {
        let names: Vec<&str> = match value {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut roles: Vec<Role> = names
            .into_iter()
            .filter_map(|n| Role::parse(n.rsplit('.').next().unwrap_or(n)))
            .collect();
        roles.sort_by_key(|r| r.as_str());
        roles.dedup();
        match roles.as_slice() {
            [one] => Ok(*one),
            [] => Err(AuthError::NoRole),
            _ => Err(AuthError::AmbiguousRole),
        }
    }
}

/// The `iss` of a token, read without checking anything.
pub(super) fn peek_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_id_and_role_come_from_the_named_claims() {
        let names = ClaimNames::default();
        let c = names
            .map(&claims(
                serde_json::json!({"oid": "pc-a", "sub": "x", "exp": 10, "roles": ["Guardian.Officer"]}),
            ))
            .expect("claims");
        assert_eq!((c.sub.as_str(), c.role, c.exp), ("pc-a", Role::Officer, 10));
        let collar = ClaimNames {
            id: "collar".into(),
            role: "groups".into(),
        };
        let c = collar
            .map(&claims(
                serde_json::json!({"collar": "4471", "exp": 10, "groups": "navigator"}),
            ))
            .expect("claims");
        assert_eq!((c.sub.as_str(), c.role), ("4471", Role::Navigator));
    }

    #[test]
    fn no_role_two_roles_and_a_missing_id_are_refused() {
        let names = ClaimNames::default();
        let refuse = |v: Value| names.map(&claims(v)).err();
        assert_eq!(
            refuse(serde_json::json!({"oid": "a", "exp": 1, "roles": ["reader"]})),
            Some(AuthError::NoRole)
        );
        assert_eq!(
            refuse(serde_json::json!({"oid": "a", "exp": 1, "roles": ["officer", "admin"]})),
            Some(AuthError::AmbiguousRole)
        );
        assert_eq!(
            refuse(serde_json::json!({"sub": "a", "exp": 1, "roles": ["officer"]})),
            Some(AuthError::MissingClaim("oid".into()))
        );
        assert_eq!(
            refuse(serde_json::json!({"oid": "a b\n", "exp": 1, "roles": ["officer"]})),
            Some(AuthError::Malformed)
        );
    }

    #[test]
    fn the_issuer_is_peeked_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"https://idp.test/r"}"#);
        assert_eq!(
            peek_issuer(&format!("h.{payload}.s")).as_deref(),
            Some("https://idp.test/r")
        );
        assert_eq!(peek_issuer("h.!!.s"), None);
        assert_eq!(peek_issuer("nodots"), None);
    }
}
