//! Triage's domain: the rules and the classifier, the transfer ledger's states. No I/O.

pub mod classify;
pub mod decide;
pub mod rules;
pub mod safety;
pub mod scan;
mod scene_words;
mod signal_words;
mod situations;
pub mod transfer;

/// Who handles a call: the catalogue's kinds, one spelling for every service.
pub use pingan_catalogue::Kind;

/// Order among kinds when two categories score the same: the police first, then complaints,
/// 12345 business, invalid calls (a tie never sends a call away from the police).
pub fn tie_rank(kind: Kind) -> u8 {
    match kind {
        Kind::Police | Kind::Joint => 0,
        Kind::ComplaintAboutPolice => 1,
        Kind::NonPolice => 2,
        Kind::Invalid => 3,
    }
}

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
