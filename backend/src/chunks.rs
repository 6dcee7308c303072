//! Track chunks (`chunks`, `fixes`): each stored at most once per chunk id,
//! every fix with the handset's filter verdict, only for a patrol whose
//! check-in arrived and only by its officer.

use crate::sql::{ToValue as _, Tx, p};
use guardian_protocol::codec::StoredFix;
use guardian_protocol::wire::AckStatus;

/// A stored fix's columns.
const FIX_COLUMNS: usize = 10;

use crate::backend::{Backend, replay};
use crate::error::BackendError;
use crate::officers::require_officer;
use crate::records::patrol_owner;

/// A track chunk after decoding, ready to store.
pub(crate) struct ChunkUpload<'a> {
    pub chunk_id: &'a str,
    pub patrol_id: &'a str,
    pub seq: u32,
    pub bytes: usize,
    pub fixes: &'a [StoredFix],
}

impl Backend {
    /// The cheap half of a chunk upload, before its body is decoded: a
    /// retry of a stored chunk is answered without decoding it again.
    pub(crate) fn chunk_replay(&self, sub: &str, chunk_id: &str) -> Result<Option<AckStatus>, BackendError> {
        self.write(|tx| {
            require_officer(tx, sub)?;
            match chunk_owner(tx, chunk_id)? {
                Some(owner) => replay(tx, sub, &owner, "chunk").map(Some),
                None => Ok(None),
            }
        })
    }

    /// Stores a decoded track chunk (every fix, with its filter verdict) at
    /// most once per chunk id.
    pub(crate) fn submit_chunk(&self, sub: &str, chunk: &ChunkUpload<'_>, now: i64) -> Result<AckStatus, BackendError> {
        self.write(|tx| {
            require_officer(tx, sub)?;
            match patrol_owner(tx, chunk.patrol_id)? {
                None => {
                    return Err(BackendError::refused(
                        "unknown-patrol",
                        "no check-in has been received for this patrol",
                    ));
                }
                Some(owner) if owner != sub => {
                    return Err(BackendError::forbidden("this patrol is another officer's"));
                }
                Some(_) => {}
            }
            // The key decides, not an earlier read: of two uploads of one
            // chunk at once (a retry racing its original, two instances),
            // exactly one inserts; the other is told it is a duplicate.
            let inserted = tx.execute(
                "INSERT INTO chunks (chunk_id, officer_id, patrol_id, seq, fixes, bytes, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (chunk_id) DO NOTHING",
                p![
                    chunk.chunk_id,
                    sub,
                    chunk.patrol_id,
                    chunk.seq,
                    chunk.fixes.len(),
                    chunk.bytes,
                    now
                ],
            )?;
            if inserted == 0 {
                let owner = chunk_owner(tx, chunk.chunk_id)?
                    .ok_or_else(|| BackendError::Server("a chunk both present and absent".into()))?;
                return replay(tx, sub, &owner, "chunk");
            }
            let mut values = Vec::with_capacity(chunk.fixes.len() * FIX_COLUMNS);
            for (idx, s) in chunk.fixes.iter().enumerate() {
                values.extend([
                    chunk.patrol_id.to_value(),
                    chunk.chunk_id.to_value(),
                    chunk.seq.to_value(),
                    idx.to_value(),
                    s.fix.time_ms.to_value(),
                    s.fix.mono_ns.to_value(),
                    s.fix.lat.to_value(),
                    s.fix.lon.to_value(),
                    s.fix.accuracy_m.to_value(),
                    s.verdict.as_str().to_value(),
                ]);
            }
            tx.insert_many(
                "fixes (patrol_id, chunk_id, seq, idx, time_ms, mono_ns, lat, lon, accuracy_m, verdict)",
                FIX_COLUMNS,
                &values,
            )?;
            Ok(AckStatus::Stored)
        })
    }
}

fn chunk_owner(tx: &Tx<'_>, chunk_id: &str) -> Result<Option<String>, BackendError> {
    Ok(
        tx.query_opt("SELECT officer_id FROM chunks WHERE chunk_id = ?1", p![chunk_id], |r| {
            r.get(0)
        })?,
    )
}

/// Deletes a patrol's fixes (retention): its chunks stay, holding counts
/// and sizes only, so a late retry is still answered as a duplicate rather
/// than stored again. The fixes deleted.
pub(crate) fn erase_fixes(tx: &Tx<'_>, patrol_id: &str) -> Result<u64, BackendError> {
    Ok(tx.execute("DELETE FROM fixes WHERE patrol_id = ?1", p![patrol_id])?)
}
