//! What the shells implement: the force login's tokens, a listener for the
//! core's events, and (in `log.rs`) a log sink. Each is adapted here to the
//! core's own trait.

use crate::referral::ReferralStatus;
use crate::types::SamplingPlan;
use guardian_core::events::Event as CoreEvent;

/// The platform's login failed to give a token. Thrown by the shell's
/// [`TokenProvider`]; the sync pass then fails with `SyncError.Auth`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum AuthError {
    #[error("{reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AuthError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        AuthError::Failed { reason: e.reason }
    }
}

/// The force login: a bearer token, and a fresh one when the backend
/// refuses the old. Called from the sync engine's thread, never the UI's.
#[uniffi::export(callback_interface)]
pub trait TokenProvider: Send + Sync {
    fn token(&self) -> Result<String, AuthError>;
    fn refresh(&self) -> Result<String, AuthError>;
}

pub(crate) struct Tokens(pub Box<dyn TokenProvider>);

impl guardian_core::sync::TokenProvider for Tokens {
    fn token(&self) -> Result<String, String> {
        self.0.token().map_err(|e| e.to_string())
    }

    fn refresh(&self) -> Result<String, String> {
        self.0.refresh().map_err(|e| e.to_string())
    }
}

/// What the core tells the shell without being asked. Told after the change
/// is committed, on whichever thread made it (the caller's, or sync's).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum GuardianEvent {
    /// The geofence confirmed arrival in an area (dated to its first fix).
    Arrived {
        area_id: String,
        time_ms: i64,
    },
    Departed {
        area_id: String,
        time_ms: i64,
    },
    /// The open patrol has been in its area long enough to comply.
    MinutesReached {
        patrol_id: String,
        minutes: f64,
    },
    /// The sampling plan changed: ask the OS for this from now on.
    PlanChanged {
        plan: SamplingPlan,
    },
    /// A sync pass ended: where the outbox stands now.
    SyncProgress {
        pending: u32,
        acked: u32,
        rejected: u32,
    },
    SyncFailed {
        reason: String,
    },
    /// The force's status update on one of the officer's referrals.
    ReferralStatusChanged {
        referral_id: String,
        status: ReferralStatus,
    },
    /// The force erased this handset: show the sign-in screen.
    Wiped,
    /// The force's sign-in lapsed: show the sign-in screen; the outbox
    /// waits for the same officer.
    AuthRequired {
        reason: String,
    },
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<CoreEvent> for GuardianEvent {
    fn from(e: CoreEvent) -> Self {
        match e {
            CoreEvent::Arrived { area_id, time_ms } => GuardianEvent::Arrived { area_id, time_ms },
            CoreEvent::Departed { area_id, time_ms } => GuardianEvent::Departed { area_id, time_ms },
            CoreEvent::MinutesReached { patrol_id, minutes } => GuardianEvent::MinutesReached { patrol_id, minutes },
            CoreEvent::SyncProgress {
                pending,
                acked,
                rejected,
            } => GuardianEvent::SyncProgress {
                pending: count(pending),
                acked: count(acked),
                rejected: count(rejected),
            },
            CoreEvent::SyncFailed { reason } => GuardianEvent::SyncFailed { reason },
            CoreEvent::ReferralStatusChanged { referral_id, status } => {
                GuardianEvent::ReferralStatusChanged { referral_id, status }
            }
            CoreEvent::PlanChanged { plan } => GuardianEvent::PlanChanged { plan },
            CoreEvent::Wiped => GuardianEvent::Wiped,
            CoreEvent::AuthRequired { reason } => GuardianEvent::AuthRequired { reason },
        }
    }
}

#[uniffi::export(callback_interface)]
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: GuardianEvent);
}

pub(crate) struct Listener(pub Box<dyn EventListener>);

impl guardian_core::events::EventListener for Listener {
    fn on_event(&self, event: CoreEvent) {
        // A listener that throws must not take the core's thread (the sync
        // engine's, say) down with it: it is logged and the core goes on.
        let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.on_event(event.into())));
        if told.is_err() {
            tracing::error!(target: "guardian_ffi", "the shell's event listener failed");
        }
    }
}
