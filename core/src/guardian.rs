//! [`Guardian`]: the one object a shell holds. It ties the store, the clock
//! and the patrol rules together; every method that records something
//! commits before it returns.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::{DateTime, Days, TimeZone};
use chrono_tz::Europe::London;
use rusqlite::Transaction;
use serde::Serialize;

use crate::clock::Clock;
use crate::error::Result;
use crate::events::{Event, EventListener};
use crate::patrol::GeofenceKind;
use crate::patrol::area::{AreaSummary, parse_areas};
use crate::patrol::compliance::{self, PatrolFacts, PatrolReport, WindowRule};
use crate::patrol::db;
use crate::patrol::filter::FixFilter;
use crate::patrol::geofence::AreaIndex;
use crate::patrol::presence::{GeofenceEvent, LiveGeofence};
use crate::patrol::{
    Assignment, ComplianceSummary, Fix, FixError, Officer, PatrolError, Policies, Presence, Rank, RejectReason, Verdict,
};
use crate::referral::{self, Boundaries};
use crate::store::{DbKey, Store};
use crate::sync::engine::{self, EngineSlot, SyncEngine};
use crate::sync::outbox;
use crate::sync::protocol::SyncReply;
use crate::sync::protocol::{CheckInBody, CheckOutBody, RecordBody, RecordEnvelope};
use crate::sync::{PassReport, SyncConfig, SyncError, SyncStatus, TokenProvider};

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

/// What happened to one fix.
#[derive(Debug, Clone, PartialEq)]
pub struct FixOutcome {
    pub verdict: Verdict,
    pub events: Vec<GeofenceEvent>,
}

/// What happened to a batch. Invalid fixes are reported by position and not
/// stored; every valid one is stored, believed or not, in one commit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchOutcome {
    pub stored: usize,
    pub accepted: usize,
    pub rejected: BTreeMap<RejectReason, usize>,
    pub invalid: Vec<(usize, FixError)>,
    pub events: Vec<GeofenceEvent>,
}

/// The open patrol, as the patrol screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatrolStatus {
    pub patrol_id: String,
    pub area_id: String,
    pub area_name: String,
    pub checked_in_ms: i64,
    pub in_area_now: bool,
    pub minutes_in_area: f64,
    /// Minutes still needed inside the window for a compliant patrol.
    pub minutes_still_needed: f64,
    pub report: PatrolReport,
}

#[derive(Debug, Clone)]
struct OpenPatrol {
    id: String,
    area_id: String,
    checkin_time_ms: i64,
    /// The next outbox sequence number in this patrol's causal order.
    next_seq: u32,
    /// Fixes of this patrol not yet packed into a track chunk.
    unchunked: usize,
    /// Running time inside the patrol's area, for the "minutes reached"
    /// event (the report recomputes it exactly from the stored track).
    inside_ms: i64,
    last_inside_mono: Option<i64>,
    minutes_reached: bool,
}

/// In-memory state that follows the stored track. Cloned before each write
/// and put back if the write fails, so memory never runs ahead of disk.
#[derive(Debug, Clone)]
struct Live {
    filter: FixFilter,
    geofence: LiveGeofence,
    /// The newest stored fix: (row id, time, monotonic time).
    last_fix: Option<(i64, i64, i64)>,
    open: Option<OpenPatrol>,
    /// Events of the write in progress, told to the listener once committed.
    events: Vec<Event>,
}

impl Live {
    fn fresh(policies: &Policies) -> Self {
        Self {
            filter: FixFilter::new(policies.filter),
            geofence: LiveGeofence::new(),
            last_fix: None,
            open: None,
            events: Vec::new(),
        }
    }
}

pub struct GuardianCore {
    store: Store,
    clock: Arc<dyn Clock>,
    policies: Policies,
    areas: RwLock<Arc<AreaIndex>>,
    live: Mutex<Live>,
    sync: EngineSlot,
    listener: RwLock<Option<Arc<dyn EventListener>>>,
    /// The seven authorities' boundaries, for routing referrals offline.
    boundaries: RwLock<Arc<Boundaries>>,
}

/// The one object a shell holds. Cheap to share; the sync engine's tasks
/// hold only a weak reference, so dropping the last `Guardian` stops them.
#[derive(Debug)]
pub struct Guardian(Arc<GuardianCore>);

impl std::ops::Deref for Guardian {
    type Target = GuardianCore;

    fn deref(&self) -> &GuardianCore {
        &self.0
    }
}

impl Guardian {
    pub fn open(config: Config, key: DbKey, clock: Arc<dyn Clock>) -> Result<Self> {
        Ok(Self(Arc::new(GuardianCore::open(config, key, clock)?)))
    }

    /// Starts the sync engine (one runtime, owned by the core). It stays
    /// idle until the shell says the phone is online or asks for a sync.
    pub fn start_sync(&self, config: &SyncConfig, auth: Arc<dyn TokenProvider>) -> Result<()> {
        let engine = SyncEngine::start(Arc::downgrade(&self.0), config, auth)?;
        *lock(&self.0.sync) = Some(Arc::new(engine));
        Ok(())
    }

    pub fn stop_sync(&self) {
        lock(&self.0.sync).take();
    }
}

impl std::fmt::Debug for GuardianCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianCore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl GuardianCore {
    fn open(config: Config, key: DbKey, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(&config.db_path, key)?;
        store.write(outbox::requeue_in_flight)?;
        let (areas, open, (last_seen, anchor), recent, last_fix) = store.read(|tx| {
            let open = match db::open_patrol(tx)? {
                Some(p) => {
                    let (next_seq, unchunked) = db::patrol_progress(tx, &p.id)?;
                    Some(OpenPatrol {
                        id: p.id,
                        area_id: p.area_id,
                        checkin_time_ms: p.checkin_time_ms,
                        next_seq,
                        unchunked,
                        inside_ms: 0,
                        last_inside_mono: None,
                        minutes_reached: false,
                    })
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
        let mut geofence = LiveGeofence::new();
        for p in &recent {
            geofence.observe(
                &index,
                &config.policies.tracker,
                &Fix::new(p.time_ms, p.mono_ns, p.lat, p.lon, p.accuracy_m),
            );
        }
        let live = Live {
            filter: FixFilter::resume(config.policies.filter, last_seen, anchor),
            geofence,
            last_fix,
            open,
            events: Vec::new(),
        };
        let core = Self {
            store,
            clock,
            policies: config.policies,
            areas: RwLock::new(Arc::new(index)),
            live: Mutex::new(live),
            sync: Mutex::new(None),
            listener: RwLock::new(None),
            boundaries: RwLock::new(Arc::new(boundaries)),
        };
        // An open patrol picks up its minutes so far, so "minutes reached"
        // is neither lost nor told twice across a restart.
        let open_id = lock(&core.live).open.as_ref().map(|o| o.id.clone());
        if let Some(id) = open_id {
            let report = core.patrol_report(&id)?;
            if let Some(open) = lock(&core.live).open.as_mut() {
                open.inside_ms = (report.minutes_in_area * 60_000.0) as i64;
                open.minutes_reached = report.minutes_in_area >= core.policies.compliance.min_minutes;
            }
        }
        Ok(core)
    }

    /// The shell's listener for arrivals, departures, minutes reached, sync
    /// progress and wipes. Replaces any earlier one.
    pub fn set_listener(&self, listener: Option<Arc<dyn EventListener>>) {
        *self.listener.write().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    pub(crate) fn emit(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let listener = self.listener.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(l) = listener {
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
        Arc::clone(&self.areas.read().unwrap_or_else(|p| p.into_inner()))
    }

    // ---- areas, officer, assignments ----

    /// Imports (adds or updates) areas from a GeoJSON FeatureCollection. All
    /// or nothing: one bad feature and no area changes.
    pub fn import_areas_geojson(&self, text: &str) -> Result<usize> {
        let areas = parse_areas(text)?;
        let now = self.clock.now_ms();
        let mut live = lock(&self.live);
        let all = self.store.write(|tx| {
            db::upsert_areas(tx, &areas, now)?;
            db::load_areas(tx)
        })?;
        let index = AreaIndex::new(all);
        // Area positions in the index changed: start the live geofence afresh
        // (a pending arrival is re-decided by the next few fixes).
        live.geofence = LiveGeofence::new();
        *self.areas.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(index);
        Ok(areas.len())
    }

    pub fn areas(&self) -> Vec<AreaSummary> {
        self.area_index()
            .areas()
            .map(|a| AreaSummary {
                id: a.area.id.clone(),
                name: a.area.name.clone(),
                lpa: a.area.lpa.clone(),
                area_m2: a.area.area_m2(),
            })
            .collect()
    }

    pub fn set_officer(&self, officer: &Officer) -> Result<()> {
        for (field, value) in [("officer id", &officer.officer_id), ("name", &officer.display_name)] {
            if value.trim().is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
                return Err(PatrolError::InvalidOfficer(format!(
                    "{field} is empty, too long or has control characters"
                ))
                .into());
            }
        }
        self.store.write(|tx| db::set_officer(tx, officer))
    }

    pub fn officer(&self) -> Result<Option<Officer>> {
        self.store.read(|tx| db::officer(tx))
    }

    pub fn add_assignment(&self, a: &Assignment) -> Result<()> {
        if a.end_ms <= a.start_ms {
            return Err(PatrolError::InvalidAssignment("ends before it starts".into()).into());
        }
        if a.id.trim().is_empty() || a.id.len() > 64 {
            return Err(PatrolError::InvalidAssignment("id is empty or too long".into()).into());
        }
        if self.area_index().position(&a.area_id).is_none() {
            return Err(PatrolError::UnknownArea {
                area_id: a.area_id.clone(),
            }
            .into());
        }
        self.store.write(|tx| db::upsert_assignment(tx, a))
    }

    /// The signed-in officer's assignments that touch today (London time),
    /// including one that started last night and is still running.
    pub fn todays_assignments(&self) -> Result<Vec<Assignment>> {
        let officer = self.officer()?.ok_or(PatrolError::NoOfficer)?;
        let (start, end) = london_day_bounds(self.clock.now_ms());
        self.store
            .read(|tx| db::assignments_overlapping(tx, &officer.officer_id, start, end))
    }

    // ---- the track ----

    pub fn ingest_fix(&self, fix: &Fix) -> Result<FixOutcome> {
        fix.validate()?;
        let fix = &fix.quantised();
        let index = self.area_index();
        let now = self.clock.now_ms();
        self.with_live(|live, tx| {
            let (verdict, events) = self.ingest_in(tx, live, &index, fix, now)?;
            Ok(FixOutcome { verdict, events })
        })
    }

    pub fn ingest_batch(&self, fixes: &[Fix]) -> Result<BatchOutcome> {
        let index = self.area_index();
        let now = self.clock.now_ms();
        let mut out = BatchOutcome::default();
        self.with_live(|live, tx| {
            for (i, fix) in fixes.iter().enumerate() {
                if let Err(e) = fix.validate() {
                    out.invalid.push((i, e));
                    continue;
                }
                let fix = &fix.quantised();
                let (verdict, events) = self.ingest_in(tx, live, &index, fix, now)?;
                out.stored += 1;
                match verdict {
                    Verdict::Accepted => out.accepted += 1,
                    Verdict::Rejected(r) => *out.rejected.entry(r).or_insert(0) += 1,
                }
                out.events.extend(events);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Runs `f` in one write transaction with the live state; if anything
    /// fails the live state is put back as it was.
    fn with_live<T>(&self, f: impl FnOnce(&mut Live, &Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut live = lock(&self.live);
        let saved = live.clone();
        let result = self.store.write(|tx| f(&mut live, tx));
        if result.is_err() {
            *live = saved;
            return result;
        }
        let events = std::mem::take(&mut live.events);
        // Told after the lock is released: a listener may call straight back in.
        drop(live);
        self.emit(events);
        result
    }

    fn ingest_in(
        &self,
        tx: &Transaction<'_>,
        live: &mut Live,
        index: &AreaIndex,
        fix: &Fix,
        now: i64,
    ) -> Result<(Verdict, Vec<GeofenceEvent>)> {
        let verdict = live.filter.assess(fix, now);
        let events = if verdict.is_accepted() {
            live.geofence.observe(index, &self.policies.tracker, fix)
        } else {
            Vec::new()
        };
        for e in &events {
            live.events.push(match e.kind {
                GeofenceKind::Arrived => Event::Arrived {
                    area_id: e.area_id.clone(),
                    time_ms: e.time_ms,
                },
                GeofenceKind::Departed => Event::Departed {
                    area_id: e.area_id.clone(),
                    time_ms: e.time_ms,
                },
            });
        }
        if verdict.is_accepted() {
            self.count_minutes(live, index, fix);
        }
        let patrol_id = live.open.as_ref().map(|p| p.id.as_str());
        let row = db::insert_fix(tx, fix, patrol_id, verdict)?;
        for e in &events {
            db::insert_event(tx, &e.area_id, patrol_id, e.kind.as_str(), e.time_ms, e.mono_ns)?;
        }
        live.last_fix = Some((row, fix.time_ms, fix.mono_ns));
        self.track_grew(tx, live, now)?;
        Ok((verdict, events))
    }

    /// Keeps the open patrol's running minutes and says once when they reach
    /// the compliance minimum.
    fn count_minutes(&self, live: &mut Live, index: &AreaIndex, fix: &Fix) {
        let Some(open) = live.open.as_mut() else { return };
        let inside = index
            .position(&open.area_id)
            .is_some_and(|p| live.geofence.presence(p) == Presence::Inside);
        if !inside {
            open.last_inside_mono = None;
            return;
        }
        if let Some(prev) = open.last_inside_mono {
            let gap = fix.mono_ns - prev;
            if gap > 0 && gap <= self.policies.tracker.max_gap_ms * 1_000_000 {
                open.inside_ms += gap / 1_000_000;
            }
        }
        open.last_inside_mono = Some(fix.mono_ns);
        let minutes = open.inside_ms as f64 / 60_000.0;
        if !open.minutes_reached && minutes >= self.policies.compliance.min_minutes {
            open.minutes_reached = true;
            live.events.push(Event::MinutesReached {
                patrol_id: open.id.clone(),
                minutes,
            });
        }
    }

    /// One more fix in the open patrol's track: pack a chunk for the outbox
    /// when enough have gathered, in the same transaction.
    fn track_grew(&self, tx: &Transaction<'_>, live: &mut Live, now: i64) -> Result<()> {
        if let Some(open) = live.open.as_mut() {
            open.unchunked += 1;
            if open.unchunked >= outbox::CHUNK_FIXES {
                outbox::make_chunk(tx, &open.id, open.next_seq, now)?;
                open.next_seq += 1;
                open.unchunked = 0;
            }
        }
        Ok(())
    }

    /// The check-in/out fix joins the track: adopted if it is the fix the
    /// phone just reported, ingested otherwise.
    fn attach_fix(&self, tx: &Transaction<'_>, live: &mut Live, index: &AreaIndex, fix: &Fix, now: i64) -> Result<()> {
        match (live.last_fix, &live.open) {
            (Some((row, t, m)), Some(open)) if t == fix.time_ms && m == fix.mono_ns => {
                if db::adopt_fix(tx, row, &open.id)? {
                    self.track_grew(tx, live, now)?;
                }
                Ok(())
            }
            _ => self.ingest_in(tx, live, index, fix, now).map(|_| ()),
        }
    }

    // ---- the lifecycle ----

    /// Checks the signed-in officer in to an area. Returns the patrol id.
    pub fn check_in(&self, area_id: &str, fix: &Fix) -> Result<String> {
        fix.validate()?;
        let fix = &fix.quantised();
        let officer = self.officer()?.ok_or(PatrolError::NoOfficer)?;
        let index = self.area_index();
        let pos = index.position(area_id).ok_or_else(|| PatrolError::UnknownArea {
            area_id: area_id.to_string(),
        })?;
        let area = index.get(pos).ok_or_else(|| PatrolError::UnknownArea {
            area_id: area_id.to_string(),
        })?;
        if let Some(open) = &lock(&self.live).open {
            return Err(PatrolError::AlreadyOnPatrol {
                patrol_id: open.id.clone(),
                area_id: open.area_id.clone(),
            }
            .into());
        }
        self.policies
            .check_in
            .judge(area_id, fix.accuracy_m, &area.locate(pos, fix.lat, fix.lon))?;
        let now = self.clock.now_ms();
        let early = self.policies.check_in.early_start_ms;
        let assignment = self
            .store
            .read(|tx| db::assignments_overlapping(tx, &officer.officer_id, now, now.saturating_add(early) + 1))?
            .into_iter()
            .find(|a| a.area_id == area_id);
        let id = uuid::Uuid::now_v7().to_string();
        self.with_live(|live, tx| {
            // Checked again under the lock: two taps must not open two patrols.
            if let Some(open) = &live.open {
                return Err(PatrolError::AlreadyOnPatrol {
                    patrol_id: open.id.clone(),
                    area_id: open.area_id.clone(),
                }
                .into());
            }
            db::insert_patrol(
                tx,
                &db::NewPatrol {
                    id: &id,
                    area_id,
                    officer: &officer,
                    assignment_id: assignment.as_ref().map(|a| a.id.as_str()),
                    fix,
                },
            )?;
            let record = RecordEnvelope {
                id: uuid::Uuid::now_v7().to_string(),
                format: RECORD_FORMAT,
                patrol_id: id.clone(),
                seq: 0,
                body: RecordBody::CheckIn(CheckInBody {
                    area_id: area_id.to_string(),
                    officer_id: officer.officer_id.clone(),
                    rank: officer.rank.as_str().to_string(),
                    assignment_id: assignment.as_ref().map(|a| a.id.clone()),
                    time_ms: fix.time_ms,
                    mono_ns: fix.mono_ns,
                    lat: fix.lat,
                    lon: fix.lon,
                    accuracy_m: fix.accuracy_m,
                }),
            };
            enqueue_record(tx, &record, outbox::Kind::CheckIn, now)?;
            live.open = Some(OpenPatrol {
                id: id.clone(),
                area_id: area_id.to_string(),
                checkin_time_ms: fix.time_ms,
                next_seq: 1,
                unchunked: 0,
                inside_ms: 0,
                last_inside_mono: None,
                minutes_reached: false,
            });
            self.attach_fix(tx, live, &index, fix, now)
        })?;
        self.nudge_sync();
        tracing::info!(area_id, "checked in");
        Ok(id)
    }

    /// Checks out of the open patrol and returns its report. Always allowed
    /// wherever the officer is: ending a patrol must never be blocked.
    pub fn check_out(&self, fix: &Fix) -> Result<PatrolReport> {
        fix.validate()?;
        let fix = &fix.quantised();
        let index = self.area_index();
        let now = self.clock.now_ms();
        let patrol_id = self.with_live(|live, tx| {
            let open = live.open.clone().ok_or(PatrolError::NoActivePatrol)?;
            if fix.time_ms < open.checkin_time_ms {
                return Err(PatrolError::CheckOutBeforeCheckIn.into());
            }
            self.attach_fix(tx, live, &index, fix, now)?;
            let mut seq = live.open.as_ref().map_or(open.next_seq, |o| o.next_seq);
            if outbox::make_chunk(tx, &open.id, seq, now)? > 0 {
                seq += 1;
            }
            let record = RecordEnvelope {
                id: uuid::Uuid::now_v7().to_string(),
                format: RECORD_FORMAT,
                patrol_id: open.id.clone(),
                seq,
                body: RecordBody::CheckOut(CheckOutBody {
                    time_ms: fix.time_ms,
                    mono_ns: fix.mono_ns,
                    lat: fix.lat,
                    lon: fix.lon,
                    accuracy_m: fix.accuracy_m,
                }),
            };
            enqueue_record(tx, &record, outbox::Kind::CheckOut, now)?;
            db::close_patrol(tx, &open.id, fix)?;
            live.open = None;
            Ok(open.id)
        })?;
        self.nudge_sync();
        tracing::info!("checked out");
        self.patrol_report(&patrol_id)
    }

    pub fn patrol_report(&self, patrol_id: &str) -> Result<PatrolReport> {
        let (row, track, assignment) = self.store.read(|tx| {
            let row = db::patrol(tx, patrol_id)?.ok_or_else(|| PatrolError::UnknownPatrol {
                patrol_id: patrol_id.to_string(),
            })?;
            let track = db::track(tx, patrol_id)?;
            let assignment = match &row.assignment_id {
                Some(a) => db::assignment(tx, a)?,
                None => None,
            };
            Ok::<_, crate::Error>((row, track, assignment))
        })?;
        let index = self.area_index();
        let area = index
            .position(&row.area_id)
            .and_then(|i| index.get(i))
            .ok_or_else(|| PatrolError::UnknownArea {
                area_id: row.area_id.clone(),
            })?;
        let window = match assignment {
            Some(a) => WindowRule::Between {
                start_ms: a.start_ms,
                end_ms: a.end_ms,
            },
            None if !area.area.windows.is_empty() => WindowRule::Threat(area.area.windows.clone()),
            None => WindowRule::Any,
        };
        let facts = PatrolFacts {
            area,
            rank: row.rank,
            window: &window,
            checkout_ms: row.checkout_time_ms,
            track: &track,
        };
        Ok(compliance::assess(
            &facts,
            &self.policies.tracker,
            &self.policies.compliance,
        ))
    }

    /// The open patrol, if any, with its figures so far.
    pub fn patrol_status(&self) -> Result<Option<PatrolStatus>> {
        let Some(open) = lock(&self.live).open.clone() else {
            return Ok(None);
        };
        let report = self.patrol_report(&open.id)?;
        let index = self.area_index();
        let pos = index.position(&open.area_id);
        let in_area_now = pos.is_some_and(|p| lock(&self.live).geofence.presence(p) == Presence::Inside);
        let area_name = pos
            .and_then(|p| index.get(p))
            .map(|a| a.area.name.clone())
            .unwrap_or_default();
        let needed = (self.policies.compliance.min_minutes - report.minutes_in_window).max(0.0);
        Ok(Some(PatrolStatus {
            patrol_id: open.id,
            area_id: open.area_id,
            area_name,
            checked_in_ms: open.checkin_time_ms,
            in_area_now,
            minutes_in_area: report.minutes_in_area,
            minutes_still_needed: needed,
            report,
        }))
    }

    /// The board's three figures over every finished patrol on this handset.
    pub fn compliance_summary(&self) -> Result<ComplianceSummary> {
        let rows = self.store.read(|tx| db::closed_patrols(tx))?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            outcomes.push(self.patrol_report(&row.id)?.outcome());
        }
        Ok(compliance::summarise(&outcomes))
    }

    /// Tells the sync engine, if running, that there is something new to send.
    fn nudge_sync(&self) {
        if let Some(engine) = lock(&self.sync).as_ref() {
            engine.nudge();
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn engine(&self) -> Result<Arc<SyncEngine>> {
        Ok(lock(&self.sync).clone().ok_or(SyncError::NotStarted)?)
    }

    /// The shell reports connectivity; going online starts a pass.
    pub fn set_online(&self, online: bool) -> Result<()> {
        self.engine()?.set_online(online);
        Ok(())
    }

    /// Uploads everything pending and pulls the force's changes, now. Call
    /// from a background thread.
    pub fn sync_now(&self) -> Result<PassReport> {
        self.engine()?.sync_now(self)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let engine = lock(&self.sync).clone();
        engine::status(self, engine.is_some(), engine.as_ref().is_some_and(|e| e.is_online()))
    }

    /// Applies the force's changes in one transaction; a reply with anything
    /// unusable in it changes nothing.
    pub(crate) fn apply_pull(&self, reply: SyncReply) -> Result<()> {
        let bad = |what: String| crate::Error::from(SyncError::BadReply(what));
        let officer = match reply.officer {
            Some(o) => {
                let rank = Rank::parse(&o.rank).ok_or_else(|| bad(format!("unknown rank {:?}", o.rank)))?;
                Some(Officer {
                    officer_id: o.officer_id,
                    display_name: o.display_name,
                    rank,
                })
            }
            None => None,
        };
        let areas = match &reply.areas {
            Some(fc) => Some(parse_areas(&fc.to_string()).map_err(|e| bad(format!("areas: {e}")))?),
            None => None,
        };
        let index = self.area_index();
        let known =
            |id: &str| areas.as_ref().is_some_and(|a| a.iter().any(|x| x.id == id)) || index.position(id).is_some();
        let assignments = match reply.assignments {
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for a in list {
                    if a.end_ms <= a.start_ms || a.id.is_empty() || !known(&a.area_id) {
                        return Err(bad(format!("assignment {:?} is invalid", a.id)));
                    }
                    out.push(Assignment {
                        id: a.id,
                        area_id: a.area_id,
                        officer_id: a.officer_id,
                        start_ms: a.start_ms,
                        end_ms: a.end_ms,
                    });
                }
                Some(out)
            }
            None => None,
        };
        let boundaries = match &reply.boundaries {
            Some(fc) => {
                let text = fc.to_string();
                let parsed = Self::parse_boundaries(&text).map_err(|e| bad(format!("boundaries: {e}")))?;
                Some((text, parsed))
            }
            None => None,
        };
        let now = self.clock.now_ms();
        let mut status_events = Vec::new();
        let mut live = lock(&self.live);
        let reloaded = self.store.write(|tx| {
            if let Some((text, _)) = &boundaries {
                referral::db::save_boundaries(tx, text, now)?;
            }
            for u in &reply.referral_updates {
                if referral::db::update_status(tx, &u.referral_id, u.status, u.time_ms)? {
                    status_events.push(Event::ReferralStatusChanged {
                        referral_id: u.referral_id.clone(),
                        status: u.status,
                    });
                }
            }
            if let Some(o) = &officer {
                db::set_officer(tx, o)?;
            }
            if let Some(a) = &areas {
                db::upsert_areas(tx, a, now)?;
            }
            if let Some(list) = &assignments {
                let officer_id = match &officer {
                    Some(o) => Some(o.officer_id.clone()),
                    None => db::officer(tx)?.map(|o| o.officer_id),
                };
                if let Some(officer_id) = officer_id {
                    db::replace_assignments(tx, &officer_id, list)?;
                }
            }
            outbox::save_sync_state(tx, Some(&reply.cursor), None, None)?;
            match areas {
                Some(_) => Ok::<_, crate::Error>(Some(db::load_areas(tx)?)),
                None => Ok(None),
            }
        })?;
        if let Some(all) = reloaded {
            live.geofence = LiveGeofence::new();
            *self.areas.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(AreaIndex::new(all));
        }
        drop(live);
        if let Some((_, parsed)) = boundaries {
            self.set_boundaries(parsed);
        }
        self.emit(status_events);
        Ok(())
    }

    /// Erases everything on the handset (the force's wipe command).
    pub(crate) fn wipe(&self) -> Result<()> {
        let mut live = lock(&self.live);
        self.store.write(|tx| {
            tx.execute_batch(
                "DELETE FROM outbox; DELETE FROM geofence_events; DELETE FROM fixes; DELETE FROM patrols;
                 DELETE FROM assignments; DELETE FROM areas; DELETE FROM officer; DELETE FROM sync_state;
                 DELETE FROM audit; DELETE FROM referral_drafts; DELETE FROM referrals; DELETE FROM boundaries;",
            )?;
            Ok::<_, crate::Error>(())
        })?;
        *live = Live::fresh(&self.policies);
        *self.areas.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(AreaIndex::new(Vec::new()));
        drop(live);
        self.set_boundaries(Boundaries::default());
        self.store.vacuum()?;
        tracing::warn!("handset wiped on the force's command");
        self.emit(vec![Event::Wiped]);
        Ok(())
    }

    /// Signs the officer out of a shared handset. Refused while anything of
    /// theirs has not reached the force, unless forced (which is recorded);
    /// then their local data is purged. Returns how many unsynced records a
    /// forced sign-out discarded.
    pub fn sign_out(&self, force: bool) -> Result<usize> {
        let mut live = lock(&self.live);
        let open = live.open.is_some();
        let counts = self.store.read(|tx| outbox::counts(tx))?;
        let unsynced = counts.pending + counts.rejected;
        if !force {
            if open {
                return Err(SyncError::PatrolOpen.into());
            }
            if unsynced > 0 {
                return Err(SyncError::Unsynced { count: unsynced }.into());
            }
        }
        let now = self.clock.now_ms();
        self.store.write(|tx| {
            if force && (unsynced > 0 || open) {
                outbox::audit(
                    tx,
                    now,
                    "forced_sign_out",
                    &format!("{unsynced} unsynced records discarded; patrol open: {open}"),
                )?;
            }
            tx.execute_batch(
                "DELETE FROM outbox; DELETE FROM geofence_events; DELETE FROM fixes; DELETE FROM patrols;
                 DELETE FROM assignments; DELETE FROM officer; DELETE FROM referral_drafts; DELETE FROM referrals;",
            )?;
            Ok::<_, crate::Error>(())
        })?;
        *live = Live::fresh(&self.policies);
        self.store.vacuum()?;
        Ok(if force { unsynced } else { 0 })
    }

    /// Live presence per area id, for a map.
    pub fn presence(&self) -> HashMap<String, Presence> {
        let index = self.area_index();
        let live = lock(&self.live);
        index
            .areas()
            .enumerate()
            .map(|(i, a)| (a.area.id.clone(), live.geofence.presence(i)))
            .filter(|(_, p)| *p == Presence::Inside)
            .collect()
    }

    // ---- the practice library: thin delegations to crate::library ----

    /// The library version and size on this handset (version 0: none yet).
    pub fn library_status(&self) -> Result<crate::library::LibraryStatus> {
        Ok(self.store.read(|tx| crate::library::db::status(tx))?)
    }

    /// Applies a content pack (the starter pack shipped with the app, or one
    /// fetched by hand). All or nothing: a bad pack leaves the old library.
    pub fn library_apply_pack(&self, bytes: &[u8]) -> Result<crate::library::ApplyOutcome> {
        let now = self.clock.now_ms();
        Ok(self.store.write(|tx| crate::library::apply_pack(tx, bytes, now))?)
    }

    /// Full-text search; at most `limit` hits (1–100).
    pub fn library_search(&self, query: &str, limit: usize) -> Result<crate::library::SearchResults> {
        Ok(self.store.read(|tx| crate::library::db::search(tx, query, limit))?)
    }

    pub fn library_topics(&self) -> Result<Vec<crate::library::TopicEntry>> {
        Ok(self.store.read(|tx| crate::library::db::topics(tx))?)
    }

    /// The articles under a topic and its sub-topics, by title.
    pub fn library_topic_articles(&self, topic_id: &str) -> Result<Vec<crate::library::ArticleSummary>> {
        Ok(self.store.read(|tx| crate::library::db::in_topic(tx, topic_id))?)
    }

    pub fn library_articles(&self) -> Result<Vec<crate::library::ArticleSummary>> {
        Ok(self.store.read(|tx| crate::library::db::all(tx))?)
    }

    /// An article as the reading screen shows it, recording nothing.
    pub fn library_article(&self, id: &str) -> Result<crate::library::ArticleView> {
        self.store.read(|tx| {
            let officer = db::officer(tx)?.map(|o| o.officer_id);
            Ok(crate::library::article_view(tx, officer.as_deref(), id)?)
        })
    }

    /// Opens an article: its view, and a recent read for the signed-in
    /// officer, queued for their other handsets in the same commit.
    pub fn library_open_article(&self, id: &str) -> Result<crate::library::ArticleView> {
        let now = self.clock.now_ms();
        let view = self.store.write(|tx| {
            let officer = db::officer(tx)?.map(|o| o.officer_id);
            Ok::<_, crate::Error>(crate::library::open_article(tx, officer.as_deref(), id, now)?)
        })?;
        self.nudge_sync();
        Ok(view)
    }

    /// Bookmarks (`on`) or un-bookmarks an article for the signed-in
    /// officer; returns whether anything changed.
    pub fn library_set_bookmark(&self, id: &str, on: bool) -> Result<bool> {
        let now = self.clock.now_ms();
        let changed = self.store.write(|tx| {
            let officer = db::officer(tx)?.map(|o| o.officer_id);
            Ok::<_, crate::Error>(crate::library::set_bookmark(tx, officer.as_deref(), id, on, now)?)
        })?;
        if changed {
            self.nudge_sync();
        }
        Ok(changed)
    }

    pub fn library_bookmarks(&self) -> Result<Vec<crate::library::PrefsEntry>> {
        self.store.read(|tx| {
            let officer = db::officer(tx)?.map(|o| o.officer_id);
            Ok(crate::library::bookmarks(tx, officer.as_deref())?)
        })
    }

    pub fn library_recent(&self) -> Result<Vec<crate::library::PrefsEntry>> {
        self.store.read(|tx| {
            let officer = db::officer(tx)?.map(|o| o.officer_id);
            Ok(crate::library::recent(tx, officer.as_deref())?)
        })
    }
}

/// The JSON record format version this build writes.
pub const RECORD_FORMAT: u32 = 1;

fn enqueue_record(tx: &Transaction<'_>, record: &RecordEnvelope, kind: outbox::Kind, now: i64) -> Result<()> {
    let payload = serde_json::to_vec(record).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
    outbox::enqueue(
        tx,
        &outbox::NewRow {
            id: &record.id,
            kind,
            format: record.format,
            patrol_id: Some(&record.patrol_id),
            seq: record.seq,
            payload: &payload,
            fixes: 0,
            now_ms: now,
        },
    )
}

/// Local midnight to local midnight in London, as UTC ms.
fn london_day_bounds(now_ms: i64) -> (i64, i64) {
    let Some(now) = DateTime::from_timestamp_millis(now_ms) else {
        return (now_ms, now_ms);
    };
    let day = London.from_utc_datetime(&now.naive_utc()).date_naive();
    let midnight = |d: chrono::NaiveDate| {
        let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        London
            .from_local_datetime(&naive)
            .earliest()
            .map_or(now_ms, |t| t.timestamp_millis())
    };
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    (midnight(day), midnight(next))
}

mod referrals;

#[cfg(test)]
mod referral_tests;
#[cfg(test)]
mod tests;
