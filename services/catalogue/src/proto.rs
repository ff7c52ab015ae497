//! The catalogue on the wire: requirements as `pingan.dispatch.v1.UnitRequirement`, the one
//! message triage, intake and dispatch carry them in.

use pingan_proto::common::v1 as common;
use pingan_proto::dispatch::v1 as dispatch;

use crate::{Priority, Requirement, UnitKind};

/// The proto unit kind.
pub fn unit_kind(kind: UnitKind) -> dispatch::UnitKind {
    match kind {
        UnitKind::Officer => dispatch::UnitKind::Officer,
        UnitKind::PatrolCar => dispatch::UnitKind::PatrolCar,
        UnitKind::Drone => dispatch::UnitKind::Drone,
        UnitKind::Auxiliary => dispatch::UnitKind::Auxiliary,
    }
}

/// The proto priority.
pub fn priority(priority: Priority) -> common::Priority {
    match priority {
        Priority::P1 => common::Priority::P1,
        Priority::P2 => common::Priority::P2,
        Priority::P3 => common::Priority::P3,
        Priority::P4 => common::Priority::P4,
    }
}

/// The catalogue priority of a proto priority (`None` for unspecified or unknown values).
pub fn from_priority(priority: i32) -> Option<Priority> {
    match common::Priority::try_from(priority).ok()? {
        common::Priority::P1 => Some(Priority::P1),
        common::Priority::P2 => Some(Priority::P2),
        common::Priority::P3 => Some(Priority::P3),
        common::Priority::P4 => Some(Priority::P4),
        common::Priority::Unspecified => None,
    }
}

/// The one spelling of a proto priority in metric labels: `P1`..`P4` (the catalogue's), and
/// `UNSPECIFIED` for anything else.
pub fn priority_label(priority: i32) -> &'static str {
    from_priority(priority).map_or("UNSPECIFIED", Priority::as_str)
}

/// One requirement as dispatch reads it.
pub fn requirement(requirement: &Requirement) -> dispatch::UnitRequirement {
    dispatch::UnitRequirement {
        kinds: requirement
            .kinds
            .iter()
            .map(|k| unit_kind(*k) as i32)
            .collect(),
        capabilities: requirement
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        count: i32::try_from(requirement.count).unwrap_or(i32::MAX),
    }
}

/// Requirements as dispatch reads them, in order.
pub fn requirements(requirements: &[Requirement]) -> Vec<dispatch::UnitRequirement> {
    requirements.iter().map(requirement).collect()
}
