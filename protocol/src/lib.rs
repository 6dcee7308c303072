//! Guardian's sync protocol: the one definition of everything the handset
//! and the force's server both say or check.
//!
//! - [`wire`]: the messages of the sync API (check-in/out records, the sync
//!   reply, device commands, acks and error bodies), their headers and
//!   format versions.
//! - [`codec`]: the track chunk format (delta-encoded, deflated fixes).
//! - [`fix`]: a location fix, what makes one valid, and the filter's verdict
//!   on it, as both sides store and judge it.
//! - [`referral`]: the VRP referral record, its codes, the seven
//!   authorities, the forward-only status, and the rules a referral must
//!   pass — the same functions check the officer's form on the handset and
//!   the upload on the server.
//! - [`library`]: an officer's synced library bookmarks and recent reads.
//! - [`rules`]: field errors and the id and free-text rules every record uses.
//! - [`rank`]: officer ranks (only a warranted officer leads a compliant patrol).
//! - [`time`]: London local days, the clock every patrol rule is written in.
//!
//! The bottom layer: it knows nothing of storage, HTTP or the handset. A
//! rule that both sides apply lives here once; two copies drift.

pub mod codec;
pub mod fix;
pub mod library;
pub mod rank;
pub mod referral;
pub mod rules;
pub mod time;
pub mod wire;

pub use fix::{Fix, FixError, RejectReason, Verdict};
pub use rank::Rank;
pub use rules::{FieldError, FieldProblem};
