//! `guardian-sim referral --lat L --lon L`: which Navigator team the core
//! routes a referral made at this point to, against the real ward
//! boundaries (the union of each authority's wards).

use std::path::PathBuf;

use guardian_core::referral::Boundaries;
use guardian_core::referral::authority::boundaries_from_ward_files;
use serde::Serialize;

use crate::SimError;

#[derive(Debug, Serialize)]
pub struct RouteReport {
    pub lat: f64,
    pub lon: f64,
    /// Authority slug, or null outside all seven.
    pub authority: Option<String>,
    pub authority_name: Option<String>,
    pub ons_code: Option<String>,
}

pub fn default_boundaries_dir() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
        .join("boundaries")
}

pub fn route(lat: f64, lon: f64, dir: Option<PathBuf>) -> Result<RouteReport, SimError> {
    if !lat.is_finite() || !lon.is_finite() || !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(SimError::Input {
            what: "--lat/--lon".into(),
            reason: format!("{lat},{lon} is not a place on Earth"),
        });
    }
    let dir = dir.unwrap_or_else(default_boundaries_dir);
    let fail = |e: guardian_core::referral::BoundaryError| SimError::Input {
        what: dir.display().to_string(),
        reason: e.to_string(),
    };
    let text = boundaries_from_ward_files(&dir).map_err(fail)?;
    let boundaries = Boundaries::from_geojson(&text).map_err(fail)?;
    let a = boundaries.route(lat, lon);
    Ok(RouteReport {
        lat,
        lon,
        authority: a.map(|a| a.slug().to_string()),
        authority_name: a.map(|a| a.name().to_string()),
        ons_code: a.map(|a| a.ons_code().to_string()),
    })
}

pub fn print_human(r: &RouteReport) {
    match &r.authority_name {
        Some(name) => println!(
            "{},{} → {} ({}): the {} VRP Navigator team",
            r.lat,
            r.lon,
            name,
            r.ons_code.as_deref().unwrap_or(""),
            name
        ),
        None => println!(
            "{},{} → outside all seven West Midlands authorities: the officer chooses the team",
            r.lat, r.lon
        ),
    }
}
