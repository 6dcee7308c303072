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
use crate::patrol::area::{AreaSummary, parse_areas};
use crate::patrol::compliance::{self, PatrolFacts, PatrolReport, WindowRule};
use crate::patrol::db;
use crate::patrol::filter::FixFilter;
use crate::patrol::geofence::AreaIndex;
use crate::patrol::presence::{GeofenceEvent, LiveGeofence};
use crate::patrol::{
    Assignment, ComplianceSummary, Fix, FixError, Officer, PatrolError, Policies, Presence,
    RejectReason, Verdict,
};
use crate::store::{DbKey, Store};

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
}

pub struct Guardian {
    store: Store,
    clock: Arc<dyn Clock>,
    policies: Policies,
    areas: RwLock<Arc<AreaIndex>>,
    live: Mutex<Live>,
}

impl std::fmt::Debug for Guardian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guardian")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Guardian {
    /// Opens the handset's encrypted store, migrates it, loads the areas and
    /// picks up any open patrol where it was left.
    pub fn open(config: Config, key: DbKey, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(&config.db_path, key)?;
        let (areas, open, (last_seen, anchor), recent, last_fix) = store.read(|tx| {
            Ok::<_, crate::Error>((
                db::load_areas(tx)?,
                db::open_patrol(tx)?,
                db::filter_state(tx)?,
                db::recent_accepted(tx, GEOFENCE_REPLAY_FIXES)?,
                db::last_fix(tx)?,
            ))
        })?;
        let index = AreaIndex::new(areas);
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
            open: open.map(|p| OpenPatrol {
                id: p.id,
                area_id: p.area_id,
                checkin_time_ms: p.checkin_time_ms,
            }),
        };
        Ok(Self {
            store,
            clock,
            policies: config.policies,
            areas: RwLock::new(Arc::new(index)),
            live: Mutex::new(live),
        })
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
        for (field, value) in [
            ("officer id", &officer.officer_id),
            ("name", &officer.display_name),
        ] {
            if value.trim().is_empty()
                || value.chars().count() > 200
                || value.chars().any(char::is_control)
            {
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
        }
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
        let patrol_id = live.open.as_ref().map(|p| p.id.as_str());
        let row = db::insert_fix(tx, fix, patrol_id, verdict)?;
        for e in &events {
            db::insert_event(
                tx,
                &e.area_id,
                patrol_id,
                e.kind.as_str(),
                e.time_ms,
                e.mono_ns,
            )?;
        }
        live.last_fix = Some((row, fix.time_ms, fix.mono_ns));
        Ok((verdict, events))
    }

    /// The check-in/out fix joins the track: adopted if it is the fix the
    /// phone just reported, ingested otherwise.
    fn attach_fix(
        &self,
        tx: &Transaction<'_>,
        live: &mut Live,
        index: &AreaIndex,
        fix: &Fix,
        now: i64,
    ) -> Result<()> {
        match (live.last_fix, &live.open) {
            (Some((row, t, m)), Some(open)) if t == fix.time_ms && m == fix.mono_ns => {
                db::adopt_fix(tx, row, &open.id)
            }
            _ => self.ingest_in(tx, live, index, fix, now).map(|_| ()),
        }
    }

    // ---- the lifecycle ----

    /// Checks the signed-in officer in to an area. Returns the patrol id.
    pub fn check_in(&self, area_id: &str, fix: &Fix) -> Result<String> {
        fix.validate()?;
        let officer = self.officer()?.ok_or(PatrolError::NoOfficer)?;
        let index = self.area_index();
        let pos = index
            .position(area_id)
            .ok_or_else(|| PatrolError::UnknownArea {
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
        self.policies.check_in.judge(
            area_id,
            fix.accuracy_m,
            &area.locate(pos, fix.lat, fix.lon),
        )?;
        let now = self.clock.now_ms();
        let early = self.policies.check_in.early_start_ms;
        let assignment = self
            .store
            .read(|tx| {
                db::assignments_overlapping(
                    tx,
                    &officer.officer_id,
                    now,
                    now.saturating_add(early) + 1,
                )
            })?
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
            live.open = Some(OpenPatrol {
                id: id.clone(),
                area_id: area_id.to_string(),
                checkin_time_ms: fix.time_ms,
            });
            self.attach_fix(tx, live, &index, fix, now)
        })?;
        tracing::info!(area_id, "checked in");
        Ok(id)
    }

    /// Checks out of the open patrol and returns its report. Always allowed
    /// wherever the officer is: ending a patrol must never be blocked.
    pub fn check_out(&self, fix: &Fix) -> Result<PatrolReport> {
        fix.validate()?;
        let index = self.area_index();
        let now = self.clock.now_ms();
        let patrol_id = self.with_live(|live, tx| {
            let open = live.open.clone().ok_or(PatrolError::NoActivePatrol)?;
            if fix.time_ms < open.checkin_time_ms {
                return Err(PatrolError::CheckOutBeforeCheckIn.into());
            }
            self.attach_fix(tx, live, &index, fix, now)?;
            db::close_patrol(tx, &open.id, fix)?;
            live.open = None;
            Ok(open.id)
        })?;
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
        let in_area_now =
            pos.is_some_and(|p| lock(&self.live).geofence.presence(p) == Presence::Inside);
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

#[cfg(test)]
mod tests;
