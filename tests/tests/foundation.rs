//! The foundation, end to end through gRPC: every service comes up on both backends in both
//! shapes, answers health under its full name, and is discoverable through reflection v1 and
//! v1alpha.

use pingan_tests::{Service, TestBackend, TestCluster, Topology, backend_tests};
use tokio_stream::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;

const EXPECTED: [&str; 14] = [
    "pingan.audit.v1.ComplaintsAuditService",
    "pingan.dispatch.v1.DispatchAnalysisService",
    "pingan.dispatch.v1.DispatchService",
    "pingan.events.v1.EventAdminService",
    "pingan.events.v1.EventSinkService",
    "pingan.followup.v1.CaseFollowupService",
    "pingan.followup.v1.FollowupAnalysisService",
    "pingan.grid.v1.GridRegistryService",
    "pingan.grid.v1.ServiceRequestService",
    "pingan.intake.v1.IncidentAnalysisService",
    "pingan.intake.v1.IncidentExchangeService",
    "pingan.intake.v1.IntakeService",
    "pingan.triage.v1.TriageAnalysisService",
    "pingan.triage.v1.TriageService",
];

/// The further APIs a service serves besides its main one (analysis, exchange, service requests).
fn further_apis(kind: Service) -> Vec<&'static str> {
    match kind {
        Service::Intake => vec![
            "pingan.intake.v1.IncidentAnalysisService",
            "pingan.intake.v1.IncidentExchangeService",
        ],
        Service::Dispatch => vec!["pingan.dispatch.v1.DispatchAnalysisService"],
        Service::GridRegistry => vec!["pingan.grid.v1.ServiceRequestService"],
        Service::Triage => vec!["pingan.triage.v1.TriageAnalysisService"],
        Service::CaseFollowup => vec!["pingan.followup.v1.FollowupAnalysisService"],
        _ => Vec::new(),
    }
}

/// Every process also serves the events backbone's sink and admin.
const EVENTS: [&str; 2] = [
    "pingan.events.v1.EventAdminService",
    "pingan.events.v1.EventSinkService",
];

/// Lists services through one version of the reflection API (v1 and v1alpha have their own
/// generated types, the same shape).
macro_rules! list_services {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = ServerReflectionClient::new($channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect(concat!("reflection ", stringify!($version)))
            .into_inner();
        let response = responses.next().await.expect("one answer").expect("answer");
        match response.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
                names.sort();
                names
            }
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }};
}

async fn list_services_v1(channel: tonic::transport::Channel) -> Vec<String> {
    list_services!(v1, channel)
}

async fn list_services_v1alpha(channel: tonic::transport::Channel) -> Vec<String> {
    list_services!(v1alpha, channel)
}

fn pingan_services(names: &[String]) -> Vec<&str> {
    names
        .iter()
        .map(String::as_str)
        .filter(|n| n.starts_with("pingan."))
        .collect()
}

/// The `pingan dev` shape: all six on one endpoint, discoverable and healthy.
async fn all_six_on_one_endpoint(backend: TestBackend) {
    let cluster = TestCluster::start_with(backend, &Service::ALL, Topology::SharedPort)
        .await
        .expect("cluster");
    for kind in Service::ALL {
        assert_eq!(
            cluster.health(kind).await.expect("health"),
            ServingStatus::Serving,
            "{}",
            kind.grpc_name()
        );
    }
    let channel = cluster.channel(Service::Intake).expect("channel");
    let v1 = list_services_v1(channel.clone()).await;
    assert_eq!(pingan_services(&v1), EXPECTED);
    assert!(v1.iter().any(|n| n == "grpc.health.v1.Health"), "{v1:?}");
    let v1alpha = list_services_v1alpha(channel).await;
    assert_eq!(pingan_services(&v1alpha), EXPECTED);
    cluster.shutdown().await.expect("shutdown");
}

/// The cluster shape: each service on its own port advertises only itself (and the events
/// backbone every process serves).
async fn each_service_on_its_own_port(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &Service::ALL)
        .await
        .expect("cluster");
    let endpoints = cluster.endpoints();
    assert_eq!(endpoints.len(), 6);
    let distinct: std::collections::BTreeSet<_> = endpoints.values().collect();
    assert_eq!(distinct.len(), 6, "one port per service: {endpoints:?}");
    for kind in Service::ALL {
        let names = list_services_v1(cluster.channel(kind).expect("channel")).await;
        let mut expected = vec![kind.grpc_name()];
        expected.extend(further_apis(kind));
        expected.extend(EVENTS);
        expected.sort_unstable();
        assert_eq!(pingan_services(&names), expected);
        assert_eq!(
            cluster.health(kind).await.expect("health"),
            ServingStatus::Serving
        );
    }
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(all_six_on_one_endpoint, each_service_on_its_own_port,);
