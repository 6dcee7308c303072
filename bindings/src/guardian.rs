//! [`Guardian`]: the one object the shell holds. Each method converts its
//! arguments, calls the core and converts the answer; nothing is decided
//! here.
//!
//! Plain methods run on the caller's thread (call them off the UI thread:
//! each touches SQLite, in a few milliseconds). `async` methods — the ones
//! that can take longer: check-in/out, batches, sync, sign-out — hand their
//! work to the core's own runtime (its blocking pool) and await it from the
//! shell's executor: the app has one Rust runtime, the core's, instead of a
//! second one that UniFFI's `tokio` support would start for these calls.

use std::sync::Arc;
use std::time::Duration;

use guardian_core::store::DbKey;
use guardian_core::sync::SyncConfig;
use guardian_core::{Config, SystemClock};

use crate::error::{Internal, PatrolError, StoreError, SyncError, join_failed};
use crate::foreign::{EventListener, Listener, TokenProvider, Tokens};
use crate::types::{
    AreaInfo, Assignment, BatchOutcome, ComplianceSummary, Fix, FixOutcome, Officer, PassReport, PatrolReport,
    PatrolStatus, SamplingPlan, SyncStatus,
};

/// How the handset reaches its store and the force.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GuardianConfig {
    /// The encrypted database file (created if absent), in app-private storage.
    pub db_path: String,
    /// The force backend, e.g. "https://guardian.example.police.uk".
    pub backend_url: String,
    /// A PEM CA certificate to trust instead of the public roots.
    #[uniffi(default = None)]
    pub pinned_ca_pem: Option<String>,
    /// How long one request may take before it counts as lost (default 20 s).
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u32>,
}

/// The force's OpenID Connect provider and this app's registration there.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignInConfig {
    /// Exactly as the provider's tokens name it, e.g.
    /// "https://login.microsoftonline.com/<tenant>/v2.0".
    pub issuer: String,
    pub client_id: String,
    /// The app's claimed https App Link / universal link, or its
    /// reverse-DNS scheme ("uk.police.guardian:/oauth2redirect").
    pub redirect_uri: String,
    /// Scopes besides `openid` (default "offline_access"; Entra also needs
    /// the API's, "api://<app>/.default").
    #[uniffi(default = None)]
    pub scopes: Option<String>,
    /// The ID token claim holding the officer's id (default "oid").
    #[uniffi(default = None)]
    pub officer_claim: Option<String>,
}

impl From<&SignInConfig> for guardian_core::sync::SignInConfig {
    fn from(c: &SignInConfig) -> Self {
        let mut core = Self::new(&c.issuer, &c.client_id, &c.redirect_uri);
        if let Some(s) = &c.scopes {
            core.scopes.clone_from(s);
        }
        if let Some(claim) = &c.officer_claim {
            core.id_claim.clone_from(claim);
        }
        core
    }
}

#[derive(uniffi::Object)]
pub struct Guardian {
    inner: Arc<guardian_core::Guardian>,
    config: GuardianConfig,
}

impl std::fmt::Debug for Guardian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guardian").finish_non_exhaustive()
    }
}

impl Guardian {
    pub(crate) fn core(&self) -> &guardian_core::Guardian {
        &self.inner
    }

    /// Runs `f` on the core's blocking pool and awaits it. A panic in `f`
    /// is carried on, so UniFFI reports it as it reports any panic.
    pub(crate) async fn blocking<T, E>(
        &self,
        f: impl FnOnce(&guardian_core::Guardian) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static + From<Internal>,
    {
        match self.inner.run_blocking(f) {
            Ok(task) => task.await.unwrap_or_else(|e| Err(join_failed(e))),
            Err(e) => Err(E::from(Internal(e.to_string()))),
        }
    }
}

#[uniffi::export]
impl Guardian {
    /// Opens (creating if absent) the encrypted store with the 32-byte key
    /// from the platform keystore. A wrong key fails with
    /// `StoreError.WrongKey` and leaves the file untouched. Sync is not
    /// started: call [`Guardian::start_sync`].
    #[uniffi::constructor]
    pub fn open(config: GuardianConfig, key: Vec<u8>) -> Result<Arc<Self>, StoreError> {
        let key = DbKey::from_slice(&key).map_err(guardian_core::store::StoreError::from)?;
        let inner = guardian_core::Guardian::open(Config::new(&config.db_path), key, Arc::new(SystemClock))?;
        Ok(Arc::new(Self {
            inner: Arc::new(inner),
            config,
        }))
    }

    // ---- events ----

    /// The listener for arrivals, departures, minutes reached, sync progress
    /// and wipes; `None` removes it. Replaces any earlier one.
    pub fn set_event_listener(&self, listener: Option<Box<dyn EventListener>>) {
        self.inner
            .set_listener(listener.map(|l| Arc::new(Listener(l)) as Arc<dyn guardian_core::events::EventListener>));
    }

    // ---- areas, officer, assignments ----

    /// Every area on the handset, with its outline for a map.
    pub fn areas(&self) -> Vec<AreaInfo> {
        self.inner.areas().into_iter().map(Into::into).collect()
    }

    pub fn area(&self, area_id: String) -> Option<AreaInfo> {
        self.inner.area_info(&area_id).map(Into::into)
    }

    /// Adds or updates areas from a GeoJSON FeatureCollection, all or
    /// nothing. The force's areas normally arrive by sync; this is for
    /// training and demo builds.
    pub fn import_areas_geojson(&self, geojson: String) -> Result<u32, PatrolError> {
        let n = self.inner.import_areas_geojson(&geojson)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The officer signed in on this handset, once sync has pulled it.
    pub fn officer(&self) -> Result<Option<Officer>, PatrolError> {
        Ok(self.inner.officer()?)
    }

    /// Sets the officer directly (training and demo builds; the force's
    /// login normally sets it through sync).
    pub fn set_officer(&self, officer: Officer) -> Result<(), PatrolError> {
        Ok(self.inner.set_officer(&officer)?)
    }

    /// The officer's assignments that touch today (London time).
    pub fn todays_assignments(&self) -> Result<Vec<Assignment>, PatrolError> {
        Ok(self.inner.todays_assignments()?)
    }

    // ---- the track and the patrol ----

    /// Records one OS fix (committed before this returns).
    pub fn ingest_fix(&self, fix: Fix) -> Result<FixOutcome, PatrolError> {
        Ok(self.inner.ingest_fix(&fix)?.into())
    }

    /// Records a batch in one commit. Impossible fixes are reported by
    /// position and skipped; the rest are stored.
    pub async fn ingest_fixes(&self, fixes: Vec<Fix>) -> Result<BatchOutcome, PatrolError> {
        self.blocking(move |g| Ok(g.ingest_batch(&fixes)?.into())).await
    }

    /// Checks in to `area_id` at `fix`. Returns the patrol id.
    pub async fn check_in(&self, area_id: String, fix: Fix) -> Result<String, PatrolError> {
        self.blocking(move |g| Ok(g.check_in(&area_id, &fix)?)).await
    }

    /// Checks out of the open patrol at `fix` and returns its report.
    pub async fn check_out(&self, fix: Fix) -> Result<PatrolReport, PatrolError> {
        self.blocking(move |g| Ok(g.check_out(&fix)?.into())).await
    }

    /// The open patrol with its figures so far, or `None`.
    pub fn patrol_status(&self) -> Result<Option<PatrolStatus>, PatrolError> {
        Ok(self.inner.patrol_status()?.map(Into::into))
    }

    pub fn patrol_report(&self, patrol_id: String) -> Result<PatrolReport, PatrolError> {
        Ok(self.inner.patrol_report(&patrol_id)?.into())
    }

    /// The board's figures over every finished patrol on this handset.
    pub fn compliance_summary(&self) -> Result<ComplianceSummary, PatrolError> {
        Ok(self.inner.compliance_summary()?.into())
    }

    /// What to ask the OS for now: interval, precision, distance filter.
    /// Ask again on `PlanChanged`, and when a fix the plan asked for has
    /// not come by `interval_ms` plus a grace (the answer turns dense).
    pub fn sampling_plan(&self) -> SamplingPlan {
        self.inner.sampling_plan()
    }

    /// Ids of the areas the officer is inside now, for a map.
    pub fn areas_inside(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.inner.presence().into_keys().collect();
        ids.sort();
        ids
    }

    // ---- sync ----

    /// Starts the sync engine against the configured backend. It stays idle
    /// until [`Guardian::set_online`] or [`Guardian::sync_now`]. `None`:
    /// the core's own sign-in (`GuardianConfig.sign_in`) supplies tokens;
    /// a provider is for dev tokens (the demo backend).
    pub fn start_sync(&self, tokens: Option<Box<dyn TokenProvider>>) -> Result<(), SyncError> {
        let mut config = SyncConfig::new(&self.config.backend_url);
        config.pinned_ca_pem = self.config.pinned_ca_pem.as_ref().map(|p| p.as_bytes().to_vec());
        if let Some(ms) = self.config.request_timeout_ms {
            config.request_timeout = Duration::from_millis(u64::from(ms));
        }
        match tokens {
            Some(t) => self.inner.start_sync(&config, Arc::new(Tokens(t)))?,
            None => self.inner.start_sync_signed_in(&config)?,
        }
        Ok(())
    }

    /// Names the force's provider (read nothing yet). Call once after
    /// [`Guardian::open`], before `start_sync(None)`.
    /// `SyncError.Config`: not https (plain http only to loopback), or no
    /// client id.
    pub fn configure_sign_in(&self, config: SignInConfig) -> Result<(), SyncError> {
        Ok(self.inner.configure_sign_in(&(&config).into())?)
    }

    /// The force's sign-in page, to open in the system browser (Custom
    /// Tabs, `ASWebAuthenticationSession`), never a WebView.
    pub async fn begin_sign_in(&self) -> Result<String, SyncError> {
        self.blocking(|g| Ok(g.begin_sign_in()?)).await
    }

    /// The browser's redirect back to the app, whole. Returns the officer's
    /// id. `SyncError.Auth`: refused or not this sign-in (start again);
    /// `SyncError.Unsynced`: another officer's records wait on the handset.
    pub async fn complete_sign_in(&self, redirect_url: String) -> Result<String, SyncError> {
        self.blocking(move |g| Ok(g.complete_sign_in(&redirect_url)?)).await
    }

    pub fn stop_sync(&self) {
        self.inner.stop_sync();
    }

    /// The shell reports connectivity; going online starts a pass.
    pub fn set_online(&self, online: bool) -> Result<(), SyncError> {
        Ok(self.inner.set_online(online)?)
    }

    /// Uploads everything pending and pulls the force's changes, now.
    pub async fn sync_now(&self) -> Result<PassReport, SyncError> {
        self.blocking(|g| Ok(g.sync_now()?.into())).await
    }

    pub fn sync_status(&self) -> Result<SyncStatus, SyncError> {
        Ok(self.inner.sync_status()?.into())
    }

    /// Signs the officer out of a shared handset and purges their data.
    /// Refused (`SyncError.Unsynced`, `SyncError.PatrolOpen`) while anything
    /// of theirs has not reached the force, unless `force`; returns how many
    /// unsynced records a forced sign-out discarded.
    pub async fn sign_out(&self, force: bool) -> Result<u32, SyncError> {
        self.blocking(move |g| Ok(u32::try_from(g.sign_out(force)?).unwrap_or(u32::MAX)))
            .await
    }

    /// Test hook: panics with `message` on the core's blocking pool, the
    /// way a bug in a long call would. Harmless to ship: the panic reaches
    /// the caller as `InternalException` / `InternalError`, which is what
    /// the foreign tests check.
    pub async fn debug_panic_async(&self, message: String) -> Result<(), PatrolError> {
        self.blocking(move |_| -> Result<(), PatrolError> { panic!("debug_panic_async: {message}") })
            .await
    }

    // Referral calls are in `referral.rs`, library calls in `library.rs`:
    // more `#[uniffi::export] impl Guardian` blocks.
}
