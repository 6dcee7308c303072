//! Guardian's offline-first core.
//!
//! Everything the handset knows lives here: the encrypted store, the patrol
//! rules (areas, assignments, check-in/out, the GPS track, the geofence and
//! compliance), VRP referrals, the practice library, and sync with the
//! force. The core knows nothing of FFI; the shells see it through the thin
//! `guardian-ffi` crate.
//!
//! # Layers
//!
//! Imports only point down. No module imports from a layer above it, and
//! modules in one layer do not import each other:
//!
//! ```text
//! fuzz            (feature `fuzzing`, never shipped) entry points for fuzzing
//! guardian        the façades a shell calls (`Guardian`)
//! error           the façade's one error, gathering every module's own
//! sync            pass (pure decisions), engine (I/O), client (HTTP), state
//! events          what the core tells the shell unasked (plain data)
//! patrol | referral | library      the domain: rules (pure) and their own tables
//! store           SQLCipher, schema, the outbox and audit tables
//! clock           the time source passed in (the lowest layer)
//! guardian-protocol (crate)        wire types, codec, record rules, London time
//! ```
//!
//! - Each table has one owner that alone writes it; wipe and sign-out ask
//!   every owner to purge its own (`store::Purge`).
//! - A record is queued in the outbox (storage) in the same transaction as
//!   the change it reports, by whoever makes the record: the façades for
//!   check-in/out and referrals (`guardian`), the library for its prefs,
//!   the patrol store for track chunks. Sync only moves outbox rows through
//!   their states, and runs what each record kind's owner registered for its
//!   ack.
//! - Low-level functions return their own module's error type; the façade
//!   converts once ([`Error`]).
//! - Decisions are pure functions (`patrol::{filter, tracker, plan, tally,
//!   live, compliance, window}`, `referral::form`, `sync::pass`); I/O sits at
//!   the edges and calls them. The clock is passed in.
//!
//! `scripts/layers.py` checks the rule on every test run.

pub mod clock;
pub mod error;
pub mod events;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
mod guardian;
pub mod library;
pub mod patrol;
pub mod referral;
pub mod store;
pub mod sync;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::Error;
pub use guardian::{BatchOutcome, Config, FixOutcome, Guardian, GuardianCore, PatrolStatus};
pub use guardian_protocol as protocol;
