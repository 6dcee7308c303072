//! The supervisors' patrol review over HTTP: who may see it, that its
//! figures are the export's, that a patrol page draws every stored fix,
//! the browser session (cookie, same-origin POSTs, strict CSP) and the
//! evaluation CSV.

mod common;

use common::*;
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const DAY: &str = "2026-07-03";

/// Three patrols on 2026-07-03 in `tgp-a` (no windows): PC Able 40 min
/// (compliant), PCSO Charlie 40 min (not warranted), PC Baker 10 min (too
/// short), a fourth left open; a draw for the day; a supervisor token.
fn world() -> (World, String) {
    let w = World::new();
    ok_json(w.post(
        &w.admin,
        "/v1/admin/schedule",
        &json!({"date": DAY, "fraction": 0.5, "seed": 7}),
    ));
    let patrol = |token: &str, officer: &str, rank: &str, p: &str, minutes: usize| {
        ok_json(w.record(token, &check_in(&format!("{p}-in"), p, officer, "tgp-a", rank, T0)));
        let fixes = walk(T0, minutes * 12 + 1);
        ok_json(w.chunk(token, &format!("{p}-c1"), p, 1, &fixes));
        ok_json(w.record(
            token,
            &check_out(&format!("{p}-out"), p, 2, T0 + minutes as i64 * 60_000),
        ));
    };
    patrol(&w.a, "pc-a", "constable", "p-good", 40);
    patrol(&w.c, "pcso-c", "pcso", "p-pcso", 40);
    patrol(&w.b, "pc-b", "constable", "p-short", 10);
    ok_json(w.record(&w.b, &check_in("open-in", "p-open", "pc-b", "tgp-a", "constable", T0)));
    let sup = ok_json(w.post(
        &w.admin,
        "/v1/admin/tokens",
        &json!({"sub": "sgt-review", "role": "supervisor", "ttl_s": 3600}),
    ))["token"]
        .as_str()
        .expect("token")
        .to_string();
    (w, sup)
}

fn no_redirects() -> Client {
    Client::builder().redirect(Policy::none()).build().expect("client")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn page(r: Response, status: u16) -> String {
    let got = r.status().as_u16();
    let ct = header(&r, "content-type");
    let csp = header(&r, "content-security-policy");
    let body = r.text().expect("body");
    assert_eq!(got, status, "{body}");
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src") && !csp.contains("unsafe"), "{csp}");
    assert!(!body.contains("<script"), "no script on a review page");
    body
}

/// The `data-value` of the overall figure `name` on a day page.
fn shown(body: &str, name: &str) -> f64 {
    let at = body
        .find(&format!("data-figure=\"{name}\" data-value=\""))
        .unwrap_or_else(|| panic!("figure {name}"));
    let rest = &body[at..];
    let v = rest
        .split("data-value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("value");
    v.parse().expect("number")
}

#[test]
fn the_day_view_shows_the_exports_figures_and_the_draw() {
    let (w, sup) = world();
    let summary = ok_json(w.get(&sup, "/v1/admin/compliance/summary"));
    assert_eq!(summary["patrols"], 3);
    let day = ok_json(w.get(&sup, &format!("/v1/review/days?date={DAY}")));
    assert_eq!(day["overall"], summary, "the page's figures are the export's");
    assert_eq!(
        day["patrols"].as_array().expect("patrols").len(),
        3,
        "the open patrol is not judged"
    );
    let by_area = day["by_area"].as_array().expect("by area");
    assert_eq!(by_area.len(), 1);
    assert_eq!(by_area[0]["key"], "tgp-a");
    assert_eq!(day["by_authority"][0]["key"], "Birmingham");
    assert_eq!(day["by_authority"][0]["summary"], summary);
    let schedule = &day["schedules"][0];
    assert_eq!(schedule["date"], DAY);
    let groups: Vec<&str> = schedule["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .map(|a| a["group"].as_str().expect("group"))
        .collect();
    assert!(
        groups.contains(&"assigned") || groups.contains(&"control"),
        "{groups:?}"
    );
    let short = day["patrols"]
        .as_array()
        .expect("patrols")
        .iter()
        .find(|p| p["patrol_id"] == "p-short")
        .expect("short");
    assert_eq!(short["compliant"], false);
    assert!(
        short["reasons"][0].as_str().expect("reason").contains("required"),
        "{short}"
    );

    // The page says the same numbers (exactly, in data-value).
    let body = page(w.get(&sup, &format!("/review?date={DAY}")), 200);
    for name in ["compliance_percent", "constable_led_percent", "average_minutes"] {
        assert_eq!(shown(&body, name), summary[name].as_f64().expect("figure"), "{name}");
    }
    assert!(body.contains("/review/patrols/p-pcso"));
    assert!(body.contains("Not compliant"), "the verdict in words, not only colour");
    // Another day has none of them.
    let other = ok_json(w.get(&sup, "/v1/review/days?date=2026-07-05"));
    assert_eq!(other["overall"]["patrols"], 0);
    // A range including the day has them.
    let range = ok_json(w.get(&sup, "/v1/review/days?from=2026-07-01&to=2026-07-05"));
    assert_eq!(range["overall"], summary);
}

#[test]
fn officers_and_navigators_are_refused_and_the_signed_out_get_the_form() {
    let (w, _sup) = world();
    for path in [
        "/v1/review/days",
        "/v1/review/patrols/p-good",
        "/v1/review/evaluation",
        "/v1/review/evaluation.csv",
    ] {
        assert_error(w.get(&w.a, path), 403, "forbidden");
        assert_error(w.http.get(w.url(path)).send().expect("send"), 401, "unauthorized");
    }
    let body = page(w.get(&w.a, "/review"), 403);
    assert!(body.contains("supervisor"), "{body}");
    let body = page(w.http.get(w.url("/review/patrols/p-good")).send().expect("send"), 401);
    assert!(body.contains("action=\"/review/login\""));
    assert!(
        body.contains("value=\"/review/patrols/p-good\""),
        "comes back after signing in"
    );
    // The admin may look too.
    page(w.get(&w.admin, "/review/evaluation"), 200);
}

#[test]
fn a_patrol_page_draws_every_stored_fix_and_says_why_not() {
    let (w, sup) = world();
    let detail = ok_json(w.get(&sup, "/v1/review/patrols/p-pcso"));
    let fixes = detail["fixes"].as_array().expect("fixes");
    assert_eq!(fixes.len(), 40 * 12 + 1);
    assert_eq!(detail["report"]["fixes_total"], fixes.len());
    assert_eq!(detail["reasons"][0], "led by a pcso, not a warranted officer");
    assert_eq!(detail["window"]["kind"], "any");
    assert!(detail["check_in"]["lat"].as_f64().is_some());

    let body = page(w.get(&sup, "/review/patrols/p-pcso"), 200);
    let points = body
        .split("class=\"track\"")
        .nth(1)
        .and_then(|s| s.split("points=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .expect("track points");
    assert_eq!(points.split(' ').count(), fixes.len());
    assert!(body.contains("led by a pcso, not a warranted officer"));
    assert!(body.contains("falls short of") || body.contains("reaches the 30-minute minimum"));
    assert!(body.contains(">IN<") && body.contains(">OUT<"));

    let open = ok_json(w.get(&sup, "/v1/review/patrols/p-open"));
    assert!(open["not_judged"].as_str().expect("why").contains("checked out"));
    assert_error(w.get(&sup, "/v1/review/patrols/p-none"), 404, "no-such-patrol");
    page(w.get(&sup, "/review/patrols/p-none"), 404);
    assert_error(w.get(&sup, "/v1/review/days?date=3rd-July"), 400, "bad-request");
    assert_error(
        w.get(&sup, "/v1/review/days?from=2026-07-05&to=2026-07-01"),
        400,
        "bad-request",
    );
    assert_error(
        w.get(&sup, "/v1/review/days?from=2020-01-01&to=2026-07-01"),
        400,
        "bad-request",
    );
}

#[test]
fn a_trailing_slash_lands_on_the_day_view_with_its_query() {
    let (w, _) = world();
    let http = no_redirects();
    let r = http.get(w.url(&format!("/review/?date={DAY}"))).send().expect("send");
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(header(&r, "location"), format!("/review?date={DAY}"));
    let r = http.get(w.url("/review/")).send().expect("send");
    assert_eq!(header(&r, "location"), "/review");
    // Nothing but the day view: a path after the slash is still no page.
    assert_eq!(
        http.get(w.url("/review/nope")).send().expect("send").status().as_u16(),
        404
    );
}

#[test]
fn a_browser_signs_in_with_a_same_origin_form_and_gets_a_strict_cookie() {
    let (w, sup) = world();
    let http = no_redirects();
    let host = w.base.trim_start_matches("http://").to_string();
    let form = |token: &str| format!("token={token}&next=%2Freview%3Fdate%3D{DAY}");
    let login = |token: &str, origin: &str| {
        http.post(w.url("/review/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .body(form(token))
            .send()
            .expect("send")
    };
    let r = login(&sup, &format!("http://{host}"));
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(header(&r, "location"), format!("/review?date={DAY}"));
    let cookie = header(&r, "set-cookie");
    for part in ["guardian_review=", "HttpOnly", "SameSite=Strict", "Path=/review"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let pair = cookie.split(';').next().expect("pair").to_string();
    let body = page(
        http.get(w.url(&format!("/review?date={DAY}")))
            .header("cookie", &pair)
            .send()
            .expect("send"),
        200,
    );
    assert!(body.contains("sgt-review"), "who is signed in");
    // Same-origin only: a form posted from another site is refused.
    page(login(&sup, "http://evil.example"), 403);
    // An officer's token does not make a session; a forged one neither.
    page(login(&w.a, &format!("http://{host}")), 403);
    page(login("v1.forged.token", &format!("http://{host}")), 401);
    // The cookie is not a bearer token for the JSON API.
    let r = http
        .get(w.url("/v1/review/days"))
        .header("cookie", &pair)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    // The cookie is a session id, not the token: the token does not work
    // as a cookie.
    let r = http
        .get(w.url("/review"))
        .header("cookie", format!("guardian_review={sup}"))
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    // Sign-out clears it and ends the session on the server: a copy of the
    // cookie kept elsewhere opens nothing after it.
    let r = http
        .post(w.url("/review/logout"))
        .header("origin", format!("http://{host}"))
        .header("cookie", &pair)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 303);
    assert!(header(&r, "set-cookie").contains("Max-Age=0"));
    let r = http.get(w.url("/review")).header("cookie", &pair).send().expect("send");
    assert_eq!(r.status().as_u16(), 401, "the session ended with the sign-out");
    // Without a provider there is no force sign-in to begin.
    page(http.get(w.url("/review/login/start")).send().expect("send"), 404);
    // The assets are public, embedded, and come with the same policy.
    let css = w.http.get(w.url("/review/review.css")).send().expect("css");
    assert_eq!(css.status().as_u16(), 200);
    assert!(header(&css, "content-type").starts_with("text/css"));
    assert_eq!(header(&css, "referrer-policy"), "no-referrer");
}

#[test]
fn the_evaluation_counts_assigned_and_control_days_and_exports_csv() {
    let (w, sup) = world();
    let eval = ok_json(w.get(&sup, "/v1/review/evaluation"));
    assert_eq!(eval["days_drawn"], 1);
    let areas = eval["areas"].as_array().expect("areas");
    assert!(!areas.is_empty());
    for a in areas {
        let (d, s, c) = (&a["days_drawn"], &a["days_assigned"], &a["days_control"]);
        assert_eq!(d.as_u64(), Some(s.as_u64().expect("s") + c.as_u64().expect("c")), "{a}");
    }
    let a = areas.iter().find(|a| a["area_id"] == "tgp-a").expect("tgp-a was drawn");
    {
        let on_days =
            a["patrols_on_assigned_days"].as_u64().expect("n") + a["patrols_on_control_days"].as_u64().expect("n");
        assert_eq!(on_days, 3, "{a}");
        let minutes =
            a["minutes_on_assigned_days"].as_f64().expect("m") + a["minutes_on_control_days"].as_f64().expect("m");
        assert!((85.0..=92.0).contains(&minutes), "40 + 40 + 10 minutes: {minutes}");
    }
    let r = w.get(&sup, "/v1/review/evaluation.csv?from=2026-07-01");
    assert_eq!(r.status().as_u16(), 200);
    assert!(header(&r, "content-disposition").contains("evaluation-2026-07-01-to-last.csv"));
    let csv = r.text().expect("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(guardian_backend::EVALUATION_CSV_HEADER));
    assert_eq!(lines.count(), areas.len());
    let none: Value = ok_json(w.get(&sup, "/v1/review/evaluation?to=2026-01-01"));
    assert_eq!(none["days_drawn"], 0);
}

#[test]
fn a_tile_layer_is_off_by_default_and_when_set_only_its_origin_is_allowed() {
    let (w, sup) = world();
    let plain = w.get(&sup, "/review/patrols/p-good");
    assert!(header(&plain, "content-security-policy").contains("img-src 'self';"));
    assert!(
        !page(plain, 200).contains("<image"),
        "no tiles unless the force sets them"
    );

    let admin = w.open_backend();
    assert!(
        admin
            .set_review_tile_layer(Some("http://tiles.example.org/{z}/{x}/{y}.png"))
            .is_err()
    );
    assert!(
        admin
            .set_review_tile_layer(Some("https://tiles.example.org/{z}/{x}.png"))
            .is_err()
    );
    admin
        .set_review_tile_layer(Some("https://tiles.example.org/{z}/{x}/{y}.png"))
        .expect("set");
    let r = w.get(&sup, "/review/patrols/p-good");
    let csp = header(&r, "content-security-policy");
    assert!(csp.contains("img-src 'self' https://tiles.example.org;"), "{csp}");
    let body = page(r, 200);
    assert!(
        body.contains("<image href=\"https://tiles.example.org/"),
        "tiles drawn under the track"
    );
    // The day view loads no tiles, so its policy stays 'self'.
    let day = w.get(&sup, &format!("/review?date={DAY}"));
    assert!(header(&day, "content-security-policy").contains("img-src 'self';"));
    admin.set_review_tile_layer(None).expect("off");
    assert!(!page(w.get(&sup, "/review/patrols/p-good"), 200).contains("<image"));
}

#[test]
fn the_cli_exports_one_days_figures_as_the_day_view_sums_them() {
    let (w, sup) = world();
    let cli = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
            .args(args)
            .output()
            .expect("run the CLI");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).expect("utf-8")
    };
    let db = w.store.as_str();
    let day: Value = serde_json::from_str(&cli(&[
        "export",
        store_flag(db),
        db,
        "--summary",
        "--from",
        DAY,
        "--to",
        DAY,
    ]))
    .expect("summary JSON");
    let view = ok_json(w.get(&sup, &format!("/v1/review/days?date={DAY}")));
    assert_eq!(view["overall"], day);
    assert_eq!(day["patrols"], 3);
    let none: Value = serde_json::from_str(&cli(&[
        "export",
        store_flag(db),
        db,
        "--summary",
        "--from",
        "2026-07-04",
    ]))
    .expect("JSON");
    assert_eq!(none["patrols"], 0);
    let csv = cli(&["export", store_flag(db), db, "--from", DAY]);
    assert_eq!(csv.lines().count(), 4, "header and three patrols: {csv}");
    let tiles = cli(&[
        "review-tiles",
        store_flag(db),
        db,
        "--template",
        "https://t.example.org/{z}/{x}/{y}.png",
    ]);
    assert!(tiles.contains("t.example.org"));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_guardian-backend"))
        .args(["review-tiles", store_flag(db), db, "--template", "javascript:alert(1)"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2), "a bad template is refused");
}
