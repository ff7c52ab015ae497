//! Triage's domain: the rules and the classifier, the transfer ledger's states. No I/O.

pub mod classify;
pub mod decide;
pub mod rules;
pub mod safety;
pub mod scan;
mod situations;
pub mod transfer;

/// Who must handle a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Police business.
    Police,
    /// Police with fire (119) or ambulance (120).
    Joint,
    /// A complaint about police.
    Complaint,
    /// Not police business (12345).
    NonPolice,
    /// Silent call, misdial, prank.
    Invalid,
}

impl Kind {
    /// Parses the rules-file spelling (`POLICE`, `NON_POLICE`, ...).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "POLICE" => Self::Police,
            "JOINT" => Self::Joint,
            "COMPLAINT_ABOUT_POLICE" => Self::Complaint,
            "NON_POLICE" => Self::NonPolice,
            "INVALID" => Self::Invalid,
            _ => return None,
        })
    }

    /// The catalogue's kind.
    pub fn from_catalogue(kind: pingan_catalogue::Kind) -> Self {
        match kind {
            pingan_catalogue::Kind::Police => Self::Police,
            pingan_catalogue::Kind::Joint => Self::Joint,
            pingan_catalogue::Kind::ComplaintAboutPolice => Self::Complaint,
            pingan_catalogue::Kind::NonPolice => Self::NonPolice,
            pingan_catalogue::Kind::Invalid => Self::Invalid,
        }
    }

    /// The rules-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Police => "POLICE",
            Self::Joint => "JOINT",
            Self::Complaint => "COMPLAINT_ABOUT_POLICE",
            Self::NonPolice => "NON_POLICE",
            Self::Invalid => "INVALID",
        }
    }

    /// Police or joint: a unit must go.
    pub fn stays_with_police(self) -> bool {
        matches!(self, Self::Police | Self::Joint)
    }

    /// Order of preference on equal scores: the safer answer first.
    pub fn tie_rank(self) -> u8 {
        match self {
            Self::Police | Self::Joint => 0,
            Self::Complaint => 1,
            Self::NonPolice => 2,
            Self::Invalid => 3,
        }
    }
}

/// Response priority; `P1` is the most urgent (the catalogue's, one type for every service).
pub use pingan_catalogue::Priority;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_move_within_bounds() {
        assert_eq!(Priority::P3.raised(1), Priority::P2);
        assert_eq!(Priority::P1.raised(2), Priority::P1);
        assert_eq!(Priority::P2.lowered(1, Priority::P3), Priority::P3);
        assert_eq!(Priority::P3.lowered(1, Priority::P3), Priority::P3);
        assert!(Priority::P1 < Priority::P2);
    }
}
