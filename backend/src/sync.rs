//! The sync reply (`GET /v1/sync`): what changed for an officer since the
//! cursor their handset sent — the force's areas, their assignments, the
//! authorities' boundaries, their referrals' status changes, and commands
//! — assembled from each concern's own tables.

use guardian_protocol::wire::SyncReply;

use crate::backend::Backend;
use crate::db::{self, KEY_ASSIGN_VERSION};
use crate::error::BackendError;
use crate::officers::require_officer;

impl Backend {
    pub(crate) fn sync(&self, sub: &str, cursor: Option<&str>) -> Result<SyncReply, BackendError> {
        let since = cursor.and_then(Cursor::parse);
        self.read(|tx| {
            let profile = require_officer(tx, sub)?;
            let (areas_version, areas) = crate::areas::latest_set(tx, since.map(|c| c.areas))?;
            let (boundaries_version, boundaries) = crate::boundaries::since(tx, since.map(|c| c.boundaries))?;
            let (referral_seq, referral_updates) =
                crate::referral::updates_since(tx, sub, since.map_or(0, |c| c.referrals))?;
            let now = Cursor {
                areas: areas_version,
                assignments: db::counter(tx, KEY_ASSIGN_VERSION)?,
                boundaries: boundaries_version,
                referrals: referral_seq,
            };
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
