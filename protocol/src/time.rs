//! London local time: threat windows, patrol days, the daily schedule and a
//! young person's age are all written in it, on the handset and the server.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::London;
use chrono_tz::Tz;

/// The earliest time a record may carry: 1900-01-01 UTC. Before it is no
/// clock at all (a GPS 1901 underflow still fits, and the handset's filter
/// calls it implausible, but keeps it as evidence).
pub const EARLIEST_MS: i64 = -2_208_988_800_000;
/// The latest: 2200-01-01 UTC.
pub const LATEST_MS: i64 = 7_258_118_400_000;

/// Could a record carry this time? One rule for every time on the wire,
/// checked on the handset and on the server, so no stored time can break a
/// report (a year −262,000 once did).
pub fn plausible_ms(ms: i64) -> bool {
    (EARLIEST_MS..LATEST_MS).contains(&ms)
}

/// A UTC instant (ms) as London wall-clock time; `None` for an instant no
/// record may carry (and chrono's offset arithmetic would panic at the
/// ends of its range).
pub fn london(utc_ms: i64) -> Option<DateTime<Tz>> {
    if !plausible_ms(utc_ms) {
        return None;
    }
    DateTime::from_timestamp_millis(utc_ms).map(|t| London.from_utc_datetime(&t.naive_utc()))
}

/// The London calendar date of a UTC instant.
pub fn london_date(utc_ms: i64) -> Option<NaiveDate> {
    london(utc_ms).map(|t| t.date_naive())
}

/// London wall-clock `time` on `date` as UTC ms. On the autumn change (the
/// hour that happens twice) the earlier instant; in the spring gap (the
/// hour that never happens) the clock's next reading, an hour later.
pub fn london_instant(date: NaiveDate, time: NaiveTime) -> Option<i64> {
    let naive = NaiveDateTime::new(date, time);
    London
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            London
                .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
}

/// Local midnight to local midnight in London around a UTC instant, as UTC
/// ms. An instant chrono cannot represent gives an empty day at it.
pub fn london_day_bounds(utc_ms: i64) -> (i64, i64) {
    let Some(day) = london_date(utc_ms) else {
        return (utc_ms, utc_ms);
    };
    let midnight = |d: NaiveDate| london_instant(d, NaiveTime::MIN).unwrap_or(utc_ms);
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    (midnight(day), midnight(next))
}

/// The days "today" may be, given how far two clocks can disagree: the
/// handset judges with its own day (`exact`); the server allows a day
/// either side, so a handset clock a little off never has a form it
/// accepted refused for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Today {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

impl Today {
    pub fn exact(day: NaiveDate) -> Self {
        Self {
            earliest: day,
            latest: day,
        }
    }

    /// The server's view: `day` give or take one.
    pub fn around(day: NaiveDate) -> Self {
        Self {
            earliest: day.pred_opt().unwrap_or(day),
            latest: day.succ_opt().unwrap_or(day),
        }
    }
}

/// Whole years from `dob` to `on`.
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn a_london_day_is_23_24_or_25_hours() {
        let hours = |y, m, d| {
            let noon = london_instant(date(y, m, d), NaiveTime::from_hms_opt(12, 0, 0).expect("t")).expect("noon");
            let (a, b) = london_day_bounds(noon);
            (b - a) / 3_600_000
        };
        assert_eq!(hours(2026, 3, 29), 23);
        assert_eq!(hours(2026, 7, 1), 24);
        assert_eq!(hours(2026, 10, 25), 25);
    }

    #[test]
    fn just_after_midnight_in_summer_is_already_the_next_london_day() {
        // 23:30 UTC on 1 July is 00:30 BST on 2 July.
        let t = london_instant(date(2026, 7, 2), NaiveTime::from_hms_opt(0, 30, 0).expect("t")).expect("t");
        assert_eq!(london_date(t), Some(date(2026, 7, 2)));
        assert_eq!(
            DateTime::from_timestamp_millis(t).expect("utc").date_naive(),
            date(2026, 7, 1)
        );
    }

    #[test]
    fn the_spring_gap_reads_as_the_next_hour() {
        let gap = london_instant(date(2026, 3, 29), NaiveTime::from_hms_opt(1, 30, 0).expect("t")).expect("t");
        let after = london_instant(date(2026, 3, 29), NaiveTime::from_hms_opt(2, 30, 0).expect("t")).expect("t");
        assert_eq!(gap, after);
    }

    #[test]
    fn out_of_range_instants_are_not_a_panic() {
        assert_eq!(london_date(i64::MIN), None);
        assert_eq!(london_day_bounds(i64::MAX), (i64::MAX, i64::MAX));
        // Year -262,000: chrono holds it, London's offset would overflow it.
        let ancient = -8_330_000_000_000_000;
        assert!(DateTime::from_timestamp_millis(ancient).is_some());
        assert_eq!(london(ancient), None);
        assert!(!plausible_ms(ancient) && !plausible_ms(LATEST_MS) && plausible_ms(EARLIEST_MS));
        assert!(
            plausible_ms(-2_177_452_800_000),
            "a 1901 clock underflow is still a time"
        );
    }

    #[test]
    fn ages_turn_on_the_birthday() {
        assert_eq!(age_on(date(2010, 5, 17), date(2026, 5, 16)), 15);
        assert_eq!(age_on(date(2010, 5, 17), date(2026, 5, 17)), 16);
    }
}
