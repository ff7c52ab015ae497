//! Who receives which events: the deployment's event routing, as data. A sender stores one
//! delivery per destination listed here. An event routed to a service that has no handler for
//! it yet waits (retried, then dead-lettered) until that service learns it; re-drive then.

use pingan_platform::events::Subscriptions;

/// Event type (full protobuf name) → receiving services (short names).
pub const ROUTES: &[(&str, &[&str])] = &[
    // dispatch → the incident timeline, the revisit scheduler
    ("pingan.dispatch.v1.DispatchTimelineEvent", &["intake"]),
    (
        "pingan.dispatch.v1.DispatchClosed",
        &["intake", "case-followup"],
    ),
    ("pingan.dispatch.v1.SlaBreached", &["intake"]),
    // triage (12345 bridge) → complaints, the incident timeline
    (
        "pingan.triage.v1.HotlineComplaintReceived",
        &["complaints-audit"],
    ),
    (
        "pingan.triage.v1.TransferStatusChanged",
        &["intake", "complaints-audit"],
    ),
    // complaints-audit → triage (answer 12345), the incident timeline
    ("pingan.audit.v1.ComplaintFiled", &["triage", "intake"]),
    ("pingan.audit.v1.ComplaintAnswered", &["triage"]),
    // intake → complaints-audit (a 110 call that is a complaint about police)
    (
        "pingan.intake.v1.PoliceComplaintCallReceived",
        &["complaints-audit"],
    ),
    // every service → the tamper-evident audit log
    ("pingan.audit.v1.AuditRecord", &["complaints-audit"]),
    // case-followup → the incident timeline (FOLLOWED_UP)
    ("pingan.followup.v1.MediationOpened", &["intake"]),
    ("pingan.followup.v1.MediationConcluded", &["intake"]),
    ("pingan.followup.v1.RevisitScheduled", &["intake"]),
    ("pingan.followup.v1.RevisitCompleted", &["intake"]),
];

/// [`ROUTES`] as the outbox reads them.
pub fn subscriptions() -> Subscriptions {
    let mut subscriptions = Subscriptions::default();
    for (event_type, destinations) in ROUTES {
        for destination in *destinations {
            subscriptions.subscribe(destination, [*event_type]);
        }
    }
    subscriptions
}

/// The event types routed to `service`.
pub fn routed_to(service: &str) -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|(_, destinations)| destinations.contains(&service))
        .map(|(event_type, _)| *event_type)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceKind;

    #[test]
    fn every_destination_is_a_service_and_every_type_is_unique() {
        let services: Vec<&str> = ServiceKind::ALL.iter().map(|k| k.short_name()).collect();
        let mut seen = std::collections::BTreeSet::new();
        for (event_type, destinations) in ROUTES {
            assert!(seen.insert(*event_type), "{event_type} routed twice");
            assert!(!destinations.is_empty(), "{event_type} has no destination");
            for destination in *destinations {
                assert!(
                    services.contains(destination),
                    "{destination} is not a service"
                );
            }
        }
    }

    #[test]
    fn closed_dispatches_reach_intake_and_case_followup() {
        let subscriptions = subscriptions();
        let destinations: Vec<&str> = subscriptions
            .destinations("pingan.dispatch.v1.DispatchClosed")
            .collect();
        assert_eq!(destinations, ["case-followup", "intake"]);
        assert!(routed_to("complaints-audit").contains(&"pingan.audit.v1.AuditRecord"));
    }
}
