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
use crate::patrol::db;
use crate::patrol::geofence::AreaIndex;
use crate::patrol::{Live, OpenPatrol, Policies};
use crate::referral::{self, Boundaries};
use crate::store::outbox::{self, Kind};
use crate::store::{DbKey, Store};
use crate::sync::{AckHooks, Runtime, SyncEngine, SyncError};

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
        let handle = self
            .runtime()?
            .handle()
            .ok_or_else(|| SyncError::Config("the core's runtime has stopped".into()))?;
        Ok(handle.spawn_blocking(move || f(&me)))
    }
}

impl GuardianCore {
    fn open(config: Config, key: DbKey, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(&config.db_path, key)?;
        // In flight when the app died means "maybe sent": the same ids go
        // again and the server's idempotency makes that safe.
        store.write(outbox::requeue_in_flight)?;
        let (areas, open, filter_state, recent, last_fix) = store.read(|tx| {
            let open = match db::open_patrol(tx)? {
                Some(p) => Some((db::patrol_progress(tx, &p.id)?, p)),
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
        let live = Live::resume(&config.policies, &index, filter_state, &recent, last_fix, None);
        let core = Self {
            store,
            clock,
            policies: config.policies,
            areas: RwLock::new(Arc::new(index)),
            live: Mutex::new(live),
            boundaries: RwLock::new(Arc::new(boundaries)),
            listener: RwLock::new(None),
            ack_hooks: AckHooks::default().on(Kind::Referral, referral::db::on_acked),
            sync: Mutex::new(None),
            runtime: OnceLock::new(),
        };
        // An open patrol picks up its minutes so far, so "minutes reached"
        // is neither lost nor told twice across a restart.
        if let Some((progress, row)) = open {
            let minutes = core.patrol_report(&row.id)?.minutes_in_area;
            let patrol = OpenPatrol::resumed(
                row.id,
                row.area_id,
                row.checkin_time_ms,
                progress,
                minutes,
                &core.policies.compliance,
            );
            lock(&core.live).check_in(patrol);
        }
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
