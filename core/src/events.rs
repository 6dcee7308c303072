//! What the core tells the shell without being asked: arrivals and
//! departures, the patrol reaching its minimum minutes, sync progress, a
//! wipe. The shell registers one listener; the core calls it after the
//! change is committed, never from inside a transaction.
//!
//! Plain data above the domain modules and below sync, so sync can tell of
//! its passes without knowing the façade.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The geofence confirmed arrival in an area (dated to its first fix).
    Arrived {
        area_id: String,
        time_ms: i64,
    },
    Departed {
        area_id: String,
        time_ms: i64,
    },
    /// The open patrol has now been in its area long enough to comply.
    MinutesReached {
        patrol_id: String,
        minutes: f64,
    },
    /// The sampling plan changed: ask the OS for this from now on.
    PlanChanged {
        plan: crate::patrol::SamplingPlan,
    },
    /// A sync pass ended: where the outbox stands now.
    SyncProgress {
        pending: usize,
        acked: usize,
        rejected: usize,
    },
    SyncFailed {
        reason: String,
    },
    /// The force's status update on one of the officer's referrals.
    ReferralStatusChanged {
        referral_id: String,
        status: guardian_protocol::referral::ReferralStatus,
    },
    /// The force erased this handset.
    Wiped,
    /// The force's sign-in has lapsed (its refresh token expired or was
    /// revoked): records wait in the outbox until the same officer signs
    /// in again.
    AuthRequired {
        reason: String,
    },
}

pub trait EventListener: Send + Sync {
    fn on_event(&self, event: Event);
}
