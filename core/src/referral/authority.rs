//! The seven local authorities whose VRP Navigator teams take referrals, and
//! routing a location to one of them by point-in-polygon against boundary
//! data synced from the force.

use geo::{BoundingRect, Contains, Coord, LineString, Point, Polygon, Rect};
pub use guardian_protocol::referral::Authority;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoundaryError {
    #[error("boundary data is not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
    #[error("boundary feature #{index}: {problem}")]
    Feature { index: usize, problem: String },
}

/// Boundaries made ready for routing: each authority's polygons (its wards,
/// whose union is the authority) with their bounding boxes.
#[derive(Debug, Clone, Default)]
pub struct Boundaries {
    parts: Vec<(Authority, Rect<f64>, Polygon<f64>)>,
}

impl Boundaries {
    /// From a FeatureCollection whose features carry `id` (an authority slug
    /// or ONS code) and a Polygon or MultiPolygon.
    pub fn from_geojson(text: &str) -> Result<Boundaries, BoundaryError> {
        let fc: geojson::FeatureCollection = text
            .parse()
            .map_err(|e: geojson::Error| BoundaryError::NotGeoJson(e.to_string()))?;
        let mut parts = Vec::new();
        for (index, f) in fc.features.iter().enumerate() {
            let fail = |problem: String| BoundaryError::Feature { index, problem };
            let id = f
                .properties
                .as_ref()
                .and_then(|p| p.get("id"))
                .and_then(|v| v.as_str())
                .ok_or_else(|| fail("no `id`".into()))?;
            let authority = Authority::parse(id).ok_or_else(|| fail(format!("unknown authority {id:?}")))?;
            let geometry = f.geometry.as_ref().ok_or_else(|| fail("no geometry".into()))?;
            let polygons: Vec<Polygon<f64>> = match &geometry.value {
                geojson::GeometryValue::Polygon { coordinates } => vec![polygon(coordinates)],
                geojson::GeometryValue::MultiPolygon { coordinates } => coordinates.iter().map(polygon).collect(),
                _ => return Err(fail("not a Polygon or MultiPolygon".into())),
            };
            for p in polygons {
                let finite = p.exterior().coords().all(|c| c.x.is_finite() && c.y.is_finite());
                let rect = p
                    .bounding_rect()
                    .filter(|_| finite)
                    .ok_or_else(|| fail("empty or non-finite ring".into()))?;
                parts.push((authority, rect, p));
            }
        }
        Ok(Boundaries { parts })
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Which authority's Navigators a referral made here goes to; `None`
    /// outside all seven.
    pub fn route(&self, lat: f64, lon: f64) -> Option<Authority> {
        let p = Point::new(lon, lat);
        self.parts
            .iter()
            .filter(|(_, r, _)| r.min().x <= lon && lon <= r.max().x && r.min().y <= lat && lat <= r.max().y)
            .find(|(_, _, poly)| poly.contains(&p))
            .map(|(a, _, _)| *a)
    }
}

fn polygon(rings: &geojson::PolygonType) -> Polygon<f64> {
    let ring = |r: &Vec<geojson::Position>| {
        LineString(
            r.iter()
                .filter(|p| p.len() >= 2)
                .map(|p| Coord { x: p[0], y: p[1] })
                .collect(),
        )
    };
    let mut it = rings.iter().map(ring);
    let exterior = it.next().unwrap_or_else(|| LineString(Vec::new()));
    Polygon::new(exterior, it.collect())
}

/// Builds the boundary FeatureCollection from the ward files (one per
/// authority, `wards_<ONS code>.json`): each authority is the union of its
/// wards, kept as a MultiPolygon of them. Used by the backend and tests.
pub fn boundaries_from_ward_files(dir: &std::path::Path) -> Result<String, BoundaryError> {
    let mut features = Vec::new();
    for a in Authority::ALL {
        let path = dir.join(format!("wards_{}.json", a.ons_code()));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| BoundaryError::NotGeoJson(format!("{}: {e}", path.display())))?;
        let fc: geojson::FeatureCollection = text
            .parse()
            .map_err(|e: geojson::Error| BoundaryError::NotGeoJson(format!("{}: {e}", path.display())))?;
        let mut polygons = Vec::new();
        for f in fc.features {
            match f.geometry.map(|g| g.value) {
                Some(geojson::GeometryValue::Polygon { coordinates }) => polygons.push(coordinates),
                Some(geojson::GeometryValue::MultiPolygon { coordinates }) => polygons.extend(coordinates),
                _ => {}
            }
        }
        features.push(serde_json::json!({
            "type": "Feature",
            "properties": {"id": a.slug(), "name": a.name(), "ons_code": a.ons_code()},
            "geometry": {"type": "MultiPolygon", "coordinates": polygons},
        }));
    }
    Ok(serde_json::json!({"type": "FeatureCollection", "features": features}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        std::env::var_os("GUARDIAN_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
    }

    fn real() -> Boundaries {
        let text = boundaries_from_ward_files(&fixtures().join("boundaries")).expect("ward files");
        Boundaries::from_geojson(&text).expect("boundaries")
    }

    #[test]
    fn points_well_inside_each_authority_route_to_it() {
        let b = real();
        for (lat, lon, expect) in [
            (52.4797, -1.9026, Authority::Birmingham),    // Victoria Square
            (52.4081, -1.5106, Authority::Coventry),      // Coventry city centre
            (52.5120, -2.0810, Authority::Dudley),        // Dudley town centre
            (52.5190, -1.9935, Authority::Sandwell),      // West Bromwich
            (52.4130, -1.7780, Authority::Solihull),      // Solihull town centre
            (52.5860, -1.9829, Authority::Walsall),       // Walsall town centre
            (52.5862, -2.1288, Authority::Wolverhampton), // Wolverhampton city centre
        ] {
            assert_eq!(b.route(lat, lon), Some(expect), "{lat},{lon}");
        }
    }

    #[test]
    fn points_outside_all_seven_route_nowhere() {
        let b = real();
        for (lat, lon) in [(52.6309, -1.1398), (51.5074, -0.1278), (52.2852, -1.5201), (0.0, 0.0)] {
            assert_eq!(b.route(lat, lon), None, "{lat},{lon}");
        }
    }

    #[test]
    fn bad_boundary_data_is_a_typed_error() {
        assert!(matches!(
            Boundaries::from_geojson("[]"),
            Err(BoundaryError::NotGeoJson(_))
        ));
        let fc = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"leicester"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#;
        assert!(matches!(
            Boundaries::from_geojson(fc),
            Err(BoundaryError::Feature { index: 0, .. })
        ));
    }
}
