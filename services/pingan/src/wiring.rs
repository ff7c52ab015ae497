//! What each service must be wired to, from the routing table and the direct-call table
//! ([`crate::routing`]): printed by `pingan wiring`, read by the Helm chart (its copy in
//! `helm/pingan/files/wiring.json` is checked against this), enforced by `pingan serve`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ServiceKind;
use crate::routing::{self, PeerNeed};

/// The wiring of every service, as `pingan wiring --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wiring {
    /// Service (short name) → what it needs.
    pub services: BTreeMap<&'static str, ServiceWiring>,
}

/// What one service needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceWiring {
    /// Peers it must reach (`PINGAN_PEERS` names), sorted.
    pub required_peers: Vec<&'static str>,
    /// Why: direct calls and the events it sends to each.
    pub needs: Vec<PeerNeed>,
}

/// The wiring of `services` (all six when empty).
pub fn wiring(services: &[ServiceKind]) -> Wiring {
    let kinds: &[ServiceKind] = if services.is_empty() {
        &ServiceKind::ALL
    } else {
        services
    };
    let services = kinds
        .iter()
        .map(|kind| {
            let needs = routing::peer_needs(kind.short_name());
            let required_peers = needs.iter().map(|need| need.peer).collect();
            (
                kind.short_name(),
                ServiceWiring {
                    required_peers,
                    needs,
                },
            )
        })
        .collect();
    Wiring { services }
}

/// The wiring as pretty JSON (ends with a newline), the format of the chart's copy.
pub fn to_json(wiring: &Wiring) -> String {
    let mut text = serde_json::to_string_pretty(wiring).unwrap_or_default();
    text.push('\n');
    text
}

/// The wiring as text for an operator.
pub fn to_text(wiring: &Wiring) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (service, wiring) in &wiring.services {
        let peers = if wiring.required_peers.is_empty() {
            "(none)".to_owned()
        } else {
            wiring.required_peers.join(", ")
        };
        let _ = writeln!(out, "{service}: needs {peers}");
        for need in &wiring.needs {
            let mut why = Vec::new();
            if need.direct_call {
                why.push("direct calls".to_owned());
            }
            why.extend(need.events.iter().map(|e| format!("event {e}")));
            let _ = writeln!(out, "  {:<17} {}", need.peer, why.join("; "));
        }
        if *service == ServiceKind::Triage.short_name() {
            let _ = writeln!(
                out,
                "  (the 12345 gateway is --hotline-gateway / PINGAN_HOTLINE_GATEWAY, not a peer; simulator when unset)"
            );
        }
    }
    out
}

/// A service that would lose calls or events: peers it must reach have no endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", missing_message(.service, .missing))]
pub struct MissingPeers {
    /// The service.
    pub service: &'static str,
    /// What is missing and why.
    pub missing: Vec<PeerNeed>,
}

fn missing_message(service: &str, missing: &[PeerNeed]) -> String {
    let mut lines = vec![format!(
        "{service} cannot start: {} peer(s) it must reach have no endpoint (give --peer NAME=URL or PINGAN_PEERS=NAME=URL,...; `pingan wiring {service}` lists what it needs):",
        missing.len()
    )];
    for need in missing {
        let mut why = Vec::new();
        if need.direct_call {
            why.push(format!("{service} calls it"));
        }
        if !need.events.is_empty() {
            why.push(format!("it receives {}", need.events.join(", ")));
        }
        lines.push(format!("  missing peer {}: {}", need.peer, why.join("; ")));
    }
    lines.join("\n")
}

/// Ok when every peer `kind` must reach has an endpoint in `peers`.
pub fn check_peers(
    kind: ServiceKind,
    peers: &BTreeMap<String, String>,
) -> Result<(), MissingPeers> {
    let missing: Vec<PeerNeed> = routing::peer_needs(kind.short_name())
        .into_iter()
        .filter(|need| peers.get(need.peer).is_none_or(|url| url.trim().is_empty()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MissingPeers {
            service: kind.short_name(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_peers() -> BTreeMap<String, String> {
        ServiceKind::ALL
            .iter()
            .map(|k| {
                (
                    k.short_name().to_owned(),
                    format!("http://{}:50051", k.short_name()),
                )
            })
            .collect()
    }

    #[test]
    fn every_service_starts_with_every_peer_and_names_each_missing_one() {
        for kind in ServiceKind::ALL {
            assert_eq!(check_peers(kind, &all_peers()), Ok(()), "{kind:?}");
        }
        let mut peers = all_peers();
        peers.remove("case-followup");
        peers.remove("intake");
        let err = check_peers(ServiceKind::Dispatch, &peers).expect_err("refused");
        let named: Vec<&str> = err.missing.iter().map(|n| n.peer).collect();
        assert_eq!(named, ["case-followup", "intake"]);
        let message = err.to_string();
        assert!(message.contains("missing peer case-followup"), "{message}");
        assert!(
            message.contains("pingan.dispatch.v1.DispatchClosed"),
            "{message}"
        );
        assert!(check_peers(ServiceKind::GridRegistry, &peers).is_ok());
    }

    #[test]
    fn the_json_lists_every_service_with_its_required_peers() {
        let json: serde_json::Value = serde_json::from_str(&to_json(&wiring(&[]))).expect("json");
        let services = json["services"].as_object().expect("services");
        assert_eq!(services.len(), 6);
        assert_eq!(
            json["services"]["complaints-audit"]["required_peers"],
            serde_json::json!(["dispatch", "intake", "triage"])
        );
        let text = to_text(&wiring(&[ServiceKind::Dispatch]));
        assert!(text.starts_with("dispatch: needs "), "{text}");
    }
}
