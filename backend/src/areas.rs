//! The force's hotspot areas (`areas`, `area_sets`): every area ever
//! loaded is kept (`active` = in the current set) so an old patrol is still
//! judged against the polygon it was patrolled in; each set is kept whole,
//! as loaded, for handsets to pull.

use crate::sql::{Tx, p};
use guardian_core::patrol::{Area, parse_areas};

use crate::backend::{Backend, now_ms};
use crate::db::{self, KEY_AREAS_VERSION};
use crate::error::BackendError;

impl Backend {
    /// Replaces the set of areas (all or nothing) and bumps its version so
    /// every handset fetches it on its next sync.
    pub fn load_areas_geojson(&self, text: &str) -> Result<usize, BackendError> {
        let areas = parse_areas(text)?;
        if areas.is_empty() {
            // The set replaces the current one: empty, it would end every
            // area on every handset at its next sync.
            return Err(BackendError::refused(
                "bad-areas",
                "the set has no areas; loading it would end every current area",
            ));
        }
        let now = now_ms();
        self.write(|tx| {
            tx.execute("UPDATE areas SET active = 0", p![])?;
            for a in &areas {
                tx.execute(
                    "INSERT INTO areas (area_id, name, lpa, geometry, windows, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (area_id) DO UPDATE SET name = excluded.name, lpa = excluded.lpa,
                   geometry = excluded.geometry, windows = excluded.windows, active = 1",
                    p![a.id, a.name, a.lpa, a.geometry_json(), a.windows_json()],
                )?;
            }
            let version = db::bump(tx, KEY_AREAS_VERSION)?;
            tx.execute(
                "INSERT INTO area_sets (version, geojson, loaded_ms) VALUES (?1, ?2, ?3)",
                p![version, text, now],
            )?;
            Ok::<_, BackendError>(())
        })?;
        Ok(areas.len())
    }
}

pub(crate) fn active_areas(tx: &Tx<'_>) -> Result<Vec<Area>, BackendError> {
    let rows = tx.query_all(
        "SELECT area_id, name, lpa, geometry, windows FROM areas WHERE active = 1 ORDER BY area_id",
        p![],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
            ))
        },
    )?;
    rows.into_iter()
        .map(|row| {
            let (id, name, lpa, geometry, windows) = row;
            Ok(Area::from_stored(id, name, lpa, &geometry, &windows)?)
        })
        .collect()
}

pub(crate) fn stored_area(tx: &Tx<'_>, area_id: &str) -> Result<Option<Area>, BackendError> {
    let row: Option<(String, String, String, String)> = tx.query_opt(
        "SELECT name, lpa, geometry, windows FROM areas WHERE area_id = ?1",
        p![area_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    match row {
        None => Ok(None),
        Some((name, lpa, geometry, windows)) => Ok(Some(Area::from_stored(
            area_id.to_string(),
            name,
            lpa,
            &geometry,
            &windows,
        )?)),
    }
}

/// The current set as loaded, when it is newer than `seen` (a handset's
/// cursor), and the current version.
pub(crate) fn latest_set(tx: &Tx<'_>, seen: Option<i64>) -> Result<(i64, Option<serde_json::Value>), BackendError> {
    let version = db::counter(tx, KEY_AREAS_VERSION)?;
    if seen.is_some_and(|s| s >= version) {
        return Ok((version, None));
    }
    let text: Option<String> = tx.query_opt(
        "SELECT geojson FROM area_sets ORDER BY version DESC LIMIT 1",
        p![],
        |r| r.get(0),
    )?;
    let set = match text {
        Some(t) => Some(
            serde_json::from_str(&t).map_err(|e| BackendError::Corrupt(format!("stored areas are not JSON: {e}")))?,
        ),
        None => None,
    };
    Ok((version, set))
}
