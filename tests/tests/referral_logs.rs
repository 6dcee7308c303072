//! No personal data in logs: every tracing event and span from every thread
//! (the handset core, its sync runtime and the in-process backend) is
//! captured during a referral's whole life and searched for the child's
//! details. This file is its own test binary so the global subscriber sees
//! nothing else.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use guardian_backend::{Caller, Role};
use guardian_core::referral::Authority;
use guardian_protocol::referral::ReferralStatus;
use guardian_tests::handset::{Force, Handset, Tokens, referral_form};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

struct Capture {
    text: Arc<Mutex<String>>,
    next: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = self.text.lock().unwrap_or_else(|p| p.into_inner());
        let _ = write!(text, "span {} ", span.metadata().name());
        span.record(&mut Fields(&mut text));
        text.push('\n');
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut text = self.text.lock().unwrap_or_else(|p| p.into_inner());
        values.record(&mut Fields(&mut text));
        text.push('\n');
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = self.text.lock().unwrap_or_else(|p| p.into_inner());
        let _ = write!(text, "{} {} ", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn a_referrals_whole_life_never_puts_the_childs_details_in_a_log() {
    let text = Arc::new(Mutex::new(String::new()));
    tracing::subscriber::set_global_default(Capture {
        text: Arc::clone(&text),
        next: AtomicU64::new(0),
    })
    .expect("the only subscriber in this binary");

    let dir = tempfile::tempdir().expect("tempdir");
    let force = Force::start(dir.path());
    let h = Handset::open(
        &dir.path().join("handset.db"),
        &force.url(),
        Tokens::new(force.token(3600), force.token(3600)),
    );
    h.provision();
    let secrets = [
        "Morwenna Tregothnan",
        "Tenby Road",
        "2008-03-02",
        "07700 900123",
        "Example Academy",
    ];
    // A draft, an invalid submit, a fix, a valid submit.
    let mut form = referral_form(secrets[0], 52.4779, -1.8987);
    form.narrative = "short".into();
    let d = h.guardian.save_referral_draft(None, &form).expect("draft");
    let err = h.guardian.submit_referral(&d).expect_err("too short");
    let mut shown = format!("{err} {err:?}");
    form.narrative = "Stopped near the Ramp with a knife; says older boys make him carry it for them.".into();
    h.guardian.save_referral_draft(Some(&d), &form).expect("fix it");
    let receipt = h.guardian.submit_referral(&d).expect("submit");
    // Delivered, acknowledged, purged, then followed up by the Navigators.
    h.guardian.sync_now().expect("sync");
    let admin = force.admin();
    admin
        .create_navigator("nav-1", "Navigator", Authority::Birmingham)
        .expect("navigator");
    admin
        .set_referral_status(
            &Caller::local("nav-1", Role::Navigator, "test"),
            &receipt.id,
            ReferralStatus::Contacted,
        )
        .expect("status");
    h.guardian.sync_now().expect("pull");
    shown.push_str(&format!("{:?}", h.guardian.referral_receipts().expect("receipts")));
    shown.push_str(&format!("{:?}", h.guardian.sync_status().expect("status")));

    let logs = text.lock().expect("lock").clone();
    assert!(
        logs.contains("referral"),
        "the capture saw the referral's life:\n{logs}"
    );
    for s in secrets {
        assert!(!logs.contains(s), "{s} appeared in the logs:\n{logs}");
        assert!(!shown.contains(s), "{s} appeared in an error or status: {shown}");
    }
}
