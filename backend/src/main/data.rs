//! The data protection commands: the referral keys, retention and the
//! DPO's subject access tools. Each acts as `--by` (default `$USER`), and
//! each look at or change to personal data is in the access log.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use guardian_backend::{Action, Backend, BackendError, Caller, Keyring, Retention, Role};

use super::{CliError, StoreArg, to_json};

/// How long each kind of record is kept (the force decides).
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct RetentionArgs {
    /// Days a closed referral's personal details are kept after closure.
    #[arg(long, default_value_t = Retention::default().referral_days, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    keep_referral_days: u32,
    /// Days a patrol's GPS fixes are kept after it ended.
    #[arg(long, default_value_t = Retention::default().fix_days, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    keep_fix_days: u32,
    /// Years access-log entries are kept.
    #[arg(long, default_value_t = Retention::default().access_log_years, value_parser = clap::value_parser!(u32).range(1..=100))]
    keep_access_log_years: u32,
}

impl RetentionArgs {
    pub(crate) fn rules(self) -> Retention {
        Retention {
            referral_days: self.keep_referral_days,
            fix_days: self.keep_fix_days,
            access_log_years: self.keep_access_log_years,
        }
    }
}

/// The file of referral keys (`ID BASE64` a line, the first current).
#[derive(clap::Args)]
pub(crate) struct KeysArg {
    /// Referral bodies are sealed under its first key; the others only
    /// open what they sealed, until `rekey`. Without it (dev tokens only)
    /// the key is kept in the store itself.
    #[arg(long)]
    pub(crate) referral_keys_file: Option<PathBuf>,
}

impl KeysArg {
    pub(crate) fn apply(&self, backend: &mut Backend) -> Result<(), CliError> {
        if let Some(path) = &self.referral_keys_file {
            backend.use_referral_keys(Keyring::from_file(path)?);
        }
        Ok(())
    }
}

#[derive(Subcommand)]
pub(crate) enum DataCommand {
    /// Seal every referral body under the key file's first key (bodies
    /// stored in clear before sealing, or under an older key); then the
    /// older key's line can go. With a key file, the store's own dev key is
    /// dropped once nothing is sealed under it.
    Rekey {
        #[command(flatten)]
        store: StoreArg,
        #[command(flatten)]
        keys: KeysArg,
        /// Referrals to a transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        #[arg(long)]
        by: Option<String>,
    },
    /// Put a new random key first in a key file (created, owner-only, if
    /// missing); the keys already there stay, to open what they sealed.
    NewReferralKey {
        #[arg(long)]
        keys_file: PathBuf,
        /// Its id, stored beside every body it seals (e.g. 2026-12).
        #[arg(long)]
        id: String,
    },
    /// Erase what the retention rules say is due, in bounded batches.
    Retention {
        #[command(flatten)]
        store: StoreArg,
        #[command(flatten)]
        keep: RetentionArgs,
        /// Records to a transaction (patrols: a hundredth of it).
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Stop after this many transactions (the next run goes on).
        #[arg(long)]
        max_batches: Option<u64>,
        /// Judge what is due as of this London date instead of now (to
        /// rehearse a policy on a copy of the store: it erases more, never
        /// less; a date in the past is refused).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long)]
        by: Option<String>,
    },
    /// Everything held about one young person (a subject access request):
    /// `find` lists it, `export` prints it all as JSON, `erase` erases the
    /// personal part of the referrals named.
    Dpo {
        #[command(subcommand)]
        command: DpoCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum DpoCommand {
    Find {
        #[command(flatten)]
        who: Subject,
    },
    Export {
        #[command(flatten)]
        who: Subject,
    },
    Erase {
        #[command(flatten)]
        store: StoreArg,
        /// A referral id (repeatable), from `dpo find`.
        #[arg(long = "referral", required = true)]
        referrals: Vec<String>,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(clap::Args)]
pub(crate) struct Subject {
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    keys: KeysArg,
    /// The young person's name (case and spacing ignored).
    #[arg(long)]
    name: String,
    /// Their date of birth, YYYY-MM-DD (referrals giving none match by name
    /// and are flagged).
    #[arg(long)]
    dob: Option<chrono::NaiveDate>,
    #[arg(long)]
    by: Option<String>,
    /// Why (a subject access request's reference, say): kept in the access
    /// log with the search.
    #[arg(long)]
    purpose: Option<String>,
}

fn caller(by: Option<String>, how: &str) -> Caller {
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_string());
    Caller::local(&by, Role::Auditor, how)
}

pub(crate) fn run(command: DataCommand) -> Result<(), CliError> {
    match command {
        DataCommand::Rekey { store, keys, batch, by } => {
            let mut backend = store.open()?;
            keys.apply(&mut backend)?;
            let done = backend.rekey(&caller(by, "guardian-backend rekey"), batch)?;
            println!(
                "rekey: {} referral bodies sealed under the current key{}",
                done.resealed,
                if done.dev_key_dropped {
                    "; the store's own dev key dropped"
                } else {
                    ""
                }
            );
        }
        DataCommand::NewReferralKey { keys_file, id } => {
            let line = guardian_backend::new_key_line(&id)?;
            prepend_key(&keys_file, &line)?;
            println!(
                "{}: new key {id} first; run `guardian-backend rekey` to seal under it",
                keys_file.display()
            );
        }
        DataCommand::Retention {
            store,
            keep,
            batch,
            max_batches,
            as_of,
            by,
        } => {
            let backend = store.open()?;
            let who = caller(by, "guardian-backend retention");
            let mut now = chrono::Utc::now().timestamp_millis();
            if let Some(day) = as_of {
                let at = guardian_protocol::time::london_instant(day, chrono::NaiveTime::MIN)
                    .ok_or_else(|| CliError::Usage(format!("{day} is out of range")))?;
                if at < now - 24 * 3600 * 1000 {
                    return Err(CliError::Usage("--as-of must not be in the past".into()));
                }
                now = now.max(at);
            }
            let start = std::time::Instant::now();
            let run = backend.run_retention(&who, &keep.rules(), now, batch, max_batches)?;
            println!(
                "retention: {} referrals' details, {} patrols' fixes ({} fixes), {} access-log entries erased in {} batches, {:.2} s{}",
                run.referrals,
                run.patrols,
                run.fixes,
                run.access_log_entries,
                run.batches,
                start.elapsed().as_secs_f64(),
                if run.finished { "" } else { "; more is due: run again" }
            );
        }
        DataCommand::Dpo { command } => dpo(command)?,
    }
    Ok(())
}

fn dpo(command: DpoCommand) -> Result<(), CliError> {
    match command {
        DpoCommand::Find { who } => {
            let found = search(who, Action::Consultation, "guardian-backend dpo find")?;
            println!("{} referrals held", found.len());
            for f in &found {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    f.referral.id,
                    f.referral.reference,
                    f.authority.slug(),
                    f.status.as_str(),
                    if f.matched_by_name_only {
                        "\t(no date of birth given: matched by name)"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        DpoCommand::Export { who } => {
            let found = search(who, Action::Disclosure, "guardian-backend dpo export")?;
            println!("{}", to_json(&found)?);
            Ok(())
        }
        DpoCommand::Erase { store, referrals, by } => {
            let erased = store
                .open()?
                .erase_referrals(&caller(by, "guardian-backend dpo erase"), &referrals)?;
            println!("{} referrals' personal details erased", erased.len());
            Ok(())
        }
    }
}

fn search(who: Subject, action: Action, how: &str) -> Result<Vec<guardian_backend::SubjectReferral>, CliError> {
    let mut backend = who.store.open()?;
    who.keys.apply(&mut backend)?;
    let dob = who.dob.map(|d| d.to_string());
    let mut by = caller(who.by, how);
    by.purpose = who.purpose;
    Ok(backend.find_subject(&by, &who.name, dob.as_deref(), action)?)
}

/// Writes `line` first in the key file, owner-read/write only.
fn prepend_key(path: &Path, line: &str) -> Result<(), CliError> {
    let read_err = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(read_err(e)),
    };
    // Checked before writing: a damaged file is not made worse.
    if !old.trim().is_empty() {
        Keyring::parse(&old)
            .map_err(|e| CliError::Backend(BackendError::Invalid(format!("{}: {e}", path.display()))))?;
    }
    let tmp = path.with_extension("new");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(read_err)?;
    f.write_all(format!("{line}\n{old}").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(read_err)?;
    std::fs::rename(&tmp, path).map_err(read_err)?;
    Ok(())
}
