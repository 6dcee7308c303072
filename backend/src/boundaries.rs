//! The seven local authorities' boundaries, which handsets use to route a
//! referral to the right VRP Navigator team offline. Owns the
//! `boundary_sets` table.
//!
//! A set is kept whole, as the FeatureCollection that was loaded (`id` =
//! authority slug), with a version: a handset is sent the latest set when
//! its cursor's boundaries version is older. Every set ever loaded is kept,
//! so the data a referral was routed against can be found later.

use std::path::Path;

use crate::sql::{Tx, p};
use guardian_core::referral::authority::{Authority, Boundaries, boundaries_from_ward_files};

use crate::backend::{Backend, now_ms};
use crate::db;
use crate::error::BackendError;

/// The `meta` counter of the latest boundary set's version (0: none yet).
pub(crate) const KEY_BOUNDARIES_VERSION: &str = "boundaries_version";

// This module's tables are its own, created on first open and versioned by a
// `meta` counter (as the library's are), so they sit beside the backend's
// schema without changing its version.
const SCHEMA: &str = "
CREATE TABLE boundary_sets (
    version   INTEGER PRIMARY KEY,
    geojson   TEXT NOT NULL,
    loaded_ms INTEGER NOT NULL
);
";

/// This module's tables and their versions (see [`crate::db::Schema`]).
pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "boundaries",
    stored: crate::db::Stored::Meta("boundaries_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA],
    upgrades: &[],
};

impl Backend {
    /// Replaces the authorities' boundaries with `text` (a FeatureCollection
    /// whose features each name an authority by slug or ONS code). All or
    /// nothing: the whole text must parse as boundaries, with at least one
    /// polygon, before anything is stored. Returns the new version.
    pub fn load_boundaries_geojson(&self, text: &str) -> Result<i64, BackendError> {
        let parsed = Boundaries::from_geojson(text)?;
        if parsed.is_empty() {
            // An empty set would make every referral "outside all seven" on
            // every handset that syncs it.
            return Err(BackendError::Invalid("the boundary set has no polygons".into()));
        }
        // Stored as compact JSON so what handsets get does not depend on how
        // the file was formatted.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| BackendError::Invalid(format!("boundaries are not JSON: {e}")))?;
        let compact = value.to_string();
        let now = now_ms();
        let version = self.write(|tx| {
            let version = db::bump(tx, KEY_BOUNDARIES_VERSION)?;
            tx.execute(
                "INSERT INTO boundary_sets (version, geojson, loaded_ms) VALUES (?1, ?2, ?3)",
                p![version, compact, now],
            )?;
            Ok::<_, BackendError>(version)
        })?;
        tracing::info!(version, "boundaries loaded");
        Ok(version)
    }

    /// Builds the set from the ward files in `dir` (`wards_<ONS code>.json`,
    /// one per authority: the union of its wards) and loads it.
    pub fn load_boundaries_from_ward_files(&self, dir: &Path) -> Result<i64, BackendError> {
        let text = boundaries_from_ward_files(dir)?;
        self.load_boundaries_geojson(&text)
    }

    /// The latest boundary set's version; 0 when none was loaded.
    pub fn boundaries_version(&self) -> Result<i64, BackendError> {
        self.read(|tx| db::counter(tx, KEY_BOUNDARIES_VERSION))
    }
}

/// The current version, and the current set when it is newer than `seen`
/// (`None`: the handset has never had one).
pub(crate) fn since(tx: &Tx<'_>, seen: Option<i64>) -> Result<(i64, Option<serde_json::Value>), BackendError> {
    let version = db::counter(tx, KEY_BOUNDARIES_VERSION)?;
    if seen.is_some_and(|s| s >= version) {
        return Ok((version, None));
    }
    let text: Option<String> = tx.query_opt(
        "SELECT geojson FROM boundary_sets WHERE version = ?1",
        p![version],
        |r| r.get(0),
    )?;
    let value = match text {
        Some(t) => Some(
            serde_json::from_str(&t)
                .map_err(|e| BackendError::Corrupt(format!("stored boundaries are not JSON: {e}")))?,
        ),
        None => None,
    };
    Ok((version, value))
}

/// Which authority's boundary holds a point, by the latest set (`None`:
/// no set loaded, or outside all seven). Parsed per call: referrals are
/// few, and a cached copy would be one more thing to keep in step.
pub(crate) fn route(tx: &Tx<'_>, lat: f64, lon: f64) -> Result<Option<Authority>, BackendError> {
    let version = db::counter(tx, KEY_BOUNDARIES_VERSION)?;
    let text: Option<String> = tx.query_opt(
        "SELECT geojson FROM boundary_sets WHERE version = ?1",
        p![version],
        |r| r.get(0),
    )?;
    let Some(text) = text else { return Ok(None) };
    let set = Boundaries::from_geojson(&text)
        .map_err(|e| BackendError::Corrupt(format!("stored boundaries {version}: {e}")))?;
    Ok(set.route(lat, lon))
}
