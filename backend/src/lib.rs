//! Guardian's reference force backend: the sync protocol the handset's core
//! speaks (`guardian_protocol`), served for real over HTTP, with the force's
//! side of the job — officers, areas, the randomised daily schedule, device
//! commands, referrals to the Navigator teams, the practice library and the
//! compliance export.
//!
//! The wire types and every record rule come from `guardian-protocol`, and
//! every patrol judgement from `guardian-core`, so the backend and the
//! handset cannot disagree about a message, a rule or a verdict.
//!
//! Layers: `http` (axum handlers, the only place that speaks HTTP) over
//! `setup` (opening a store: every schema, the token key) over the storage
//! modules (one per concern, all returning [`BackendError`]) over `db` (the
//! file, pragmas, `meta`, the schema versions) over `sql` (one interface to
//! SQLite and PostgreSQL; the only place the two engines differ).
//!
//! Tables: each has one owner, the module that writes it, and only the
//! owner writes it (`scripts/layers.py` checks every `INSERT`, `UPDATE` and
//! `DELETE`). Each set of tables versions on its own (`db::Schema`). Reads
//! may cross: the reports (`export`, `review`, `stats`) and the sync reply
//! join other modules' tables in one statement, because a report split
//! into each owner's reads would be several queries joined in memory; a
//! read that more than one module needs lives with the table's owner
//! (`records::patrols`, the stored patrols the export and the review judge).

mod areas;
mod audit;
mod backend;
mod boundaries;
mod chunks;
mod commands;
mod db;
mod devices;
mod error;
mod export;
mod http;
mod library;
mod officers;
mod oidc;
mod rate;
mod records;
mod referral;
mod retention;
mod review;
mod schedule;
mod seal;
mod session;
mod setup;
mod sql;
mod stats;
mod sync;
mod token;

pub use audit::{
    Access, Action, Caller, Entry as AccessEntry, Fault as AccessFault, Filter as AccessFilter, GENESIS,
    Verified as AccessVerified, csv as access_log_csv,
};
pub use backend::{Backend, MAX_TTL_S, OverdueRule};
pub use devices::{Device, MAX_DEVICE_ID_LEN};
pub use error::BackendError;
pub use export::{CSV_HEADER, ExportRow, csv as compliance_csv_of, summary as compliance_summary_of};
pub use http::error::ApiFailure;
pub use http::{
    Endpoint, Limits, MAX_CHUNK_BYTES, MAX_REFERRAL_BYTES, MyPatrols, MyReferrals, NavigatorReferrals, NewCommand,
    NewNavigator, NewOfficer, NewToken, ROUTES, Route, ScheduleRequest, ServerHandle, StatusChange, Verb, router,
    serve_until, spawn, spawn_with,
};
pub use library::{LibrarySources, Published, SourceFile};
pub use oidc::{
    AuthError, ClaimNames, LEEWAY_S, Oidc, OidcConfig, OidcError, REFETCH_EVERY, WebClientConfig, WebSignInError,
};
pub use referral::{
    DeskAction, HistoryLine, Inbox, InboxLine, InboxQuery, NavigatorReferral, PAGE_SIZE as INBOX_PAGE_SIZE,
    ReferralPage, Rekeyed, SubjectReferral, Team,
};
pub use retention::{Retention, RetentionRun};
pub use review::{
    AreaOutline, AssignmentLine, DayReview, DaySchedule, EVALUATION_CSV_HEADER, Evaluation, EvaluationRow, FixPoint,
    GroupFigures, MAX_RANGE_DAYS, Outcome, PatrolDetail, PatrolLine, RecordedPoint, ScheduledArea, WindowText,
    evaluation_csv,
};
pub use schedule::{DEFAULT_WINDOW, ScheduleRun};
pub use seal::{DEV_KEY_ID, Keyring, new_key_line};
pub use setup::PG_POOL_SIZE;
pub use sql::DbError;
pub use sql::pg::{connect as connect_postgres, create_database as create_postgres_database};
pub use stats::{PatrolSummary, Stats};
pub use token::{Claims, Role};
