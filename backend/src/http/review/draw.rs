//! One patrol drawn as plain SVG: the area (holes included) and the track
//! to scale in a local metric projection, with no map tiles unless the
//! force set a tile layer.
//!
//! The projection is the core's local metric frame (`LocalFrame`, the one
//! the geofence measures in) about the middle of what is drawn. Over a TGP
//! area (a few hundred metres) its distortion is far below GPS noise, and one SVG
//! unit is one metre, so the scale bar is exact enough to judge a patrol
//! by eye. Fixes the core believed make one polyline (one point per fix);
//! the others are hollow squares, one per fix, so shape and not colour
//! alone tells them apart.

use std::f64::consts::PI;
use std::fmt::Write as _;

use guardian_core::patrol::geometry::LocalFrame;

use crate::review::PatrolDetail;

use super::page::esc;

/// The core's frame in SVG's axes: x east, y south (SVG's y grows down),
/// in metres.
#[derive(Debug, Clone, Copy)]
struct Projection(LocalFrame);

impl Projection {
    fn around(points: &[(f64, f64)]) -> Option<Self> {
        let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(lat, lon) in points {
            min_lat = min_lat.min(lat);
            max_lat = max_lat.max(lat);
            min_lon = min_lon.min(lon);
            max_lon = max_lon.max(lon);
        }
        if points.is_empty() {
            return None;
        }
        Some(Self(LocalFrame::new(
            (min_lat + max_lat) / 2.0,
            (min_lon + max_lon) / 2.0,
        )))
    }

    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        let c = self.0.project(lat, lon);
        (c.x, -c.y)
    }

    /// `(lat, lon)` of an SVG point.
    fn lat_lon(&self, x: f64, y: f64) -> (f64, f64) {
        self.0.unproject((x, -y).into())
    }
}

fn pt(p: (f64, f64)) -> String {
    format!("{:.1},{:.1}", p.0, p.1)
}

/// The patrol's map: an `<svg>` with a title and description a screen
/// reader reads, or a sentence when there is nothing to draw.
pub(super) fn map(d: &PatrolDetail, tiles: Option<&str>) -> String {
    let mut all: Vec<(f64, f64)> = Vec::new();
    if let Some(a) = &d.area {
        for poly in &a.polygons {
            for ring in poly {
                all.extend(ring.iter().map(|c| (c[1], c[0])));
            }
        }
    }
    // Believed fixes only: one wild fix must not shrink the patrol to a dot
    // (those outside the view are clipped, and still counted).
    all.extend(
        d.fixes
            .iter()
            .filter(|f| f.verdict == "accepted")
            .map(|f| (f.lat, f.lon)),
    );
    all.extend(d.check_in.iter().chain(d.check_out.iter()).map(|p| (p.lat, p.lon)));
    let Some(proj) = Projection::around(&all) else {
        return "<p id=\"map\">Nothing to draw: the area is not stored and no fix was received.</p>\n".to_string();
    };
    let xy: Vec<(f64, f64)> = all.iter().map(|&(lat, lon)| proj.xy(lat, lon)).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in &xy {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let span = (x1 - x0).max(y1 - y0).max(50.0);
    let pad = span * 0.06;
    let (vx, vy, vw, vh) = (x0 - pad, y0 - pad, (x1 - x0) + 2.0 * pad, (y1 - y0) + 2.0 * pad);
    let vw = vw.max(50.0);
    let vh = vh.max(50.0);
    let unit = span / 150.0;

    let accepted: Vec<&crate::review::FixPoint> = d.fixes.iter().filter(|f| f.verdict == "accepted").collect();
    let rejected = d.fixes.len() - accepted.len();
    let mut s = String::with_capacity(64 + d.fixes.len() * 16);
    let _ = writeln!(
        s,
        "<svg id=\"map\" class=\"map\" role=\"img\" aria-labelledby=\"map-title map-desc\" viewBox=\"{:.1} {:.1} {:.1} {:.1}\" \
         preserveAspectRatio=\"xMidYMid meet\" data-fixes=\"{}\" data-accepted=\"{}\" data-rejected=\"{rejected}\" xmlns=\"http://www.w3.org/2000/svg\">",
        vx,
        vy,
        vw,
        vh,
        d.fixes.len(),
        accepted.len()
    );
    let _ = writeln!(
        s,
        "<title id=\"map-title\">Track of patrol {} over {}</title>\n<desc id=\"map-desc\">{} stored fixes: {} believed, drawn as a line; {rejected} not believed, drawn as hollow squares. North is up; one unit is one metre.</desc>",
        esc(&d.patrol_id),
        esc(d.area.as_ref().map_or(d.area_id.as_str(), |a| a.name.as_str())),
        d.fixes.len(),
        accepted.len()
    );
    if let Some(t) = tiles {
        s.push_str(&tile_images(t, &proj, (vx, vy, vw, vh)));
    }
    if let Some(a) = &d.area {
        s.push_str("<path class=\"area\" fill-rule=\"evenodd\" vector-effect=\"non-scaling-stroke\" d=\"");
        for poly in &a.polygons {
            for ring in poly {
                for (i, c) in ring.iter().enumerate() {
                    let p = proj.xy(c[1], c[0]);
                    let _ = write!(s, "{}{} ", if i == 0 { "M" } else { "L" }, pt(p));
                }
                s.push_str("Z ");
            }
        }
        s.push_str("\"/>\n");
    }
    s.push_str("<polyline class=\"track\" vector-effect=\"non-scaling-stroke\" points=\"");
    for (i, f) in accepted.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&pt(proj.xy(f.lat, f.lon)));
    }
    s.push_str("\"/>\n<g class=\"rejected\">");
    let side = unit * 1.6;
    for f in d.fixes.iter().filter(|f| f.verdict != "accepted") {
        let (x, y) = proj.xy(f.lat, f.lon);
        let _ = write!(
            s,
            "<rect class=\"rejected-fix\" x=\"{:.1}\" y=\"{:.1}\" width=\"{side:.1}\" height=\"{side:.1}\" vector-effect=\"non-scaling-stroke\"/>",
            x - side / 2.0,
            y - side / 2.0
        );
    }
    s.push_str("</g>\n");

    let label = |s: &mut String, class: &str, text: &str, lat: f64, lon: f64, shape: &str| {
        let (x, y) = proj.xy(lat, lon);
        let r = unit * 2.5;
        match shape {
            "circle" => {
                let _ = write!(
                    s,
                    "<circle class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\"/>"
                );
            }
            _ => {
                let _ = write!(
                    s,
                    "<path class=\"{class}\" d=\"M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z\"/>",
                    x,
                    y - r,
                    x + r,
                    y + r,
                    x - r,
                    y + r
                );
            }
        }
        // Check-in/out labels above right, arrival/departure below left: the
        // two often fall on the same spot.
        let (dx, dy, anchor) = if shape == "circle" {
            (r * 1.2, -r * 0.6, "start")
        } else {
            (-r * 1.2, r * 2.4, "end")
        };
        let _ = writeln!(
            s,
            "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"{:.1}\" text-anchor=\"{anchor}\">{text}</text>",
            x + dx,
            y + dy,
            unit * 5.0
        );
    };
    if let Some(p) = d.check_in {
        label(&mut s, "checkin", "IN", p.lat, p.lon, "circle");
    }
    if let Some(p) = d.check_out {
        label(&mut s, "checkout", "OUT", p.lat, p.lon, "circle");
    }
    if let Some(r) = &d.report {
        let at = |ms: Option<i64>| {
            let ms = ms?;
            accepted.iter().min_by_key(|f| (f.time_ms - ms).unsigned_abs()).copied()
        };
        if let Some(f) = at(r.arrival_ms) {
            label(&mut s, "arrival", "A", f.lat, f.lon, "triangle");
        }
        if let Some(f) = at(r.departure_ms) {
            label(&mut s, "departure", "D", f.lat, f.lon, "triangle");
        }
    }
    // A scale bar: a round length near a fifth of the width.
    let bar = nice_length(vw / 5.0);
    let (bx, by) = (vx + vw * 0.04, vy + vh * 0.95);
    let _ = writeln!(
        s,
        "<g class=\"scale\"><path d=\"M{bx:.1},{by:.1} h{bar:.1}\" vector-effect=\"non-scaling-stroke\"/>\
         <text x=\"{bx:.1}\" y=\"{:.1}\" font-size=\"{:.1}\">{bar:.0} m</text></g>",
        by - unit * 2.0,
        unit * 5.0
    );
    s.push_str("</svg>\n");
    s
}

/// 1, 2 or 5 times a power of ten, at most `x` (at least 1 m).
fn nice_length(x: f64) -> f64 {
    if x <= 1.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * p)
        .find(|&v| v <= x)
        .unwrap_or(p)
}

/// The web-Mercator tiles under the view, placed in the local projection
/// by their corners (an optional layer, off unless the force set one).
fn tile_images(template: &str, proj: &Projection, view: (f64, f64, f64, f64)) -> String {
    let (vx, vy, vw, vh) = view;
    // The view's corners back in degrees.
    let (north, west) = proj.lat_lon(vx, vy);
    let (south, east) = proj.lat_lon(vx + vw, vy + vh);
    // About four tiles across.
    let cos_lat = ((north + south) / 2.0).to_radians().cos();
    let z = ((360.0 / (east - west).max(1e-9) * 4.0 * cos_lat).log2().floor()).clamp(1.0, 19.0) as i32;
    let n = 2f64.powi(z);
    let tx = |lon: f64| ((lon + 180.0) / 360.0 * n).floor();
    let ty = |lat: f64| {
        let r = lat.to_radians();
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / PI) / 2.0 * n).floor()
    };
    let lon_of = |x: f64| x / n * 360.0 - 180.0;
    let lat_of = |y: f64| (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    let mut s = String::from("<g class=\"tiles\">");
    let (x_from, x_to, y_from, y_to) = (tx(west), tx(east), ty(north), ty(south));
    if (x_to - x_from) > 8.0 || (y_to - y_from) > 8.0 {
        return String::new();
    }
    let mut y = y_from;
    while y <= y_to {
        let mut x = x_from;
        while x <= x_to {
            let (ax, ay) = proj.xy(lat_of(y), lon_of(x));
            let (bx, by) = proj.xy(lat_of(y + 1.0), lon_of(x + 1.0));
            let url = template
                .replace("{z}", &z.to_string())
                .replace("{x}", &format!("{x:.0}"))
                .replace("{y}", &format!("{y:.0}"));
            let _ = write!(
                s,
                "<image href=\"{}\" x=\"{ax:.1}\" y=\"{ay:.1}\" width=\"{:.1}\" height=\"{:.1}\" preserveAspectRatio=\"none\"/>",
                esc(&url),
                bx - ax,
                by - ay
            );
            x += 1.0;
        }
        y += 1.0;
    }
    s.push_str("</g>\n");
    s
}

/// Minutes in the area against the required minimum, as a bar with the
/// line drawn at the minimum, and the same in words.
pub(super) fn minutes_bar(minutes: f64, required: f64) -> String {
    let top = (required * 2.0).max(minutes * 1.1).max(1.0);
    let w = 300.0;
    let fill = (minutes.max(0.0) / top * w).min(w);
    let line = required / top * w;
    let verdict = if minutes >= required {
        "reaches"
    } else {
        "falls short of"
    };
    format!(
        "<figure class=\"minutes\"><svg role=\"img\" aria-labelledby=\"minutes-title\" viewBox=\"0 0 {w} 40\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"minutes-title\">{minutes:.1} minutes in the area; the minimum is {required:.0}</title>\
         <rect class=\"bar-back\" x=\"0\" y=\"8\" width=\"{w}\" height=\"16\"/>\
         <rect class=\"bar {cls}\" x=\"0\" y=\"8\" width=\"{fill:.1}\" height=\"16\"/>\
         <path class=\"bar-line\" d=\"M{line:.1},2 V30\"/>\
         <text x=\"{line:.1}\" y=\"39\" font-size=\"9\" text-anchor=\"middle\">{required:.0} min</text></svg>\
         <figcaption>{minutes:.1} minutes {verdict} the {required:.0}-minute minimum.</figcaption></figure>\n",
        cls = if minutes >= required { "ok" } else { "bad" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::{AreaOutline, FixPoint};

    fn detail(fixes: Vec<FixPoint>) -> PatrolDetail {
        // A 100 m square with a 20 m square hole, near Birmingham.
        let (lat, lon): (f64, f64) = (52.4775, -1.8985);
        let (dlat, dlon) = LocalFrame::new(lat, lon).degrees_for(100.0);
        let ring = |f: f64, o: f64| {
            vec![
                [lon + o * dlon, lat + o * dlat],
                [lon + (o + f) * dlon, lat + o * dlat],
                [lon + (o + f) * dlon, lat + (o + f) * dlat],
                [lon + o * dlon, lat + (o + f) * dlat],
                [lon + o * dlon, lat + o * dlat],
            ]
        };
        PatrolDetail {
            patrol_id: "p-1".into(),
            officer_id: "o-1".into(),
            area_id: "a-1".into(),
            day: "2026-07-03".parse().expect("date"),
            check_in_ms: 0,
            check_out_ms: None,
            area: Some(AreaOutline {
                area_id: "a-1".into(),
                name: "Square <with> hole".into(),
                lpa: "Birmingham".into(),
                polygons: vec![vec![ring(1.0, 0.0), ring(0.2, 0.4)]],
            }),
            window: None,
            check_in: None,
            check_out: None,
            report: None,
            reasons: vec![],
            not_judged: None,
            fixes,
        }
    }

    fn fix(i: i64, verdict: &str) -> FixPoint {
        FixPoint {
            time_ms: i * 1000,
            lat: 52.4775 + i as f64 * 1e-5,
            lon: -1.8985 + i as f64 * 1e-5,
            accuracy_m: 5.0,
            verdict: verdict.into(),
        }
    }

    #[test]
    fn one_metre_is_one_unit() {
        use guardian_core::patrol::geometry::haversine_m;
        let p = Projection::around(&[(52.0, -1.9)]).expect("a point");
        let (x, y) = p.xy(52.0009, -1.9);
        assert!(
            x.abs() < 1e-9 && (y + haversine_m(52.0, -1.9, 52.0009, -1.9)).abs() < 1e-3,
            "{x},{y}"
        );
        let (x, y) = p.xy(52.0, -1.8985);
        assert!(
            (x - haversine_m(52.0, -1.9, 52.0, -1.8985)).abs() < 1e-3 && y.abs() < 1e-9,
            "{x},{y}"
        );
        let (lat, lon) = p.lat_lon(x, -250.0);
        assert!((p.xy(lat, lon).0 - x).abs() < 1e-6 && (p.xy(lat, lon).1 + 250.0).abs() < 1e-6);
    }

    #[test]
    fn believed_fixes_make_the_line_and_the_others_are_squares() {
        let fixes = vec![
            fix(0, "accepted"),
            fix(1, "accepted"),
            fix(2, "poor_accuracy"),
            fix(3, "accepted"),
        ];
        let svg = map(&detail(fixes), None);
        let points = svg
            .split("points=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("points");
        assert_eq!(points.split(' ').count(), 3);
        assert_eq!(svg.matches("class=\"rejected-fix\"").count(), 1);
        assert!(svg.contains("data-fixes=\"4\""));
        // The hole is a second ring of the same even-odd path.
        let area = svg.split("class=\"area\"").nth(1).expect("area");
        assert_eq!(area.split("/>").next().expect("path").matches('M').count(), 2);
        assert!(svg.contains("Square &lt;with&gt; hole"));
    }

    #[test]
    fn nothing_to_draw_is_said_in_words() {
        let mut d = detail(vec![]);
        d.area = None;
        assert!(map(&d, None).starts_with("<p"));
    }

    #[test]
    fn the_scale_bar_is_a_round_length() {
        assert_eq!(nice_length(37.0), 20.0);
        assert_eq!(nice_length(60.0), 50.0);
        assert_eq!(nice_length(180.0), 100.0);
        assert_eq!(nice_length(0.3), 1.0);
    }

    #[test]
    fn the_minutes_bar_says_short_or_enough_in_words() {
        assert!(minutes_bar(12.0, 30.0).contains("falls short of the 30-minute minimum"));
        assert!(minutes_bar(45.0, 30.0).contains("reaches the 30-minute minimum"));
    }
}
