//! Referral bodies sealed at rest: AES-256-GCM (ring's, the AEAD already in
//! the tree under rustls), a fresh random 96-bit nonce a body, the referral
//! id as associated data (a sealed body copied onto another row does not
//! open there), and the key's id stored beside each row so keys can rotate.
//!
//! The keys come from a file the force gives at start
//! (`--referral-keys-file`): one key a line, `ID BASE64` (32 bytes), the
//! first line the one new bodies are sealed under, the others kept only to
//! open what they sealed until `guardian-backend rekey` has moved it. With
//! no file (the demo and dev-token mode only: `serve` refuses it beside a
//! force's identity provider) a key made on first use is kept in the
//! store's own `meta`, under the id `dev`: sealed, but a copy of the
//! database then carries its key, and the server says so at start.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::db::{delete_meta, meta_blob, set_meta_blob};
use crate::error::BackendError;
use crate::sql::{Tx, p};

/// The id of the key kept in `meta` when no key file is given.
pub const DEV_KEY_ID: &str = "dev";
const KEY_DEV: &str = "referral_dev_key";
const KEY_LEN: usize = 32;
/// A key id: short, printable, no separators (it is stored on every row).
const MAX_KEY_ID: usize = 32;

/// The force's referral keys, the first the current one.
pub struct Keyring {
    keys: Vec<(String, LessSafeKey)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ids only: never the keys.
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("ids", &ids).finish()
    }
}

fn key_of(bytes: &[u8]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, bytes).ok().map(LessSafeKey::new)
}

fn check_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID
        && id != DEV_KEY_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Keyring {
    /// Reads a key file: `ID BASE64` a line, blank lines and `#` comments
    /// skipped. Errors name the line, never a key.
    pub fn from_file(path: &Path) -> Result<Self, BackendError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BackendError::Invalid(format!("referral key file {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| BackendError::Invalid(format!("referral key file {}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<(String, LessSafeKey)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}", n + 1);
            let (id, b64) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `ID BASE64`"))?;
            if !check_key_id(id) {
                return Err(bad("a key id is 1 to 32 letters, digits, '-' or '_' (and not `dev`)"));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(bad("this key id is given twice"));
            }
            let bytes = B64.decode(b64.trim()).map_err(|_| bad("the key is not base64"))?;
            if bytes.len() != KEY_LEN {
                return Err(bad("a key is 32 bytes (44 characters of base64)"));
            }
            let key = key_of(&bytes).ok_or_else(|| bad("not an AES-256 key"))?;
            keys.push((id.to_string(), key));
        }
        if keys.is_empty() {
            return Err("no key in it".into());
        }
        Ok(Self { keys })
    }

    /// The id new bodies are sealed under.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    fn get(&self, id: &str) -> Option<&LessSafeKey> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }
}

/// A new key line for a key file (`guardian-backend referral-key new`).
pub fn new_key_line(id: &str) -> Result<String, BackendError> {
    if !check_key_id(id) {
        return Err(BackendError::Invalid(
            "a key id is 1 to 32 letters, digits, '-' or '_' (and not `dev`)".into(),
        ));
    }
    let mut bytes = [0u8; KEY_LEN];
    rand::rng().fill_bytes(&mut bytes);
    Ok(format!("{id} {}", B64.encode(bytes)))
}

/// Which keys this backend seals and opens with.
pub(crate) enum Sealing {
    /// No key file: the key in `meta`, made on first use.
    Dev,
    File(Keyring),
}

fn aad(referral_id: &str) -> Vec<u8> {
    format!("guardian-referral:{referral_id}").into_bytes()
}

/// The dev key, made in this transaction if the store has none yet.
fn dev_key(tx: &Tx<'_>, create: bool) -> Result<Option<LessSafeKey>, BackendError> {
    let raw = match meta_blob(tx, KEY_DEV)? {
        Some(raw) => raw,
        None if create => {
            let mut bytes = vec![0u8; KEY_LEN];
            rand::rng().fill_bytes(&mut bytes);
            set_meta_blob(tx, KEY_DEV, &bytes)?;
            bytes
        }
        None => return Ok(None),
    };
    key_of(&raw)
        .map(Some)
        .ok_or_else(|| BackendError::Corrupt("the store's referral key has the wrong length".into()))
}

/// Drops the dev key once nothing is sealed under it (after a `rekey` onto
/// a key file): from then on a copy of the store opens nothing.
pub(crate) fn forget_dev_key(tx: &Tx<'_>) -> Result<bool, BackendError> {
    let left: i64 = tx.query_one(
        "SELECT count(*) FROM referrals WHERE key_id = ?1",
        p![DEV_KEY_ID],
        |r| r.get(0),
    )?;
    if left > 0 {
        return Ok(false);
    }
    delete_meta(tx, KEY_DEV)
}

impl Sealing {
    pub(crate) fn is_dev(&self) -> bool {
        matches!(self, Sealing::Dev)
    }

    /// `plain` sealed for the row `referral_id`: the key id and the text
    /// stored (base64 of nonce, ciphertext and tag).
    pub(crate) fn seal(&self, tx: &Tx<'_>, referral_id: &str, plain: &str) -> Result<(String, String), BackendError> {
        let (id, dev);
        let key = match self {
            Sealing::File(ring) => {
                id = ring.current_id().to_string();
                &ring.keys[0].1
            }
            Sealing::Dev => {
                id = DEV_KEY_ID.to_string();
                dev = dev_key(tx, true)?.ok_or_else(|| BackendError::Server("no referral key".into()))?;
                &dev
            }
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut buf = plain.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(referral_id)),
            &mut buf,
        )
        .map_err(|_| BackendError::Server("sealing a referral failed".into()))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&buf);
        Ok((id, B64.encode(stored)))
    }

    /// The body of `referral_id` as stored under `key_id` (`''`: from before
    /// sealing, in clear).
    pub(crate) fn open(
        &self,
        tx: &Tx<'_>,
        referral_id: &str,
        key_id: &str,
        stored: &str,
    ) -> Result<String, BackendError> {
        if key_id.is_empty() {
            return Ok(stored.to_string());
        }
        let dev;
        let key = match (self, key_id) {
            (Sealing::File(ring), id) if ring.get(id).is_some() => ring.get(id),
            (_, DEV_KEY_ID) => {
                dev = dev_key(tx, false)?;
                dev.as_ref()
            }
            _ => None,
        }
        .ok_or_else(|| {
            BackendError::Invalid(format!(
                "referral {referral_id} is sealed under key {key_id:?}, which this server was not given"
            ))
        })?;
        let corrupt = || BackendError::Corrupt(format!("referral {referral_id}: its sealed body does not open"));
        let mut buf = B64.decode(stored).map_err(|_| corrupt())?;
        if buf.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let body = buf.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&buf).map_err(|_| corrupt())?;
        let mut body = body;
        let plain = key
            .open_in_place(nonce, Aad::from(aad(referral_id)), &mut body)
            .map_err(|_| corrupt())?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt())
    }

    /// Whether a row under `key_id` should be sealed again under the
    /// current key.
    pub(crate) fn is_stale(&self, key_id: &str) -> bool {
        match self {
            Sealing::File(ring) => key_id != ring.current_id(),
            Sealing::Dev => key_id != DEV_KEY_ID,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_read_and_bad_lines_are_named_without_the_key() {
        let good = format!(
            "# rotated 2026-12\n{}\n\n{}\n",
            new_key_line("k2").unwrap(),
            new_key_line("k1").unwrap()
        );
        let ring = Keyring::parse(&good).expect("a good file");
        assert_eq!(ring.current_id(), "k2");
        assert!(ring.get("k1").is_some());
        let short = format!("k1 {}", B64.encode([7u8; 16]));
        let err = Keyring::parse(&short).unwrap_err();
        assert!(err.contains("line 1") && err.contains("32 bytes"), "{err}");
        assert!(!err.contains(&B64.encode([7u8; 16])));
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse(&format!("dev {}", B64.encode([1u8; 32]))).is_err());
        let twice = format!("a {k}\na {k}", k = B64.encode([1u8; 32]));
        assert!(Keyring::parse(&twice).unwrap_err().contains("twice"));
        assert!(new_key_line("bad id").is_err());
    }
}
