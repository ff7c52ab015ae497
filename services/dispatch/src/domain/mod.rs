//! Dispatch rules, without I/O: the assignment state machine, how a dispatch's status follows its
//! assignments, which units a dispatch wants, and distance/ETA.

pub mod analysis;
pub mod flights;
pub mod geo;
pub mod model;
pub mod proto;

use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_catalogue::{Capability, CatalogueError, CategoryCode};
use pingan_platform::time::to_timestamp;
use pingan_proto::dispatch::v1::{
    Assignment, AssignmentStatus, Dispatch, DispatchStatus, UnitRequirement, UnitStatus,
};

/// Why a transition was refused (FAILED_PRECONDITION at the boundary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IllegalTransition(pub String);

/// A change asked of one assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentAction {
    /// The unit acknowledges.
    Acknowledge,
    /// The unit is moving to the scene.
    EnRoute,
    /// The unit is at the scene.
    OnScene,
    /// The unit leaves the dispatch.
    Clear,
    /// Not acknowledged in time.
    Escalate,
    /// Withdrawn (the dispatch closed before the unit was done).
    Cancel,
}

impl AssignmentAction {
    /// The RPC-ish verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::EnRoute => "mark en route",
            Self::OnScene => "mark on scene",
            Self::Clear => "clear",
            Self::Escalate => "escalate",
            Self::Cancel => "cancel",
        }
    }
}

/// True while an assignment holds its unit.
pub fn is_active(status: AssignmentStatus) -> bool {
    matches!(
        status,
        AssignmentStatus::Assigned
            | AssignmentStatus::Acknowledged
            | AssignmentStatus::EnRoute
            | AssignmentStatus::OnScene
    )
}

/// Applies `action` to `assignment` at `now`, or says why it is illegal.
pub fn apply(
    assignment: &mut Assignment,
    action: AssignmentAction,
    now: DateTime<Utc>,
) -> Result<(), IllegalTransition> {
    use AssignmentStatus as S;
    let current = assignment.status();
    let next = match (current, action) {
        (S::Assigned, AssignmentAction::Acknowledge) => S::Acknowledged,
        (S::Assigned | S::Acknowledged, AssignmentAction::EnRoute) => S::EnRoute,
        (S::Assigned | S::Acknowledged | S::EnRoute, AssignmentAction::OnScene) => S::OnScene,
        (S::Assigned | S::Acknowledged | S::EnRoute | S::OnScene, AssignmentAction::Clear) => {
            S::Cleared
        }
        (S::Assigned, AssignmentAction::Escalate) => S::Escalated,
        (S::OnScene, AssignmentAction::Cancel) => S::Cleared,
        (S::Assigned | S::Acknowledged | S::EnRoute, AssignmentAction::Cancel) => S::Cancelled,
        _ => {
            return Err(IllegalTransition(format!(
                "cannot {} an assignment in status {}",
                action.verb(),
                current.as_str_name()
            )));
        }
    };
    let ts = Some(to_timestamp(now));
    match next {
        S::Acknowledged => assignment.acknowledged_at = ts,
        S::EnRoute => {
            assignment.acknowledged_at = assignment.acknowledged_at.or(ts);
            assignment.en_route_at = ts;
        }
        S::OnScene => {
            assignment.acknowledged_at = assignment.acknowledged_at.or(ts);
            assignment.on_scene_at = ts;
        }
        _ => assignment.ended_at = ts,
    }
    assignment.set_status(next);
    Ok(())
}

/// The unit's status that goes with an assignment status (None once the assignment ended).
pub fn unit_status_for(status: AssignmentStatus) -> Option<UnitStatus> {
    match status {
        AssignmentStatus::Assigned | AssignmentStatus::Acknowledged => Some(UnitStatus::Assigned),
        AssignmentStatus::EnRoute => Some(UnitStatus::EnRoute),
        AssignmentStatus::OnScene => Some(UnitStatus::OnScene),
        _ => None,
    }
}

/// A dispatch's status from its assignments (closed stays closed).
pub fn derive_status(dispatch: &Dispatch, assignments: &[Assignment]) -> DispatchStatus {
    if dispatch.status() == DispatchStatus::Closed {
        return DispatchStatus::Closed;
    }
    let active: Vec<AssignmentStatus> = assignments
        .iter()
        .map(Assignment::status)
        .filter(|s| is_active(*s))
        .collect();
    if active.contains(&AssignmentStatus::OnScene) {
        DispatchStatus::OnScene
    } else if active.contains(&AssignmentStatus::EnRoute) {
        DispatchStatus::EnRoute
    } else if active.is_empty() {
        DispatchStatus::Pending
    } else {
        DispatchStatus::Assigned
    }
}

/// Manual statuses SetUnitStatus accepts.
pub fn is_manual_status(status: UnitStatus) -> bool {
    matches!(
        status,
        UnitStatus::Available | UnitStatus::Busy | UnitStatus::OffDuty
    )
}

/// The units a dispatch wants: the request's own requirements when given, else the category
/// catalogue's response for `category` (e.g. RESCUE: a ground unit); every requirement also
/// needs the request's required capabilities. Codes are checked at the boundary: one the
/// catalogue does not know asks for nothing, and the dispatch waits for a dispatcher.
pub fn requirements(
    category: &str,
    required_capabilities: &[String],
    requested: &[UnitRequirement],
) -> Vec<UnitRequirement> {
    let base = if requested.is_empty() {
        pingan_catalogue::catalogue()
            .and_then(|c| Ok(c.requirements(CategoryCode::parse(category)?, &[])))
            .map(|r| pingan_catalogue::proto::requirements(&r))
            .unwrap_or_default()
    } else {
        requested.to_vec()
    };
    base.into_iter()
        .map(|mut r| {
            for capability in required_capabilities {
                if !r.capabilities.contains(capability) {
                    r.capabilities.push(capability.clone());
                }
            }
            r.count = r.count.max(1);
            r
        })
        .collect()
}

/// The catalogue's category a request names (trimmed, any case).
pub fn category(value: &str) -> Result<CategoryCode, CatalogueError> {
    CategoryCode::parse(value)
}

/// Capabilities checked against the catalogue, normalised (lower case, sorted, unique); or the
/// index and reason of every one the catalogue does not know.
pub fn catalogue_capabilities(values: &[String]) -> Result<Vec<String>, Vec<(usize, String)>> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match Capability::parse(value) {
            Ok(capability) => known.push(capability.as_str().to_owned()),
            Err(_) => unknown.push((
                i,
                "must be a capability code of the catalogue (triage ListCategories), e.g. aerial_video"
                    .to_owned(),
            )),
        }
    }
    if unknown.is_empty() {
        Ok(normalise_capabilities(&known))
    } else {
        Err(unknown)
    }
}

/// True when a unit of `kind` with `capabilities` meets `requirement`.
pub fn meets(requirement: &UnitRequirement, kind: i32, capabilities: &[String]) -> bool {
    (requirement.kinds.is_empty() || requirement.kinds.contains(&kind))
        && requirement
            .capabilities
            .iter()
            .all(|c| capabilities.contains(c))
}

/// Normalises capability names (trimmed, lower case, sorted, unique).
pub fn normalise_capabilities(capabilities: &[String]) -> Vec<String> {
    let mut out: Vec<String> = capabilities
        .iter()
        .map(|c| c.trim().to_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A protobuf duration.
pub fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf duration as a std duration (None when negative).
pub fn from_duration(d: &prost_types::Duration) -> Option<Duration> {
    let seconds = u64::try_from(d.seconds).ok()?;
    let nanos = u32::try_from(d.nanos).ok()?;
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pingan_proto::dispatch::v1::UnitKind;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn assigned() -> Assignment {
        let mut a = Assignment::default();
        a.set_status(AssignmentStatus::Assigned);
        a
    }

    #[test]
    fn the_happy_path_moves_forward_and_stamps_times() {
        let mut a = assigned();
        apply(&mut a, AssignmentAction::Acknowledge, at(1)).expect("ack");
        apply(&mut a, AssignmentAction::EnRoute, at(2)).expect("en route");
        apply(&mut a, AssignmentAction::OnScene, at(3)).expect("on scene");
        apply(&mut a, AssignmentAction::Clear, at(4)).expect("clear");
        assert_eq!(a.status(), AssignmentStatus::Cleared);
        assert_eq!(a.acknowledged_at, Some(to_timestamp(at(1))));
        assert_eq!(a.ended_at, Some(to_timestamp(at(4))));
    }

    #[test]
    fn en_route_implies_acknowledgement() {
        let mut a = assigned();
        apply(&mut a, AssignmentAction::EnRoute, at(5)).expect("en route");
        assert_eq!(a.acknowledged_at, Some(to_timestamp(at(5))));
    }

    #[test]
    fn illegal_transitions_are_refused() {
        let mut a = assigned();
        apply(&mut a, AssignmentAction::Acknowledge, at(1)).expect("ack");
        assert!(apply(&mut a, AssignmentAction::Acknowledge, at(2)).is_err());
        assert!(apply(&mut a, AssignmentAction::Escalate, at(2)).is_err());
        apply(&mut a, AssignmentAction::Clear, at(3)).expect("clear");
        for action in [
            AssignmentAction::EnRoute,
            AssignmentAction::OnScene,
            AssignmentAction::Clear,
            AssignmentAction::Cancel,
        ] {
            assert!(apply(&mut a, action, at(4)).is_err(), "{action:?}");
        }
    }

    #[test]
    fn dispatch_status_follows_the_most_advanced_active_assignment() {
        let dispatch = Dispatch::default();
        let mut a = assigned();
        let mut b = assigned();
        assert_eq!(derive_status(&dispatch, &[]), DispatchStatus::Pending);
        assert_eq!(
            derive_status(&dispatch, &[a.clone(), b.clone()]),
            DispatchStatus::Assigned
        );
        apply(&mut a, AssignmentAction::EnRoute, at(1)).expect("en route");
        assert_eq!(
            derive_status(&dispatch, &[a.clone(), b.clone()]),
            DispatchStatus::EnRoute
        );
        apply(&mut b, AssignmentAction::OnScene, at(2)).expect("on scene");
        assert_eq!(
            derive_status(&dispatch, &[a.clone(), b.clone()]),
            DispatchStatus::OnScene
        );
        apply(&mut b, AssignmentAction::Clear, at(3)).expect("clear");
        apply(&mut a, AssignmentAction::Clear, at(3)).expect("clear");
        assert_eq!(derive_status(&dispatch, &[a, b]), DispatchStatus::Pending);
    }

    fn ground() -> Vec<i32> {
        pingan_catalogue::UnitKind::GROUND
            .iter()
            .map(|k| pingan_catalogue::proto::unit_kind(*k) as i32)
            .collect()
    }

    #[test]
    fn the_requests_own_requirements_win_with_the_required_capabilities() {
        let drone = UnitRequirement {
            kinds: vec![UnitKind::Drone as i32],
            capabilities: vec!["aerial_video".to_owned()],
            count: 0,
        };
        let wanted = requirements("RESCUE", &["water_rescue_search".to_owned()], &[drone]);
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted[0].count, 1);
        assert!(meets(
            &wanted[0],
            UnitKind::Drone as i32,
            &["aerial_video".to_owned(), "water_rescue_search".to_owned()]
        ));
        assert!(!meets(
            &wanted[0],
            UnitKind::Drone as i32,
            &["aerial_video".to_owned()]
        ));
    }

    #[test]
    fn without_requirements_the_catalogue_decides_by_category() {
        let wanted = requirements("DISPUTE", &[], &[]);
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted[0].kinds, ground());
        assert!(meets(
            &wanted[0],
            UnitKind::Officer as i32,
            &["mediation".to_owned()]
        ));
        assert!(!meets(&wanted[0], UnitKind::Officer as i32, &[]));
        // A category no unit attends of its own (back from 12345) gets the default response.
        assert_eq!(requirements("UTILITIES", &[], &[])[0].kinds, ground());
        assert!(requirements("NO_SUCH_CATEGORY", &[], &[]).is_empty());
    }

    #[test]
    fn codes_are_checked_against_the_catalogue() {
        assert_eq!(category(" rescue ").map(|c| c.as_str()), Ok("RESCUE"));
        assert!(category("WATER_RESCUE").is_err());
        assert_eq!(
            catalogue_capabilities(&["Traffic ".to_owned(), "aerial_video".to_owned()]),
            Ok(vec!["aerial_video".to_owned(), "traffic".to_owned()])
        );
        let unknown =
            catalogue_capabilities(&["traffic".to_owned(), "laser".to_owned()]).unwrap_err();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].0, 1);
    }
}
