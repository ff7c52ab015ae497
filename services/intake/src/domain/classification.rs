//! Triage's classification of an incident as intake stores it: the shared record of the
//! catalogue crate (intake and triage keep the same fields).

pub use pingan_catalogue::classification::{
    ClassificationRecord, RuleMatch, SituationMatch, UnitNeed,
};
