//! Sync calls, and what the sync engine asks of the core ([`Host`]): the
//! force's changes applied, its wipe carried out, an ack's owner told.
//! Sign-out lives here too: it is about what has not reached the force.

use std::sync::Arc;

use super::{Guardian, GuardianCore, lock, replace};
use crate::error::Result;
use crate::events::Event;
use crate::patrol::geofence::AreaIndex;
use crate::patrol::{Live, db};
use crate::referral::{self, Boundaries};
use crate::store::{Purge, Store, StoreError, audit, outbox};
use crate::sync::signin::{self, ForceLogin, SignInConfig};
use crate::sync::{
    AckHooks, Host, Login, PassReport, PullPlan, SyncConfig, SyncEngine, SyncError, SyncStatus, TokenProvider, state,
};

impl Guardian {
    /// Starts the sync engine on the core's runtime. It stays idle until
    /// the shell says the phone is online or asks for a sync.
    /// With a shell's tokens (the demo's and the tests' dev tokens).
    pub fn start_sync(&self, config: &SyncConfig, auth: Arc<dyn TokenProvider>) -> Result<()> {
        self.start_engine(config, Login::Shell(auth))
    }

    /// With the core's own sign-in ([`Guardian::configure_sign_in`]).
    pub fn start_sync_signed_in(&self, config: &SyncConfig) -> Result<()> {
        let login = self.force_login()?;
        self.start_engine(config, Login::Force(login))
    }

    fn start_engine(&self, config: &SyncConfig, login: Login) -> Result<()> {
        let device_id = self.store.write(state::device_id)?;
        let engine = SyncEngine::start(self.runtime()?, Arc::downgrade(&self.0), config, &device_id, login)?;
        *lock(&self.0.sync) = Some(Arc::new(engine));
        Ok(())
    }

    /// Names the force's provider and this app's registration with it.
    /// Reads nothing from the network yet.
    pub fn configure_sign_in(&self, config: &SignInConfig) -> Result<()> {
        let host: std::sync::Weak<dyn Host> = Arc::downgrade(&self.0) as std::sync::Weak<dyn Host>;
        let login = ForceLogin::new(config, host)?;
        *lock(&self.0.login) = Some(Arc::new(login));
        Ok(())
    }

    /// The URL for the system browser (the provider's discovery document is
    /// read first, once). Call from a background thread.
    pub fn begin_sign_in(&self) -> Result<String> {
        let login = self.force_login()?;
        Ok(self.runtime()?.handle().block_on(login.begin())?)
    }

    /// The browser's redirect back to the app: checked, the code exchanged,
    /// the officer read from the ID token. The same officer carries on with
    /// whatever waits in the outbox; a different one is refused while the
    /// last one's records have not reached the force (the sign-out rule),
    /// and otherwise replaces them as a sign-out would. Returns the
    /// officer's id. Call from a background thread.
    pub fn complete_sign_in(&self, redirect_url: &str) -> Result<String> {
        let login = self.force_login()?;
        let handle = self.runtime()?.handle().clone();
        let grant = handle.block_on(login.exchange(redirect_url))?;
        let officer_id = grant.identity.officer_id.clone();
        let now = self.now_ms();
        let mut live = lock(&self.live);
        let open = live.open().is_some();
        let (previous, counts) = self.store.read(|tx| {
            let held = signin::db::load(tx)?.map(|l| l.officer_id);
            let previous = match held {
                Some(p) => Some(p),
                None => self.officer_id(tx)?,
            };
            Ok::<_, StoreError>((previous, outbox::counts(tx)?))
        })?;
        let changed = previous.is_some_and(|p| p != officer_id);
        let unsynced = counts.pending + counts.rejected;
        if changed && (unsynced > 0 || open) {
            return Err(SyncError::OtherOfficer { count: unsynced }.into());
        }
        self.store.write(|tx| {
            if changed {
                self.purge(tx, Purge::Officer)?;
            }
            login.accept(tx, &grant, now)
        })?;
        if changed {
            *live = Live::new(&self.policies);
        }
        drop(live);
        login.hold(grant, now);
        self.nudge_sync();
        Ok(officer_id)
    }

    pub fn stop_sync(&self) {
        lock(&self.0.sync).take();
    }
}

impl GuardianCore {
    fn force_login(&self) -> Result<Arc<ForceLogin>> {
        Ok(lock(&self.login)
            .clone()
            .ok_or_else(|| SyncError::Config("the force's sign-in is not configured".into()))?)
    }

    /// Tells the sync engine, if running, that there is something new to send.
    pub(super) fn nudge_sync(&self) {
        if let Some(engine) = lock(&self.sync).as_ref() {
            engine.nudge();
        }
    }

    fn engine(&self) -> Result<Arc<SyncEngine>> {
        Ok(lock(&self.sync).clone().ok_or(SyncError::NotStarted)?)
    }

    /// The shell reports connectivity; going online starts a pass.
    pub fn set_online(&self, online: bool) -> Result<()> {
        self.engine()?.set_online(online);
        Ok(())
    }

    /// Uploads everything pending and pulls the force's changes, now. Call
    /// from a background thread.
    pub fn sync_now(&self) -> Result<PassReport> {
        Ok(self.engine()?.sync_now(self)?)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let engine = lock(&self.sync).clone();
        let online = engine.as_ref().is_some_and(|e| e.is_online());
        Ok(self.store.read(|tx| state::status(tx, engine.is_some(), online))?)
    }

    /// Asks each table's owner to purge its rows, in an order the schema's
    /// references allow (the outbox refers to patrols).
    fn purge(&self, tx: &rusqlite::Transaction<'_>, scope: Purge) -> std::result::Result<(), StoreError> {
        outbox::purge(tx, scope)?;
        referral::db::purge(tx, scope)?;
        crate::library::prefs::purge(tx, scope)?;
        db::purge(tx, scope)?;
        state::purge(tx, scope)?;
        signin::db::purge(tx, scope)?;
        audit::purge(tx, scope)
    }

    /// Signs the officer out of a shared handset. Refused while anything of
    /// theirs has not reached the force, unless forced (which is recorded);
    /// then their local data is purged. Returns how many unsynced records a
    /// forced sign-out discarded.
    pub fn sign_out(&self, force: bool) -> Result<usize> {
        let mut live = lock(&self.live);
        let open = live.open().is_some();
        let counts = self.store.read(|tx| outbox::counts(tx))?;
        let unsynced = counts.pending + counts.rejected;
        if !force {
            if open {
                return Err(SyncError::PatrolOpen.into());
            }
            if unsynced > 0 {
                return Err(SyncError::Unsynced { count: unsynced }.into());
            }
        }
        let now = self.now_ms();
        self.store.write(|tx| {
            if force && (unsynced > 0 || open) {
                audit::record(
                    tx,
                    now,
                    "forced_sign_out",
                    &format!("{unsynced} unsynced records discarded; patrol open: {open}"),
                )?;
            }
            self.purge(tx, Purge::Officer)
        })?;
        *live = Live::new(&self.policies);
        drop(live);
        self.forget_access();
        self.store.vacuum()?;
        crate::store::remove_damaged_copies(self.store.path())?;
        Ok(if force { unsynced } else { 0 })
    }

    /// The access token in memory goes with the login row.
    fn forget_access(&self) {
        if let Some(login) = lock(&self.login).as_ref() {
            login.forget();
        }
    }

    /// A reply to a pull, checked and applied as a sync pass would.
    #[cfg(test)]
    pub(crate) fn apply_reply(&self, reply: guardian_protocol::wire::SyncReply) -> Result<()> {
        let plan = crate::sync::pass::plan_pull(reply, |id| self.knows_area(id))?;
        Ok(self.apply_pull(plan)?)
    }
}

impl Host for GuardianCore {
    fn store(&self) -> &Store {
        &self.store
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn ack_hooks(&self) -> &AckHooks {
        &self.ack_hooks
    }

    fn knows_area(&self, area_id: &str) -> bool {
        self.area_index().position(area_id).is_some()
    }

    fn apply_pull(&self, plan: PullPlan) -> std::result::Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut events = Vec::new();
        let mut live = lock(&self.live);
        let reloaded = self.store.write(|tx| {
            if let Some((text, _)) = &plan.boundaries {
                referral::db::save_boundaries(tx, text, now)?;
            }
            for u in &plan.referral_updates {
                // The team holding it, told even when the status does not
                // move forward (a transfer restarts it for the new team).
                if let Some(a) = &u.authority {
                    referral::db::set_authority(tx, &u.referral_id, a)?;
                }
                let moved = referral::db::update_status(tx, &u.referral_id, u.status, u.time_ms)?;
                let ended = match u.outcome {
                    Some(o) => referral::db::set_outcome(tx, &u.referral_id, o)?,
                    None => false,
                };
                if moved || ended {
                    events.push(Event::ReferralStatusChanged {
                        referral_id: u.referral_id.clone(),
                        status: u.status,
                    });
                }
            }
            if let Some(o) = &plan.officer {
                db::set_officer(tx, o)?;
            }
            if let Some(a) = &plan.areas {
                db::upsert_areas(tx, a, now)?;
            }
            if let Some(list) = &plan.assignments {
                let officer_id = match &plan.officer {
                    Some(o) => Some(o.officer_id.clone()),
                    None => self.officer_id(tx)?,
                };
                if let Some(officer_id) = officer_id {
                    db::replace_assignments(tx, &officer_id, list)?;
                }
            }
            state::save_cursor(tx, &plan.cursor)?;
            match plan.areas {
                Some(_) => Ok::<_, StoreError>(Some(db::load_areas(tx)?)),
                None => Ok(None),
            }
        })?;
        if let Some(all) = reloaded {
            live.areas_changed();
            replace(&self.areas, Arc::new(AreaIndex::new(all)));
        }
        drop(live);
        if !plan.referral_updates.is_empty() {
            // A later status also drops a referral's personal part.
            self.store.forget_purged();
        }
        if let Some((_, parsed)) = plan.boundaries {
            self.set_boundaries(parsed);
        }
        self.emit(events);
        Ok(())
    }

    fn wipe(&self) -> std::result::Result<(), StoreError> {
        let mut live = lock(&self.live);
        self.store.write(|tx| self.purge(tx, Purge::Everything))?;
        *live = Live::new(&self.policies);
        replace(&self.areas, Arc::new(AreaIndex::new(Vec::new())));
        drop(live);
        self.forget_access();
        self.set_boundaries(Boundaries::default());
        self.store.vacuum()?;
        crate::store::remove_damaged_copies(self.store.path())?;
        tracing::warn!("handset wiped on the force's command");
        self.emit(vec![Event::Wiped]);
        Ok(())
    }

    fn officer_id(&self) -> std::result::Result<Option<String>, StoreError> {
        self.store.read(|tx| GuardianCore::officer_id(self, tx))
    }

    fn emit(&self, events: Vec<Event>) {
        GuardianCore::emit(self, events);
    }
}
