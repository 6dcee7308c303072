//! The force's sign-in, owned by the core (RFC 8252): the shell only shows
//! the URL [`ForceLogin::begin`] gives in the system browser and hands back
//! the redirect. The core reads the provider's discovery document, makes
//! the PKCE verifier, state and nonce, checks the redirect and the ID
//! token, exchanges the code, keeps the refresh token in the encrypted
//! store and the access token in memory, and renews it shortly before it
//! expires and once after the backend refuses it.
//!
//! - [`flow`]: the pure checks (URL, redirect, ID token).
//! - [`provider`]: the provider over HTTP.
//! - [`db`]: the `login` table.
//!
//! Who may sign in on a handset holding another officer's records is the
//! façade's to decide, before [`ForceLogin::accept`] keeps the grant.

pub mod db;
pub mod flow;
pub mod provider;

use std::sync::{Mutex, Weak};

use self::flow::{Attempt, Identity};
use self::provider::{Discovery, Provider, TokenError, Tokens};
use super::{Host, SyncError};
use crate::events::Event;

/// Renew this long before the access token expires, so a request in
/// flight does not meet its expiry.
const RENEW_AHEAD_MS: i64 = 60_000;
/// An access token whose reply gave no lifetime is trusted this long.
const DEFAULT_LIFETIME_S: i64 = 300;
/// An attempt older than this is not answered: the officer starts again.
const ATTEMPT_TTL_MS: i64 = 10 * 60_000;

/// The force's provider and this app's registration with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInConfig {
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated, besides `openid`: `offline_access` for a refresh
    /// token from Entra, and the API's scope.
    pub scopes: String,
    /// The ID token claim that holds the officer's id (the backend reads
    /// the same claim from the access token).
    pub id_claim: String,
}

impl SignInConfig {
    pub fn new(issuer: &str, client_id: &str, redirect_uri: &str) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scopes: "offline_access".into(),
            id_claim: "oid".into(),
        }
    }
}

struct Access {
    token: String,
    expires_ms: i64,
}

/// A code exchanged for tokens and checked, not yet kept.
pub struct Grant {
    pub identity: Identity,
    tokens: Tokens,
}

pub struct ForceLogin {
    client: flow::Client,
    id_claim: String,
    provider: Provider,
    host: Weak<dyn Host>,
    discovery: tokio::sync::Mutex<Option<Discovery>>,
    attempt: Mutex<Option<(Attempt, i64)>>,
    access: Mutex<Option<Access>>,
    /// Held across a renewal, so two requests never spend one refresh
    /// token twice (a provider that detects reuse revokes them all).
    renewing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ForceLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForceLogin")
            .field("issuer", &self.provider.issuer())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn storage(e: crate::store::StoreError) -> SyncError {
    SyncError::Auth(format!("cannot read the sign-in from storage: {e}"))
}

impl ForceLogin {
    pub fn new(config: &SignInConfig, host: Weak<dyn Host>) -> Result<Self, SyncError> {
        provider::checked_url(&config.redirect_uri, "the app's redirect URI").or_else(|e| {
            // A private-use scheme (`uk.police.guardian:/…`) is the other
            // kind RFC 8252 allows; it only has to parse.
            match reqwest::Url::parse(&config.redirect_uri) {
                Ok(u) if u.scheme().contains('.') => Ok(u),
                _ => Err(e),
            }
        })?;
        if config.client_id.is_empty() || config.id_claim.is_empty() {
            return Err(SyncError::Config(
                "the sign-in needs a client id and an id claim".into(),
            ));
        }
        Ok(Self {
            client: flow::Client {
                client_id: config.client_id.clone(),
                redirect_uri: config.redirect_uri.clone(),
                scopes: config.scopes.clone(),
            },
            id_claim: config.id_claim.clone(),
            provider: Provider::new(&config.issuer)?,
            host,
            discovery: tokio::sync::Mutex::new(None),
            attempt: Mutex::new(None),
            access: Mutex::new(None),
            renewing: tokio::sync::Mutex::new(()),
        })
    }

    fn host(&self) -> Result<std::sync::Arc<dyn Host>, SyncError> {
        self.host.upgrade().ok_or(SyncError::NotStarted)
    }

    /// Discovery, read once per process (and again after a failure).
    async fn endpoints(&self) -> Result<Discovery, SyncError> {
        let mut slot = self.discovery.lock().await;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let d = self.provider.discover().await?;
        *slot = Some(d.clone());
        Ok(d)
    }

    /// The URL to open in the system browser. A new attempt replaces any
    /// earlier one: only the latest redirect is answered.
    pub async fn begin(&self) -> Result<String, SyncError> {
        let d = self.endpoints().await?;
        let attempt = Attempt::new()?;
        let url = self.client.authorization_url(&d.authorization_endpoint, &attempt)?;
        *lock(&self.attempt) = Some((attempt, self.host()?.now_ms()));
        Ok(url)
    }

    /// Checks the browser's redirect against the current attempt, spends
    /// the attempt (a redirect is answered once), exchanges the code and
    /// checks the ID token. Nothing is kept yet.
    pub async fn exchange(&self, redirect: &str) -> Result<Grant, SyncError> {
        let now = self.host()?.now_ms();
        let attempt = match lock(&self.attempt).take() {
            Some((a, started)) if now - started <= ATTEMPT_TTL_MS => a,
            Some(_) => return Err(SyncError::Auth("the sign-in took too long: start it again".into())),
            None => return Err(SyncError::Auth("no sign-in is in progress: start it again".into())),
        };
        let code = self.client.read_redirect(redirect, &attempt, self.provider.issuer())?;
        let d = self.endpoints().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.client.redirect_uri.as_str()),
            ("client_id", self.client.client_id.as_str()),
            ("code_verifier", attempt.verifier.as_str()),
        ];
        let tokens = match self.provider.token(&d.token_endpoint, &form).await {
            Ok(t) => t,
            Err(TokenError::Refused(why)) => {
                return Err(SyncError::Auth(format!("the force's sign-in refused: {why}")));
            }
            Err(TokenError::Other(e)) => return Err(e),
        };
        let id_token = tokens
            .id_token
            .as_deref()
            .ok_or_else(|| SyncError::BadReply("the provider sent no ID token".into()))?;
        let identity = flow::check_id_token(
            id_token,
            self.provider.issuer(),
            &self.client.client_id,
            &attempt.nonce,
            now.div_euclid(1000),
            &self.id_claim,
        )?;
        Ok(Grant { identity, tokens })
    }

    /// Keeps a grant the façade accepted: the refresh token in this
    /// transaction; the access token in memory once [`Self::hold`] runs
    /// after the commit.
    pub fn accept(
        &self,
        tx: &rusqlite::Transaction<'_>,
        grant: &Grant,
        now_ms: i64,
    ) -> Result<(), crate::store::StoreError> {
        db::save(
            tx,
            &grant.identity.officer_id,
            grant.tokens.refresh_token.as_deref(),
            now_ms,
        )
    }

    pub fn hold(&self, grant: Grant, now_ms: i64) {
        *lock(&self.access) = Some(access(&grant.tokens, now_ms));
    }

    /// Sign-out and wipe: the access token goes (the table is purged with
    /// the rest).
    pub fn forget(&self) {
        lock(&self.access).take();
        lock(&self.attempt).take();
    }

    fn held(&self, usable: impl Fn(&Access) -> bool) -> Option<String> {
        lock(&self.access)
            .as_ref()
            .filter(|a| usable(a))
            .map(|a| a.token.clone())
    }

    /// A bearer token for the backend: the one held while it has more than
    /// a minute left, else a renewed one. Without signal the held one is
    /// used to its end.
    pub async fn token(&self) -> Result<String, SyncError> {
        let host = self.host()?;
        let now = host.now_ms();
        let _one = self.renewing.lock().await;
        if let Some(t) = self.held(|a| a.expires_ms - now > RENEW_AHEAD_MS) {
            return Ok(t);
        }
        match self.renew(host.as_ref()).await {
            Err(e @ (SyncError::Network(_) | SyncError::Server(_))) => self.held(|a| a.expires_ms > now).ok_or(e),
            other => other,
        }
    }

    /// The backend refused the held token: renew it whatever its expiry.
    pub async fn refresh(&self) -> Result<String, SyncError> {
        let host = self.host()?;
        let _one = self.renewing.lock().await;
        lock(&self.access).take();
        self.renew(host.as_ref()).await
    }

    async fn renew(&self, host: &dyn Host) -> Result<String, SyncError> {
        let login = host.store().read(db::load).map_err(storage)?;
        let Some(used) = login.and_then(|l| l.refresh_token) else {
            return Err(self.lapsed(host, "sign in with the force"));
        };
        let d = self.endpoints().await?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", used.as_str()),
            ("client_id", self.client.client_id.as_str()),
        ];
        match self.provider.token(&d.token_endpoint, &form).await {
            Ok(tokens) => {
                if let Some(next) = tokens.refresh_token.as_deref()
                    && next != used
                    && !host.store().write(|tx| db::rotate(tx, &used, next)).map_err(storage)?
                {
                    // Signed out (or in again) while this was in flight.
                    return Err(SyncError::Auth("the sign-in changed while it was renewed".into()));
                }
                let a = access(&tokens, host.now_ms());
                let token = a.token.clone();
                *lock(&self.access) = Some(a);
                Ok(token)
            }
            Err(TokenError::Refused(why)) => {
                host.store().write(|tx| db::drop_token(tx, &used)).map_err(storage)?;
                Err(self.lapsed(host, &format!("the force's sign-in has lapsed ({why}): sign in again")))
            }
            Err(TokenError::Other(e)) => Err(e),
        }
    }

    /// Tells the shell to show the sign-in; the outbox waits.
    fn lapsed(&self, host: &dyn Host, reason: &str) -> SyncError {
        host.emit(vec![Event::AuthRequired { reason: reason.into() }]);
        SyncError::Auth(reason.into())
    }
}

fn access(tokens: &Tokens, now_ms: i64) -> Access {
    let lifetime_s = tokens.expires_in.filter(|s| *s > 0).unwrap_or(DEFAULT_LIFETIME_S);
    Access {
        token: tokens.access_token.clone(),
        expires_ms: now_ms.saturating_add(lifetime_s.saturating_mul(1000)),
    }
}
