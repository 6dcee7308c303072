//! [`Guardian`]: the one object a shell holds, as thin façades over the
//! modules below, one file per concern: `patrols` (areas, officer,
//! assignments, the track, check-in/out, reports), `referrals`, `library`
//! and `sync` (the engine, sign-out, the force's wipe). Here: opening the
//! store, the shared state, the event listener and the core's runtime.
//!
//! The façades orchestrate and decide nothing: rules live in the modules
//! (pure where they can be), tables in their owners' `db`. Every call that
//! records something commits before it returns, and tells the shell what
//! happened only after the commit.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use rusqlite::Transaction;

use crate::clock::Clock;
use crate::error::Result;
use crate::events::{Event, EventListener};
use crate::patrol::compliance::WindowRule;
use crate::patrol::db;
use crate::patrol::geofence::AreaIndex;
use crate::patrol::live::{PatrolStart, Progress};
use crate::patrol::{Live, OpenPatrol, PatrolTally, Policies};
use crate::referral::{self, Boundaries};
use crate::store::outbox::{self, Kind};
use crate::store::{DbKey, Store};
use crate::sync::{AckHooks, ForceLogin, Runtime, SyncEngine, SyncError};

mod library;
mod patrols;
mod referrals;
mod sync;

pub use patrols::{BatchOutcome, FixOutcome, PatrolStatus};

/// How many recent believed fixes rebuild the live geofence after a restart:
/// a few minutes at 1 Hz, more than any dwell.
const GEOFENCE_REPLAY_FIXES: u32 = 600;

#[derive(Debug, Clone)]
pub struct Config {
    pub db_path: PathBuf,
    pub policies: Policies,
}

impl Config {
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Self {
            db_path: db_path.into(),
            policies: Policies::default(),
        }
    }
}

pub struct GuardianCore {
    store: Store,
    clock: Arc<dyn Clock>,
    policies: Policies,
    areas: RwLock<Arc<AreaIndex>>,
    /// The track as memory follows it; see [`GuardianCore::with_live`].
    live: Mutex<Live>,
    /// The seven authorities' boundaries, for routing referrals offline.
    boundaries: RwLock<Arc<Boundaries>>,
    listener: RwLock<Option<Arc<dyn EventListener>>>,
    /// What each record kind's owner does when the force acknowledges it.
    ack_hooks: AckHooks,
    /// Declared before the runtime: dropped first, so its scheduler is
    /// cancelled before the runtime goes.
    sync: Mutex<Option<Arc<SyncEngine>>>,
    /// The force's sign-in, once the shell configured it.
    login: Mutex<Option<Arc<ForceLogin>>>,
    runtime: OnceLock<Runtime>,
}

/// The one object a shell holds. Cheap to clone and share; the sync
/// engine's task holds only a weak reference, so dropping the last
/// `Guardian` stops it.
#[derive(Debug, Clone)]
pub struct Guardian(Arc<GuardianCore>);

impl std::ops::Deref for Guardian {
    type Target = GuardianCore;

    fn deref(&self) -> &GuardianCore {
        &self.0
    }
}

impl std::fmt::Debug for GuardianCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianCore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock only means another thread panicked while holding it;
/// what it guards is put back on any failed write, so carry on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    l.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn replace<T>(l: &RwLock<T>, value: T) {
    *l.write().unwrap_or_else(|p| p.into_inner()) = value;
}

impl Guardian {
    pub fn open(config: Config, key: DbKey, clock: Arc<dyn Clock>) -> Result<Self> {
        Ok(Self(Arc::new(GuardianCore::open(config, key, clock)?)))
    }

    /// Runs `f` on the core's blocking pool. The handle can be awaited from
    /// any executor: the shells' async calls await it from UniFFI's, so the
    /// app has one runtime (this one), not one per binding.
    pub fn run_blocking<T, F>(&self, f: F) -> Result<tokio::task::JoinHandle<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Guardian) -> T + Send + 'static,
    {
        let me = self.clone();
        Ok(self.runtime()?.handle().spawn_blocking(move || f(&me)))
    }
}

/// The open patrol picked up after a restart with its tally: the one
/// saved with the last track chunk plus the fixes stored since (at most a
/// chunk's worth), or the whole track if none was saved under these
/// policies. So "minutes reached" is neither lost nor told twice.
fn resume_patrol(
    store: &Store,
    index: &AreaIndex,
    policies: &Policies,
    progress: Progress,
    saved: Option<(i64, String)>,
    row: db::PatrolRow,
) -> Result<OpenPatrol> {
    let area = index.position(&row.area_id).and_then(|i| index.get(i));
    let assignment = store.read(|tx| match &row.assignment_id {
        Some(a) => db::assignment(tx, a),
        None => Ok(None),
    })?;
    let windows = area.map(|a| a.area.windows.as_slice()).unwrap_or_default();
    let window = WindowRule::for_patrol(assignment.map(|a| (a.start_ms, a.end_ms)), windows);
    let (mut tally, after) = saved
        .and_then(|(upto, text)| PatrolTally::restore(&text, policies).map(|t| (t, upto)))
        .unwrap_or_else(|| (PatrolTally::new(&policies.plan), 0));
    if let Some(area) = area {
        for p in store.read(|tx| db::track_after(tx, &row.id, after))? {
            tally.observe(area, &window, &p, policies);
        }
    }
    let start = PatrolStart {
        id: row.id,
        area_id: row.area_id,
        checkin_time_ms: row.checkin_time_ms,
        rank: row.rank,
        window,
    };
    Ok(OpenPatrol::resumed(start, progress, tally, &policies.compliance))
}

impl GuardianCore {
    fn open(config: Config, key: DbKey, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(&config.db_path, key)?;
        // In flight when the app died means "maybe sent": the same ids go
        // again and the server's idempotency makes that safe.
        store.write(outbox::requeue_in_flight)?;
        let (areas, open, filter_state, recent, last_fix) = store.read(|tx| {
            let open = match db::open_patrol(tx)? {
                Some(p) => {
                    let saved = db::saved_tally(tx, &p.id)?;
                    let after = saved.as_ref().map_or(0, |(upto, _)| *upto);
                    let (next_seq, unchunked) = db::patrol_progress(tx, &p.id, after)?;
                    let progress = Progress {
                        next_seq,
                        unchunked,
                        packed_upto: after,
                    };
                    Some((progress, saved, p))
                }
                None => None,
            };
            Ok::<_, crate::Error>((
                db::load_areas(tx)?,
                open,
                db::filter_state(tx)?,
                db::recent_accepted(tx, GEOFENCE_REPLAY_FIXES)?,
                db::last_fix(tx)?,
            ))
        })?;
        let index = AreaIndex::new(areas);
        // Stored boundaries were valid when they arrived; if they cannot be
        // read now, routing falls back to the officer choosing.
        let boundaries = store
            .read(|tx| referral::db::boundaries(tx))?
            .and_then(|text| Boundaries::from_geojson(&text).ok())
            .unwrap_or_default();
        let recent: Vec<_> = recent.iter().map(|p| p.fix()).collect();
        let open = match open {
            Some((progress, saved, row)) => {
                Some(resume_patrol(&store, &index, &config.policies, progress, saved, row)?)
            }
            None => None,
        };
        let live = Live::resume(&config.policies, &index, filter_state, &recent, last_fix, open);
        let core = Self {
            store,
            clock,
            policies: config.policies,
            areas: RwLock::new(Arc::new(index)),
            live: Mutex::new(live),
            boundaries: RwLock::new(Arc::new(boundaries)),
            listener: RwLock::new(None),
            ack_hooks: AckHooks::default()
                .on_purging(Kind::Referral, referral::db::on_acked)
                .on_rejected(Kind::Referral, referral::db::on_rejected),
            sync: Mutex::new(None),
            login: Mutex::new(None),
            runtime: OnceLock::new(),
        };
        Ok(core)
    }

    /// The shell's listener for arrivals, departures, minutes reached, sync
    /// progress and wipes. Replaces any earlier one.
    pub fn set_listener(&self, listener: Option<Arc<dyn EventListener>>) {
        replace(&self.listener, listener);
    }

    fn emit(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        if let Some(l) = read(&self.listener) {
            for e in events {
                l.on_event(e);
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    pub fn area_index(&self) -> Arc<AreaIndex> {
        read(&self.areas)
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The core's runtime, started on first use.
    fn runtime(&self) -> std::result::Result<&Runtime, SyncError> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        // Two threads may race here; the loser's runtime is dropped unused.
        let _ = self.runtime.set(Runtime::new()?);
        self.runtime
            .get()
            .ok_or_else(|| SyncError::Config("the core's runtime did not start".into()))
    }

    /// Runs `f` in one write transaction with the live state. If anything
    /// fails the live state is put back as it was, so memory never runs
    /// ahead of disk; the events `f` gathered are told once committed.
    fn with_live<T>(&self, f: impl FnOnce(&mut Live, &Transaction<'_>, &mut Vec<Event>) -> Result<T>) -> Result<T> {
        let mut live = lock(&self.live);
        let saved = live.clone();
        let mut events = Vec::new();
        let result = self.store.write(|tx| f(&mut live, tx, &mut events));
        if result.is_err() {
            *live = saved;
            return result;
        }
        // Told after the lock is released: a listener may call straight back in.
        drop(live);
        self.emit(events);
        result
    }

    /// The signed-in officer's id, for the modules that keep per-officer data.
    fn officer_id(&self, tx: &Transaction<'_>) -> std::result::Result<Option<String>, crate::store::StoreError> {
        Ok(db::officer(tx)?.map(|o| o.officer_id))
    }
}

#[cfg(test)]
mod referral_tests;
#[cfg(test)]
mod tests;
