//! Intake's rules, without I/O: the stored records (`incident`, `call`, `entry`), validation,
//! duplicate matching, what a call's outcome is and where it is routed, and how statuses move.

pub mod analysis;
mod call;
mod classification;
mod duplicates;
mod entry;
pub mod exchange;
mod incident;
mod link_cells;
pub mod lookout;
mod routing;
pub mod validate;

pub use call::CallRecord;
pub use classification::{ClassificationRecord, RuleMatch, SituationMatch, UnitNeed};
pub use duplicates::{
    DuplicateCandidate, compatible_categories, distance_m, may_be_duplicate, pick_duplicate,
    rank_duplicates,
};
pub use entry::EntryRecord;
#[cfg(test)]
pub(crate) use incident::sample_incident;
pub use incident::{IncidentRecord, add_id, split_ids};
pub use link_cells::{MAX_LINK_RADIUS_M, home_cell, link_cells, search_cells};
pub use routing::{Route, moves_forward, outcome, route_for, status_name};
