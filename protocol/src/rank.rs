//! Officer ranks, as the force's records and the wire name them. Only a
//! warranted officer (not a PCSO) leads a compliant patrol (use of powers).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[serde(try_from = "String")]
pub enum Rank {
    Constable,
    Sergeant,
    Inspector,
    ChiefInspector,
    Superintendent,
    ChiefSuperintendent,
    /// A volunteer officer with a constable's powers.
    SpecialConstable,
    /// Police Community Support Officer: no warrant, so no use of powers.
    Pcso,
}

impl Rank {
    pub const ALL: [Rank; 8] = [
        Rank::Constable,
        Rank::Sergeant,
        Rank::Inspector,
        Rank::ChiefInspector,
        Rank::Superintendent,
        Rank::ChiefSuperintendent,
        Rank::SpecialConstable,
        Rank::Pcso,
    ];

    /// Holds a warrant (a constable's powers). The board monitors that a
    /// TGP is led by a warranted officer and not a PCSO.
    pub fn is_warranted(self) -> bool {
        self != Rank::Pcso
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rank::Constable => "constable",
            Rank::Sergeant => "sergeant",
            Rank::Inspector => "inspector",
            Rank::ChiefInspector => "chief_inspector",
            Rank::Superintendent => "superintendent",
            Rank::ChiefSuperintendent => "chief_superintendent",
            Rank::SpecialConstable => "special_constable",
            Rank::Pcso => "pcso",
        }
    }

    /// Accepts the stored names and the common abbreviations.
    pub fn parse(s: &str) -> Option<Rank> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let alias = match s.as_str() {
            "pc" => Some(Rank::Constable),
            "ps" => Some(Rank::Sergeant),
            "insp" => Some(Rank::Inspector),
            "special" | "sc" => Some(Rank::SpecialConstable),
            _ => None,
        };
        alias.or_else(|| Rank::ALL.into_iter().find(|r| r.as_str() == s))
    }
}

crate::rules::names_only!(Rank);

impl std::fmt::Display for Rank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pcso_is_unwarranted() {
        for r in Rank::ALL {
            assert_eq!(r.is_warranted(), r != Rank::Pcso);
        }
    }

    #[test]
    fn ranks_parse_from_names_and_abbreviations() {
        for r in Rank::ALL {
            assert_eq!(Rank::parse(r.as_str()), Some(r));
        }
        assert_eq!(Rank::parse("PC"), Some(Rank::Constable));
        assert_eq!(Rank::parse("Special Constable"), Some(Rank::SpecialConstable));
        assert_eq!(Rank::parse("chief-inspector"), Some(Rank::ChiefInspector));
        assert_eq!(Rank::parse("PCSO"), Some(Rank::Pcso));
        assert_eq!(Rank::parse("admiral"), None);
    }
}
