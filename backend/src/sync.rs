//! The sync reply (`GET /v1/sync`): what changed for an officer since the
//! cursor their handset sent — the force's areas, their assignments, the
//! authorities' boundaries, their referrals' status changes, and commands
//! — assembled from each concern's own tables.

use guardian_protocol::wire::SyncReply;

use crate::backend::Backend;
use crate::boundaries::KEY_BOUNDARIES_VERSION;
use crate::db::{self, KEY_AREAS_VERSION, KEY_ASSIGN_VERSION};
use crate::error::BackendError;
use crate::officers::require_officer;

impl Backend {
    pub(crate) fn sync(&self, sub: &str, cursor: Option<&str>) -> Result<SyncReply, BackendError> {
        self.read(|tx| {
            let profile = require_officer(tx, sub)?;
            let now = Cursor {
                areas: db::counter(tx, KEY_AREAS_VERSION)?,
                assignments: db::counter(tx, KEY_ASSIGN_VERSION)?,
                boundaries: db::counter(tx, KEY_BOUNDARIES_VERSION)?,
                referrals: crate::referral::latest_seq(tx)?,
            };
            // A cursor this server cannot have issued (ahead of it: the
            // handset or the server was restored from a backup) is no
            // cursor: the handset gets everything.
            let since = cursor.and_then(Cursor::parse).filter(|c| c.not_after(&now));
            let (_, areas) = crate::areas::latest_set(tx, since.map(|c| c.areas))?;
            let (_, boundaries) = crate::boundaries::since(tx, since.map(|c| c.boundaries))?;
            let (_, referral_updates) = crate::referral::updates_since(tx, sub, since.map_or(0, |c| c.referrals))?;
            let assignments = if since.is_none_or(|c| now.assignments > c.assignments) {
                Some(crate::schedule::assignments_of(tx, sub)?)
            } else {
                None
            };
            Ok(SyncReply {
                cursor: now.to_string(),
                officer: Some(profile),
                areas,
                assignments,
                commands: crate::commands::pending(tx, sub)?,
                boundaries,
                referral_updates,
            })
        })
    }
}

/// What a handset last saw: the areas, assignments and boundaries versions
/// and the last referral change sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub areas: i64,
    pub assignments: i64,
    pub boundaries: i64,
    pub referrals: i64,
}

impl Cursor {
    /// Every part at or behind `now`'s: a cursor this server could have
    /// issued.
    fn not_after(&self, now: &Cursor) -> bool {
        self.areas <= now.areas
            && self.assignments <= now.assignments
            && self.boundaries <= now.boundaries
            && self.referrals <= now.referrals
    }

    /// `a{areas}.s{assignments}.b{boundaries}.r{referral seq}`. A cursor
    /// from before boundaries and referrals (`a{areas}.s{assignments}`) is
    /// still good: it has seen none of either (0), so the handset gets the
    /// boundaries and every status change, and no repeat of areas or
    /// assignments. Anything else (including a cursor from a newer server)
    /// means "send everything". Only letters, digits and dots: the handset
    /// URL-encodes it and this server reads the query raw.
    pub fn parse(s: &str) -> Option<Cursor> {
        let mut parts = s.split('.');
        let mut field = |prefix: char| -> Option<Option<i64>> {
            match parts.next() {
                None => Some(None),
                Some(p) => p.strip_prefix(prefix)?.parse().ok().map(Some),
            }
        };
        let areas = field('a')??;
        let assignments = field('s')??;
        let (boundaries, referrals) = match (field('b')?, field('r')?) {
            (None, None) => (0, 0),
            (Some(b), Some(r)) => (b, r),
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor {
            areas,
            assignments,
            boundaries,
            referrals,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a{}.s{}.b{}.r{}",
            self.areas, self.assignments, self.boundaries, self.referrals
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_means_everything() {
        let c = Cursor {
            areas: 3,
            assignments: 12,
            boundaries: 2,
            referrals: 40,
        };
        assert_eq!(c.to_string(), "a3.s12.b2.r40");
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        for bad in [
            "",
            "a1",
            "a1.x2",
            "x1.s2",
            "a.s",
            "a1.s2.s3",
            "a-1.s",
            "a1.s2.b3",
            "a1.s2.r3.b4",
            "a1.s2.b3.r4.x5",
            "a1.s2.b.r4",
            "a1.s2.",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cursor_ahead_of_the_server_is_not_one_it_issued() {
        let now = Cursor {
            areas: 3,
            assignments: 12,
            boundaries: 2,
            referrals: 40,
        };
        assert!(now.not_after(&now));
        for ahead in [
            Cursor { areas: 4, ..now },
            Cursor { assignments: 13, ..now },
            Cursor { boundaries: 3, ..now },
            Cursor { referrals: 41, ..now },
        ] {
            assert!(!ahead.not_after(&now), "{ahead:?}");
        }
    }

    #[test]
    fn a_cursor_from_before_referrals_has_seen_none_of_them() {
        assert_eq!(
            Cursor::parse("a3.s12"),
            Some(Cursor {
                areas: 3,
                assignments: 12,
                boundaries: 0,
                referrals: 0,
            })
        );
    }
}
