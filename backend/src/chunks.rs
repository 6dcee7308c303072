//! Track chunks (`chunks`, `fixes`): each stored at most once per chunk id,
//! every fix with the handset's filter verdict, only for a patrol whose
//! check-in arrived and only by its officer.

use guardian_protocol::codec::StoredFix;
use guardian_protocol::wire::AckStatus;
use rusqlite::{OptionalExtension, Transaction, params};

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
            // Checked again under the write lock: a concurrent retry may have
            // stored it since `chunk_replay`.
            if let Some(owner) = chunk_owner(tx, chunk.chunk_id)? {
                return replay(tx, sub, &owner, "chunk");
            }
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
            tx.execute(
                "INSERT INTO chunks (chunk_id, officer_id, patrol_id, seq, fixes, bytes, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    chunk.chunk_id,
                    sub,
                    chunk.patrol_id,
                    chunk.seq,
                    chunk.fixes.len() as i64,
                    chunk.bytes as i64,
                    now
                ],
            )?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO fixes (patrol_id, chunk_id, seq, idx, time_ms, mono_ns, lat, lon,
                   accuracy_m, verdict) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for (idx, s) in chunk.fixes.iter().enumerate() {
                stmt.execute(params![
                    chunk.patrol_id,
                    chunk.chunk_id,
                    chunk.seq,
                    idx as i64,
                    s.fix.time_ms,
                    s.fix.mono_ns,
                    s.fix.lat,
                    s.fix.lon,
                    s.fix.accuracy_m,
                    s.verdict.as_str()
                ])?;
            }
            Ok(AckStatus::Stored)
        })
    }
}

fn chunk_owner(tx: &Transaction<'_>, chunk_id: &str) -> Result<Option<String>, BackendError> {
    Ok(tx
        .query_row("SELECT officer_id FROM chunks WHERE chunk_id = ?1", [chunk_id], |r| {
            r.get(0)
        })
        .optional()?)
}
