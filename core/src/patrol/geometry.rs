//! Metres on a small patch of Earth. TGP areas are a few hundred metres
//! across, so a local equirectangular projection around each area is exact
//! to well under a centimetre there, and much cheaper than geodesics.

use geo::{Coord, MultiPolygon};

pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two WGS84 points.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// A tangent-plane frame: x east, y north, metres from an origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    lat0: f64,
    lon0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl LocalFrame {
    pub fn new(lat0: f64, lon0: f64) -> Self {
        let m_per_deg_lat = EARTH_RADIUS_M.to_radians();
        Self {
            lat0,
            lon0,
            m_per_deg_lon: m_per_deg_lat * lat0.to_radians().cos(),
            m_per_deg_lat,
        }
    }

    pub fn project(&self, lat: f64, lon: f64) -> Coord<f64> {
        Coord {
            x: (lon - self.lon0) * self.m_per_deg_lon,
            y: (lat - self.lat0) * self.m_per_deg_lat,
        }
    }

    /// The inverse of [`project`](Self::project): `(lat, lon)` of a point
    /// in this frame.
    pub fn unproject(&self, c: Coord<f64>) -> (f64, f64) {
        (
            self.lat0 + c.y / self.m_per_deg_lat,
            self.lon0 + c.x / self.m_per_deg_lon,
        )
    }

    pub fn project_multi_polygon(&self, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        use geo::MapCoords;
        mp.map_coords(|c| self.project(c.y, c.x))
    }

    /// Degrees of latitude and longitude that `metres` spans here; used to
    /// grow bounding boxes in the index.
    pub fn degrees_for(&self, metres: f64) -> (f64, f64) {
        let dlat = metres / self.m_per_deg_lat;
        let dlon = metres / self.m_per_deg_lon.max(1.0);
        (dlat, dlon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_distance() {
        // New Street station to a point by Moor Street: about 440 m.
        let d = haversine_m(52.4778, -1.8983, 52.4791, -1.8922);
        assert!((d - 440.0).abs() < 60.0, "{d}");
        assert_eq!(haversine_m(52.0, -1.0, 52.0, -1.0), 0.0);
    }

    #[test]
    fn local_projection_agrees_with_haversine_at_patrol_scale() {
        let frame = LocalFrame::new(52.48, -1.90);
        let a = frame.project(52.4801, -1.9012);
        let b = frame.project(52.4823, -1.8977);
        let planar = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
        let great = haversine_m(52.4801, -1.9012, 52.4823, -1.8977);
        assert!((planar - great).abs() < 0.05, "{planar} vs {great}");
        let (lat, lon) = frame.unproject(b);
        assert!(
            (lat - 52.4823).abs() < 1e-12 && (lon + 1.8977).abs() < 1e-12,
            "{lat},{lon}"
        );
    }
}
