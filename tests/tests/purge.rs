//! Purged means purged: once a referral is acknowledged, a draft expires or
//! is discarded, no earlier state of the file that held the young person's
//! details can be read back — not from the database pages, not from the
//! write-ahead log's frames, not from free pages. Checked by decrypting
//! every page and every log frame with the key, as someone holding the
//! phone and its key could. (`bindings/python/test_purge_forensics.py` does
//! the same with a stock SQLCipher build and every prefix of the log.)

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use guardian_core::Clock as _;
use guardian_tests::handset::{Force, Handset, referral_form};

const PAGE: usize = 4096;
/// SQLCipher 4's reserve: a 16-byte IV and a 64-byte HMAC-SHA512.
const RESERVE: usize = 80;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

type Decryptor = cbc::Decryptor<aes::Aes256>;

/// One page decrypted (page 1 keeps its 16-byte salt in the clear).
fn decrypt_page(page: &[u8], first: bool, key: &[u8; 32]) -> Vec<u8> {
    let start = if first { 16 } else { 0 };
    let end = PAGE - RESERVE;
    let iv = &page[end..end + 16];
    let mut buf = page[start..end].to_vec();
    Decryptor::new(key.into(), iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .expect("whole blocks");
    buf
}

/// Every page of the database file and every frame of its log, decrypted.
fn every_plaintext(db: &std::path::Path, key: &[u8; 32]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let file = std::fs::read(db).expect("db");
    for (i, page) in file.chunks_exact(PAGE).enumerate() {
        out.push(decrypt_page(page, i == 0, key));
    }
    let mut wal_path = db.as_os_str().to_owned();
    wal_path.push("-wal");
    if let Ok(wal) = std::fs::read(&wal_path) {
        for frame in wal
            .get(WAL_HEADER..)
            .unwrap_or_default()
            .chunks_exact(FRAME_HEADER + PAGE)
        {
            let pgno = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            out.push(decrypt_page(&frame[FRAME_HEADER..], pgno == 1, key));
        }
    }
    out
}

fn copies_holding(db: &std::path::Path, secret: &str) -> usize {
    let key = [7u8; 32];
    let plain = every_plaintext(db, &key);
    // The decryption is right: page 1 says 4096-byte pages with 80 reserved.
    assert_eq!(&plain[0][0..2], &[0x10, 0x00], "page size in the decrypted header");
    assert_eq!(plain[0][4], RESERVE as u8, "reserved bytes in the decrypted header");
    plain
        .iter()
        .filter(|p| p.windows(secret.len()).any(|w| w == secret.as_bytes()))
        .count()
}

#[test]
fn no_earlier_state_of_the_file_keeps_a_purged_referral_or_draft() {
    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let path = dir.path().join("handset.db");
    let h = Handset::provisioned(&path, &force);
    h.guardian.set_online(false).expect("offline");
    let g = &h.guardian;

    // A referral drafted and edited several times (each edit another set of
    // page images in the log), then filed.
    let mut form = referral_form("Jordan Zephyrine", 52.4779, -1.8987);
    let draft = g.save_referral_draft(None, &form).expect("draft");
    for n in 0..5 {
        form.narrative = format!("{} Edit {n}.", form.narrative);
        g.save_referral_draft(Some(&draft), &form).expect("edit");
    }
    g.submit_referral(&draft).expect("submit");
    assert!(
        copies_holding(&path, "Zephyrine") >= 2,
        "before the ack the details are there, in several states: the search can find them"
    );

    // Acknowledged: no page and no log frame holds them any more.
    h.sync_until_drained(10);
    assert_eq!(copies_holding(&path, "Zephyrine"), 0, "after the ack");
    assert_eq!(copies_holding(&path, "Tenby Road"), 0, "the address too");

    // A draft that expires, and one the officer discards.
    let old = g
        .save_referral_draft(None, &referral_form("Quinn Expiring", 52.4779, -1.8987))
        .expect("draft");
    let gone = g
        .save_referral_draft(None, &referral_form("Rowan Discarded", 52.4779, -1.8987))
        .expect("draft");
    assert!(copies_holding(&path, "Quinn Expiring") >= 1);
    g.discard_referral_draft(&gone).expect("discard");
    assert_eq!(copies_holding(&path, "Rowan Discarded"), 0, "after a discard");
    h.clock.set(h.clock.now_ms() + 73 * 3_600_000);
    let left = g.referral_drafts().expect("drafts");
    assert!(left.iter().all(|d| d.id != old), "expired");
    assert_eq!(copies_holding(&path, "Quinn Expiring"), 0, "after expiry");
}
