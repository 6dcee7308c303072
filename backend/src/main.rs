//! `guardian-backend`: run the reference backend, or administer its
//! database from the command line (the same operations as the admin API).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use guardian_backend::{AccessFilter, Backend, BackendError, Caller, Role, access_log_csv};
use guardian_core::patrol::Rank;
use guardian_core::referral::authority::Authority;
use guardian_protocol::time::london_instant;

#[path = "main/data.rs"]
mod data;

#[derive(Parser)]
#[command(name = "guardian-backend", about = "Guardian's reference force backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the backend keeps everything: a SQLite file (`--db`, the default
/// for a demo or one small force) or a PostgreSQL database
/// (`--database-url`, for several instances behind a balancer).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct StoreArg {
    /// The SQLite database file (created if missing).
    #[arg(long)]
    db: Option<PathBuf>,
    /// A PostgreSQL database: postgres://user[:password]@host[:port]/dbname
    /// (the schema is created on first use). TLS as `?sslmode=` says
    /// (prefer by default), the server's certificate always verified:
    /// against `&sslrootcert=CA.pem`, or the public roots.
    #[arg(long)]
    database_url: Option<String>,
}

impl StoreArg {
    fn open(&self) -> Result<Backend, BackendError> {
        match (&self.db, &self.database_url) {
            (_, Some(url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Backend::open_postgres(url)
            }
            (_, Some(_)) => Err(BackendError::Invalid(
                "--database-url must be a postgres:// or postgresql:// URL".into(),
            )),
            (Some(path), None) => Backend::open(path),
            (None, None) => Err(BackendError::Invalid("give --db FILE or --database-url URL".into())),
        }
    }
}

/// The force's identity provider. With no `--oidc-issuer` the server trusts
/// its own dev tokens (`guardian-backend token`), for the demo and tests.
#[derive(clap::Args)]
struct OidcArgs {
    /// An issuer URL exactly as its tokens' `iss` says (repeatable):
    /// https://login.microsoftonline.com/TENANT/v2.0 for Entra ID,
    /// https://HOST/realms/REALM for Keycloak. http only on loopback.
    #[arg(long = "oidc-issuer")]
    issuers: Vec<String>,
    /// The audience this service's tokens name in `aud` (repeatable).
    #[arg(long = "oidc-audience")]
    audiences: Vec<String>,
    /// The signature algorithms accepted (repeatable; RS256, ES256).
    #[arg(long = "oidc-alg", default_values = ["RS256", "ES256"])]
    algorithms: Vec<String>,
    /// The claim holding the person's id: oid (Entra), sub, or a collar number.
    #[arg(long = "oidc-id-claim", default_value = "oid")]
    id_claim: String,
    /// The claim holding their role here (a string or an array; Entra app roles).
    #[arg(long = "oidc-role-claim", default_value = "roles")]
    role_claim: String,
    /// The review pages' client id at the first issuer (a confidential
    /// client): the pages then sign in with the force's provider.
    #[arg(long = "web-client-id", requires_all = ["web_client_secret_file", "public_url"])]
    web_client_id: Option<String>,
    /// A file holding that client's secret (kept off the command line,
    /// which every user of the host can read).
    #[arg(long = "web-client-secret-file")]
    web_client_secret_file: Option<std::path::PathBuf>,
    /// Where browsers reach this server, e.g. https://guardian.force.example;
    /// the redirect URI registered at the provider is this + /review/callback.
    #[arg(long = "public-url")]
    public_url: Option<String>,
}

impl OidcArgs {
    /// The identity provider, discovered; `None` for dev tokens.
    fn discover(self) -> Result<Option<guardian_backend::Oidc>, CliError> {
        if self.issuers.is_empty() {
            if self.web_client_id.is_some() {
                return Err(CliError::Backend(BackendError::Invalid(
                    "--web-client-id needs --oidc-issuer".into(),
                )));
            }
            if !self.audiences.is_empty() {
                return Err(CliError::Backend(BackendError::Invalid(
                    "--oidc-audience needs --oidc-issuer".into(),
                )));
            }
            return Ok(None);
        }
        let mut config = guardian_backend::OidcConfig::new(self.issuers, self.audiences);
        config.algorithms = self
            .algorithms
            .iter()
            .map(|a| {
                a.parse().map_err(|_| {
                    CliError::Backend(BackendError::Invalid(format!("--oidc-alg {a:?} is not an algorithm")))
                })
            })
            .collect::<Result<_, _>>()?;
        config.claims = guardian_backend::ClaimNames {
            id: self.id_claim,
            role: self.role_claim,
        };
        let web = match (self.web_client_id, self.web_client_secret_file, self.public_url) {
            (Some(client_id), Some(file), Some(public_url)) => {
                let secret = std::fs::read_to_string(&file).map_err(|e| {
                    CliError::Backend(BackendError::Invalid(format!(
                        "--web-client-secret-file {}: {e}",
                        file.display()
                    )))
                })?;
                Some(guardian_backend::WebClientConfig {
                    client_id,
                    client_secret: secret.trim().to_string(),
                    public_url,
                })
            }
            _ => None,
        };
        let invalid = |e: guardian_backend::OidcError| {
            CliError::Backend(BackendError::Invalid(format!("identity provider: {e}")))
        };
        let oidc = guardian_backend::Oidc::discover_blocking(config).map_err(invalid)?;
        Ok(Some(match web {
            Some(w) => oidc.with_web_client(w).map_err(invalid)?,
            None => oidc,
        }))
    }
}

// Parsed once per process: `serve`'s many flags cost nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API until Ctrl-C.
    Serve {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Open connections at most (default: 4,096, or half the descriptor limit).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections: Option<u32>,
        /// Requests handled at once at most; beyond it, 503 with Retry-After.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..), default_value_t = 256)]
        max_in_flight: u32,
        /// Seconds a client has to send a request's headers.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600), default_value_t = 10)]
        header_timeout_s: u64,
        /// Seconds a client has to send a request's whole body.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600), default_value_t = 30)]
        body_timeout_s: u64,
        /// Requests one officer may make in a second; beyond it, 429 with Retry-After.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..), default_value_t = 1_000)]
        per_officer_per_s: u32,
        /// Hours an urgent referral may wait unassigned before the
        /// Navigator's desk flags it overdue.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=720), default_value_t = 24)]
        overdue_urgent_hours: i64,
        /// Working days (Monday to Friday) any other referral may wait.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60), default_value_t = 5)]
        overdue_working_days: u32,
        #[command(flatten)]
        oidc: OidcArgs,
        #[command(flatten)]
        keys: data::KeysArg,
        #[command(flatten)]
        keep: data::RetentionArgs,
        /// Minutes between retention runs (0: never; `retention` by hand).
        #[arg(long, default_value_t = 60)]
        retention_every_minutes: u64,
        /// Refuse any look at personal data that does not say why: the
        /// pages ask at sign-in, the API wants an `x-guardian-purpose`
        /// header (the access log keeps it with each entry).
        #[arg(long)]
        require_purpose: bool,
    },
    /// Replace the areas with a GeoJSON FeatureCollection (all or nothing).
    LoadAreas {
        #[command(flatten)]
        store: StoreArg,
        file: PathBuf,
    },
    /// Replace the seven authorities' boundaries with the union of each
    /// one's wards, from DIR/wards_<ONS code>.json (all or nothing).
    LoadBoundaries {
        #[command(flatten)]
        store: StoreArg,
        dir: PathBuf,
    },
    /// Create a VRP Navigator on an authority's team, or update them.
    CreateNavigator {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// Slug (birmingham, coventry, …) or ONS code.
        #[arg(long)]
        authority: String,
    },
    /// Take a Navigator off their team: their tokens and sessions stop
    /// working at once; their name stays on the referrals' history.
    RemoveNavigator {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        id: String,
    },
    /// Create an officer, or update their name and rank.
    CreateOfficer {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        rank: String,
    },
    /// List the handsets that have synced (JSON), or one officer's.
    Devices {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        officer: Option<String>,
    },
    /// Shut a lost or stolen handset out: from now on its requests are
    /// refused, except its next sync, which tells it to wipe.
    RevokeDevice {
        #[command(flatten)]
        store: StoreArg,
        /// The handset's id (`devices` lists them).
        #[arg(long)]
        id: String,
        /// Who revoked it, for the record.
        #[arg(long)]
        by: String,
    },
    /// Print a signed dev token (demos and tests; refused by a server that
    /// trusts an identity provider).
    Token {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        sub: String,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long, default_value_t = 12 * 3600)]
        ttl_s: i64,
    },
    /// Draw a day's randomised assignments and print them as JSON.
    Schedule {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        date: String,
        #[arg(long, default_value_t = 0.5)]
        fraction: f64,
        #[arg(long)]
        seed: u64,
    },
    /// Publish a folder of practice-library Markdown (topics.txt and one
    /// .md file per article) as the next library version. Nothing changes
    /// if the folder matches the current version or breaks a rule.
    PublishLibrary {
        #[command(flatten)]
        store: StoreArg,
        dir: PathBuf,
    },
    /// Print the compliance CSV, or with --summary the board's figures as JSON.
    Export {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long)]
        summary: bool,
        /// Only the patrols of these days (London dates, YYYY-MM-DD,
        /// inclusive; one alone means that day): what the review's day view
        /// sums.
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// The access log (Data Protection Act 2018 s.62): check its chain, or
    /// export it for the DPO.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Set the map tile layer drawn under a patrol's track on the review
    /// page (an https:// URL template with {z}, {x} and {y}), or --off.
    /// Off by default: tiles come from another host, which then learns
    /// where patrols were.
    ReviewTiles {
        #[command(flatten)]
        store: StoreArg,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        template: Option<String>,
        #[arg(long)]
        off: bool,
    },
    #[command(flatten)]
    Data(data::DataCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the whole chain: exit 1 naming the first entry altered,
    /// removed or inserted since the backend wrote it.
    Verify {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Print the entries (oldest first) the filters select. The export is
    /// itself logged, as a disclosure by --by.
    Export {
        #[command(flatten)]
        store: StoreArg,
        /// From this London date (YYYY-MM-DD, inclusive).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// To this London date (inclusive).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Only what this person did (their token's subject).
        #[arg(long)]
        subject: Option<String>,
        /// Only entries naming this record (a referral or patrol id).
        #[arg(long)]
        record: Option<String>,
        #[arg(long, conflicts_with = "csv", required_unless_present = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
        /// Who is exporting, for the log (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// Why (an ICO request's reference, say): kept in the log.
        #[arg(long)]
        purpose: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("the access log has been tampered with: {0}")]
    Tampered(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// JSON lines on stderr, `info` unless `RUST_LOG` says otherwise. The
/// events themselves never carry personal data (the storage modules log
/// ids, codes and statuses only; a test captures a referral's whole life).
fn install_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Fails only if one is installed already, which leaves that one working.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .try_init();
}

fn main() -> ExitCode {
    install_log();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help and usage errors itself; help is a success.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guardian-backend: {e}");
            match e {
                CliError::Usage(_) | CliError::Read { .. } => ExitCode::from(2),
                CliError::Backend(
                    BackendError::Invalid(_)
                    | BackendError::Areas(_)
                    | BackendError::UnknownOfficer(_)
                    | BackendError::AlreadyScheduled(_)
                    | BackendError::NoOfficers
                    | BackendError::BadLibrary(_)
                    | BackendError::Boundaries(_),
                ) => ExitCode::from(2),
                CliError::Backend(_) | CliError::Tampered(_) => ExitCode::FAILURE,
            }
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve {
            store,
            addr,
            max_connections,
            max_in_flight,
            header_timeout_s,
            body_timeout_s,
            per_officer_per_s,
            overdue_urgent_hours,
            overdue_working_days,
            oidc,
            keys,
            keep,
            retention_every_minutes,
            require_purpose,
        } => {
            if !oidc.issuers.is_empty() && keys.referral_keys_file.is_none() {
                return Err(CliError::Usage(
                    "--referral-keys-file is required with --oidc-issuer: a force's referrals are sealed \
                     under its own keys, never a key kept in the database"
                        .into(),
                ));
            }
            let mut backend = store.open()?;
            keys.apply(&mut backend)?;
            backend.set_overdue_rule(guardian_backend::OverdueRule {
                urgent_hours: overdue_urgent_hours,
                working_days: overdue_working_days,
            });
            if require_purpose {
                backend.require_purpose();
            }
            let provider = oidc.discover()?;
            let mode = match &provider {
                Some(p) => format!(
                    "trusting the identity provider {} (dev tokens refused); review pages sign in {}",
                    p.issuer_urls().join(", "),
                    if p.web_sign_in() {
                        "with it"
                    } else {
                        "with a pasted token (no --web-client-id)"
                    }
                ),
                None => "trusting this store's dev tokens (no --oidc-issuer: for demos and tests only)".into(),
            };
            eprintln!("guardian-backend: {mode}");
            if require_purpose {
                eprintln!("guardian-backend: every look at personal data must say why (--require-purpose)");
            }
            // Bodies in clear (from before sealing) or under an older key
            // are sealed under the current one before serving.
            let sealed = backend.rekey(&Caller::local("server", Role::Admin, "guardian-backend serve"), 500)?;
            eprintln!(
                "guardian-backend: referral bodies sealed {}{}",
                if backend.referral_key_in_store() {
                    "under a key kept in this store (no --referral-keys-file: for demos and tests only)"
                } else {
                    "under the keys in --referral-keys-file"
                },
                if sealed.resealed > 0 {
                    format!("; {} sealed again under the current key at start", sealed.resealed)
                } else {
                    String::new()
                }
            );
            if retention_every_minutes > 0 {
                spawn_retention(&store, keep.rules(), retention_every_minutes)?;
            }
            if let Some(p) = provider {
                backend.trust_identity_provider(p);
            }
            let defaults = guardian_backend::Limits::default();
            let limits = guardian_backend::Limits {
                max_connections: max_connections.map_or(defaults.max_connections, |n| n as usize),
                max_in_flight: max_in_flight as usize,
                header_timeout: std::time::Duration::from_secs(header_timeout_s),
                body_timeout: std::time::Duration::from_secs(body_timeout_s),
                per_officer_per_s,
                ..defaults
            };
            guardian_backend::serve_until(
                backend,
                addr,
                limits,
                |a| eprintln!("guardian-backend: listening on http://{a}"),
                async {
                    // If Ctrl-C cannot be watched, serve until killed.
                    if tokio::signal::ctrl_c().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                },
            )?;
        }
        Command::LoadAreas { store, file } => {
            let text = std::fs::read_to_string(&file).map_err(|source| CliError::Read {
                path: file.clone(),
                source,
            })?;
            let n = store.open()?.load_areas_geojson(&text)?;
            println!("loaded {n} areas");
        }
        Command::LoadBoundaries { store, dir } => {
            let version = store.open()?.load_boundaries_from_ward_files(&dir)?;
            println!("loaded boundaries version {version}");
        }
        Command::CreateNavigator {
            store,
            id,
            name,
            authority,
        } => {
            let authority = Authority::parse(&authority).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown authority {authority:?} (birmingham, coventry, dudley, sandwell, solihull, walsall, wolverhampton)"
                ))
            })?;
            store.open()?.create_navigator(&id, &name, authority)?;
            println!("navigator {id} is on the {authority} team");
        }
        Command::RemoveNavigator { store, id } => {
            if !store.open()?.remove_navigator(&id)? {
                return Err(CliError::Usage(format!("there is no active Navigator {id:?}")));
            }
            println!("navigator {id} is off their team; their sessions are ended");
        }
        Command::CreateOfficer { store, id, name, rank } => {
            let rank = Rank::parse(&rank).ok_or_else(|| CliError::Usage(format!("unknown rank {rank:?}")))?;
            store.open()?.create_officer(&id, &name, rank)?;
            println!("officer {id} is a {rank}");
        }
        Command::Devices { store, officer } => {
            println!("{}", to_json(&store.open()?.devices(officer.as_deref())?)?);
        }
        Command::RevokeDevice { store, id, by } => {
            let device = store.open()?.revoke_device(&id, &by)?;
            println!("{}", to_json(&device)?);
        }
        Command::Token {
            store,
            sub,
            role,
            ttl_s,
        } => {
            println!("{}", store.open()?.issue_token(&sub, role, ttl_s)?);
        }
        Command::Schedule {
            store,
            date,
            fraction,
            seed,
        } => {
            let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| CliError::Usage(format!("date {date:?} is not YYYY-MM-DD")))?;
            let made = store.open()?.schedule(date, fraction, seed)?;
            println!("{}", to_json(&made)?);
        }
        Command::PublishLibrary { store, dir } => {
            let now = chrono::Utc::now().timestamp_millis();
            let published = store.open()?.publish_library_dir(&dir, now)?;
            if published.published {
                println!(
                    "published library version {}: {} articles ({} added, {} changed, {} removed)",
                    published.version, published.articles, published.added, published.changed, published.removed
                );
            } else {
                println!(
                    "library unchanged at version {} ({} articles)",
                    published.version, published.articles
                );
            }
        }
        Command::Export {
            store,
            summary,
            from,
            to,
        } => {
            let backend = store.open()?;
            let rows = match (from, to) {
                (None, None) => None,
                (Some(f), Some(t)) => Some(backend.compliance_rows_between(f, t)?),
                (Some(d), None) | (None, Some(d)) => Some(backend.compliance_rows_between(d, d)?),
            };
            match (rows, summary) {
                (None, true) => println!("{}", to_json(&backend.compliance_summary()?)?),
                (None, false) => print!("{}", backend.compliance_csv()?),
                (Some(rows), true) => println!("{}", to_json(&guardian_backend::compliance_summary_of(&rows))?),
                (Some(rows), false) => print!("{}", guardian_backend::compliance_csv_of(&rows)),
            }
        }
        Command::Audit { command } => audit(command)?,
        Command::Data(command) => data::run(command)?,
        Command::ReviewTiles { store, template, off } => {
            let backend = store.open()?;
            let template = if off { None } else { template.as_deref() };
            backend.set_review_tile_layer(template)?;
            match template {
                Some(t) => println!("the review's patrol maps draw tiles from {t}"),
                None => println!("the review's patrol maps draw no tiles"),
            }
        }
    }
    Ok(())
}

/// Runs retention every `minutes` (the first one interval after start) on its own handle on the store (its own
/// connection or pool: a run's batches queue behind requests, never block
/// them for long). A failed run is logged and tried again next time.
fn spawn_retention(store: &StoreArg, rules: guardian_backend::Retention, minutes: u64) -> Result<(), CliError> {
    let backend = store.open()?;
    let who = Caller::local("server", Role::Admin, "guardian-backend serve (retention)");
    std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || {
            loop {
                // The first run one interval after start: a restart never
                // erases at once, and a demo on old recordings keeps them
                // for the interval.
                std::thread::sleep(std::time::Duration::from_secs(minutes * 60));
                let now = chrono::Utc::now().timestamp_millis();
                match backend.run_retention(&who, &rules, now, 500, None) {
                    Ok(run) => tracing::info!(
                        referrals = run.referrals,
                        patrols = run.patrols,
                        fixes = run.fixes,
                        access_log_entries = run.access_log_entries,
                        "retention run"
                    ),
                    Err(e) => tracing::error!("retention run failed: {e}"),
                }
            }
        })
        .map_err(|e| CliError::Backend(BackendError::Server(format!("retention thread: {e}"))))?;
    Ok(())
}

fn audit(command: AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify { store } => {
            let verified = store.open()?.verify_access_log()?;
            match verified.fault {
                Some(fault) => return Err(CliError::Tampered(fault.to_string())),
                None => println!("access log: {} entries, the chain is intact", verified.entries),
            }
        }
        AuditCommand::Export {
            store,
            from,
            to,
            subject,
            record,
            json,
            csv: _,
            by,
            purpose,
        } => {
            let day_start = |d: NaiveDate| london_instant(d, chrono::NaiveTime::MIN);
            let bad = |d: NaiveDate| CliError::Usage(format!("{d} is out of range"));
            let filter = AccessFilter {
                from_ms: from.map(|d| day_start(d).ok_or_else(|| bad(d))).transpose()?,
                to_ms: to
                    .map(|d| d.succ_opt().and_then(day_start).map(|t| t - 1).ok_or_else(|| bad(d)))
                    .transpose()?,
                subject,
                record,
            };
            let by = by
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".to_string());
            let mut who = Caller::local(&by, Role::Admin, "guardian-backend audit export");
            who.purpose = purpose;
            let entries = store.open()?.export_access_log(&who, &filter)?;
            if json {
                println!("{}", to_json(&entries)?);
            } else {
                print!("{}", access_log_csv(&entries));
            }
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Backend(BackendError::Server(format!("JSON: {e}"))))
}
