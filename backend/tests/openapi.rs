//! `openapi.yaml` describes exactly the routes the server registers.

mod common;

use std::collections::BTreeSet;

use common::*;
use guardian_backend::ROUTES;

/// (method, path) pairs under `paths:`: a path is a two-space-indented key
/// starting with `/`, a method a four-space-indented HTTP verb key.
fn yaml_routes(text: &str) -> BTreeSet<(String, String)> {
    const VERBS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
    let mut out = BTreeSet::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            in_paths = line.trim_end() == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let key = line.trim().strip_suffix(':');
        match (indent, key) {
            (2, Some(k)) if k.starts_with('/') => path = Some(k.trim_matches('"').to_string()),
            (4, Some(k)) if VERBS.contains(&k) => {
                let p = path.clone().expect("a method outside a path");
                out.insert((k.to_string(), p));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_openapi_document_lists_exactly_the_served_routes() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).expect("read");
    assert!(text.starts_with("openapi: 3.1"), "an OpenAPI 3.1 document");
    let documented = yaml_routes(&text);
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.verb.as_str().to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, served);
    assert_eq!(served.len(), ROUTES.len(), "no route is listed twice");
}

#[test]
fn every_route_in_the_table_is_registered_by_the_router() {
    let w = World::new();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for r in ROUTES {
        let path = r.path.replace("{chunk_id}", "c-1").replace("{id}", "x-1");
        let method = reqwest::Method::from_bytes(r.verb.as_str().to_uppercase().as_bytes()).expect("method");
        let resp = http.request(method, w.url(&path)).send().expect("send");
        // Unauthenticated: 401 from the handler, never the router's 404 or
        // 405; the public ones answer for themselves (the review's sign-in
        // form and assets, sign-out; a sign-in with no form is 415).
        let expected = match (r.verb.as_str(), r.path) {
            (
                "get",
                "/healthz" | "/review/login" | "/review/review.css" | "/review/icon.svg" | "/navigator/login"
                | "/audit/login",
            ) => 200,
            ("post", "/review/logout" | "/navigator/logout" | "/audit/logout") => 303,
            ("get", "/review/") => 308,
            ("post", "/review/login" | "/navigator/login" | "/audit/login") => 415,
            // No force sign-in configured here: the pasted token's form.
            ("get", "/review/login/start" | "/review/callback" | "/navigator/login/start" | "/audit/login/start") => {
                404
            }
            _ => 401,
        };
        assert_eq!(resp.status().as_u16(), expected, "{} {}", r.verb.as_str(), r.path);
    }
}
