//! The sync engine: one tokio runtime owned by the core, a scheduler task
//! that runs a pass when the shell says the phone is online, when new records
//! appear (debounced), on a timer, or when asked; and the pass itself:
//! upload in causal order, then pull the force's changes.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use backon::BackoffBuilder;
use serde::Serialize;
use tokio::sync::{Notify, watch};

use super::client::{Client, Outcome};
use super::outbox::{self, Kind, Rejected};
use super::protocol::{AckStatus, CommandKind, SyncReply};
use super::{SyncError, TokenProvider};
use crate::error::Result;
use crate::events::Event;
use crate::guardian::GuardianCore;

/// Wait this long after a new record before syncing, so a burst of fixes or
/// a check-in followed by its first fixes goes in one pass.
const DEBOUNCE: Duration = Duration::from_secs(2);
/// Even with no news, look for the force's changes this often when online.
const PERIODIC: Duration = Duration::from_secs(60);
/// Acks are committed in groups: a crash loses at most these, and a lost
/// ack only means the record is sent again and answered "duplicate".
const ACK_FLUSH: usize = 64;

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

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    pub sent: usize,
    pub acked: usize,
    /// Acked as already stored: an earlier attempt had arrived.
    pub duplicates: usize,
    pub rejected: usize,
    pub bytes_sent: usize,
    pub track_bytes_sent: usize,
    pub fixes_sent: usize,
    pub pulled: bool,
    pub wiped: bool,
    /// The practice library's version applied in this pass, if it changed.
    pub library: Option<crate::library::ApplyOutcome>,
    /// The officer's library bookmarks/recent reads came from another handset.
    pub library_prefs_restored: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub running: bool,
    pub online: bool,
    pub pending: usize,
    pub pending_bytes: usize,
    pub acked: usize,
    pub rejected: usize,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub rejected_records: Vec<Rejected>,
}

pub struct SyncEngine {
    rt: Option<tokio::runtime::Runtime>,
    client: Arc<Client>,
    online: watch::Sender<bool>,
    nudge: Arc<Notify>,
    stop: Arc<Notify>,
    pass_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for SyncEngine {
    fn drop(&mut self) {
        self.stop.notify_waiters();
        if let Some(rt) = self.rt.take() {
            // Safe from any thread, including the runtime's own.
            rt.shutdown_background();
        }
    }
}

impl SyncEngine {
    pub(crate) fn start(
        core: Weak<GuardianCore>,
        config: &SyncConfig,
        auth: Arc<dyn TokenProvider>,
    ) -> std::result::Result<Self, SyncError> {
        let client = Arc::new(Client::new(
            &config.base_url,
            config.pinned_ca_pem.as_deref(),
            config.request_timeout,
            auth,
        )?);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("guardian-sync")
            .enable_all()
            .build()
            .map_err(|e| SyncError::Config(format!("cannot start the sync runtime: {e}")))?;
        let (online, online_rx) = watch::channel(false);
        let nudge = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let pass_lock = Arc::new(tokio::sync::Mutex::new(()));
        rt.spawn(scheduler(
            core,
            Arc::clone(&client),
            online_rx,
            Arc::clone(&nudge),
            Arc::clone(&stop),
            Arc::clone(&pass_lock),
        ));
        Ok(Self {
            rt: Some(rt),
            client,
            online,
            nudge,
            stop,
            pass_lock,
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
    /// shell's background executor), never from inside an async runtime.
    pub fn sync_now(&self, core: &GuardianCore) -> Result<PassReport> {
        let rt = self.rt.as_ref().ok_or(SyncError::NotStarted)?;
        let lock = Arc::clone(&self.pass_lock);
        let client = Arc::clone(&self.client);
        rt.block_on(async move {
            let _one_at_a_time = lock.lock().await;
            run_pass(core, &client).await
        })
    }
}

async fn scheduler(
    core: Weak<GuardianCore>,
    client: Arc<Client>,
    mut online: watch::Receiver<bool>,
    nudge: Arc<Notify>,
    stop: Arc<Notify>,
    pass_lock: Arc<tokio::sync::Mutex<()>>,
) {
    let mut backoff = new_backoff();
    let mut wait = PERIODIC;
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            _ = nudge.notified() => tokio::time::sleep(DEBOUNCE).await,
            _ = online.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
        if !*online.borrow() {
            continue;
        }
        let Some(core) = core.upgrade() else { return };
        let result = {
            let _one_at_a_time = pass_lock.lock().await;
            run_pass(&core, &client).await
        };
        drop(core);
        wait = match result {
            Ok(_) => {
                backoff = new_backoff();
                PERIODIC
            }
            Err(e) => {
                // Back off, but never sooner than the server asked.
                let delay = backoff
                    .next()
                    .unwrap_or(Duration::from_secs(300))
                    .max(client.take_retry_after().unwrap_or_default());
                tracing::warn!(error = %e, delay_s = delay.as_secs(), "sync pass failed; backing off");
                delay
            }
        };
    }
}

/// Exponential from 2 s to 5 min, with full jitter so a fleet of handsets
/// coming back into signal together does not hammer the server in step.
fn new_backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(2))
        .with_max_delay(Duration::from_secs(300))
        .with_jitter()
        .without_max_times()
        .build()
}

/// One pass: upload everything pending in causal order, then pull.
pub(crate) async fn run_pass(core: &GuardianCore, client: &Client) -> Result<PassReport> {
    let result = upload_then_pull(core, client).await;
    let now = core.now_ms();
    let (success, error) = match &result {
        Ok(_) => (Some(now), None),
        Err(e) => (None, Some(e.to_string())),
    };
    core.store()
        .write(|tx| outbox::save_sync_state(tx, None, success, error.as_deref()))?;
    let counts = core.store().read(|tx| outbox::counts(tx))?;
    core.emit(vec![match &error {
        None => Event::SyncProgress {
            pending: counts.pending,
            acked: counts.acked,
            rejected: counts.rejected,
        },
        Some(reason) => Event::SyncFailed { reason: reason.clone() },
    }]);
    result
}

async fn upload_then_pull(core: &GuardianCore, client: &Client) -> Result<PassReport> {
    let items = core.store().read(|tx| outbox::pending(tx))?;
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    core.store().write(|tx| outbox::mark_in_flight(tx, &ids))?;
    let mut report = PassReport::default();
    let mut acks: Vec<(String, Kind)> = Vec::new();
    let flush = |acks: &mut Vec<(String, Kind)>| -> Result<()> {
        if acks.is_empty() {
            return Ok(());
        }
        let now = core.now_ms();
        core.store().write(|tx| {
            for (id, kind) in acks.iter() {
                outbox::mark_acked(tx, id, now)?;
                if *kind == Kind::Referral {
                    // The force has it: the child's details leave the handset
                    // in the same transaction as the ack.
                    crate::referral::db::mark_received(tx, id, now)?;
                }
            }
            Ok::<_, crate::Error>(())
        })?;
        acks.clear();
        Ok(())
    };
    let mut failure: Option<crate::Error> = None;
    for item in &items {
        report.sent += 1;
        let outcome = match item.kind {
            Kind::TrackChunk => {
                client
                    .put_chunk(
                        &item.id,
                        item.patrol_id.as_deref().unwrap_or_default(),
                        item.seq,
                        &item.payload,
                    )
                    .await
            }
            Kind::CheckIn | Kind::CheckOut => client.post_record(&item.id, &item.payload).await,
            Kind::Referral => client.post_referral(&item.id, &item.payload).await,
            Kind::LibraryPrefs => client.post_library_prefs(&item.id, &item.payload).await,
        };
        match outcome {
            Ok(Outcome::Acked(status)) => {
                report.acked += 1;
                report.bytes_sent += item.payload.len();
                if item.kind == Kind::TrackChunk {
                    report.track_bytes_sent += item.payload.len();
                    report.fixes_sent += item.fixes;
                }
                if status == AckStatus::Duplicate {
                    report.duplicates += 1;
                }
                acks.push((item.id.clone(), item.kind));
                if acks.len() >= ACK_FLUSH {
                    flush(&mut acks)?;
                }
            }
            Ok(Outcome::Rejected { slug, reason }) => {
                // Kept and surfaced; the patrol's later records still go, and
                // the server judges each on its own.
                tracing::warn!(kind = item.kind.as_str(), slug = %slug, "record rejected by the backend");
                flush(&mut acks)?;
                core.store()
                    .write(|tx| outbox::mark_rejected(tx, &item.id, &format!("{slug}: {reason}")))?;
                report.rejected += 1;
            }
            Ok(Outcome::Transient { reason, .. }) => {
                flush(&mut acks)?;
                core.store()
                    .write(|tx| outbox::mark_failed_attempt(tx, &item.id, &reason))?;
                failure = Some(SyncError::Network(reason).into());
                break;
            }
            Err(e) => {
                failure = Some(e.into());
                break;
            }
        }
    }
    flush(&mut acks)?;
    core.store().write(outbox::requeue_in_flight)?;
    if let Some(e) = failure {
        return Err(e);
    }

    let cursor = core.store().read(|tx| outbox::cursor(tx))?;
    let reply: SyncReply = client.pull(&cursor).await?;
    let commands = reply.commands.clone();
    core.apply_pull(reply)?;
    report.pulled = true;
    for command in commands {
        match command.kind {
            CommandKind::Wipe => {
                core.wipe()?;
                report.wiped = true;
            }
        }
        // If this ack is lost the command comes again; wiping twice is harmless.
        let _ = client.ack_command(&command.id).await?;
    }
    // The practice library last: it is reference content, and a failed
    // update (a typed error) leaves the old library and delays nothing above.
    if !report.wiped {
        let library = crate::library::sync_pass(core, client).await?;
        report.library = library.applied;
        report.library_prefs_restored = library.prefs_restored;
    }
    Ok(report)
}

pub(crate) fn status(core: &GuardianCore, running: bool, online: bool) -> Result<SyncStatus> {
    core.store().read(|tx| {
        let counts = outbox::counts(tx)?;
        let (last_success_ms, last_error) = outbox::sync_state(tx)?;
        Ok(SyncStatus {
            running,
            online,
            pending: counts.pending,
            pending_bytes: counts.pending_bytes,
            acked: counts.acked,
            rejected: counts.rejected,
            last_success_ms,
            last_error,
            rejected_records: outbox::rejected(tx)?,
        })
    })
}

/// Used by [`SyncEngine`] users that must not hold the core's lock.
pub(crate) type EngineSlot = Mutex<Option<Arc<SyncEngine>>>;
