//! The force's side of a simulation: a reference backend in this process
//! with areas, one officer and the real ward boundaries for routing.

use std::path::Path;

use guardian_backend::Backend;
use guardian_core::patrol::Rank;
use guardian_core::referral::authority::boundaries_from_ward_files;
use guardian_core::sync::TokenProvider;

use crate::SimError;

/// `what` could not be used, and why.
pub fn input(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Input {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// The shell's login: a token the force issued this officer, long-lived
/// enough for the simulation (so a refresh hands out the same one).
pub struct StaticTokens(pub String);

impl TokenProvider for StaticTokens {
    fn token(&self) -> Result<String, String> {
        Ok(self.0.clone())
    }

    fn refresh(&self) -> Result<String, String> {
        Ok(self.0.clone())
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
