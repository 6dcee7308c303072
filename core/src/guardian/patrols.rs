//! Patrol calls: areas, the officer, assignments, the track, check-in and
//! check-out, and the reports. The rules are `crate::patrol`'s; the rows
//! are `patrol::db`'s; this wires them to the store, the clock and the
//! shell's events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use guardian_protocol::time::london_day_bounds;
use guardian_protocol::wire::{CheckInBody, CheckOutBody, RECORD_FORMAT, RecordBody, RecordEnvelope};
use rusqlite::Transaction;
use serde::Serialize;

use super::{GuardianCore, lock, replace};
use crate::error::Result;
use crate::events::Event;
use crate::patrol::area::{AreaInfo, parse_areas};
use crate::patrol::compliance::{self, PatrolFacts, PatrolReport, WindowRule};
use crate::patrol::geofence::AreaIndex;
use crate::patrol::live::{Attach, PatrolStart};
use crate::patrol::{
    Assignment, ComplianceSummary, Fix, FixError, GeofenceEvent, GeofenceKind, Live, Officer, OpenPatrol, PatrolError,
    PatrolTally, Policies, Presence, RejectReason, SamplingPlan, Verdict, db,
};
use crate::store::StoreError;
use crate::store::outbox::{self, Kind, NewRow};

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

/// Queues a check-in or check-out record in the caller's transaction,
/// after checking it with the rules the force's server applies.
fn enqueue_record(tx: &Transaction<'_>, record: &RecordEnvelope, kind: Kind, now: i64) -> Result<()> {
    record.validate().map_err(|e| StoreError::Unsendable(e.to_string()))?;
    let payload = serde_json::to_vec(record).map_err(|e| StoreError::Unsendable(e.to_string()))?;
    outbox::enqueue(
        tx,
        &NewRow {
            id: &record.id,
            kind,
            format: record.format,
            patrol_id: Some(&record.patrol_id),
            seq: record.seq,
            payload: &payload,
            fixes: 0,
            now_ms: now,
        },
    )?;
    Ok(())
}

impl GuardianCore {
    // ---- areas, officer, assignments ----

    /// Imports (adds or updates) areas from a GeoJSON FeatureCollection. All
    /// or nothing: one bad feature and no area changes.
    pub fn import_areas_geojson(&self, text: &str) -> Result<usize> {
        let areas = parse_areas(text)?;
        let now = self.now_ms();
        let mut live = lock(&self.live);
        let index = Arc::new(AreaIndex::new(self.store.write(|tx| {
            db::upsert_areas(tx, &areas, now)?;
            db::load_areas(tx)
        })?));
        live.areas_changed();
        replace(&self.areas, index.clone());
        drop(live);
        self.retally_open_patrol(&index)?;
        Ok(areas.len())
    }

    /// Every area on the handset, with its outline for a map.
    pub fn areas(&self) -> Vec<AreaInfo> {
        self.area_index().areas().map(|a| AreaInfo::from(&a.area)).collect()
    }

    pub fn area_info(&self, area_id: &str) -> Option<AreaInfo> {
        let index = self.area_index();
        index
            .position(area_id)
            .and_then(|i| index.get(i))
            .map(|a| AreaInfo::from(&a.area))
    }

    pub fn set_officer(&self, officer: &Officer) -> Result<()> {
        officer.check()?;
        Ok(self.store.write(|tx| db::set_officer(tx, officer))?)
    }

    pub fn officer(&self) -> Result<Option<Officer>> {
        Ok(self.store.read(|tx| db::officer(tx))?)
    }

    pub fn add_assignment(&self, a: &Assignment) -> Result<()> {
        let index = self.area_index();
        a.check(|id| index.position(id).is_some())?;
        self.store.write(|tx| db::upsert_assignment(tx, a))?;
        self.retally_open_patrol(&index)
    }

    /// The signed-in officer's assignments that touch today (London time),
    /// including one that started last night and is still running.
    pub fn todays_assignments(&self) -> Result<Vec<Assignment>> {
        let officer = self.officer()?.ok_or(PatrolError::NoOfficer)?;
        let (start, end) = london_day_bounds(self.now_ms());
        Ok(self
            .store
            .read(|tx| db::assignments_overlapping(tx, &officer.officer_id, start, end))?)
    }

    // ---- the track ----

    pub fn ingest_fix(&self, fix: &Fix) -> Result<FixOutcome> {
        fix.validate()?;
        let fix = &fix.quantised();
        let index = self.area_index();
        let now = self.now_ms();
        self.with_live(|live, tx, events| {
            let (verdict, geofence) = self.ingest_in(tx, live, &index, fix, now, events)?;
            Ok(FixOutcome {
                verdict,
                events: geofence,
            })
        })
    }

    pub fn ingest_batch(&self, fixes: &[Fix]) -> Result<BatchOutcome> {
        let index = self.area_index();
        let now = self.now_ms();
        let mut out = BatchOutcome::default();
        self.with_live(|live, tx, events| {
            for (i, fix) in fixes.iter().enumerate() {
                if let Err(e) = fix.validate() {
                    out.invalid.push((i, e));
                    continue;
                }
                let fix = &fix.quantised();
                let (verdict, geofence) = self.ingest_in(tx, live, &index, fix, now, events)?;
                out.stored += 1;
                match verdict {
                    Verdict::Accepted => out.accepted += 1,
                    Verdict::Rejected(r) => *out.rejected.entry(r).or_insert(0) += 1,
                }
                out.events.extend(geofence);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// One valid fix through the live state, and what its step says written
    /// in `tx`: the fix, any arrival or departure, a track chunk when due.
    fn ingest_in(
        &self,
        tx: &Transaction<'_>,
        live: &mut Live,
        index: &AreaIndex,
        fix: &Fix,
        now: i64,
        events: &mut Vec<Event>,
    ) -> Result<(Verdict, Vec<GeofenceEvent>)> {
        let step = live.observe(index, &self.policies, fix, now);
        let patrol_id = live.open().map(|o| o.id.as_str());
        let row = db::insert_fix(tx, fix, patrol_id, step.verdict)?;
        if let Some(plan) = step.plan {
            events.push(Event::PlanChanged { plan });
        }
        for e in &step.geofence {
            db::insert_event(tx, &e.area_id, patrol_id, e.kind.as_str(), e.time_ms, e.mono_ns)?;
            events.push(match e.kind {
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
        if let (Some(minutes), Some(id)) = (step.minutes_reached, patrol_id) {
            events.push(Event::MinutesReached {
                patrol_id: id.to_string(),
                minutes,
            });
        }
        if let Some(seq) = step.chunk_seq {
            pack_with_tally(tx, live.open_mut(), &self.policies, seq, row, now)?;
        }
        live.stored(row, fix, step.verdict);
        Ok((step.verdict, step.geofence))
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
        events: &mut Vec<Event>,
    ) -> Result<()> {
        match live.attach(fix) {
            Attach::Adopt(row) => {
                let patrol_id = live.open().map(|o| o.id.clone()).unwrap_or_default();
                if db::adopt_fix(tx, row, &patrol_id)?
                    && let Some(seq) = live.adopted(index, &self.policies)
                {
                    pack_with_tally(tx, live.open_mut(), &self.policies, seq, row, now)?;
                }
                Ok(())
            }
            Attach::Ingest => self.ingest_in(tx, live, index, fix, now, events).map(|_| ()),
        }
    }

    // ---- the lifecycle ----

    /// Checks the signed-in officer in to an area. Returns the patrol id.
    pub fn check_in(&self, area_id: &str, fix: &Fix) -> Result<String> {
        fix.validate()?;
        let fix = &fix.quantised();
        let officer = self.officer()?.ok_or(PatrolError::NoOfficer)?;
        let index = self.area_index();
        let unknown = || PatrolError::UnknownArea {
            area_id: area_id.to_string(),
        };
        let pos = index.position(area_id).ok_or_else(unknown)?;
        let area = index.get(pos).ok_or_else(unknown)?;
        if let Some(open) = lock(&self.live).open() {
            return Err(already_on_patrol(open).into());
        }
        self.policies
            .check_in
            .judge(area_id, fix.accuracy_m, &area.locate(pos, fix.lat, fix.lon))?;
        let now = self.now_ms();
        let early = self.policies.check_in.early_start_ms;
        let assignment = self
            .store
            .read(|tx| db::assignments_overlapping(tx, &officer.officer_id, now, now.saturating_add(early) + 1))?
            .into_iter()
            .find(|a| a.area_id == area_id);
        let id = uuid::Uuid::now_v7().to_string();
        self.with_live(|live, tx, events| {
            // Checked again under the lock: two taps must not open two patrols.
            if let Some(open) = live.open() {
                return Err(already_on_patrol(open).into());
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
            enqueue_record(tx, &record, Kind::CheckIn, now)?;
            let start = PatrolStart {
                id: id.clone(),
                area_id: area_id.to_string(),
                checkin_time_ms: fix.time_ms,
                rank: officer.rank,
                window: WindowRule::for_patrol(assignment.as_ref().map(|a| (a.start_ms, a.end_ms)), &area.area.windows),
            };
            live.check_in(OpenPatrol::new(start, &self.policies.plan));
            self.attach_fix(tx, live, &index, fix, now, events)
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
        let now = self.now_ms();
        let patrol_id = self.with_live(|live, tx, events| {
            let checked_in = live.open().ok_or(PatrolError::NoActivePatrol)?.checkin_time_ms;
            if fix.time_ms < checked_in {
                return Err(PatrolError::CheckOutBeforeCheckIn.into());
            }
            self.attach_fix(tx, live, &index, fix, now, events)?;
            let open = live.check_out().ok_or(PatrolError::NoActivePatrol)?;
            let mut seq = open.next_seq;
            if db::pack_chunk(tx, &open.id, seq, now, open.packed_upto)? > 0 {
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
            enqueue_record(tx, &record, Kind::CheckOut, now)?;
            db::close_patrol(tx, &open.id, fix)?;
            db::drop_tally(tx, &open.id)?;
            Ok(open.id)
        })?;
        self.nudge_sync();
        tracing::info!("checked out");
        self.patrol_report(&patrol_id)
    }

    // ---- reports ----

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
        let window = WindowRule::for_patrol(assignment.map(|a| (a.start_ms, a.end_ms)), &area.area.windows);
        let facts = PatrolFacts {
            area,
            rank: row.rank,
            window: &window,
            checkout_ms: row.checkout_time_ms,
            track: &track,
        };
        Ok(compliance::assess(&facts, &self.policies))
    }

    /// The open patrol, if any, with its figures so far: kept as fixes
    /// arrive, so this costs the same at any point of a shift.
    pub fn patrol_status(&self) -> Result<Option<PatrolStatus>> {
        let index = self.area_index();
        let live = lock(&self.live);
        let Some(open) = live.open() else {
            return Ok(None);
        };
        let report = open.report(&self.policies.compliance);
        let pos = index.position(&open.area_id);
        let in_area_now = pos.is_some_and(|p| live.presence(p) == Presence::Inside);
        let area_name = pos
            .and_then(|p| index.get(p))
            .map(|a| a.area.name.clone())
            .unwrap_or_default();
        let needed = (self.policies.compliance.min_minutes - report.minutes_in_window).max(0.0);
        Ok(Some(PatrolStatus {
            patrol_id: open.id.clone(),
            area_id: open.area_id.clone(),
            area_name,
            checked_in_ms: open.checkin_time_ms,
            in_area_now,
            minutes_in_area: report.minutes_in_area,
            minutes_still_needed: needed,
            report,
        }))
    }

    /// What the shell should ask the OS for now: how often, how precisely,
    /// with what distance filter. Ask again on [`Event::PlanChanged`], and
    /// when a fix the plan asked for has not come (the answer turns dense).
    pub fn sampling_plan(&self) -> SamplingPlan {
        lock(&self.live).plan(&self.policies.plan, self.now_ms())
    }

    /// The open patrol's tally rebuilt from its stored track, after its
    /// area or its window changed under it, so live and reported figures
    /// keep agreeing. A whole-track read, but only on such a change.
    fn retally_open_patrol(&self, index: &AreaIndex) -> Result<()> {
        let mut live = lock(&self.live);
        let Some(open) = live.open_mut() else {
            return Ok(());
        };
        let Some(area) = index.position(&open.area_id).and_then(|i| index.get(i)) else {
            return Ok(());
        };
        let id = open.id.clone();
        let (track, assignment) = self.store.read(|tx| {
            let row = db::patrol(tx, &id)?;
            let assignment = match row.and_then(|r| r.assignment_id) {
                Some(a) => db::assignment(tx, &a)?,
                None => None,
            };
            Ok::<_, crate::Error>((db::track(tx, &id)?, assignment))
        })?;
        open.window = WindowRule::for_patrol(assignment.map(|a| (a.start_ms, a.end_ms)), &area.area.windows);
        open.retally(PatrolTally::of_track(area, &open.window, &track, &self.policies));
        Ok(())
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

    /// Live presence per area id (the areas the officer is inside), for a map.
    pub fn presence(&self) -> HashMap<String, Presence> {
        let index = self.area_index();
        let live = lock(&self.live);
        index
            .areas()
            .enumerate()
            .map(|(i, a)| (a.area.id.clone(), live.presence(i)))
            .filter(|(_, p)| *p == Presence::Inside)
            .collect()
    }
}

/// Packs a track chunk and saves the open patrol's tally as it stands
/// after fix row `row`, in the same transaction: a restart resumes the
/// tally from there instead of re-reading the shift.
fn pack_with_tally(
    tx: &Transaction<'_>,
    open: Option<&mut OpenPatrol>,
    policies: &Policies,
    seq: u32,
    row: i64,
    now: i64,
) -> Result<()> {
    let Some(open) = open else {
        return Ok(());
    };
    db::pack_chunk(tx, &open.id, seq, now, open.packed_upto)?;
    open.packed_upto = row;
    db::save_tally(tx, &open.id, row, &open.tally().save(policies))?;
    Ok(())
}

fn already_on_patrol(open: &OpenPatrol) -> PatrolError {
    PatrolError::AlreadyOnPatrol {
        patrol_id: open.id.clone(),
        area_id: open.area_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::store::{DbKey, Store};

    /// A record the core built wrong is a bug to report, not damage to
    /// recover from: its own error, and nothing queued.
    #[test]
    fn a_record_that_fails_the_servers_rules_is_unsendable_and_queues_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("g.db"), DbKey::from_bytes([7; 32]).expect("key")).expect("store");
        let record = RecordEnvelope {
            id: "r-1".into(),
            format: RECORD_FORMAT,
            patrol_id: "p-1".into(),
            seq: 1,
            body: RecordBody::CheckOut(CheckOutBody {
                time_ms: 1_689_368_400_000,
                mono_ns: 1,
                lat: f64::NAN,
                lon: -1.9,
                accuracy_m: 5.0,
            }),
        };
        let err = store
            .write(|tx| enqueue_record(tx, &record, Kind::CheckOut, 1_689_368_400_000))
            .expect_err("refused");
        assert!(matches!(err, Error::Store(StoreError::Unsendable(_))), "{err:?}");
        let queued: i64 = store
            .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?))
            .expect("count");
        assert_eq!(queued, 0);
    }
}
