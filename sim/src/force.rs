//! The force's side of a simulation: a reference backend in this process
//! with areas, one officer and the real ward boundaries for routing.

use std::path::Path;

use guardian_backend::Backend;
use guardian_core::patrol::Rank;
use guardian_core::referral::authority::boundaries_from_ward_files;

use crate::SimError;

fn input(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Input {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// A backend database at `db` holding `areas` (GeoJSON), the officer, and
/// the seven authorities' boundaries; not yet served.
pub fn backend(db: &Path, areas: &str, officer_id: &str, name: &str) -> Result<Backend, SimError> {
    let backend = Backend::open(db).map_err(|e| input("backend", e))?;
    backend
        .load_areas_geojson(areas)
        .map_err(|e| input("backend areas", e))?;
    backend
        .create_officer(officer_id, name, Rank::Constable)
        .map_err(|e| input("backend officer", e))?;
    let boundaries = boundaries_from_ward_files(&crate::referral::default_boundaries_dir())
        .map_err(|e| input("ward boundaries", e))?;
    backend
        .load_boundaries_geojson(&boundaries)
        .map_err(|e| input("backend boundaries", e))?;
    Ok(backend)
}
