//! The faultfs tests' child process: commits numbered rows into a WAL
//! database with `synchronous=FULL` under a power cut due after `CUT` writes
//! and syncs, printing each row's number once its commit has returned.
//!
//! Usage: faultfs-probe DB SEED CUT

// SQLCipher's crypto provider lives in the core.
extern crate guardian_core;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(seed), Some(cut)) = (
        args.get(1),
        args.get(2).and_then(|s| s.parse().ok()),
        args.get(3).and_then(|s| s.parse().ok()),
    ) else {
        eprintln!("usage: faultfs-probe DB SEED CUT");
        std::process::exit(2);
    };
    if let Err(e) = guardian_faultfs::install(guardian_faultfs::Config {
        seed,
        cut_after_ops: Some(cut),
    }) {
        eprintln!("install: {e:?}");
        std::process::exit(2);
    }
    let run = || -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, pad BLOB)")?;
        let start: i64 = conn.query_row("SELECT coalesce(max(n), 0) FROM t", [], |r| r.get(0))?;
        let mut out = std::io::stdout().lock();
        for n in start + 1.. {
            conn.execute("INSERT INTO t VALUES (?1, zeroblob(3000))", [n])?;
            // Acknowledged only once the commit has returned.
            let _ = writeln!(out, "{n}");
            let _ = out.flush();
            if n % 50 == 0 {
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            }
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
