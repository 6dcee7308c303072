//! A handset process for the kill tests: it patrols and syncs in a loop,
//! forever, until the test kills it with SIGKILL at a random moment.
//!
//! Usage: handset-worker DB URL TOKEN SEED

use guardian_core::patrol::Fix;
use guardian_core::store::StoreError;
use guardian_tests::handset::{Handset, INSIDE, Tokens, fix};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: handset-worker DB URL TOKEN SEED");
        std::process::exit(2);
    }
    let seed: u64 = args[4].parse().unwrap_or(1);
    let tokens = Tokens::new(args[3].clone(), args[3].clone());
    let h = Handset::open(std::path::Path::new(&args[1]), &args[2], tokens);
    if h.guardian.officer().ok().flatten().is_none() {
        h.provision();
    }
    // Carry on from the newest stored fix, 5 s a step.
    let last: Option<i64> = h
        .guardian
        .store()
        .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT MAX(time_ms) FROM fixes", [], |r| r.get(0))?))
        .unwrap_or(None);
    let mut i = last.map_or(0, |t| (t - guardian_tests::handset::T0) / 5_000 + 1);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut roll = move |n: u64| rng.u64(..n);
    loop {
        if h.guardian.patrol_status().ok().flatten().is_none() {
            h.clock.set(fix(i, INSIDE).time_ms);
            let _ = h.guardian.check_in("ramp", &fix(i, INSIDE));
            i += 1;
        }
        let n = 1 + roll(120) as i64;
        let batch: Vec<Fix> = (i..i + n).map(|k| fix(k, INSIDE)).collect();
        i += n;
        h.clock.set(fix(i, INSIDE).time_ms);
        let _ = h.guardian.ingest_batch(&batch);
        match roll(10) {
            0 => {
                let _ = h.guardian.check_out(&fix(i, INSIDE));
                i += 1;
            }
            1 | 2 => {
                let _ = h.guardian.sync_now();
            }
            _ => {}
        }
    }
}
