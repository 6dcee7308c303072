use super::*;

/// A ~110 m square near New Street, optionally with a ~20 m hole.
fn square(id: &str, hole: bool) -> serde_json::Value {
    let ext = serde_json::json!([
        [-1.8990, 52.4780],
        [-1.8974, 52.4780],
        [-1.8974, 52.4790],
        [-1.8990, 52.4790],
        [-1.8990, 52.4780]
    ]);
    let mut rings = vec![ext];
    if hole {
        rings.push(serde_json::json!([
            [-1.8983, 52.4784],
            [-1.8983, 52.4786],
            [-1.8980, 52.4786],
            [-1.8980, 52.4784],
            [-1.8983, 52.4784]
        ]));
    }
    serde_json::json!({
        "type": "Feature",
        "properties": {"id": id, "name": "Stephenson Street", "lpa": "Birmingham",
                       "windows": [{"days": ["fri", "sat"], "start": "22:00", "end": "00:00"}]},
        "geometry": {"type": "Polygon", "coordinates": rings}
    })
}

fn collection(features: Vec<serde_json::Value>) -> String {
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn with_geometry(coords: serde_json::Value) -> String {
    let mut f = square("bad-area", false);
    f["geometry"]["coordinates"] = coords;
    collection(vec![square("good", false), f])
}

fn problem_of(text: &str) -> (String, AreaProblem) {
    match parse_areas(text) {
        Err(AreaError::Feature { feature, problem }) => (feature, problem),
        other => panic!("expected a feature error, got {other:?}"),
    }
}

#[test]
fn polygons_with_holes_and_windows_import() {
    let areas = parse_areas(&collection(vec![square("a", true), square("b", false)])).expect("parse");
    assert_eq!(areas.len(), 2);
    assert_eq!(areas[0].shape.0[0].interiors().len(), 1);
    assert_eq!(areas[0].windows.len(), 1);
    assert!(areas[0].area_m2() < areas[1].area_m2());
    let a = areas[1].area_m2();
    assert!((a - 110.0 * 111.0).abs() / a < 0.1, "{a}");
}

#[test]
fn a_multipolygon_imports_and_round_trips_through_storage() {
    let mut f = square("multi", true);
    let poly = f["geometry"]["coordinates"].clone();
    let far = serde_json::json!([[[-1.90, 52.47], [-1.899, 52.47], [-1.899, 52.471], [-1.90, 52.47]]]);
    f["geometry"] = serde_json::json!({"type": "MultiPolygon", "coordinates": [poly, far]});
    let areas = parse_areas(&collection(vec![f])).expect("parse");
    let a = &areas[0];
    let back = Area::from_stored(
        a.id.clone(),
        a.name.clone(),
        a.lpa.clone(),
        &a.geometry_json(),
        &a.windows_json(),
    )
    .expect("stored form parses");
    assert_eq!(&back, a);
}

#[test]
fn an_open_ring_is_refused_naming_the_feature() {
    let (feature, problem) = problem_of(&with_geometry(serde_json::json!([[
        [-1.899, 52.478],
        [-1.897, 52.478],
        [-1.897, 52.479],
        [-1.899, 52.479]
    ]])));
    assert_eq!(feature, "bad-area");
    assert_eq!(problem, AreaProblem::RingNotClosed { ring: 0 });
}

#[test]
fn a_ring_of_three_points_is_refused() {
    let (_, problem) = problem_of(&with_geometry(serde_json::json!([[
        [-1.899, 52.478],
        [-1.897, 52.478],
        [-1.899, 52.478]
    ]])));
    assert_eq!(problem, AreaProblem::TooFewPoints { ring: 0, points: 3 });
}

#[test]
fn out_of_range_coordinates_are_refused() {
    let (_, problem) = problem_of(&with_geometry(serde_json::json!([[
        [-1.899, 95.0],
        [-1.897, 52.478],
        [-1.897, 52.479],
        [-1.899, 95.0]
    ]])));
    assert!(matches!(problem, AreaProblem::OutOfRange { lat, .. } if lat == 95.0));
    // Lat/lon swapped by mistake is out of range too for longitude 252.
    let (_, problem) = problem_of(&with_geometry(serde_json::json!([[
        [252.0, 1.0],
        [252.1, 1.0],
        [252.1, 1.1],
        [252.0, 1.0]
    ]])));
    assert!(matches!(problem, AreaProblem::OutOfRange { .. }));
}

#[test]
fn a_zero_area_ring_is_refused() {
    let (_, problem) = problem_of(&with_geometry(serde_json::json!([[
        [-1.899, 52.478],
        [-1.898, 52.478],
        [-1.897, 52.478],
        [-1.899, 52.478]
    ]])));
    assert!(
        matches!(problem, AreaProblem::ZeroArea | AreaProblem::Invalid(_)),
        "{problem:?}"
    );
}

#[test]
fn a_self_intersecting_bowtie_is_refused() {
    let (_, problem) = problem_of(&with_geometry(serde_json::json!([[
        [-1.899, 52.478],
        [-1.897, 52.479],
        [-1.897, 52.478],
        [-1.899, 52.479],
        [-1.899, 52.478]
    ]])));
    assert!(matches!(problem, AreaProblem::Invalid(_)), "{problem:?}");
}

#[test]
fn non_polygon_geometry_and_missing_geometry_are_refused() {
    let mut f = square("pt", false);
    f["geometry"] = serde_json::json!({"type": "Point", "coordinates": [-1.9, 52.48]});
    assert_eq!(
        problem_of(&collection(vec![f])).1,
        AreaProblem::WrongGeometryType("Point".into())
    );
    let mut f = square("none", false);
    f["geometry"] = serde_json::Value::Null;
    assert_eq!(problem_of(&collection(vec![f])).1, AreaProblem::NoGeometry);
}

#[test]
fn missing_or_hostile_properties_are_refused() {
    let mut f = square("x", false);
    f["properties"].as_object_mut().expect("props").remove("id");
    let (feature, problem) = problem_of(&collection(vec![f]));
    assert_eq!((feature.as_str(), problem), ("#0", AreaProblem::MissingProperty("id")));

    let mut f = square("x", false);
    f["properties"]["name"] = serde_json::json!("n".repeat(MAX_NAME_LEN + 1));
    assert!(matches!(
        problem_of(&collection(vec![f])).1,
        AreaProblem::BadProperty { name: "name", .. }
    ));

    let mut f = square("x", false);
    f["properties"]["lpa"] = serde_json::json!("Birm\u{0007}ingham");
    assert!(matches!(
        problem_of(&collection(vec![f])).1,
        AreaProblem::BadProperty { name: "lpa", .. }
    ));

    let mut f = square("x", false);
    f["properties"]["id"] = serde_json::json!(42);
    assert_eq!(problem_of(&collection(vec![f])).1, AreaProblem::MissingProperty("id"));
}

#[test]
fn a_bad_window_is_refused_naming_the_feature_and_window() {
    let mut f = square("ramp", false);
    f["properties"]["windows"] = serde_json::json!([{"days": ["fri"], "start": "22:00", "end": "00:00"}, {"days": ["fri"], "start": "26:00", "end": "00:00"}]);
    let (feature, problem) = problem_of(&collection(vec![f]));
    assert_eq!(feature, "ramp");
    assert!(matches!(problem, AreaProblem::Window { index: 1, .. }), "{problem:?}");

    let mut f = square("ramp", false);
    f["properties"]["windows"] = serde_json::json!("22:00-00:00");
    assert!(matches!(
        problem_of(&collection(vec![f])).1,
        AreaProblem::BadProperty { name: "windows", .. }
    ));
}

#[test]
fn duplicate_ids_and_non_geojson_are_refused() {
    assert_eq!(
        parse_areas(&collection(vec![square("a", false), square("a", false)])),
        Err(AreaError::DuplicateId("a".into()))
    );
    for text in ["", "{", "[]", r#"{"type":"Feature"}"#, "null"] {
        assert!(matches!(parse_areas(text), Err(AreaError::NotGeoJson(_))), "{text}");
    }
}

#[test]
fn the_bundled_demo_areas_import() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/data/demo-areas.geojson");
    let text = std::fs::read_to_string(&path).expect("demo areas file is bundled");
    let areas = parse_areas(&text).expect("demo areas are valid");
    assert!(areas.len() >= 8, "{}", areas.len());
    assert!(
        areas
            .iter()
            .any(|a| a.shape.0.iter().any(|p| !p.interiors().is_empty()))
    );
    assert!(areas.iter().all(|a| a.area_m2() > 1_000.0 && a.area_m2() < 5_000_000.0));
}
