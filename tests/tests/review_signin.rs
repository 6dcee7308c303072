//! The review pages sign in with the force's provider as a confidential
//! web client (authorization code + PKCE, the backend exchanging the code
//! with its secret) and run on a server-side session that signing out
//! ends. Hostile cases: a callback in another browser, a replayed one, a
//! forged nonce, a role that may not read the review, the provider's
//! refusal. Over real HTTP on loopback, against a real backend.

use guardian_tests::handset::Force;
use guardian_tests::provider::Provider;
use reqwest::blocking::{Client, Response};

fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `name=value` of the cookie a response sets.
fn cookie(r: &Response, name: &str) -> String {
    header(r, "set-cookie")
        .lines()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", header(r, "set-cookie")))
        .to_string()
}

struct Browser<'a> {
    force: &'a Force,
    provider: &'a Provider,
    http: Client,
}

/// A provider signing supervisors in, and a backend whose pages use it.
fn world() -> (tempfile::TempDir, Provider, Force) {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = Provider::start();
    provider.knobs().role = "supervisor".into();
    let force = Force::start_with_pages(dir.path(), &provider.issuer);
    (dir, provider, force)
}

impl<'a> Browser<'a> {
    fn new(force: &'a Force, provider: &'a Provider) -> Self {
        Browser {
            force,
            provider,
            http: http(),
        }
    }

    /// Clicks "Sign in with the force": the binding cookie, and where the
    /// provider sends the browser back (its redirect, with code and state).
    fn start(&self, next: &str) -> (String, String) {
        let r = self
            .http
            .get(format!("{}/review/login/start?next={next}", self.force.url()))
            .send()
            .expect("start");
        assert_eq!(r.status().as_u16(), 303);
        let binding = cookie(&r, "guardian_signin");
        assert!(
            header(&r, "set-cookie").contains("SameSite=Lax"),
            "it must survive the provider's redirect"
        );
        let to_provider = header(&r, "location");
        assert!(to_provider.starts_with(&self.provider.issuer), "{to_provider}");
        for part in [
            "code_challenge_method=S256",
            "client_id=guardian-web",
            "nonce=",
            "state=",
        ] {
            assert!(to_provider.contains(part), "{to_provider}");
        }
        (binding, self.provider.browse(&to_provider))
    }

    fn callback(&self, back: &str, binding: &str) -> Response {
        let path = back
            .split_once("/review/callback")
            .map(|(_, q)| q)
            .expect("our callback");
        self.http
            .get(format!("{}/review/callback{path}", self.force.url()))
            .header("cookie", binding)
            .send()
            .expect("callback")
    }

    fn review(&self, session: &str) -> u16 {
        self.http
            .get(format!("{}/review", self.force.url()))
            .header("cookie", session)
            .send()
            .expect("review")
            .status()
            .as_u16()
    }
}

#[test]
fn a_supervisor_signs_in_with_the_force_and_signing_out_ends_the_session() {
    let (_dir, provider, force) = world();
    provider.knobs().user = "sup-dale".into();
    let b = Browser::new(&force, &provider);
    let page = b
        .http
        .get(format!("{}/review/login", force.url()))
        .send()
        .expect("form")
        .text()
        .expect("html");
    assert!(
        page.contains("Sign in with the force") && !page.contains("name=\"token\""),
        "{page}"
    );
    // The form's GET to /login/start is redirected on to the provider, and
    // a browser holds that redirect to the page's CSP form-action too
    // (Chromium blocks it otherwise).
    let form = b
        .http
        .get(format!("{}/review/login", force.url()))
        .send()
        .expect("form");
    let csp = header(&form, "content-security-policy");
    let provider_origin = provider.issuer.split('/').take(3).collect::<Vec<_>>().join("/");
    assert!(csp.contains(&format!("form-action 'self' {provider_origin};")), "{csp}");
    let review = b.http.get(format!("{}/review", force.url())).send().expect("review");
    assert!(
        header(&review, "content-security-policy").contains(&format!("form-action 'self' {provider_origin};")),
        "the sign-in page a signed-out reader is shown is a sign-in page"
    );

    let (binding, back) = b.start("%2Freview%3Fdate%3D2026-12-01&purpose=Checking%20last%20night%27s%20patrols");
    let r = b.callback(&back, &binding);
    assert_eq!(r.status().as_u16(), 200);
    let session = cookie(&r, "guardian_review");
    let set = header(&r, "set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/review"),
        "{set}"
    );
    let body = r.text().expect("page");
    assert!(
        body.contains("content=\"0;url=/review?date=2026-12-01\""),
        "on to next: {body}"
    );
    assert_eq!(b.review(&session), 200);
    assert!(!session.contains('.'), "a session id, not a token: {session}");
    // The purpose given on the sign-in form came through the provider with
    // the attempt, and the day page's access-log entry carries it.
    let log = force
        .admin()
        .export_access_log(
            &guardian_backend::Caller::local("dpo-1", guardian_backend::Role::Auditor, "test"),
            &guardian_backend::AccessFilter {
                subject: Some("sup-dale".into()),
                ..Default::default()
            },
        )
        .expect("log");
    let looks: Vec<(&str, Option<&str>)> = log.iter().map(|e| (e.how.as_str(), e.purpose.as_deref())).collect();
    assert_eq!(looks, [("GET /review", Some("Checking last night's patrols"))]);

    // The same redirect again (a replay, a back button): refused, and the
    // live session is untouched.
    assert_eq!(b.callback(&back, &binding).status().as_u16(), 400);
    assert_eq!(b.review(&session), 200);

    let r = b
        .http
        .post(format!("{}/review/logout", force.url()))
        .header("cookie", &session)
        .send()
        .expect("logout");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        b.review(&session),
        401,
        "signed out on the server, not only in this browser"
    );
}

#[test]
fn a_callback_in_another_browser_a_forged_nonce_and_an_officer_open_nothing() {
    let (_dir, provider, force) = world();
    let b = Browser::new(&force, &provider);
    // Login CSRF: the attacker's code, delivered to a victim's browser
    // without the attacker's binding cookie.
    let (_binding, back) = b.start("/review");
    let r = b.callback(&back, "guardian_signin=the-victims-own");
    assert_eq!(r.status().as_u16(), 400);
    assert!(!header(&r, "set-cookie").contains("guardian_review="));

    // An ID token minted for another sign-in.
    let (binding, back) = b.start("/review");
    provider.knobs().wrong_nonce_once = true;
    let r = b.callback(&back, &binding);
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().expect("page").contains("nonce"));

    // An access token for another service.
    let (binding, back) = b.start("/review");
    provider.knobs().wrong_audience_once = true;
    assert_eq!(b.callback(&back, &binding).status().as_u16(), 401);

    // The provider's "no" (the officer cancelled), and a made-up state.
    let (binding, back) = b.start("/review");
    let state = back
        .split("state=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("state");
    let cancelled = format!("/review/callback?error=access_denied&state={state}");
    let r = b.callback(&cancelled, &binding);
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().expect("page").contains("access_denied"));
    assert_eq!(
        b.callback("/review/callback?code=x&state=made-up", &binding)
            .status()
            .as_u16(),
        400
    );

    // A constable signs in properly but may not read the review.
    provider.knobs().role = "officer".into();
    let (binding, back) = b.start("/review");
    let r = b.callback(&back, &binding);
    assert_eq!(r.status().as_u16(), 403);
    assert!(
        !header(&r, "set-cookie").contains("guardian_review="),
        "no session for a role without the review"
    );
}
