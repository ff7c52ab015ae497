//! Where a call and its incident go: ReportCall's outcome, the route of a classified incident,
//! and how statuses move.

use pingan_proto::intake::v1::{IncidentStatus, Outcome};
use pingan_proto::triage::v1::Kind;

use super::IncidentRecord;

/// What ReportCall says about a call, from the state of its incident.
pub fn outcome(incident: &IncidentRecord, call_is_duplicate: bool) -> Outcome {
    if call_is_duplicate {
        return Outcome::DuplicateLinked;
    }
    let kind = incident.kind();
    match incident.status() {
        IncidentStatus::New | IncidentStatus::Unspecified => Outcome::PendingClassification,
        IncidentStatus::Classified => match kind {
            Kind::NonPolice if !incident.police_override => Outcome::PendingDiversion,
            Kind::ComplaintAboutPolice => Outcome::ComplaintFiled,
            Kind::Invalid => Outcome::ClosedInvalid,
            _ => Outcome::PendingDispatch,
        },
        IncidentStatus::Diverted => Outcome::DivertedTo12345,
        IncidentStatus::Dispatched | IncidentStatus::OnScene => {
            if incident.units().is_empty() {
                Outcome::PendingDispatch
            } else {
                Outcome::Dispatched
            }
        }
        IncidentStatus::Closed | IncidentStatus::FollowedUp => match kind {
            Kind::ComplaintAboutPolice => Outcome::ComplaintFiled,
            _ if !incident.dispatch_id.is_empty() || !incident.units().is_empty() => {
                Outcome::Dispatched
            }
            _ if !incident.transfer_id.is_empty() => Outcome::DivertedTo12345,
            _ => Outcome::ClosedInvalid,
        },
    }
}

/// The route a classified incident takes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Open a dispatch (police, joint, or a bounced diversion).
    Dispatch,
    /// Divert to 12345.
    Divert,
    /// Hand to complaints-audit.
    Complaint,
    /// Close as invalid.
    CloseInvalid,
}

/// Where a classified incident goes. A 12345 request was already judged police business by the
/// bridge, and a bounced diversion is back with the police: both are never diverted again.
pub fn route_for(kind: Kind, channel_12345: bool, police_override: bool) -> Route {
    match kind {
        Kind::NonPolice if !channel_12345 && !police_override => Route::Divert,
        Kind::ComplaintAboutPolice => Route::Complaint,
        Kind::Invalid if !police_override => Route::CloseInvalid,
        _ => Route::Dispatch,
    }
}

/// Whether a status reported from elsewhere may replace `current` (statuses only move forward,
/// except a bounced diversion that comes back to the police).
pub fn moves_forward(current: IncidentStatus, next: IncidentStatus) -> bool {
    rank(next) > rank(current)
}

fn rank(status: IncidentStatus) -> u8 {
    match status {
        IncidentStatus::Unspecified => 0,
        IncidentStatus::New => 1,
        IncidentStatus::Classified => 2,
        IncidentStatus::Diverted => 3,
        IncidentStatus::Dispatched => 4,
        IncidentStatus::OnScene => 5,
        IncidentStatus::Closed => 6,
        IncidentStatus::FollowedUp => 7,
    }
}

/// Short name of a status for summaries ("DISPATCHED").
pub fn status_name(status: IncidentStatus) -> &'static str {
    status
        .as_str_name()
        .strip_prefix("INCIDENT_STATUS_")
        .unwrap_or("UNSPECIFIED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_kind() {
        assert_eq!(route_for(Kind::Police, false, false), Route::Dispatch);
        assert_eq!(route_for(Kind::Joint, false, false), Route::Dispatch);
        assert_eq!(route_for(Kind::NonPolice, false, false), Route::Divert);
        assert_eq!(route_for(Kind::NonPolice, true, false), Route::Dispatch);
        assert_eq!(route_for(Kind::NonPolice, false, true), Route::Dispatch);
        assert_eq!(
            route_for(Kind::ComplaintAboutPolice, false, false),
            Route::Complaint
        );
        assert_eq!(route_for(Kind::Invalid, false, false), Route::CloseInvalid);
    }

    #[test]
    fn statuses_only_move_forward() {
        assert!(moves_forward(
            IncidentStatus::Dispatched,
            IncidentStatus::OnScene
        ));
        assert!(!moves_forward(
            IncidentStatus::Closed,
            IncidentStatus::OnScene
        ));
        assert_eq!(status_name(IncidentStatus::OnScene), "ON_SCENE");
    }
}
