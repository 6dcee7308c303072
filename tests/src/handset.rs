//! A simulated handset (the real core, an encrypted store in a temp dir)
//! and a real backend on loopback, with realistic patrol tracks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use guardian_backend::{Backend, Role, ServerHandle, Stats};
use guardian_core::patrol::{Fix, Rank};
use guardian_core::store::DbKey;
use guardian_core::sync::{SyncConfig, TokenProvider};
use guardian_core::{FixedClock, Guardian};

/// Fri 14 July 2023 21:00 UTC (22:00 BST).
pub const T0: i64 = 1_689_368_400_000;
pub const OFFICER: &str = "wm-4471";
pub const OTHER_OFFICER: &str = "wm-5002";
/// Inside the test square, and ~110 m south of it.
pub const INSIDE: (f64, f64) = (52.4785, -1.89852);
pub const OUTSIDE: (f64, f64) = (52.4766, -1.89852);

/// A ~200 m square by New Street, with the Ramp's 22:00–00:00 window.
pub fn areas_geojson() -> String {
    let (lat, lon) = (52.4776, -1.9000);
    serde_json::json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"id": "ramp", "name": "Stephenson Street (The Ramp)", "lpa": "Birmingham",
                       "windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "22:00", "end": "00:00"}]},
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.00295, lat], [lon + 0.00295, lat + 0.0018], [lon, lat + 0.0018], [lon, lat]]]}}]})
    .to_string()
}

/// Fix number `i` of a patrol (one every 5 s), with a small wiggle.
pub fn fix(i: i64, (lat, lon): (f64, f64)) -> Fix {
    let w = ((i * 37) % 11) as f64 * 0.00001;
    Fix::new(
        T0 + i * 5_000,
        9_000_000_000_000 + i * 5_000_000_000,
        lat + w,
        lon - w,
        6.0,
    )
}

/// The force's side: a backend DB with the areas and an officer, served.
pub struct Force {
    pub db: PathBuf,
    pub server: Option<ServerHandle>,
}

impl Force {
    pub fn start(dir: &Path) -> Force {
        let (db, backend) = Force::prepare(dir);
        let server = guardian_backend::spawn(backend, loopback()).expect("serve");
        Force {
            db,
            server: Some(server),
        }
    }

    /// A backend that trusts only `issuer`'s tokens (no dev tokens), with a
    /// second officer, [`OTHER_OFFICER`], for the shared-handset rule.
    pub fn start_trusting(dir: &Path, issuer: &str) -> Force {
        let (db, mut backend) = Force::prepare(dir);
        backend
            .create_officer(OTHER_OFFICER, "PC Bo Second", Rank::Constable)
            .expect("officer");
        let config = guardian_backend::OidcConfig::new(vec![issuer.into()], vec![crate::provider::AUDIENCE.into()]);
        backend.trust_identity_provider(guardian_backend::Oidc::discover_blocking(config).expect("discover"));
        let server = guardian_backend::spawn(backend, loopback()).expect("serve");
        Force {
            db,
            server: Some(server),
        }
    }

    /// As [`Force::start_trusting`], and the review pages sign in with
    /// the provider's confidential web client.
    pub fn start_with_pages(dir: &Path, issuer: &str) -> Force {
        let (db, mut backend) = Force::prepare(dir);
        // The redirect URI is registered before the server listens, so its
        // port is chosen first.
        let addr = std::net::TcpListener::bind(loopback())
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let config = guardian_backend::OidcConfig::new(vec![issuer.into()], vec![crate::provider::AUDIENCE.into()]);
        let oidc = guardian_backend::Oidc::discover_blocking(config)
            .expect("discover")
            .with_web_client(guardian_backend::WebClientConfig {
                client_id: crate::provider::WEB_CLIENT_ID.into(),
                client_secret: crate::provider::WEB_CLIENT_SECRET.into(),
                public_url: format!("http://{addr}"),
            })
            .expect("web client");
        backend.trust_identity_provider(oidc);
        let server = guardian_backend::spawn(backend, addr).expect("serve");
        Force {
            db,
            server: Some(server),
        }
    }

    fn prepare(dir: &Path) -> (PathBuf, Backend) {
        let db = dir.join("backend.db");
        let backend = Backend::open(&db).expect("backend");
        backend.load_areas_geojson(&areas_geojson()).expect("areas");
        backend
            .create_officer(OFFICER, "PC Ada Test", Rank::Constable)
            .expect("officer");
        let wards = fixtures().join("boundaries");
        let boundaries = guardian_core::referral::authority::boundaries_from_ward_files(&wards).expect("ward files");
        backend.load_boundaries_geojson(&boundaries).expect("boundaries");
        (db, backend)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("running").addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// A second connection for the operator's view while the server runs.
    pub fn admin(&self) -> Backend {
        Backend::open(&self.db).expect("admin backend")
    }

    pub fn stats(&self) -> Stats {
        self.admin().stats().expect("stats")
    }

    pub fn token(&self, ttl_s: i64) -> String {
        self.admin().issue_token(OFFICER, Role::Officer, ttl_s).expect("token")
    }

    pub fn kill(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().expect("shutdown");
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        let backend = Backend::open(&self.db).expect("reopen backend");
        self.server = Some(guardian_backend::spawn(backend, loopback()).expect("serve"));
    }
}

/// The shared fixtures: `$GUARDIAN_FIXTURES` or `../shared/fixtures`.
pub fn fixtures() -> PathBuf {
    std::env::var_os("GUARDIAN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

/// A complete referral made at a place: a 15-year-old carrying a knife.
pub fn referral_form(name: &str, lat: f64, lon: f64) -> guardian_core::referral::ReferralForm {
    use guardian_core::referral::{Consent, Reason, ReferralForm, Subject, Urgency};
    ReferralForm {
        subject: Subject {
            name: name.to_string(),
            date_of_birth: Some("2008-03-02".into()),
            estimated_age: None,
            address: Some("12 Tenby Road, Birmingham".into()),
            school: Some("Example Academy".into()),
            carer_contact: Some("Mother, 07700 900123".into()),
        },
        reasons: vec![Reason::KnifeCarrying, Reason::CriminalExploitation],
        narrative: "Stopped near the Ramp carrying a kitchen knife; says older boys make him hold it.".into(),
        consent: Some(Consent::Given),
        safeguarding_concern: false,
        urgency: Some(Urgency::Priority),
        location: Some(Fix::new(T0, 9_000_000_000, lat, lon, 6.0)),
        authority_choice: None,
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The shell's token provider: hands out `token`; `refresh` hands out
/// `fresh` (and counts calls).
pub struct Tokens {
    pub token: Mutex<String>,
    pub fresh: Mutex<String>,
    pub refreshes: Mutex<usize>,
}

impl Tokens {
    pub fn new(token: String, fresh: String) -> Arc<Tokens> {
        Arc::new(Tokens {
            token: Mutex::new(token),
            fresh: Mutex::new(fresh),
            refreshes: Mutex::new(0),
        })
    }
}

impl TokenProvider for Tokens {
    fn token(&self) -> Result<String, String> {
        Ok(self.token.lock().map_err(|_| "poisoned")?.clone())
    }

    fn refresh(&self) -> Result<String, String> {
        *self.refreshes.lock().map_err(|_| "poisoned")? += 1;
        let fresh = self.fresh.lock().map_err(|_| "poisoned")?.clone();
        *self.token.lock().map_err(|_| "poisoned")? = fresh.clone();
        Ok(fresh)
    }
}

pub struct Handset {
    pub path: PathBuf,
    pub clock: Arc<FixedClock>,
    pub guardian: Guardian,
}

pub fn key() -> DbKey {
    DbKey::from_bytes([7; 32]).expect("key")
}

impl Handset {
    /// Opens (or reopens) the handset's store and starts sync against `url`.
    pub fn open(path: &Path, url: &str, tokens: Arc<Tokens>) -> Handset {
        let clock = Arc::new(FixedClock::new(T0));
        let guardian = Guardian::open(guardian_core::Config::new(path), key(), clock.clone()).expect("open handset");
        let mut config = SyncConfig::new(url);
        config.request_timeout = Duration::from_millis(1_500);
        guardian.start_sync(&config, tokens).expect("start sync");
        Handset {
            path: path.to_path_buf(),
            clock,
            guardian,
        }
    }

    /// A handset on `force` with a fresh login, provisioned at the station.
    pub fn provisioned(path: &Path, force: &Force) -> Handset {
        let h = Handset::open(path, &force.url(), Tokens::new(force.token(3600), force.token(3600)));
        h.provision();
        h
    }

    /// A full patrol, made with no signal: check in, `n` fixes inside, check out.
    pub fn patrol_offline(&self, first: i64, n: i64) -> String {
        let g = &self.guardian;
        self.clock.set(fix(first, INSIDE).time_ms);
        let id = g.check_in("ramp", &fix(first, INSIDE)).expect("check in");
        let track: Vec<Fix> = (first + 1..first + n).map(|i| fix(i, INSIDE)).collect();
        for chunk in track.chunks(250) {
            g.ingest_batch(chunk).expect("track");
        }
        self.clock.set(fix(first + n, INSIDE).time_ms);
        g.check_out(&fix(first + n, INSIDE)).expect("check out");
        id
    }

    /// The first sync at the station: brings the officer profile, areas and
    /// assignments. Retries through whatever the network does.
    pub fn provision(&self) {
        for _ in 0..100 {
            if self.guardian.sync_now().is_ok() && self.guardian.officer().ok().flatten().is_some() {
                return;
            }
        }
        panic!("could not provision: {:?}", self.guardian.sync_status());
    }

    /// Syncs until nothing is pending, up to `attempts` passes; returns the
    /// number of passes that failed on the way.
    pub fn sync_until_drained(&self, attempts: usize) -> usize {
        let mut failures = 0;
        for _ in 0..attempts {
            match self.guardian.sync_now() {
                Ok(_) if self.pending() == 0 => return failures,
                Ok(_) => {}
                Err(_) => failures += 1,
            }
        }
        panic!(
            "outbox not drained after {attempts} passes: {:?}",
            self.guardian.sync_status()
        );
    }

    pub fn pending(&self) -> usize {
        self.guardian.sync_status().expect("status").pending
    }
}
