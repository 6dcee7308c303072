//! The handset simulator: plays what a phone would do against the Guardian
//! core, from the command line.

mod bench;
mod demo;
mod force;
mod library;
mod referral;
mod replay;
mod seed;
mod storm;
mod torture;
mod track;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use guardian_core::patrol::Rank;
use guardian_core::store::DbKey;

#[derive(Parser)]
#[command(name = "guardian-sim", version, about = "Guardian handset simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a real GPX track through the core and print the patrol report.
    Replay {
        /// TGP areas, a GeoJSON FeatureCollection.
        #[arg(long)]
        areas: PathBuf,
        /// The GPS track, a GPX file.
        #[arg(long)]
        track: PathBuf,
        /// Patrol this area; by default the first area the track arrives in.
        #[arg(long)]
        area_id: Option<String>,
        /// The officer's rank: constable, sergeant, special_constable, pcso, …
        #[arg(long, default_value = "constable", value_parser = parse_rank)]
        rank: Rank,
        /// A daily window HH:MM-HH:MM (London time) replacing the area's own.
        #[arg(long)]
        window: Option<String>,
        /// Also play the track as a phone obeying the core's sampling plan
        /// delivers it, and compare with the full track.
        #[arg(long)]
        plan: bool,
        /// Print one JSON object instead of the readable report.
        #[arg(long)]
        json: bool,
    },
    /// The main job: the reference backend in-process, a handset patrolling
    /// a real track with a signal gap, sync, and both sides' reports.
    Demo {
        /// TGP areas (default: the bundled demo areas).
        #[arg(long)]
        areas: Option<PathBuf>,
        /// The GPS track (default: the MTK logger's real walk, moved onto a
        /// Birmingham hotspot: sim/data/demo-track-birmingham.gpx).
        #[arg(long)]
        track: Option<PathBuf>,
        /// Print one JSON object instead of the readable report.
        #[arg(long)]
        json: bool,
        /// Keep the backend up afterwards and print the supervisors' review
        /// page's address and a token to sign in with; Ctrl-C stops it.
        #[arg(long)]
        serve: bool,
    },
    /// Build a force backend database holding a day of simulated patrols
    /// (compliant, PCSO-led, too short, outside the window), each walked
    /// by a handset and synced: what the review page's browser tests open.
    ReviewSeed {
        /// The new backend database file.
        #[arg(long)]
        db: PathBuf,
        /// TGP areas (default: the bundled demo areas).
        #[arg(long)]
        areas: Option<PathBuf>,
        /// The GPS track (default: the MTK logger's walk from the shared
        /// fixtures, in its area trk-mtk).
        #[arg(long)]
        track: Option<PathBuf>,
    },
    /// Which VRP Navigator team a referral made at this point goes to.
    Referral {
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        /// The ward boundary files (default: the shared fixtures).
        #[arg(long)]
        boundaries: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// One simulated shift on a handset; prints its peak memory (used by bench).
    #[command(hide = true)]
    Shift {
        #[arg(long, default_value_t = 12)]
        hours: u32,
        /// Sync to this backend every 5 minutes and use its library
        /// (needs --token); without it the shift has no signal.
        #[arg(long, requires = "token")]
        backend: Option<String>,
        #[arg(long)]
        token: Option<String>,
    },
    /// Kill the handset process and cut its power at random moments over a
    /// real workload, then count what was acknowledged and lost.
    Torture {
        /// SIGKILLs (some aimed into a sync pass, a pack apply, opening the
        /// store, and migrations of a first-version store).
        #[arg(long, default_value_t = 100)]
        kills: usize,
        /// Simulated power cuts (unsynced writes kept, dropped or torn).
        #[arg(long, default_value_t = 0)]
        power_cuts: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The torture campaign's child process.
    #[command(hide = true)]
    TortureWorker {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        seed: u64,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long)]
        cut_after: Option<u64>,
        #[arg(long)]
        open_only: bool,
    },
    /// Keeps one core busy for a while (the bench's background load).
    #[command(hide = true)]
    Burn {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Measure the figures the design targets and print them.
    /// The reconnect storm: N handsets, each with a backlog of M minutes of
    /// patrol, all released at once against a backend; prints the drain
    /// time, throughput, latency, answers, duplicates and losses.
    Load {
        /// Simulated handsets.
        #[arg(long)]
        handsets: usize,
        /// Minutes of 1 Hz patrol track each handset holds.
        #[arg(long)]
        backlog_minutes: u32,
        /// A backend already serving (needs --admin-token).
        #[arg(long, required_unless_present_any = ["serve_db", "serve_database_url"])]
        backend: Option<String>,
        /// An admin token for --backend (to create the storm's officers).
        #[arg(long, requires = "backend")]
        admin_token: Option<String>,
        /// The --backend server's process id, to report its peak memory.
        #[arg(long, requires = "backend")]
        server_pid: Option<u32>,
        /// Instead of --backend: start guardian-backend on this SQLite file.
        #[arg(long, conflicts_with_all = ["backend", "serve_database_url"])]
        serve_db: Option<PathBuf>,
        /// Instead of --backend: start guardian-backend on this PostgreSQL database.
        #[arg(long, conflicts_with = "backend")]
        serve_database_url: Option<String>,
        #[arg(long, default_value_t = 20_261_130)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    Bench {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Fewer, smaller runs (for a quick check; figures are noisier).
        #[arg(long)]
        quick: bool,
        /// Measure one figure only: `shift` (memory over a shift), `search` (the library search p99) or
        /// `ingest` (durable ingestion against raw SQLite, more rounds) or `audit` (a logged read
        /// of referrals against the same read unlogged).
        #[arg(long)]
        only: Option<String>,
    },
    /// The practice library against a store loaded with the starter pack.
    Library {
        #[command(subcommand)]
        command: library::LibraryCommand,
    },
}

fn parse_rank(s: &str) -> Result<Rank, String> {
    Rank::parse(s).ok_or_else(|| format!("unknown rank {s:?}"))
}

/// Everything that ends the simulator with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{what}: {reason}")]
    Input { what: String, reason: String },
    #[error(transparent)]
    Core(#[from] guardian_core::Error),
}

impl From<guardian_core::store::StoreError> for SimError {
    fn from(e: guardian_core::store::StoreError) -> Self {
        SimError::Core(e.into())
    }
}

/// The phone's keystore hands the app 32 random bytes; so does this.
pub fn fake_keystore_key() -> DbKey {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    // A v4 UUID is never all zeros, so neither is the key.
    DbKey::from_bytes(bytes).unwrap_or_else(|_| unreachable!("random key is never all zero"))
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Prints where the review page is and how to sign in (on stderr after a
/// `--json` report, which stays the only thing on stdout), then keeps the
/// demo's backend up until Ctrl-C.
fn serve_until_ctrl_c(s: demo::Serving, json: bool) -> Result<(), SimError> {
    let say = |line: &str| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say("");
    say(&format!("Supervisors' review page: {}", s.review_url()));
    say("Sign in with this supervisor token (valid 12 h):");
    say(&s.supervisor_token);
    say("The backend stays up until Ctrl-C.");
    let signal = |e: std::io::Error| SimError::Input {
        what: "signal handler".into(),
        reason: e.to_string(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(signal)?;
    runtime.block_on(tokio::signal::ctrl_c()).map_err(signal)?;
    say("stopping");
    drop(s);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay {
            areas,
            track,
            area_id,
            rank,
            window,
            plan,
            json,
        } => replay::run(&replay::ReplayArgs {
            areas,
            track,
            area_id,
            rank,
            window,
            plan,
        })
        .map(|r| {
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                replay::print_human(&r);
            }
        }),
        Command::Demo {
            areas,
            track,
            json,
            serve,
        } => {
            let (default_areas, default_track) = demo::default_paths();
            demo::run(&demo::DemoArgs {
                areas: areas.unwrap_or(default_areas),
                track: track.unwrap_or(default_track),
                quiet: json,
                serve,
            })
            .and_then(|(r, serving)| {
                if json {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                } else {
                    demo::print_human(&r);
                }
                match serving {
                    Some(s) => serve_until_ctrl_c(s, json),
                    None => Ok(()),
                }
            })
        }
        Command::ReviewSeed { db, areas, track } => {
            let (default_areas, _) = demo::default_paths();
            seed::run(
                &db,
                &areas.unwrap_or(default_areas),
                &track.unwrap_or_else(seed::default_track),
            )
            .map(|r| println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default()))
        }
        Command::Referral {
            lat,
            lon,
            boundaries,
            json,
        } => referral::route(lat, lon, boundaries).map(|r| {
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                referral::print_human(&r);
            }
        }),
        Command::Shift { hours, backend, token } => bench::shift(hours, backend.zip(token))
            .map(|v| println!("{}", serde_json::to_string(&v).unwrap_or_default())),
        Command::Load {
            handsets,
            backlog_minutes,
            backend,
            admin_token,
            server_pid,
            serve_db,
            serve_database_url,
            seed,
            json,
        } => {
            let target = match (backend, serve_db, serve_database_url) {
                (Some(url), None, None) => match admin_token {
                    Some(admin_token) => Ok(storm::Target::External {
                        url,
                        admin_token,
                        server_pid,
                    }),
                    None => Err(force::input("--admin-token", "--backend needs an admin token")),
                },
                (None, Some(db), None) => Ok(storm::Target::Serve {
                    store: db.to_string_lossy().into_owned(),
                }),
                (None, None, Some(url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    Ok(storm::Target::Serve { store: url })
                }
                (None, None, Some(_)) => Err(force::input(
                    "--serve-database-url",
                    "must be a postgres:// or postgresql:// URL",
                )),
                _ => Err(force::input(
                    "load",
                    "give one of --backend, --serve-db, --serve-database-url",
                )),
            };
            target
                .and_then(|t| storm::run(t, handsets, backlog_minutes, seed))
                .and_then(|f| {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&f).unwrap_or_default());
                    } else {
                        storm::print_human(&f);
                    }
                    if f.duplicates_stored + f.records_lost + f.fixes_lost > 0 {
                        Err(force::input("storm", "records were lost or stored twice"))
                    } else {
                        Ok(())
                    }
                })
        }
        Command::Torture {
            kills,
            power_cuts,
            seed,
            json,
        } => torture::run(&torture::TortureArgs {
            kills,
            power_cuts,
            seed,
            quiet: json,
        })
        .and_then(|r| {
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                torture::print_human(&r);
            }
            if r.lost + r.duplicated + r.drafts_lost + r.integrity_failures > 0 || !r.problems.is_empty() {
                Err(SimError::Input {
                    what: "torture".into(),
                    reason: format!("{} problems", r.problems.len().max(1)),
                })
            } else {
                Ok(())
            }
        }),
        Command::TortureWorker {
            db,
            url,
            token,
            key,
            seed,
            from,
            cut_after,
            open_only,
        } => torture::worker(&torture::WorkerArgs {
            db,
            url,
            token,
            key_hex: key,
            seed,
            from,
            cut_after,
            open_only,
        }),
        Command::Burn { seconds } => {
            bench::burn(seconds);
            Ok(())
        }
        Command::Bench {
            json,
            quick,
            only: Some(only),
        } if only == "search" => bench::library_search(quick).map(|figures| {
            if json {
                println!("{}", serde_json::to_string_pretty(&figures).unwrap_or_default());
            } else {
                bench::print_search(&figures);
            }
        }),
        Command::Bench {
            quick,
            only: Some(only),
            ..
        } if only == "ingest" => bench::ingest(quick).map(|figures| {
            println!("{}", serde_json::to_string_pretty(&figures).unwrap_or_default());
        }),
        Command::Bench {
            quick,
            only: Some(only),
            ..
        } if only == "shift" => bench::shift_figures(quick).map(|figures| {
            println!("{}", serde_json::to_string_pretty(&figures).unwrap_or_default());
        }),
        Command::Bench {
            quick,
            only: Some(only),
            ..
        } if only == "audit" => bench::audit::cost(quick).map(|figures| {
            println!("{}", serde_json::to_string_pretty(&figures).unwrap_or_default());
        }),
        Command::Bench { only: Some(only), .. } => Err(SimError::Input {
            what: "--only".into(),
            reason: format!("unknown figure {only:?} (known: search, ingest, shift, audit)"),
        }),
        Command::Bench { json, quick, .. } => bench::run(quick).map(|figures| {
            if json {
                println!("{}", serde_json::to_string_pretty(&figures).unwrap_or_default());
            } else {
                bench::print_human(&figures);
            }
        }),
        Command::Library { command } => library::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
