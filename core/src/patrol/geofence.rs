//! Which areas is a fix in or near? An R-tree over the areas' bounding boxes
//! (grown by a margin) finds the few candidates; exact point-in-polygon and
//! distance-to-boundary in each area's local metric frame decide.
//!
//! OS geofences are not used: at these sizes they fire late or never.

use geo::{Contains, Distance, Euclidean, MultiPolygon, Point};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use super::area::Area;
use super::geometry::LocalFrame;

/// How far outside an area a fix can be and still matter to it. The live
/// geofence treats an area the index does not return as far away (clear
/// out-evidence), so this must exceed the widest unsure band any tracker
/// policy uses (exit margin, accuracy credit cap: 15 and 30 m by default).
pub const DEFAULT_MARGIN_M: f64 = 100.0;

/// An area made ready for fast tests.
#[derive(Debug, Clone)]
pub struct PreparedArea {
    pub area: Area,
    frame: LocalFrame,
    local: MultiPolygon<f64>,
}

/// Where a point stands relative to one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proximity {
    /// Index of the area in its [`AreaIndex`].
    pub area: usize,
    pub inside: bool,
    /// Distance to the nearest edge (outer or hole), metres, never negative.
    pub boundary_m: f64,
}

impl Proximity {
    /// Distance from the area itself: 0 inside.
    pub fn outside_by_m(&self) -> f64 {
        if self.inside { 0.0 } else { self.boundary_m }
    }
}

impl PreparedArea {
    pub fn new(area: Area) -> Self {
        let origin = area
            .shape
            .0
            .first()
            .and_then(|p| p.exterior().0.first())
            .copied()
            .unwrap_or_default();
        let frame = LocalFrame::new(origin.y, origin.x);
        let local = frame.project_multi_polygon(&area.shape);
        Self { area, frame, local }
    }

    /// Exact test of one point against this area.
    pub fn locate(&self, index: usize, lat: f64, lon: f64) -> Proximity {
        let p = Point::from(self.frame.project(lat, lon));
        let inside = self.local.contains(&p);
        let boundary_m = self
            .local
            .0
            .iter()
            .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
            .map(|ring| Euclidean.distance(&p, ring))
            .fold(f64::INFINITY, f64::min);
        Proximity {
            area: index,
            inside,
            boundary_m,
        }
    }

    fn envelope(&self, margin_m: f64) -> Rectangle<[f64; 2]> {
        use geo::BoundingRect;
        let rect = self
            .area
            .shape
            .bounding_rect()
            .unwrap_or_else(|| geo::Rect::new((0., 0.), (0., 0.)));
        let (dlat, dlon) = self.frame.degrees_for(margin_m);
        Rectangle::from_corners(
            [rect.min().x - dlon, rect.min().y - dlat],
            [rect.max().x + dlon, rect.max().y + dlat],
        )
    }
}

/// All areas loaded on the handset, indexed.
pub struct AreaIndex {
    areas: Vec<PreparedArea>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl std::fmt::Debug for AreaIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AreaIndex").field("areas", &self.areas.len()).finish()
    }
}

impl AreaIndex {
    pub fn new(areas: Vec<Area>) -> Self {
        let areas: Vec<PreparedArea> = areas.into_iter().map(PreparedArea::new).collect();
        let boxes = areas
            .iter()
            .enumerate()
            .map(|(i, a)| GeomWithData::new(a.envelope(DEFAULT_MARGIN_M), i))
            .collect();
        Self {
            areas,
            tree: RTree::bulk_load(boxes),
        }
    }

    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&PreparedArea> {
        self.areas.get(index)
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.areas.iter().position(|a| a.area.id == id)
    }

    pub fn areas(&self) -> impl Iterator<Item = &PreparedArea> {
        self.areas.iter()
    }

    /// Areas whose margin the point falls in, with exact distances. `out` is
    /// reused between calls so the hot path does not allocate.
    pub fn near(&self, lat: f64, lon: f64, out: &mut Vec<Proximity>) {
        out.clear();
        for hit in self.tree.locate_all_at_point(&[lon, lat]) {
            let i = hit.data;
            out.push(self.areas[i].locate(i, lat, lon));
        }
    }

    /// How far outside the nearest area the point is (0 inside one), if
    /// any area is within `radius_m`.
    pub fn nearest_outside_m(&self, lat: f64, lon: f64, radius_m: f64) -> Option<f64> {
        let frame = super::geometry::LocalFrame::new(lat, lon);
        let (dlat, dlon) = frame.degrees_for(radius_m);
        let query = rstar::AABB::from_corners([lon - dlon, lat - dlat], [lon + dlon, lat + dlat]);
        self.tree
            .locate_in_envelope_intersecting(&query)
            .map(|hit| self.areas[hit.data].locate(hit.data, lat, lon).outside_by_m())
            .filter(|d| *d <= radius_m)
            .min_by(f64::total_cmp)
    }

    /// The same answer without the index: every area tested in turn. Only
    /// for the benchmark's baseline and for checking the index in tests.
    pub fn near_linear(&self, lat: f64, lon: f64, out: &mut Vec<Proximity>) {
        out.clear();
        for (i, a) in self.areas.iter().enumerate() {
            let p = a.locate(i, lat, lon);
            if p.inside || p.boundary_m <= DEFAULT_MARGIN_M {
                out.push(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patrol::area::parse_areas;

    pub(crate) fn grid_areas(n_side: usize) -> Vec<Area> {
        // Squares of ~70 m every ~200 m around Birmingham city centre.
        let mut features = Vec::new();
        for i in 0..n_side {
            for j in 0..n_side {
                let lat = 52.40 + i as f64 * 0.0018;
                let lon = -1.99 + j as f64 * 0.003;
                let (a, b) = (0.0006, 0.001);
                features.push(serde_json::json!({
                    "type": "Feature",
                    "properties": {"id": format!("g{i}-{j}"), "name": "grid", "lpa": "Test"},
                    "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + b, lat], [lon + b, lat + a], [lon, lat + a], [lon, lat]]]}
                }));
            }
        }
        let text = serde_json::json!({"type": "FeatureCollection", "features": features}).to_string();
        parse_areas(&text).expect("grid")
    }

    #[test]
    fn inside_outside_and_distances_are_exact_in_metres() {
        let index = AreaIndex::new(grid_areas(2));
        let a = index.get(0).expect("area");
        // Centre of the first square (~35 m from its north/south edges).
        let p = a.locate(0, 52.4003, -1.9895);
        assert!(p.inside);
        assert!((p.boundary_m - 33.4).abs() < 1.0, "{}", p.boundary_m);
        // 50 m south of its southern edge.
        let p = a.locate(0, 52.40 - 50.0 / 111_195.0, -1.9895);
        assert!(!p.inside);
        assert!((p.boundary_m - 50.0).abs() < 0.5, "{}", p.boundary_m);
    }

    #[test]
    fn a_hole_is_outside_the_area() {
        let text = serde_json::json!({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"id": "ring", "name": "n", "lpa": "l"},
            "geometry": {"type": "Polygon", "coordinates": [
                [[-1.90, 52.48], [-1.896, 52.48], [-1.896, 52.4825], [-1.90, 52.4825], [-1.90, 52.48]],
                [[-1.899, 52.481], [-1.897, 52.481], [-1.897, 52.4815], [-1.899, 52.4815], [-1.899, 52.481]]]}}]})
        .to_string();
        let index = AreaIndex::new(parse_areas(&text).expect("parse"));
        let mut out = Vec::new();
        index.near(52.48125, -1.898, &mut out);
        assert_eq!(out.len(), 1);
        assert!(!out[0].inside, "the middle of the hole is outside");
        index.near(52.4805, -1.8995, &mut out);
        assert!(out[0].inside);
    }

    #[test]
    fn the_index_agrees_with_a_linear_scan() {
        let index = AreaIndex::new(grid_areas(20));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2_000 {
            let lat = 52.395 + rng.f64() * 0.045;
            let lon = -1.995 + rng.f64() * 0.07;
            index.near(lat, lon, &mut a);
            index.near_linear(lat, lon, &mut b);
            a.retain(|p| p.inside || p.boundary_m <= DEFAULT_MARGIN_M);
            a.sort_by_key(|p| p.area);
            assert_eq!(a, b, "at {lat},{lon}");
        }
    }
}
