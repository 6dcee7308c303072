//! The force's officers (`officers`): who they are and their rank, which
//! compliance is judged on (never the rank a handset claims).

use crate::sql::{Tx, p};
use guardian_core::patrol::Rank;
use guardian_protocol::rules::{DISPLAY_NAME, MAX_ID_LEN, check_id};
use guardian_protocol::wire::OfficerProfile;

use crate::backend::Backend;
use crate::error::BackendError;

impl Backend {
    /// Creates the officer, or updates their name and rank (the force's
    /// record is the truth compliance uses).
    pub fn create_officer(&self, officer_id: &str, display_name: &str, rank: Rank) -> Result<(), BackendError> {
        check_id("officer_id", officer_id, MAX_ID_LEN).map_err(|e| BackendError::Invalid(e.to_string()))?;
        DISPLAY_NAME
            .check("display_name", display_name)
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO officers (officer_id, display_name, rank) VALUES (?1, ?2, ?3)
                 ON CONFLICT (officer_id) DO UPDATE SET display_name = excluded.display_name,
                   rank = excluded.rank",
                p![officer_id, display_name, rank.as_str()],
            )?;
            Ok(())
        })
    }
}

/// An officer as the daily draw sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerRank {
    pub officer_id: String,
    pub rank: Rank,
}

/// The token's officer, who must be on the force's list.
pub(crate) fn require_officer(tx: &Tx<'_>, sub: &str) -> Result<OfficerProfile, BackendError> {
    officer(tx, sub)?.ok_or_else(|| BackendError::Forbidden {
        slug: "unknown-officer",
        reason: "the token's officer is not on the force's list".into(),
    })
}

pub(crate) fn officer(tx: &Tx<'_>, id: &str) -> Result<Option<OfficerProfile>, BackendError> {
    Ok(tx.query_opt(
        "SELECT officer_id, display_name, rank FROM officers WHERE officer_id = ?1",
        p![id],
        |r| {
            Ok(OfficerProfile {
                officer_id: r.get(0)?,
                display_name: r.get(1)?,
                rank: r.get(2)?,
            })
        },
    )?)
}

pub(crate) fn officer_ranks(tx: &Tx<'_>) -> Result<Vec<OfficerRank>, BackendError> {
    let rows = tx.query_all("SELECT officer_id, rank FROM officers ORDER BY officer_id", p![], |r| {
        Ok((r.get::<String>(0)?, r.get::<String>(1)?))
    })?;
    rows.into_iter()
        .map(|row| {
            let (officer_id, rank) = row;
            let rank =
                Rank::parse(&rank).ok_or_else(|| BackendError::Corrupt(format!("unknown stored rank {rank:?}")))?;
            Ok(OfficerRank { officer_id, rank })
        })
        .collect()
}
