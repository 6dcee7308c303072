//! A GPX recording turned into the fixes a handset's OS would have given.
//!
//! A phone reports time, a monotonic clock, position and an accuracy radius.
//! GPX has time and position, and usually a dilution of precision: the
//! accuracy is taken as HDOP (or PDOP) × 5 m, the usual user-equivalent range
//! error of a consumer receiver; with neither, 10 m. The monotonic clock is
//! the recording's own elapsed time, so a logger's clock faults (repeated or
//! backward times) show up exactly as they would on a handset.

use std::path::Path;

use guardian_core::patrol::Fix;

/// Metres of error per unit of dilution of precision.
const UERE_M: f64 = 5.0;
const DEFAULT_ACCURACY_M: f64 = 10.0;
/// The simulated phone had been up for an hour when the track began.
const BOOT_OFFSET_NS: i64 = 3_600_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a valid GPX file: {reason}")]
    Gpx { path: String, reason: String },
    #[error("{path} has no track points")]
    Empty { path: String },
}

#[derive(Debug, Clone)]
pub struct Track {
    pub name: String,
    pub fixes: Vec<Fix>,
    /// Points a phone could never report: no time at all.
    pub points_without_time: usize,
}

pub fn load(path: &Path) -> Result<Track, TrackError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TrackError::Io {
        path: shown.clone(),
        source,
    })?;
    let fallback = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse(&text, &shown, &fallback)
}

/// A GPX document's points as fixes; `shown` names it in errors, `fallback`
/// is its name when the file gives none. (Also the fuzzing entry point.)
pub fn parse(text: &str, shown: &str, fallback: &str) -> Result<Track, TrackError> {
    let shown = shown.to_string();
    let text = strip_gpx10_course(text);
    let gpx = gpx::read(text.as_bytes()).map_err(|e| TrackError::Gpx {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let points = gpx
        .tracks
        .iter()
        .flat_map(|t| t.segments.iter())
        .flat_map(|s| s.points.iter())
        .chain(gpx.routes.iter().flat_map(|r| r.points.iter()));
    let mut fixes = Vec::new();
    let mut without_time = 0;
    let mut first_ms = None;
    for p in points {
        let Some(time) = p.time else {
            without_time += 1;
            continue;
        };
        let odt: time::OffsetDateTime = time.into();
        let time_ms = i64::try_from(odt.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MIN);
        let first = *first_ms.get_or_insert(time_ms);
        let accuracy_m = p.hdop.or(p.pdop).map_or(DEFAULT_ACCURACY_M, |dop| dop * UERE_M);
        let pt = p.point();
        fixes.push(Fix {
            time_ms,
            mono_ns: BOOT_OFFSET_NS.saturating_add((time_ms - first).saturating_mul(1_000_000)),
            lat: pt.y(),
            lon: pt.x(),
            accuracy_m,
            altitude_m: p.elevation,
            speed_mps: p.speed,
            bearing_deg: None,
        });
    }
    if fixes.is_empty() && without_time == 0 {
        return Err(TrackError::Empty { path: shown });
    }
    let name = gpx
        .tracks
        .first()
        .and_then(|t| t.name.clone())
        .or_else(|| gpx.metadata.as_ref().and_then(|m| m.name.clone()))
        .unwrap_or_else(|| fallback.to_string());
    Ok(Track {
        name,
        fixes,
        points_without_time: without_time,
    })
}

/// GPX 1.0 allows `<course>` in a point; the gpx crate reads only 1.1's
/// schema and refuses the file. A phone gives bearing separately, and we do
/// not use a logger's course, so the element is dropped before parsing.
fn strip_gpx10_course(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("<course>") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<course>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</course>") {
            Some(end) => rest = &rest[start + end + "</course>".len()..],
            None => {
                // Unclosed: leave it for the parser to report.
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Fuzzing entry: any bytes as a GPX document. An accepted track has a
/// point, and every fix it gives has a place on Earth's grid of numbers.
#[cfg(any(test, fuzzing))]
pub fn fuzz_gpx(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(track) = parse(text, "fuzz", "fuzz") {
        assert!(!track.fixes.is_empty() || track.points_without_time > 0);
        assert!(track.fixes.iter().all(|f| f.lat.is_finite() && f.lon.is_finite()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GPX reader through its committed fuzz corpus and seeded
    /// mutations (`fuzz/corpus/gpx`; see `tests/tests/fuzz_corpus.rs`).
    #[test]
    fn the_gpx_reader_survives_its_fuzz_corpus_and_mutations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mutants = std::env::var("GUARDIAN_FUZZ_MUTANTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000);
        let ran = guardian_core::fuzz::replay(&root.join("corpus/gpx"), &root.join("crashes"), mutants, 14, fuzz_gpx)
            .expect("corpus");
        assert!(ran.corpus >= 3);
    }

    #[test]
    fn course_elements_are_dropped_and_nothing_else() {
        let t = "<trkpt><ele>1</ele><course>12.5</course><speed>1</speed></trkpt><course>3</course>";
        assert_eq!(strip_gpx10_course(t), "<trkpt><ele>1</ele><speed>1</speed></trkpt>");
        assert_eq!(strip_gpx10_course("<a><course>1</a>"), "<a><course>1</a>");
        assert!(matches!(strip_gpx10_course("<a/>"), std::borrow::Cow::Borrowed(_)));
    }
}
