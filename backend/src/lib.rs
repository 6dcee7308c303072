//! Guardian's reference force backend: the sync protocol the handset's core
//! speaks (`guardian_core::sync::protocol`), served for real over HTTP, with
//! the force's side of the job — officers, areas, the randomised daily
//! schedule, device commands and the compliance export.
//!
//! The wire types and every patrol rule come from `guardian-core`, so the
//! backend and the handset cannot disagree about a message or a judgement.

mod backend;
mod boundaries;
mod db;
mod error;
mod export;
mod http;
mod library;
mod referral;
mod schedule;
mod token;

pub use backend::{Backend, MAX_ID_LEN, PatrolSummary, RECORD_FORMAT, ScheduleRun, Stats};
pub use error::{ApiFailure, BackendError};
pub use export::CSV_HEADER;
pub use http::{
    Endpoint, MAX_CHUNK_BYTES, MyPatrols, NewCommand, NewOfficer, NewToken, ROUTES, Route, ScheduleRequest,
    ServerHandle, Verb, router, serve_until, spawn,
};
pub use http::{MAX_REFERRAL_BYTES, MyReferrals, NavigatorReferrals, NewNavigator, StatusChange};
pub use library::{LibrarySources, Published, SourceFile};
pub use referral::{
    AUTHORITY_SOURCES, CONSENT_STATES, MAX_NARRATIVE_LEN, MAX_SUBJECT_NAME_LEN, MAX_TEXT_LEN, NavigatorReferral,
    REASON_CODES, URGENCIES,
};
pub use schedule::DEFAULT_WINDOW;
pub use token::{Claims, Role};
