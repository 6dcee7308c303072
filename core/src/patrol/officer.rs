//! The officer using the handset. The role comes from the force's login
//! (via sync); here it is a plain value.

use guardian_protocol::rules::{DISPLAY_NAME, MAX_ID_LEN, id_problem};
use serde::{Deserialize, Serialize};

pub use guardian_protocol::Rank;

use super::session::PatrolError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    pub officer_id: String,
    pub display_name: String,
    pub rank: Rank,
}

impl Officer {
    /// The force's limits on an officer's id and name.
    pub fn check(&self) -> Result<(), PatrolError> {
        let problem = id_problem(&self.officer_id, MAX_ID_LEN)
            .map(|p| format!("officer id {p}"))
            .or_else(|| DISPLAY_NAME.problem(&self.display_name).map(|p| format!("name {p}")));
        problem.map_or(Ok(()), |p| Err(PatrolError::InvalidOfficer(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_officer_needs_a_short_printable_id_and_name() {
        let ok = Officer {
            officer_id: "pc-4471".into(),
            display_name: "PC Amira Shah".into(),
            rank: Rank::Constable,
        };
        assert_eq!(ok.check(), Ok(()));
        for bad in [
            Officer {
                officer_id: " ".into(),
                ..ok.clone()
            },
            Officer {
                display_name: "x".repeat(201),
                ..ok.clone()
            },
            Officer {
                display_name: "bell\u{7}".into(),
                ..ok.clone()
            },
        ] {
            assert!(matches!(bad.check(), Err(PatrolError::InvalidOfficer(_))), "{bad:?}");
        }
    }
}
