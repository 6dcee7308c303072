//! Guardian's offline-first core.
//!
//! Everything the handset knows lives here: the encrypted store, the patrol
//! rules (areas, assignments, check-in/out, the GPS track, the geofence and
//! compliance) and, later, sync. The core knows nothing of FFI; the shells see
//! it through the thin `guardian-ffi` crate.
//!
//! Pure rules (`patrol::filter`, `patrol::tracker`, `patrol::compliance`,
//! `patrol::window`) take plain values and return plain values; I/O sits in
//! `store` and in [`Guardian`], which ties them together.

pub mod clock;
pub mod error;
pub mod events;
mod guardian;
pub mod library;
pub mod patrol;
pub mod referral;
pub mod store;
pub mod sync;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::Error;
pub use guardian::{BatchOutcome, Config, FixOutcome, Guardian, GuardianCore, PatrolStatus};
