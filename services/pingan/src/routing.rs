//! Who receives which events: the deployment's event routing, as data. A sender stores one
//! delivery per destination listed here. An event routed to a service that has no handler for
//! it yet waits (retried, then dead-lettered) until that service learns it; re-drive then.

use pingan_platform::auth::ServiceCall;
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
    // intake → triage (tell 12345 that its ticket cannot be located)
    ("pingan.intake.v1.IncidentNeedsLocation", &["triage"]),
    // every service → the tamper-evident audit log
    ("pingan.audit.v1.AuditRecord", &["complaints-audit"]),
    // case-followup → the incident timeline (FOLLOWED_UP)
    ("pingan.followup.v1.MediationOpened", &["intake"]),
    ("pingan.followup.v1.MediationConcluded", &["intake"]),
    ("pingan.followup.v1.RevisitScheduled", &["intake"]),
    ("pingan.followup.v1.RevisitCompleted", &["intake"]),
];

/// Event type → the services that send it (every routed type is listed: a route nobody sends is a
/// mistake the tests catch).
pub const SENDERS: &[(&str, &[&str])] = &[
    ("pingan.dispatch.v1.DispatchTimelineEvent", &["dispatch"]),
    ("pingan.dispatch.v1.DispatchClosed", &["dispatch"]),
    ("pingan.dispatch.v1.SlaBreached", &["dispatch"]),
    ("pingan.triage.v1.HotlineComplaintReceived", &["triage"]),
    ("pingan.triage.v1.TransferStatusChanged", &["triage"]),
    ("pingan.audit.v1.ComplaintFiled", &["complaints-audit"]),
    ("pingan.audit.v1.ComplaintAnswered", &["complaints-audit"]),
    ("pingan.intake.v1.PoliceComplaintCallReceived", &["intake"]),
    ("pingan.intake.v1.IncidentNeedsLocation", &["intake"]),
    // complaints-audit writes its own audit entries to the chain directly.
    (
        "pingan.audit.v1.AuditRecord",
        &[
            "intake",
            "triage",
            "dispatch",
            "grid-registry",
            "case-followup",
        ],
    ),
    ("pingan.followup.v1.MediationOpened", &["case-followup"]),
    ("pingan.followup.v1.MediationConcluded", &["case-followup"]),
    ("pingan.followup.v1.RevisitScheduled", &["case-followup"]),
    ("pingan.followup.v1.RevisitCompleted", &["case-followup"]),
];

/// Service → the services it calls directly over gRPC (`Peers::channel` in its crate), besides
/// event deliveries.
pub const DIRECT_CALLS: &[(&str, &[&str])] = &[
    // locate the call (LocateGrid, ResolveAddress), classify, open the dispatch
    ("intake", &["grid-registry", "triage", "dispatch"]),
    // the 12345 courier hands police business to intake (ReportCall)
    ("triage", &["intake"]),
    // grid of a dispatch's location, lookout for the station's officers
    ("dispatch", &["grid-registry"]),
    // the revisit's grid and village officer
    ("case-followup", &["grid-registry"]),
    // evidence: the dispatch record of the incident complained about
    ("complaints-audit", &["dispatch"]),
    ("grid-registry", &[]),
];

/// The peers `service` calls through the platform rather than its own code: the audit witness
/// polls complaints-audit's signed checkpoint from every service that witnesses the chain.
pub fn platform_calls(service: &str) -> Vec<&'static str> {
    let witnesses = crate::ServiceKind::ALL
        .iter()
        .any(|kind| kind.short_name() == service && kind.service().witnesses_audit_chain());
    if witnesses {
        vec![pingan_platform::audit_witness::AUDIT_PEER]
    } else {
        Vec::new()
    }
}

/// Why `service` needs a peer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeerNeed {
    /// The peer service (short name).
    pub peer: &'static str,
    /// True when `service` calls it directly.
    pub direct_call: bool,
    /// The event types `service` sends that are routed to it.
    pub events: Vec<&'static str>,
}

/// The peers `service` must reach: the destinations of the events it sends, and the services it
/// calls directly; sorted by peer name.
pub fn peer_needs(service: &str) -> Vec<PeerNeed> {
    let mut needs = std::collections::BTreeMap::<&'static str, PeerNeed>::new();
    for (caller, peers) in DIRECT_CALLS {
        if *caller == service {
            for peer in *peers {
                need_of(&mut needs, peer).direct_call = true;
            }
        }
    }
    for peer in platform_calls(service) {
        need_of(&mut needs, peer).direct_call = true;
    }
    for (event_type, destinations) in ROUTES {
        if senders_of(event_type).contains(&service) {
            for peer in *destinations {
                need_of(&mut needs, peer).events.push(event_type);
            }
        }
    }
    needs.into_values().collect()
}

fn need_of<'a>(
    needs: &'a mut std::collections::BTreeMap<&'static str, PeerNeed>,
    peer: &'static str,
) -> &'a mut PeerNeed {
    needs.entry(peer).or_insert_with(|| PeerNeed {
        peer,
        direct_call: false,
        events: Vec::new(),
    })
}

/// The peers `service` must reach (see [`peer_needs`]), sorted.
pub fn required_peers(service: &str) -> Vec<&'static str> {
    peer_needs(service)
        .into_iter()
        .map(|need| need.peer)
        .collect()
}

/// The services that send `event_type` (empty when the table does not know it).
pub fn senders_of(event_type: &str) -> &'static [&'static str] {
    SENDERS
        .iter()
        .find(|(known, _)| *known == event_type)
        .map_or(&[], |(_, senders)| *senders)
}

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

/// Every call one Pingan service makes to another with the `service` role, as each service
/// declares it (the guard refuses a service any other call); for the tests and the docs.
pub fn service_calls() -> Vec<ServiceCall> {
    [
        pingan_intake::api::service_calls::SERVICE_CALLS,
        pingan_triage::api::service_calls::SERVICE_CALLS,
        pingan_dispatch::api::service_calls::SERVICE_CALLS,
        pingan_grid_registry::api::service_calls::SERVICE_CALLS,
        pingan_case_followup::api::service_calls::SERVICE_CALLS,
        pingan_complaints_audit::api::service_calls::SERVICE_CALLS,
        pingan_platform::events::SINK_SERVICE_CALLS,
    ]
    .concat()
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
    fn senders_cover_exactly_the_routed_types_and_name_services() {
        let services: Vec<&str> = ServiceKind::ALL.iter().map(|k| k.short_name()).collect();
        for (event_type, _) in ROUTES {
            assert!(
                !senders_of(event_type).is_empty(),
                "{event_type} has no sender"
            );
        }
        for (event_type, senders) in SENDERS {
            assert!(
                ROUTES.iter().any(|(routed, _)| routed == event_type),
                "{event_type} has senders but no route"
            );
            for sender in *senders {
                assert!(services.contains(sender), "{sender} is not a service");
            }
        }
        assert_eq!(DIRECT_CALLS.len(), services.len());
        for (caller, peers) in DIRECT_CALLS {
            assert!(services.contains(caller), "{caller} is not a service");
            for peer in *peers {
                assert!(services.contains(peer), "{peer} is not a service");
            }
        }
    }

    #[test]
    fn required_peers_are_the_direct_calls_and_the_routed_destinations() {
        assert_eq!(
            required_peers("dispatch"),
            [
                "case-followup",
                "complaints-audit",
                "grid-registry",
                "intake"
            ]
        );
        assert_eq!(
            required_peers("complaints-audit"),
            ["dispatch", "intake", "triage"]
        );
        assert_eq!(
            required_peers("intake"),
            ["complaints-audit", "dispatch", "grid-registry", "triage"]
        );
        assert_eq!(required_peers("triage"), ["complaints-audit", "intake"]);
        assert_eq!(required_peers("grid-registry"), ["complaints-audit"]);
        assert_eq!(
            required_peers("case-followup"),
            ["complaints-audit", "grid-registry", "intake"]
        );
        let dispatch = peer_needs("dispatch");
        let followup = dispatch
            .iter()
            .find(|need| need.peer == "case-followup")
            .expect("case-followup");
        assert!(!followup.direct_call);
        assert_eq!(followup.events, ["pingan.dispatch.v1.DispatchClosed"]);
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
