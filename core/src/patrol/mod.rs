//! Patrols: areas and their threat windows, assignments, the officer, the
//! check-in/out lifecycle, the GPS track with its filter and geofence, and
//! compliance. This module owns the officer, areas, assignments, patrols,
//! fixes and geofence_events tables (`db`): nothing else writes them, and
//! it packs its own track into chunks for the outbox.
//!
//! Everything but `db` is pure: plain values in, plain values out.

pub mod area;
pub mod compliance;
pub mod db;
pub mod filter;
pub mod geofence;
pub mod geometry;
pub mod live;
pub mod officer;
pub mod plan;
pub mod presence;
pub mod saved;
pub mod session;
pub mod tally;
pub mod tracker;
pub mod window;

pub use area::{Area, AreaError, AreaProblem, parse_areas};
pub use compliance::{
    CompliancePolicy, ComplianceSummary, MinutesBasis, NonCompliance, PatrolOutcome, PatrolReport, WindowRule,
    summarise,
};
pub use filter::FilterPolicy;
pub use geofence::AreaIndex;
pub use guardian_protocol::fix::{self, Fix, FixError, RejectReason, Verdict};
pub use live::{Live, OpenPatrol, Step};
pub use officer::{Officer, Rank};
pub use plan::{PlanPolicy, PlanReason, Precision, SamplingPlan};
pub use presence::{GeofenceEvent, GeofenceKind};
pub use session::{Assignment, CheckInPolicy, PatrolError, Policies};
pub use tally::PatrolTally;
pub use tracker::{Presence, TrackerPolicy};
pub use window::{ThreatWindow, WindowSpec};
