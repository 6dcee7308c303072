//! Counts for the operator and the end-to-end tests, and an officer's own
//! patrols as the force holds them.

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::db::{self, KEY_REPLAYS};
use crate::error::BackendError;
use crate::officers::require_officer;
use crate::sql::p;

/// Counts for the end-to-end tests and the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub records: i64,
    pub patrols: i64,
    pub chunks: i64,
    pub fixes: i64,
    /// Stored fixes whose (patrol, monotonic time, wall time) occurs more
    /// than once: a client that uploaded the same fixes twice. Must be 0.
    pub duplicate_fixes: i64,
    /// Uploads answered `duplicate` (a retry of something already stored).
    pub replays: i64,
    /// Referrals stored (each once, whatever the retries).
    #[serde(default)]
    pub referrals: i64,
}

/// One of an officer's own patrols: `GET /v1/me/patrols`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatrolSummary {
    pub patrol_id: String,
    pub area_id: String,
    pub assignment_id: Option<String>,
    pub check_in_ms: i64,
    pub check_out_ms: Option<i64>,
    pub fixes: i64,
}

impl Backend {
    pub fn stats(&self) -> Result<Stats, BackendError> {
        self.read(|tx| {
            let count = |sql: &str| tx.query_one(sql, p![], |r| r.get::<i64>(0));
            Ok(Stats {
                records: count("SELECT count(*) FROM records")?,
                patrols: count("SELECT count(*) FROM patrols")?,
                chunks: count("SELECT count(*) FROM chunks")?,
                fixes: count("SELECT count(*) FROM fixes")?,
                duplicate_fixes: count(
                    "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM (SELECT count(*) AS n FROM fixes
                     GROUP BY patrol_id, mono_ns, time_ms HAVING count(*) > 1) AS repeated",
                )?,
                replays: db::counter(tx, KEY_REPLAYS)?,
                referrals: count("SELECT count(*) FROM referrals")?,
            })
        })
    }

    pub(crate) fn my_patrols(&self, sub: &str) -> Result<Vec<PatrolSummary>, BackendError> {
        self.read(|tx| {
            require_officer(tx, sub)?;
            let rows = tx.query_all(
                "SELECT p.patrol_id, p.area_id, p.assignment_id, p.checkin_time_ms,
                   p.checkout_time_ms, (SELECT count(*) FROM fixes f WHERE f.patrol_id = p.patrol_id)
                 FROM patrols p WHERE p.officer_id = ?1 ORDER BY p.checkin_time_ms, p.patrol_id",
                p![sub],
                |r| {
                    Ok(PatrolSummary {
                        patrol_id: r.get(0)?,
                        area_id: r.get(1)?,
                        assignment_id: r.get(2)?,
                        check_in_ms: r.get(3)?,
                        check_out_ms: r.get(4)?,
                        fixes: r.get(5)?,
                    })
                },
            )?;
            Ok(rows)
        })
    }
}
