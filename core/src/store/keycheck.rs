//! The key-check value: a small file beside the database that tells a wrong
//! key from a damaged file. SQLCipher cannot: both fail page 1's HMAC.
//!
//! It holds a random salt and HMAC-SHA256(key, label ‖ salt), nothing else:
//! no data, and nothing that helps find the key (a 256-bit random key is not
//! guessed from a MAC, and SQLCipher's own page HMACs already are such a
//! check for anyone holding the file). It is written after the first open
//! that succeeds, so stores made before it existed get one on their next
//! good open.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::DbKey;

const MAGIC: &[u8; 4] = b"GKC1";
const LABEL: &[u8] = b"guardian store key check v1";
const LEN: usize = 4 + 16 + 32;

/// What the key-check file says about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The key is the one the store was made with.
    Matches,
    /// It is not.
    Differs,
    /// No readable key-check value (an older store, or the file is gone or
    /// damaged too): the key cannot be told apart from damage.
    Unknown,
}

pub fn path_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-keycheck");
    PathBuf::from(name)
}

fn mac(key: &DbKey, salt: &[u8]) -> [u8; 32] {
    // HMAC accepts a key of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes()).unwrap_or_else(|_| unreachable!());
    m.update(LABEL);
    m.update(salt);
    m.finalize().into_bytes().into()
}

pub fn verdict(db: &Path, key: &DbKey) -> Verdict {
    let Ok(bytes) = fs::read(path_for(db)) else {
        return Verdict::Unknown;
    };
    if bytes.len() != LEN || &bytes[..4] != MAGIC {
        return Verdict::Unknown;
    }
    let (salt, expected) = bytes[4..].split_at(16);
    // Constant time is not needed against ourselves, but it costs nothing.
    let got = mac(key, salt);
    if got.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 {
        Verdict::Matches
    } else {
        Verdict::Differs
    }
}

/// Writes the key-check value if there is none that matches `key` (the
/// caller has just opened the store with it). Written to a temporary file,
/// synced, then renamed, so a power cut leaves the old file or the new one.
pub fn ensure(db: &Path, key: &DbKey) -> std::io::Result<()> {
    if verdict(db, key) == Verdict::Matches {
        return Ok(());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut bytes = Vec::with_capacity(LEN);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&salt);
    bytes.extend_from_slice(&mac(key, &salt));
    let target = path_for(db);
    let mut tmp = target.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &target)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the directory is; not every platform
        // lets a directory be opened for that, and nothing is lost if not.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> DbKey {
        DbKey::from_bytes([b; 32]).expect("key")
    }

    #[test]
    fn tells_the_right_key_from_another() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("h.db");
        assert_eq!(verdict(&db, &key(1)), Verdict::Unknown);
        ensure(&db, &key(1)).expect("write");
        assert_eq!(verdict(&db, &key(1)), Verdict::Matches);
        assert_eq!(verdict(&db, &key(2)), Verdict::Differs);
        let bytes = fs::read(path_for(&db)).expect("read");
        assert_eq!(bytes.len(), LEN);
        assert!(
            !bytes.windows(32).any(|w| w == [1u8; 32]),
            "the key itself is not stored"
        );
    }

    #[test]
    fn a_damaged_check_file_says_unknown_and_is_rewritten() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("h.db");
        ensure(&db, &key(1)).expect("write");
        fs::write(path_for(&db), b"GKC1 short").expect("damage");
        assert_eq!(verdict(&db, &key(1)), Verdict::Unknown);
        ensure(&db, &key(1)).expect("rewrite");
        assert_eq!(verdict(&db, &key(1)), Verdict::Matches);
    }
}
