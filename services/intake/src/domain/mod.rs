//! Intake's rules, without I/O: validation, duplicate matching, what a call's outcome is, and
//! how incident statuses move.

pub mod lookout;
pub mod validate;

use chrono::{DateTime, Utc};
use pingan_proto::intake::v1::{IncidentStatus, Outcome};
use pingan_proto::triage::v1::Kind;

/// The case master record as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IncidentRecord {
    pub incident_id: String,
    pub status: i32,
    pub channel: i32,
    pub description: String,
    pub has_location: bool,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub grid_id: String,
    pub station_id: String,
    pub grid_located: bool,
    /// grid.v1.StationKind of the station (urban/rural/remote: drives response targets).
    pub station_kind: i32,
    pub classification: Option<Vec<u8>>,
    pub kind: i32,
    pub category: String,
    pub priority: i32,
    pub police_override: bool,
    pub dispatch_id: String,
    pub assigned_unit_ids: String,
    pub transfer_id: String,
    pub hotline_ticket_id: String,
    pub complaint_id: String,
    pub pending_reason: String,
    pub close_reason: String,
    pub routing_pending: bool,
    pub routing_attempts: i32,
    pub received_at: DateTime<Utc>,
    pub classified_at: Option<DateTime<Utc>>,
    pub unit_assigned_at: Option<DateTime<Utc>>,
    pub en_route_at: Option<DateTime<Utc>>,
    pub on_scene_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub followed_up_at: Option<DateTime<Utc>>,
    pub response_target_ms: i64,
    pub response_target_breached: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The primary this incident was linked into as a duplicate; empty for a live incident.
    pub merged_into: String,
    pub merged_at: Option<DateTime<Utc>>,
    /// Its link step ran: it is a decided primary unless `merged_into` is set.
    pub link_checked: bool,
}

impl IncidentRecord {
    /// The status as the enum.
    pub fn status(&self) -> IncidentStatus {
        IncidentStatus::try_from(self.status).unwrap_or(IncidentStatus::Unspecified)
    }

    /// The classified kind as the enum.
    pub fn kind(&self) -> Kind {
        Kind::try_from(self.kind).unwrap_or(Kind::Unspecified)
    }

    /// Units assigned so far.
    pub fn units(&self) -> Vec<String> {
        split_ids(&self.assigned_unit_ids)
    }

    /// Whether the link step decided that this incident stands on its own (it may be routed,
    /// and later calls may be linked into it).
    pub fn is_decided_primary(&self) -> bool {
        self.link_checked && self.merged_into.is_empty()
    }

    /// Whether its link step may link it into another incident: a single-call police, joint or
    /// non-police incident with a location, not yet routed anywhere.
    pub fn may_link(&self) -> bool {
        may_be_duplicate(self.kind())
            && self.has_location
            && !self.police_override
            && self.dispatch_id.is_empty()
            && self.transfer_id.is_empty()
    }

    /// Whether the incident still needs intake to act (locate, classify, route).
    pub fn is_open(&self) -> bool {
        !matches!(
            self.status(),
            IncidentStatus::Closed | IncidentStatus::FollowedUp
        )
    }
}

/// One call as stored (the clear phone number only sealed).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallRecord {
    pub call_id: String,
    pub incident_id: String,
    pub request_id: String,
    pub channel: i32,
    pub source_call_id: String,
    pub caller_phone_masked: String,
    pub caller_phone_sealed: Option<Vec<u8>>,
    pub caller_phone_index: String,
    pub caller_name: String,
    pub has_location: bool,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub description: String,
    pub reported_category: String,
    pub inbound_transfer_id: String,
    pub received_at: DateTime<Utc>,
    pub duplicate: bool,
    pub distance_m: f64,
    pub created_at: DateTime<Utc>,
    /// The incident the call was saved under (it keeps resolving after a link).
    pub first_incident_id: String,
    /// The first answer ReportCall gave for the call (a repeat returns it).
    pub answer_incident_id: Option<String>,
    pub answer_outcome: i32,
}

/// Ids stored comma-separated.
pub fn split_ids(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `ids` with `id` added once.
pub fn add_id(ids: &str, id: &str) -> String {
    let mut list = split_ids(ids);
    if !id.is_empty() && !list.iter().any(|x| x == id) {
        list.push(id.to_owned());
    }
    list.join(",")
}

/// Great-circle distance in metres (haversine, WGS-84 mean radius).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().atan2((1.0 - a).sqrt())
}

/// Categories that callers describe differently for one event (a crash with injuries is also a
/// medical call; a fight is also public order).
const COMPATIBLE_GROUPS: &[&[&str]] = &[
    &[
        "CRIMINAL_VIOLENT",
        "PUBLIC_ORDER",
        "DISPUTE",
        "DOMESTIC_VIOLENCE",
    ],
    &["TRAFFIC_ACCIDENT", "MEDICAL", "RESCUE"],
    &["FIRE", "RESCUE", "MEDICAL"],
    &["CRIMINAL_PROPERTY", "FRAUD"],
    &[
        "UTILITIES",
        "MUNICIPAL",
        "PROPERTY_MANAGEMENT",
        "ENVIRONMENT",
    ],
];

/// Whether two calls' categories may describe the same event.
pub fn compatible_categories(a: &str, b: &str) -> bool {
    if a == b {
        return !a.is_empty();
    }
    COMPATIBLE_GROUPS
        .iter()
        .any(|group| group.contains(&a) && group.contains(&b))
}

/// Kinds that never link to another incident as a duplicate (each complaint and each invalid
/// call stands alone).
pub fn may_be_duplicate(kind: Kind) -> bool {
    matches!(kind, Kind::Police | Kind::Joint | Kind::NonPolice)
}

/// An open incident that a new call might duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCandidate {
    pub incident_id: String,
    pub lat: f64,
    pub lon: f64,
    pub category: String,
    pub received_at: DateTime<Utc>,
}

/// The candidates within `radius_m` with a compatible category, nearest first.
pub fn rank_duplicates(
    lat: f64,
    lon: f64,
    category: &str,
    radius_m: f64,
    candidates: &[DuplicateCandidate],
) -> Vec<(DuplicateCandidate, f64)> {
    let mut ranked: Vec<_> = candidates
        .iter()
        .filter(|c| compatible_categories(category, &c.category))
        .map(|c| (c.clone(), distance_m(lat, lon, c.lat, c.lon)))
        .filter(|(_, d)| *d <= radius_m)
        .collect();
    ranked.sort_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then_with(|| a.0.received_at.cmp(&b.0.received_at))
            .then_with(|| a.0.incident_id.cmp(&b.0.incident_id))
    });
    ranked
}

/// The nearest candidate within `radius_m` with a compatible category, if any.
pub fn pick_duplicate(
    lat: f64,
    lon: f64,
    category: &str,
    radius_m: f64,
    candidates: &[DuplicateCandidate],
) -> Option<(DuplicateCandidate, f64)> {
    rank_duplicates(lat, lon, category, radius_m, candidates)
        .into_iter()
        .next()
}

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

/// A classified police incident at (29.0, 91.0), for tests.
#[cfg(test)]
pub(crate) fn sample_incident(id: &str) -> IncidentRecord {
    let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    IncidentRecord {
        incident_id: id.into(),
        status: IncidentStatus::Classified as i32,
        channel: 1,
        description: "有人打架".into(),
        has_location: true,
        lat: 29.0,
        lon: 91.0,
        address: String::new(),
        grid_id: String::new(),
        station_id: String::new(),
        grid_located: true,
        station_kind: 0,
        classification: None,
        kind: Kind::Police as i32,
        category: "PUBLIC_ORDER".into(),
        priority: 2,
        police_override: false,
        dispatch_id: String::new(),
        assigned_unit_ids: String::new(),
        transfer_id: String::new(),
        hotline_ticket_id: String::new(),
        complaint_id: String::new(),
        pending_reason: String::new(),
        close_reason: String::new(),
        routing_pending: true,
        routing_attempts: 0,
        received_at: at,
        classified_at: Some(at),
        unit_assigned_at: None,
        en_route_at: None,
        on_scene_at: None,
        closed_at: None,
        followed_up_at: None,
        response_target_ms: 0,
        response_target_breached: false,
        created_at: at,
        updated_at: at,
        merged_into: String::new(),
        merged_at: None,
        link_checked: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_checked_unlinked_incident_is_a_decided_primary() {
        let mut incident = sample_incident("a");
        assert!(!incident.is_decided_primary(), "link step not run yet");
        incident.link_checked = true;
        assert!(incident.is_decided_primary());
        incident.merged_into = "b".into();
        assert!(!incident.is_decided_primary(), "linked into another");
    }

    #[test]
    fn only_unrouted_located_police_business_may_be_linked() {
        assert!(sample_incident("a").may_link());
        let mut routed = sample_incident("a");
        routed.dispatch_id = "d-1".into();
        assert!(!routed.may_link());
        let mut nowhere = sample_incident("a");
        nowhere.has_location = false;
        assert!(!nowhere.may_link());
        let mut complaint = sample_incident("a");
        complaint.kind = Kind::ComplaintAboutPolice as i32;
        assert!(!complaint.may_link());
        let mut from_12345 = sample_incident("a");
        from_12345.transfer_id = "tr-1".into();
        assert!(!from_12345.may_link());
    }

    #[test]
    fn duplicates_rank_nearest_then_oldest() {
        let at = Utc::now();
        let candidate = |id: &str, lat: f64, seconds: i64| DuplicateCandidate {
            incident_id: id.into(),
            lat,
            lon: 91.0,
            category: "CRIMINAL_VIOLENT".into(),
            received_at: at + chrono::Duration::seconds(seconds),
        };
        let candidates = [
            candidate("later-same-spot", 29.0001, 30),
            candidate("earlier-same-spot", 29.0001, 0),
            candidate("nearer", 29.00005, 60),
            candidate("too-far", 29.01, 0),
        ];
        let ranked: Vec<_> = rank_duplicates(29.0, 91.0, "PUBLIC_ORDER", 300.0, &candidates)
            .into_iter()
            .map(|(c, _)| c.incident_id)
            .collect();
        assert_eq!(ranked, ["nearer", "earlier-same-spot", "later-same-spot"]);
    }

    #[test]
    fn distance_matches_known_values() {
        // One degree of latitude is about 111.2 km.
        let d = distance_m(29.0, 91.0, 30.0, 91.0);
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
        assert!(distance_m(29.65, 91.13, 29.65, 91.13) < 0.001);
    }

    #[test]
    fn categories_are_compatible_within_groups_only() {
        assert!(compatible_categories(
            "TRAFFIC_ACCIDENT",
            "TRAFFIC_ACCIDENT"
        ));
        assert!(compatible_categories("TRAFFIC_ACCIDENT", "MEDICAL"));
        assert!(compatible_categories("DISPUTE", "CRIMINAL_VIOLENT"));
        assert!(!compatible_categories("TRAFFIC_ACCIDENT", "FRAUD"));
        assert!(!compatible_categories("", ""));
    }

    #[test]
    fn the_nearest_compatible_incident_within_the_radius_is_picked() {
        let at = Utc::now();
        let candidate = |id: &str, lat: f64, category: &str| DuplicateCandidate {
            incident_id: id.into(),
            lat,
            lon: 91.0,
            category: category.into(),
            received_at: at,
        };
        let candidates = [
            candidate("far", 29.01, "TRAFFIC_ACCIDENT"), // ~1.1 km
            candidate("near-other", 29.0005, "FRAUD"),   // ~55 m, incompatible
            candidate("near", 29.002, "MEDICAL"),        // ~220 m, compatible
        ];
        let picked = pick_duplicate(29.0, 91.0, "TRAFFIC_ACCIDENT", 300.0, &candidates);
        assert_eq!(picked.map(|(c, _)| c.incident_id), Some("near".to_owned()));
        assert!(pick_duplicate(29.0, 91.0, "TRAFFIC_ACCIDENT", 100.0, &candidates).is_none());
    }

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

    #[test]
    fn ids_are_added_once() {
        assert_eq!(add_id("", "u1"), "u1");
        assert_eq!(add_id("u1", "u2"), "u1,u2");
        assert_eq!(add_id("u1,u2", "u1"), "u1,u2");
    }
}
