//! The sync engine: the I/O around [`super::pass`]. A scheduler task on the
//! core's runtime runs a pass when the shell says the phone is online, when
//! new records appear (debounced), on a timer, or when asked; the pass
//! sends, reads and commits, and asks `pass` what every answer means. The
//! façade's state (the store, the officer, events) it reaches through
//! [`Host`]; what the force sends for the library it applies with the
//! library's own functions (`library::db::apply` for a content pack,
//! `prefs::restore` for the officer's bookmarks), in the store's
//! transaction, as the owner of those tables would.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use backon::BackoffBuilder;
use tokio::sync::{Notify, watch};

use super::client::{Answer, Client};
use super::pass::{self, Action, LibraryNext, PassReport, Then, Transition, Upload};
use super::{Error, Host, Login, SyncError, state};
use crate::events::Event;
use crate::library::pack::Pack;
use crate::library::{self, ApplyOutcome, LibraryError, prefs};
use crate::store::outbox;

/// Wait this long after a new record before syncing, so a burst of fixes or
/// a check-in followed by its first fixes goes in one pass.
const DEBOUNCE: Duration = Duration::from_secs(2);

/// The core's one tokio runtime: the sync scheduler and its HTTP run on
/// it, and so do the shells' long calls (the FFI's async functions hand
/// their work to its blocking pool). One thread runs its tasks: a phone
/// does not need more for this, and every thread costs memory and
/// wake-ups. It is a current-thread runtime on a thread of its own rather
/// than tokio's multi-thread scheduler with one worker, which is the same
/// at run time and tens of kilobytes of the library's size budget.
pub struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Runtime {
    pub fn new() -> Result<Self, SyncError> {
        let cannot = |e: std::io::Error| SyncError::Config(format!("cannot start the core's runtime: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(8)
            .thread_name("guardian-core")
            .enable_all()
            .build()
            .map_err(cannot)?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("guardian-core".into())
            .spawn(move || {
                // A dropped sender ends it as a sent stop does.
                rt.block_on(async {
                    let _ = stopped.await;
                });
                rt.shutdown_background();
            })
            .map_err(cannot)?;
        Ok(Self {
            handle,
            stop: Some(stop),
        })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Never waits, so it is safe from any thread, the runtime's own
        // included (the last reference to the core may be dropped by one of
        // its tasks): the runtime's thread stops its tasks and ends.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub base_url: String,
    /// A PEM CA certificate to trust instead of the public roots.
    pub pinned_ca_pem: Option<Vec<u8>>,
    /// How long one request may take before it counts as lost.
    pub request_timeout: Duration,
}

impl SyncConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            pinned_ca_pem: None,
            request_timeout: Duration::from_secs(20),
        }
    }
}

pub struct SyncEngine {
    handle: tokio::runtime::Handle,
    client: Arc<Client>,
    online: watch::Sender<bool>,
    nudge: Arc<Notify>,
    pass_lock: Arc<tokio::sync::Mutex<()>>,
    scheduler: tokio::task::JoinHandle<()>,
}

impl Drop for SyncEngine {
    fn drop(&mut self) {
        // Cancelled at its next await: every step of a pass is its own
        // transaction, and a row left in flight is sent again next time.
        self.scheduler.abort();
    }
}

impl SyncEngine {
    pub fn start<H: Host>(
        runtime: &Runtime,
        host: Weak<H>,
        config: &SyncConfig,
        device_id: &str,
        login: Login,
    ) -> Result<Self, SyncError> {
        let handle = runtime.handle().clone();
        let client = Arc::new(Client::new(
            &config.base_url,
            config.pinned_ca_pem.as_deref(),
            config.request_timeout,
            Some(device_id),
            login,
        )?);
        let (online, online_rx) = watch::channel(false);
        let nudge = Arc::new(Notify::new());
        let pass_lock = Arc::new(tokio::sync::Mutex::new(()));
        let scheduler = handle.spawn(scheduler(
            host,
            Arc::clone(&client),
            online_rx,
            Arc::clone(&nudge),
            Arc::clone(&pass_lock),
        ));
        Ok(Self {
            handle,
            client,
            online,
            nudge,
            pass_lock,
            scheduler,
        })
    }

    pub fn set_online(&self, online: bool) {
        self.online.send_replace(online);
    }

    pub fn is_online(&self) -> bool {
        *self.online.borrow()
    }

    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Runs one pass now and waits for it. Call from a plain thread (the
    /// shell's background executor, or the runtime's blocking pool), never
    /// from a task on the runtime.
    pub fn sync_now<H: Host>(&self, host: &H) -> Result<PassReport, Error> {
        let lock = Arc::clone(&self.pass_lock);
        let client = Arc::clone(&self.client);
        self.handle.block_on(async move {
            let _one_at_a_time = lock.lock().await;
            run_pass(host, &client).await.0
        })
    }
}

async fn scheduler<H: Host>(
    host: Weak<H>,
    client: Arc<Client>,
    mut online: watch::Receiver<bool>,
    nudge: Arc<Notify>,
    pass_lock: Arc<tokio::sync::Mutex<()>>,
) {
    let mut backoff = new_backoff();
    let mut wait = pass::PERIODIC;
    loop {
        tokio::select! {
            _ = nudge.notified() => tokio::time::sleep(DEBOUNCE).await,
            changed = online.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
        if !*online.borrow() {
            continue;
        }
        let Some(host) = host.upgrade() else { return };
        let (result, retry_after) = {
            let _one_at_a_time = pass_lock.lock().await;
            run_pass(host.as_ref(), &client).await
        };
        drop(host);
        if result.is_ok() {
            backoff = new_backoff();
        }
        wait = pass::next_wait(result.is_ok(), backoff.next(), retry_after);
        if let Err(e) = result {
            tracing::warn!(error = %e, delay_s = wait.as_secs(), "sync pass failed; backing off");
        }
    }
}

/// Exponential from 2 s to 5 min, with full jitter so a fleet of handsets
/// coming back into signal together does not hammer the server in step.
pub fn new_backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(2))
        .with_max_delay(Duration::from_secs(300))
        .with_jitter()
        .without_max_times()
        .build()
}

/// One pass, its outcome saved and told to the shell; with the longest
/// wait a server asked for.
async fn run_pass<H: Host>(host: &H, client: &Client) -> (Result<PassReport, Error>, Option<Duration>) {
    let (result, retry_after) = upload_then_pull(host, client).await;
    let error = result.as_ref().err().map(ToString::to_string);
    let now = host.now_ms();
    let saved = host
        .store()
        .write(|tx| state::save_outcome(tx, now, error.as_deref()))
        .and_then(|()| host.store().read(|tx| outbox::counts(tx)));
    let counts = match saved {
        Ok(c) => c,
        Err(e) => return (Err(e.into()), retry_after),
    };
    if error.is_none() && counts.pending == 0 {
        // Everything a recovery saved has reached the force: the damaged
        // copy kept beside the store (personal data included) goes.
        if let Err(e) = crate::store::remove_damaged_copies(host.store().path()) {
            tracing::warn!(error = %e, "a damaged copy could not be removed");
        }
    }
    host.emit(vec![match error {
        None => Event::SyncProgress {
            pending: counts.pending,
            acked: counts.acked,
            rejected: counts.rejected,
        },
        Some(reason) => Event::SyncFailed { reason },
    }]);
    (result, retry_after)
}

/// Writes transitions in one transaction; an ack runs its kind's owner's
/// hook in the same one (a referral's personal fields go with its ack).
fn commit<H: Host>(host: &H, transitions: &[Transition]) -> Result<(), Error> {
    if transitions.is_empty() {
        return Ok(());
    }
    let now = host.now_ms();
    let taken_back = host.store().write(|tx| {
        let mut taken_back = false;
        for t in transitions {
            match t {
                Transition::Acked { id, kind } => {
                    outbox::mark_acked(tx, id, now)?;
                    host.ack_hooks().run(tx, *kind, id, now)?;
                }
                Transition::Rejected { id, kind, reason } => {
                    outbox::mark_rejected(tx, id, reason)?;
                    taken_back |= host.ack_hooks().run_rejected(tx, *kind, id, reason, now)?;
                }
                Transition::Retry { id, reason } => outbox::mark_failed_attempt(tx, id, reason)?,
            }
        }
        Ok::<_, Error>(taken_back)
    })?;
    let purged = taken_back
        || transitions
            .iter()
            .any(|t| matches!(t, Transition::Acked { kind, .. } if host.ack_hooks().purges(*kind)));
    if purged {
        host.store().forget_purged();
    }
    Ok(())
}

/// A read that needs the login, refreshing the token once if refused.
async fn authed<T, F, Fut>(client: &Client, call: F) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Answer<T>, SyncError>>,
{
    let mut refreshed = false;
    loop {
        match call().await? {
            Answer::Got(t) => return Ok(t),
            Answer::Unauthorized => match pass::on_unauthorized(refreshed) {
                pass::AuthStep::Refresh => {
                    client.refresh_token().await?;
                    refreshed = true;
                }
                pass::AuthStep::Fail(e) => return Err(e.into()),
            },
        }
    }
}

async fn upload<H: Host>(host: &H, client: &Client) -> Result<pass::Uploaded, Error> {
    let items = host.store().read(|tx| outbox::pending(tx))?;
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    host.store().write(|tx| outbox::mark_in_flight(tx, &ids))?;
    let mut up = Upload::new();
    'items: for item in &items {
        loop {
            let step = match client.upload(item).await {
                Ok(outcome) => up.on_outcome(item, outcome),
                Err(e) => up.on_error(e),
            };
            commit(host, &step.commit)?;
            match step.then {
                Then::Next => continue 'items,
                Then::RefreshAndResend => {
                    if let Err(e) = client.refresh_token().await {
                        commit(host, &up.on_error(e).commit)?;
                        break 'items;
                    }
                }
                Then::Stop => break 'items,
            }
        }
    }
    let done = up.finish();
    commit(host, &done.commit)?;
    host.store().write(outbox::requeue_in_flight)?;
    Ok(done)
}

async fn upload_then_pull<H: Host>(host: &H, client: &Client) -> (Result<PassReport, Error>, Option<Duration>) {
    let done = match upload(host, client).await {
        Ok(d) => d,
        Err(e) => return (Err(e), None),
    };
    if let Some(e) = done.failure {
        return (Err(e.into()), done.retry_after);
    }
    let mut report = done.report;
    let result = async {
        let cursor = host.store().read(|tx| state::cursor(tx))?;
        let reply = authed(client, || client.pull(&cursor)).await?;
        let plan = pass::plan_pull(reply, |id| host.knows_area(id))?;
        let commands = plan.commands.clone();
        host.apply_pull(plan)?;
        report.pulled = true;
        for command in &commands {
            match pass::action(command) {
                Action::Wipe => {
                    host.wipe()?;
                    report.wiped = true;
                }
            }
            authed(client, || client.ack_command(&command.id)).await?;
        }
        // The practice library last: it is reference content, and a failed
        // update (a typed error) leaves the old library and delays nothing
        // above.
        if !report.wiped {
            report.library = library_step(host, client).await?;
            report.library_prefs_restored = prefs_step(host, client).await?;
        }
        Ok::<_, Error>(report)
    }
    .await;
    (result, None)
}

/// Fetches the pack from the handset's version and applies it, or starts
/// again from the full library when the two disagree.
async fn library_step<H: Host>(host: &H, client: &Client) -> Result<Option<ApplyOutcome>, Error> {
    let local = host.store().read(|tx| library::db::status(tx))?;
    let bytes = authed(client, || client.library_pack(local.version)).await?;
    let next = match pass::library_next(&local, &bytes)? {
        LibraryNext::Apply(pack) => match apply_pack(host, &pack) {
            Ok(o) => return Ok(Some(o)),
            Err(e) => pass::after_failed_apply(e)?,
        },
        other => other,
    };
    match next {
        LibraryNext::UpToDate => Ok(None),
        LibraryNext::Apply(_) | LibraryNext::FetchFull => {
            let full = authed(client, || client.library_pack(0)).await?;
            Ok(Some(apply_pack(host, &Pack::decode(&full)?)?))
        }
    }
}

fn apply_pack<H: Host>(host: &H, pack: &Pack) -> Result<ApplyOutcome, LibraryError> {
    let now = host.now_ms();
    let outcome = host
        .store()
        .write(|tx| library::db::apply(tx, pack, now, &mut |_| Ok(())))?;
    if !outcome.unchanged {
        tracing::info!(
            from = outcome.from_version,
            to = outcome.version,
            added = outcome.added,
            changed = outcome.changed,
            removed = outcome.removed,
            "practice library updated"
        );
    }
    Ok(outcome)
}

/// Adopts the officer's bookmarks and recent reads from another handset
/// when the force's copy is newer.
async fn prefs_step<H: Host>(host: &H, client: &Client) -> Result<bool, Error> {
    let Some(officer_id) = host.officer_id()? else {
        return Ok(false);
    };
    let reply = authed(client, || client.library_prefs()).await?;
    match reply.prefs {
        Some(remote) => Ok(host.store().write(|tx| prefs::restore(tx, &officer_id, &remote))?),
        None => Ok(false),
    }
}
