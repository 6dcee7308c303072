//! `audit_*`: what the access log costs a read of personal data. The same
//! read of a Navigator team's referrals (25 of them, sealed) in-process on
//! one SQLite store, with its log entry (`navigator_referrals`: the read
//! and the chained append in one write transaction) and without
//! (`referrals_for`: the read alone), alternating rounds so both see the
//! same machine.

use std::time::Instant;

use guardian_backend::{Backend, Caller, Role};
use guardian_core::patrol::Rank;
use guardian_core::referral::authority::Authority;
use serde::Serialize;

use super::round3;
use crate::SimError;
use crate::force::input;

#[derive(Debug, Serialize)]
pub struct AuditFigures {
    /// Reads a second with the access-log entry written.
    pub audit_logged_reads_per_s: f64,
    /// The same reads a second without it.
    pub audit_unlogged_reads_per_s: f64,
    /// The entry's cost per read, µs.
    pub audit_cost_us_per_read: f64,
    pub audit_referrals_per_read: usize,
}

pub fn cost(quick: bool) -> Result<AuditFigures, SimError> {
    const REFERRALS: usize = 25;
    let dir = tempfile::tempdir().map_err(|e| input("tempdir", e))?;
    let b = Backend::open(&dir.path().join("audit.db")).map_err(|e| input("backend", e))?;
    b.create_officer("pc-bench", "PC Bench", Rank::Constable)
        .map_err(|e| input("officer", e))?;
    b.create_navigator("nav-bench", "Navigator Bench", Authority::Birmingham)
        .map_err(|e| input("navigator", e))?;
    let now = chrono::Utc::now().timestamp_millis();
    let officer = Caller::local("pc-bench", Role::Officer, "bench");
    for n in 0..REFERRALS {
        let rec = crate::storm::referral_record("pc-bench", "patrol-bench", "area-bench", n as u32, now);
        b.submit_referral(&officer, &rec, now)
            .map_err(|e| input("referral", e))?;
    }
    let nav = Caller::local("nav-bench", Role::Navigator, "GET /v1/navigator/referrals");
    let (rounds, per_round) = if quick { (3, 200) } else { (9, 1_000) };
    let (mut logged_s, mut unlogged_s) = (0.0, 0.0);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..per_round {
            let (_, got) = b.navigator_referrals(&nav).map_err(|e| input("logged read", e))?;
            if got.len() != REFERRALS {
                return Err(input("logged read", "wrong count"));
            }
        }
        logged_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..per_round {
            let got = b.referrals_for(Authority::Birmingham).map_err(|e| input("read", e))?;
            if got.len() != REFERRALS {
                return Err(input("read", "wrong count"));
            }
        }
        unlogged_s += t.elapsed().as_secs_f64();
    }
    let reads = f64::from(rounds * per_round);
    Ok(AuditFigures {
        audit_logged_reads_per_s: (reads / logged_s).round(),
        audit_unlogged_reads_per_s: (reads / unlogged_s).round(),
        audit_cost_us_per_read: round3((logged_s - unlogged_s) / reads * 1e6),
        audit_referrals_per_read: REFERRALS,
    })
}
