//! The handset signs in with the force's provider (authorization code with
//! PKCE, RFC 8252) and stays signed in: the core builds the URL, checks the
//! redirect, exchanges the code, keeps the refresh token in its encrypted
//! store, renews before expiry and once after a 401, and spends each
//! rotated refresh token once. A lapsed sign-in keeps the outbox, the same
//! officer drains it, another is refused. Against a real backend verifying
//! the provider's RS256 tokens, over real HTTP on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use guardian_core::events::{Event, EventListener};
use guardian_core::sync::{SignInConfig, SyncConfig, SyncError};
use guardian_core::{Clock, Error, FixedClock, Guardian};
use guardian_tests::handset::{self, Force, OFFICER, OTHER_OFFICER, T0};
use guardian_tests::provider::{CLIENT_ID, Provider, REDIRECT_URI};

#[derive(Default)]
struct Heard(Mutex<Vec<Event>>);

impl EventListener for Heard {
    fn on_event(&self, event: Event) {
        self.0.lock().expect("events").push(event);
    }
}

impl Heard {
    fn auth_required(&self) -> usize {
        let events = self.0.lock().expect("events");
        events
            .iter()
            .filter(|e| matches!(e, Event::AuthRequired { .. }))
            .count()
    }
}

struct Phone {
    guardian: Guardian,
    clock: Arc<FixedClock>,
    heard: Arc<Heard>,
    h: handset::Handset,
}

fn phone(dir: &std::path::Path, force: &Force, provider: &Provider) -> Phone {
    let clock = Arc::new(FixedClock::new(T0));
    let path = dir.join("handset.db");
    let guardian =
        Guardian::open(guardian_core::Config::new(&path), handset::key(), clock.clone()).expect("open handset");
    let heard = Arc::new(Heard::default());
    guardian.set_listener(Some(heard.clone()));
    guardian
        .configure_sign_in(&SignInConfig::new(&provider.issuer, CLIENT_ID, REDIRECT_URI))
        .expect("configure");
    let mut config = SyncConfig::new(force.url());
    config.request_timeout = Duration::from_millis(3_000);
    guardian.start_sync_signed_in(&config).expect("start sync");
    let h = handset::Handset {
        path,
        clock: clock.clone(),
        guardian: guardian.clone(),
    };
    Phone {
        guardian,
        clock,
        heard,
        h,
    }
}

/// A provider, a backend that trusts only it, and a handset configured
/// for it (signed in to nothing yet).
struct World {
    provider: Provider,
    force: Force,
    p: Phone,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = Provider::start();
    let force = Force::start_trusting(dir.path(), &provider.issuer);
    let p = phone(dir.path(), &force, &provider);
    World {
        provider,
        force,
        p,
        _dir: dir,
    }
}

impl Phone {
    fn sign_in(&self, provider: &Provider) -> Result<String, Error> {
        let url = self.guardian.begin_sign_in()?;
        self.guardian.complete_sign_in(&provider.browse(&url))
    }
}

#[test]
fn an_officer_signs_in_once_and_stays_signed_in_through_expiry_rotation_and_a_refused_token() {
    let World {
        provider,
        force,
        p,
        _dir,
    } = world();

    // Nothing works before the sign-in, and the shell hears why.
    assert!(matches!(p.guardian.sync_now(), Err(Error::Sync(SyncError::Auth(_)))));
    assert_eq!(p.heard.auth_required(), 1);

    assert_eq!(p.sign_in(&provider).expect("sign in"), OFFICER);
    p.h.provision();
    assert_eq!(
        p.guardian.officer().expect("officer").map(|o| o.officer_id),
        Some(OFFICER.into())
    );
    assert_eq!(provider.refreshes(), 0, "a fresh access token needs no refresh");

    // Near its expiry the core renews before sending, spending the rotated
    // refresh token each time (the provider revokes everything on a reuse).
    p.h.patrol_offline(0, 300);
    for round in 0..3 {
        p.clock.set(p.clock.now_ms() + 250_000);
        p.h.patrol_offline(400 * (round + 1), 50);
        p.h.sync_until_drained(3);
    }
    assert_eq!(provider.refreshes(), 3);

    // A token the backend refuses is renewed once and the record resent.
    provider.knobs().wrong_audience_once = true;
    p.clock.set(p.clock.now_ms() + 250_000);
    p.h.patrol_offline(2_000, 50);
    p.h.sync_until_drained(2);
    assert_eq!(
        provider.refreshes(),
        5,
        "one before expiry (refused by the backend), one after the 401"
    );
    assert_eq!(force.stats().patrols, 5);
    assert_eq!(p.heard.auth_required(), 1, "never asked again");
}

#[test]
fn a_lapsed_sign_in_keeps_the_outbox_for_the_same_officer_and_refuses_another() {
    let World {
        provider,
        force,
        p,
        _dir,
    } = world();
    p.sign_in(&provider).expect("sign in");
    p.h.provision();

    // The force revokes the sign-in while the officer patrols offline.
    provider.revoke_all();
    p.h.patrol_offline(0, 200);
    let pending = p.h.pending();
    assert!(pending > 0);
    assert!(matches!(p.guardian.sync_now(), Err(Error::Sync(SyncError::Auth(_)))));
    assert_eq!(p.heard.auth_required(), 1);
    assert_eq!(p.h.pending(), pending, "nothing the officer did is lost");

    // Another officer picks the handset up: refused, nothing changes.
    provider.knobs().user = OTHER_OFFICER.into();
    let e = p.sign_in(&provider).expect_err("another officer");
    assert!(
        matches!(e, Error::Sync(SyncError::OtherOfficer { count }) if count == pending),
        "{e}"
    );
    assert_eq!(p.h.pending(), pending);

    // The same officer signs in again and it all goes.
    provider.knobs().user = OFFICER.into();
    assert_eq!(p.sign_in(&provider).expect("sign in again"), OFFICER);
    p.h.sync_until_drained(3);
    assert_eq!(force.stats().patrols, 1);

    // Now the other officer may sign in; the first one's data goes.
    provider.knobs().user = OTHER_OFFICER.into();
    assert_eq!(p.sign_in(&provider).expect("second officer"), OTHER_OFFICER);
    assert_eq!(p.guardian.officer().expect("officer"), None);
    p.h.provision();
    assert_eq!(
        p.guardian.officer().expect("officer").map(|o| o.officer_id),
        Some(OTHER_OFFICER.into())
    );
}

#[test]
fn a_forged_or_replayed_redirect_and_a_forged_id_token_sign_nobody_in() {
    let World {
        provider,
        force: _force,
        p,
        _dir,
    } = world();
    let auth = |r: Result<String, Error>| matches!(r, Err(Error::Sync(SyncError::Auth(_))));

    // No attempt under way: a redirect out of nowhere.
    assert!(auth(
        p.guardian.complete_sign_in(&format!("{REDIRECT_URI}?code=x&state=y"))
    ));

    // A redirect for another attempt (an attacker's own code) is refused,
    // and spends the attempt: the genuine one after it is refused too.
    let url = p.guardian.begin_sign_in().expect("begin");
    let genuine = provider.browse(&url);
    let theirs = genuine.replace("state=", "state=x");
    assert!(auth(p.guardian.complete_sign_in(&theirs)));
    assert!(auth(p.guardian.complete_sign_in(&genuine)));

    // A redirect answered twice: the second is refused.
    let url = p.guardian.begin_sign_in().expect("begin");
    let redirect = provider.browse(&url);
    p.guardian.complete_sign_in(&redirect).expect("sign in");
    assert!(auth(p.guardian.complete_sign_in(&redirect)));

    // An ID token for another sign-in (its nonce) signs nobody in, and the
    // officer already signed in stays so.
    provider.knobs().wrong_nonce_once = true;
    assert!(auth(p.sign_in(&provider)));
    p.h.provision();

    // The refresh token is kept only inside the encrypted store.
    let db = std::fs::read(&p.h.path).expect("db");
    assert!(
        !db.windows(3).any(|w| w == b"rt-"),
        "the refresh token is encrypted at rest"
    );
}
