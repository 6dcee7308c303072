//! TGP areas: small hotspot polygons with their threat windows, imported from
//! GeoJSON. Import is all or nothing: the first bad feature fails the whole
//! file with an error naming it, and nothing is stored.

use geo::{Area as _, Coord, LineString, MultiPolygon, Polygon, Validation};
use geojson::{FeatureCollection, GeometryValue, JsonObject, PolygonType};
use serde::Serialize;

use super::geometry::LocalFrame;
use super::window::{ThreatWindow, WindowError, WindowSpec};

/// Hostile-input limits: far above any real hotspot, far below what would
/// hurt a phone.
pub const MAX_ID_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_VERTICES: usize = 20_000;
pub const MAX_WINDOWS: usize = 28;
/// Below this an area cannot be patrolled (a sliver or a degenerate ring).
pub const MIN_AREA_M2: f64 = 1.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub id: String,
    pub name: String,
    pub lpa: String,
    /// WGS84, x = longitude, y = latitude.
    pub shape: MultiPolygon<f64>,
    pub windows: Vec<ThreatWindow>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AreaError {
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
    #[error("feature {feature}: {problem}")]
    Feature { feature: String, problem: AreaProblem },
    #[error("area id {0:?} appears more than once")]
    DuplicateId(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AreaProblem {
    #[error("property `{0}` is missing or not a string")]
    MissingProperty(&'static str),
    #[error("property `{name}` is invalid: {reason}")]
    BadProperty { name: &'static str, reason: String },
    #[error("has no geometry")]
    NoGeometry,
    #[error("geometry is a {0}, expected Polygon or MultiPolygon")]
    WrongGeometryType(String),
    #[error("ring {ring} is not closed (first and last points differ)")]
    RingNotClosed { ring: usize },
    #[error("ring {ring} has {points} points, at least 4 are needed")]
    TooFewPoints { ring: usize, points: usize },
    #[error("a coordinate is not a finite number")]
    NonFinite,
    #[error("coordinate [{lon}, {lat}] is outside WGS84 range")]
    OutOfRange { lon: f64, lat: f64 },
    #[error("a position has fewer than two numbers")]
    ShortPosition,
    #[error("has more than {MAX_VERTICES} vertices")]
    TooManyVertices,
    #[error("encloses no area")]
    ZeroArea,
    #[error("invalid polygon: {0}")]
    Invalid(String),
    #[error("threat window {index}: {error}")]
    Window { index: usize, error: WindowError },
}

impl Area {
    /// The area's shape as a GeoJSON geometry object, as stored and as shown
    /// on a map.
    pub fn geometry_json(&self) -> String {
        let polys: Vec<PolygonType> = self
            .shape
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|ring| ring.coords().map(|c| vec![c.x, c.y].into()).collect())
                    .collect()
            })
            .collect();
        let value = GeometryValue::MultiPolygon { coordinates: polys };
        serde_json::to_string(&geojson::Geometry::new(value)).unwrap_or_default()
    }

    pub fn windows_json(&self) -> String {
        let specs: Vec<WindowSpec> = self.windows.iter().map(ThreatWindow::to_spec).collect();
        serde_json::to_string(&specs).unwrap_or_else(|_| "[]".into())
    }

    /// Rebuilds an area from its stored columns, re-validating it: a damaged
    /// row must not become a wrong geofence.
    pub fn from_stored(
        id: String,
        name: String,
        lpa: String,
        geometry: &str,
        windows: &str,
    ) -> Result<Area, AreaError> {
        let fail = |problem| AreaError::Feature {
            feature: id.clone(),
            problem,
        };
        let geometry: geojson::Geometry = geometry
            .parse()
            .map_err(|e: geojson::Error| fail(AreaProblem::Invalid(e.to_string())))?;
        let shape = shape_from_geometry(&geometry.value).map_err(fail)?;
        let specs: Vec<WindowSpec> = serde_json::from_str(windows).map_err(|e| {
            fail(AreaProblem::BadProperty {
                name: "windows",
                reason: e.to_string(),
            })
        })?;
        let windows = parse_windows(&specs).map_err(fail)?;
        Ok(Area {
            id,
            name,
            lpa,
            shape,
            windows,
        })
    }

    /// Area in square metres.
    pub fn area_m2(&self) -> f64 {
        planar_area_m2(&self.shape)
    }
}

/// Parses a FeatureCollection of areas; the first bad feature fails it all.
pub fn parse_areas(text: &str) -> Result<Vec<Area>, AreaError> {
    let fc: FeatureCollection = text
        .parse()
        .map_err(|e: geojson::Error| AreaError::NotGeoJson(e.to_string()))?;
    let mut areas: Vec<Area> = Vec::with_capacity(fc.features.len());
    let mut seen = std::collections::HashSet::new();
    for (index, feature) in fc.features.iter().enumerate() {
        let area = area_from_feature(index, feature)?;
        if !seen.insert(area.id.clone()) {
            return Err(AreaError::DuplicateId(area.id));
        }
        areas.push(area);
    }
    Ok(areas)
}

fn area_from_feature(index: usize, feature: &geojson::Feature) -> Result<Area, AreaError> {
    let empty = JsonObject::new();
    let props = feature.properties.as_ref().unwrap_or(&empty);
    // Until the id is known, name the feature by its position in the file.
    let fail_at = |problem| AreaError::Feature {
        feature: format!("#{index}"),
        problem,
    };
    let id = string_prop(props, "id", MAX_ID_LEN).map_err(fail_at)?;
    if let Some(p) = guardian_protocol::rules::id_problem(&id, MAX_ID_LEN) {
        return Err(fail_at(AreaProblem::BadProperty {
            name: "id",
            reason: p.to_string(),
        }));
    }
    let fail = |problem| AreaError::Feature {
        feature: id.clone(),
        problem,
    };
    let name = string_prop(props, "name", MAX_NAME_LEN).map_err(fail)?;
    let lpa = string_prop(props, "lpa", MAX_NAME_LEN).map_err(fail)?;
    let specs: Vec<WindowSpec> = match props.get("windows") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            fail(AreaProblem::BadProperty {
                name: "windows",
                reason: e.to_string(),
            })
        })?,
    };
    let windows = parse_windows(&specs).map_err(fail)?;
    let geometry = feature.geometry.as_ref().ok_or_else(|| fail(AreaProblem::NoGeometry))?;
    let shape = shape_from_geometry(&geometry.value).map_err(fail)?;
    Ok(Area {
        id,
        name,
        lpa,
        shape,
        windows,
    })
}

fn string_prop(props: &JsonObject, name: &'static str, max: usize) -> Result<String, AreaProblem> {
    let value = props
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(AreaProblem::MissingProperty(name))?;
    if value.chars().count() > max {
        return Err(AreaProblem::BadProperty {
            name,
            reason: format!("longer than {max} characters"),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(AreaProblem::BadProperty {
            name,
            reason: "contains control characters".into(),
        });
    }
    Ok(value.to_string())
}

fn parse_windows(specs: &[WindowSpec]) -> Result<Vec<ThreatWindow>, AreaProblem> {
    if specs.len() > MAX_WINDOWS {
        return Err(AreaProblem::BadProperty {
            name: "windows",
            reason: format!("more than {MAX_WINDOWS} windows"),
        });
    }
    specs
        .iter()
        .enumerate()
        .map(|(index, s)| ThreatWindow::parse(s).map_err(|error| AreaProblem::Window { index, error }))
        .collect()
}

fn shape_from_geometry(value: &GeometryValue) -> Result<MultiPolygon<f64>, AreaProblem> {
    let polygons = match value {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(AreaProblem::WrongGeometryType(other.type_name().to_string()));
        }
    };
    let vertices: usize = polygons.iter().flat_map(|p| p.iter()).map(Vec::len).sum();
    if vertices > MAX_VERTICES {
        return Err(AreaProblem::TooManyVertices);
    }
    let mut ring_no = 0;
    let mut out = Vec::with_capacity(polygons.len());
    for rings in polygons {
        let mut converted = Vec::with_capacity(rings.len());
        for ring in rings {
            converted.push(ring_from_positions(ring, ring_no)?);
            ring_no += 1;
        }
        let mut it = converted.into_iter();
        let exterior = it.next().ok_or(AreaProblem::TooFewPoints {
            ring: ring_no,
            points: 0,
        })?;
        out.push(Polygon::new(exterior, it.collect()));
    }
    let shape = MultiPolygon(out);
    if let Some(problem) = shape.validation_errors().into_iter().next() {
        return Err(AreaProblem::Invalid(problem.to_string()));
    }
    if planar_area_m2(&shape) < MIN_AREA_M2 {
        return Err(AreaProblem::ZeroArea);
    }
    Ok(shape)
}

fn ring_from_positions(ring: &[geojson::Position], ring_no: usize) -> Result<LineString<f64>, AreaProblem> {
    if ring.len() < 4 {
        return Err(AreaProblem::TooFewPoints {
            ring: ring_no,
            points: ring.len(),
        });
    }
    let mut coords = Vec::with_capacity(ring.len());
    for p in ring {
        let s = p.as_slice();
        if s.len() < 2 {
            return Err(AreaProblem::ShortPosition);
        }
        let (lon, lat) = (s[0], s[1]);
        if !lon.is_finite() || !lat.is_finite() {
            return Err(AreaProblem::NonFinite);
        }
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(AreaProblem::OutOfRange { lon, lat });
        }
        coords.push(Coord { x: lon, y: lat });
    }
    if coords.first() != coords.last() {
        return Err(AreaProblem::RingNotClosed { ring: ring_no });
    }
    Ok(LineString(coords))
}

fn planar_area_m2(shape: &MultiPolygon<f64>) -> f64 {
    let Some(first) = shape.0.first().and_then(|p| p.exterior().0.first()) else {
        return 0.0;
    };
    LocalFrame::new(first.y, first.x)
        .project_multi_polygon(shape)
        .unsigned_area()
}

/// An area as the shells show it: no geometry types, just plain values,
/// with its outline (GeoJSON) for a map and its threat windows as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaInfo {
    pub id: String,
    pub name: String,
    /// Local policing area, e.g. "Birmingham".
    pub lpa: String,
    pub area_m2: f64,
    /// A GeoJSON MultiPolygon geometry object (WGS84, [lon, lat]).
    pub geometry_geojson: String,
    pub windows: Vec<super::window::WindowSpec>,
}

impl From<&Area> for AreaInfo {
    fn from(a: &Area) -> Self {
        AreaInfo {
            id: a.id.clone(),
            name: a.name.clone(),
            lpa: a.lpa.clone(),
            area_m2: a.area_m2(),
            geometry_geojson: a.geometry_json(),
            windows: a.windows.iter().map(|w| w.to_spec()).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
