//! Threat windows: the local times an area must be patrolled, e.g. "Fri and
//! Sat 22:00–00:00". Times are Europe/London wall-clock, a window may cross
//! midnight (it then belongs to the day it starts on), and may be limited to
//! a season ("06-01" to "09-30", wrapping the year if `from` is after `to`).

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use serde::{Deserialize, Serialize};

/// The window as written in area data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("window has no days")]
    NoDays,
    #[error("unknown day {0:?} (use mon, tue, wed, thu, fri, sat, sun)")]
    BadDay(String),
    #[error("bad time {0:?} (use HH:MM, 00:00 to 23:59, or 24:00 as an end)")]
    BadTime(String),
    #[error("window starts and ends at the same time {0:?}")]
    Empty(String),
    #[error("bad season date {0:?} (use MM-DD)")]
    BadSeasonDate(String),
    #[error("a season needs both `from` and `to`")]
    HalfSeason,
}

/// A validated window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreatWindow {
    /// Bit 0 is Monday.
    days: u8,
    /// Minutes after local midnight.
    start_min: u16,
    /// Minutes after local midnight; `<= start_min` means it ends tomorrow.
    end_min: u16,
    season: Option<Season>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Season {
    from: (u32, u32),
    to: (u32, u32),
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl ThreatWindow {
    pub fn parse(spec: &WindowSpec) -> Result<Self, WindowError> {
        if spec.days.is_empty() {
            return Err(WindowError::NoDays);
        }
        let mut days = 0u8;
        for d in &spec.days {
            let i = DAY_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(d.trim()))
                .ok_or_else(|| WindowError::BadDay(d.clone()))?;
            days |= 1 << i;
        }
        let start_min = parse_hhmm(&spec.start, false)?;
        let end_min = parse_hhmm(&spec.end, true)?;
        if start_min == end_min {
            return Err(WindowError::Empty(format!("{}-{}", spec.start, spec.end)));
        }
        let season = match (&spec.from, &spec.to) {
            (None, None) => None,
            (Some(f), Some(t)) => Some(Season {
                from: parse_mmdd(f)?,
                to: parse_mmdd(t)?,
            }),
            _ => return Err(WindowError::HalfSeason),
        };
        Ok(Self {
            days,
            start_min,
            end_min,
            season,
        })
    }

    /// Every day, `start`–`end` local: the sim's `--window 22:00-00:00`.
    pub fn daily(start: &str, end: &str) -> Result<Self, WindowError> {
        Self::parse(&WindowSpec {
            days: DAY_NAMES.iter().map(|d| (*d).to_string()).collect(),
            start: start.into(),
            end: end.into(),
            from: None,
            to: None,
        })
    }

    pub fn crosses_midnight(&self) -> bool {
        self.end_min <= self.start_min
    }

    /// Is this UTC instant inside the window, in London local time?
    pub fn contains_utc_ms(&self, utc_ms: i64) -> bool {
        let Some(local) = guardian_protocol::time::london(utc_ms) else {
            return false;
        };
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        let today = local.date_naive();
        if !self.crosses_midnight() {
            return self.starts_on(today) && minute >= self.start_min && minute < self.end_min;
        }
        let started_today = self.starts_on(today) && minute >= self.start_min;
        let started_yesterday = today
            .pred_opt()
            .is_some_and(|y| self.starts_on(y) && minute < self.end_min);
        started_today || started_yesterday
    }

    fn starts_on(&self, date: NaiveDate) -> bool {
        let bit = 1u8 << date.weekday().num_days_from_monday();
        self.days & bit != 0 && self.season.is_none_or(|s| s.contains(date))
    }

    pub fn to_spec(&self) -> WindowSpec {
        let days = DAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.days & (1 << i) != 0)
            .map(|(_, d)| (*d).to_string())
            .collect();
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        WindowSpec {
            days,
            start: hhmm(self.start_min),
            end: if self.end_min == 1440 {
                "24:00".into()
            } else {
                hhmm(self.end_min)
            },
            from: self.season.map(|s| format!("{:02}-{:02}", s.from.0, s.from.1)),
            to: self.season.map(|s| format!("{:02}-{:02}", s.to.0, s.to.1)),
        }
    }

    /// Does the window start on this local date (its weekday and season)?
    pub fn runs_on_date(&self, date: NaiveDate) -> bool {
        self.starts_on(date)
    }

    /// Does `weekday` have a window that starts on it?
    pub fn runs_on(&self, weekday: Weekday) -> bool {
        self.days & (1 << weekday.num_days_from_monday()) != 0
    }
}

impl Season {
    fn contains(&self, date: NaiveDate) -> bool {
        let md = (date.month(), date.day());
        if self.from <= self.to {
            self.from <= md && md <= self.to
        } else {
            md >= self.from || md <= self.to
        }
    }
}

fn parse_hhmm(s: &str, is_end: bool) -> Result<u16, WindowError> {
    let bad = || WindowError::BadTime(s.to_string());
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    match (h, m) {
        (24, 0) if is_end => Ok(1440),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

fn parse_mmdd(s: &str) -> Result<(u32, u32), WindowError> {
    let bad = || WindowError::BadSeasonDate(s.to_string());
    let (m, d) = s.trim().split_once('-').ok_or_else(bad)?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    // 2024 is a leap year, so 02-29 is a real season bound.
    NaiveDate::from_ymd_opt(2024, m, d).ok_or_else(bad)?;
    Ok((m, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::London;

    fn spec(days: &[&str], start: &str, end: &str) -> WindowSpec {
        WindowSpec {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            from: None,
            to: None,
        }
    }

    /// UTC millis for a London local time (no ambiguity in these tests).
    fn london(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        London
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("unambiguous")
            .timestamp_millis()
    }

    #[test]
    fn the_ramp_window_runs_2200_to_midnight_local_in_summer_and_winter() {
        let w = ThreatWindow::daily("22:00", "00:00").expect("window");
        assert!(w.crosses_midnight());
        // July (BST, UTC+1) and January (GMT).
        for (y, mo, d) in [(2023, 7, 14), (2024, 1, 12)] {
            assert!(!w.contains_utc_ms(london(y, mo, d, 21, 59)));
            assert!(w.contains_utc_ms(london(y, mo, d, 22, 0)));
            assert!(w.contains_utc_ms(london(y, mo, d, 23, 59)));
            assert!(!w.contains_utc_ms(london(y, mo, d + 1, 0, 0)));
        }
    }

    #[test]
    fn a_window_crossing_midnight_belongs_to_the_day_it_starts() {
        let w = ThreatWindow::parse(&spec(&["fri"], "23:00", "02:00")).expect("window");
        // Fri 14 July 2023 23:30 and Sat 01:30 are in; Sat 23:30 is not.
        assert!(w.contains_utc_ms(london(2023, 7, 14, 23, 30)));
        assert!(w.contains_utc_ms(london(2023, 7, 15, 1, 30)));
        assert!(!w.contains_utc_ms(london(2023, 7, 15, 2, 0)));
        assert!(!w.contains_utc_ms(london(2023, 7, 15, 23, 30)));
        // Thursday night into Friday morning is not a Friday window.
        assert!(!w.contains_utc_ms(london(2023, 7, 14, 1, 0)));
    }

    #[test]
    fn a_seasonal_window_is_closed_out_of_season() {
        let mut s = spec(&["sat", "sun"], "14:00", "18:00");
        s.from = Some("06-01".into());
        s.to = Some("09-30".into());
        let w = ThreatWindow::parse(&s).expect("window");
        assert!(w.contains_utc_ms(london(2023, 7, 15, 15, 0)));
        assert!(!w.contains_utc_ms(london(2023, 11, 18, 15, 0)));
        // A season that wraps the new year.
        s.from = Some("11-01".into());
        s.to = Some("02-28".into());
        let w = ThreatWindow::parse(&s).expect("window");
        assert!(w.contains_utc_ms(london(2023, 11, 18, 15, 0)));
        assert!(w.contains_utc_ms(london(2024, 1, 13, 15, 0)));
        assert!(!w.contains_utc_ms(london(2023, 7, 15, 15, 0)));
    }

    #[test]
    fn bad_windows_are_typed_errors() {
        assert_eq!(
            ThreatWindow::parse(&spec(&[], "22:00", "00:00")),
            Err(WindowError::NoDays)
        );
        assert_eq!(
            ThreatWindow::parse(&spec(&["fry"], "22:00", "00:00")),
            Err(WindowError::BadDay("fry".into()))
        );
        for bad in ["25:00", "22:60", "2200", "22:0", "", "ab:cd", "24:00"] {
            assert!(
                matches!(
                    ThreatWindow::parse(&spec(&["mon"], bad, "23:00")),
                    Err(WindowError::BadTime(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            ThreatWindow::parse(&spec(&["mon"], "22:00", "22:00")),
            Err(WindowError::Empty(_))
        ));
        let mut s = spec(&["mon"], "10:00", "12:00");
        s.from = Some("13-01".into());
        s.to = Some("02-01".into());
        assert!(matches!(ThreatWindow::parse(&s), Err(WindowError::BadSeasonDate(_))));
        s.from = None;
        assert_eq!(ThreatWindow::parse(&s), Err(WindowError::HalfSeason));
    }

    #[test]
    fn a_window_round_trips_through_its_spec() {
        let mut s = spec(&["fri", "sat"], "23:00", "02:00");
        s.from = Some("06-01".into());
        s.to = Some("09-30".into());
        let w = ThreatWindow::parse(&s).expect("window");
        assert_eq!(ThreatWindow::parse(&w.to_spec()), Ok(w));
        let w = ThreatWindow::daily("08:00", "24:00").expect("window");
        assert_eq!(ThreatWindow::parse(&w.to_spec()), Ok(w));
    }
}
