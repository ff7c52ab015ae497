//! The case master record: its stored fields and what they say about where the incident stands.

use chrono::{DateTime, Utc};
use pingan_proto::intake::v1::IncidentStatus;
use pingan_proto::triage::v1::Kind;

use super::ClassificationRecord;
use super::duplicates::may_be_duplicate;

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
    /// Triage's answer, once classified (its own columns and child tables, read by the store).
    #[sqlx(skip)]
    pub classification: Option<ClassificationRecord>,
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
    fn ids_are_added_once() {
        assert_eq!(add_id("", "u1"), "u1");
        assert_eq!(add_id("u1", "u2"), "u1,u2");
        assert_eq!(add_id("u1,u2", "u1"), "u1,u2");
    }
}
