//! Per-officer request rate: a stolen or runaway token gets at most
//! `Limits::per_officer_per_s` requests a second, then 429
//! with `Retry-After`, which the handset's sync honours. One second's
//! window per subject; the table is emptied of past windows whenever it
//! grows, so it never holds more than the subjects seen in one second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Subjects kept before past windows are swept out.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
pub(crate) struct OfficerRate {
    per_s: u32,
    started: Instant,
    seen: Mutex<HashMap<String, (u64, u32)>>,
}

impl OfficerRate {
    pub(crate) fn new(per_s: u32) -> Self {
        Self {
            per_s,
            started: Instant::now(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request by `sub`; false once its second's share is spent.
    pub(crate) fn admit(&self, sub: &str) -> bool {
        let now = self.started.elapsed().as_secs();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= SWEEP_AT && !seen.contains_key(sub) {
            seen.retain(|_, (window, _)| *window == now);
        }
        let entry = seen.entry(sub.to_string()).or_insert((now, 0));
        if entry.0 != now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.per_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_officer_has_their_own_share_and_the_table_stays_bounded() {
        let rate = OfficerRate::new(3);
        let admitted = (0..10).filter(|_| rate.admit("pc-a")).count();
        // Within one second (a slow machine may cross into the next once).
        assert!((3..=6).contains(&admitted), "{admitted}");
        assert!(rate.admit("pc-b"), "another officer is not held back");
        for i in 0..3 * SWEEP_AT {
            rate.admit(&format!("x-{i}"));
        }
        let held = rate.seen.lock().expect("lock").len();
        assert!(held <= 3 * SWEEP_AT + 2, "{held}");
    }
}
