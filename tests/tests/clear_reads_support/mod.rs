//! Shared by the clear-read tests: clusters under a `--clear-read-reason` policy, the audit
//! records a service enqueued for complaints-audit, and a fake grid-registry that knows one
//! resident (for case-followup's owner lookups).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use pingan_platform::auth::Role;
use pingan_platform::clock::SharedClock;
use pingan_platform::config::{ClearReadConfig, ClearReadReason};
use pingan_platform::pii::contains_clear_pii;
use pingan_platform::service::ServiceConfig;
use pingan_platform::with_db;
use pingan_proto::audit::v1::AuditRecord;
use pingan_proto::followup::v1 as fu;
use pingan_proto::followup::v1::case_followup_service_client::CaseFollowupServiceClient;
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{
    FindResidentByIdNumberRequest, FindResidentByIdNumberResponse, GridOfficer, OfficerRole,
    Resident,
};
use pingan_tests::{Bearer, ClusterOptions, Service, TestBackend, TestCluster, Topology};
use prost::Message;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// A channel carrying a bearer token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// The resident the fake registry knows (valid GB 11643 number) and the phone on record.
pub const OWNER_ID: &str = "11010519491231002X";
pub const OWNER_PHONE: &str = "13812345678";

/// Starts `services` with `--clear-read-reason` set to `policy`, calling `peers` (name → url).
pub async fn cluster(
    backend: TestBackend,
    services: &[Service],
    clock: SharedClock,
    peers: BTreeMap<String, String>,
    policy: ClearReadReason,
) -> TestCluster {
    let mut settings = ServiceConfig::default();
    settings.insert(ClearReadConfig {
        clear_read_reason: policy,
    });
    TestCluster::start_with_settings(
        backend,
        services,
        Topology::PortPerService,
        clock,
        ClusterOptions {
            peers,
            ..ClusterOptions::default()
        },
        pingan_tests::test_server_config(),
        settings,
    )
    .await
    .expect("cluster")
}

/// The AuditRecords `service` enqueued for complaints-audit whose action is `action`, oldest first.
pub async fn audit_records(
    cluster: &TestCluster,
    service: Service,
    action: &str,
) -> Vec<AuditRecord> {
    const SQL: &str = "SELECT payload FROM pingan_outbox_events WHERE event_type = $1 ORDER BY id";
    let context = cluster.context(service).expect("context");
    let rows: Vec<(Vec<u8>,)> = with_db!(&context.db, pool => sqlx::query_as(SQL)
        .bind("pingan.audit.v1.AuditRecord")
        .fetch_all(pool)
        .await)
    .expect("outbox");
    rows.into_iter()
        .map(|(payload,)| AuditRecord::decode(payload.as_slice()).expect("audit record"))
        .filter(|record| record.action == action)
        .collect()
}

/// Who, what and why of a clear-read record, and no clear number (nor `clear`) in it.
pub fn assert_clear_read(
    record: &AuditRecord,
    subject: &str,
    role: Role,
    station: &str,
    shown: &[&str],
    reason: &str,
    clear: &[&str],
) {
    let actor = record.actor.clone().expect("actor");
    assert_eq!(actor.subject, subject, "{record:?}");
    assert_eq!(actor.role, role.as_str(), "{record:?}");
    assert_eq!(record.station_id, station, "{record:?}");
    for id in shown {
        assert!(record.detail.contains(id), "{id} not in {record:?}");
    }
    assert!(
        record.detail.contains(&format!("reason: {reason}")),
        "{record:?}"
    );
    assert!(record.detail.contains("caller stations: "), "{record:?}");
    let text = format!("{record:?}");
    assert!(!contains_clear_pii(&text), "{text}");
    for value in clear {
        assert!(!text.contains(value), "{value} in {text}");
    }
}

/// grid-registry's FindResidentByIdNumber, knowing one resident.
#[derive(Debug, Clone, Default)]
struct FakeRegistry;

#[tonic::async_trait]
impl GridRegistryService for FakeRegistry {
    async fn find_resident_by_id_number(
        &self,
        request: Request<FindResidentByIdNumberRequest>,
    ) -> Result<Response<FindResidentByIdNumberResponse>, Status> {
        if request.into_inner().id_number != OWNER_ID {
            return Err(Status::not_found("resident not found"));
        }
        Ok(Response::new(FindResidentByIdNumberResponse {
            resident: Some(Resident {
                resident_id: "res-1".into(),
                name: "张三".into(),
                phone_masked: "138****5678".into(),
                phone: OWNER_PHONE.into(),
                grid_id: "st-chengnan-g1".into(),
                ..Resident::default()
            }),
            responsible_officers: vec![GridOfficer {
                officer_id: "officer-village-1".into(),
                role: OfficerRole::VillageOfficer as i32,
                ..GridOfficer::default()
            }],
            lookup_id: "lookup-1".into(),
        }))
    }
}

/// Serves the fake registry on a loopback port; its address.
pub async fn fake_registry() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(GridRegistryServiceServer::new(FakeRegistry))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

/// The station of the case-followup tests' officers.
pub const DESK: &str = "st-chengnan";

/// case-followup under `policy`, calling the fake registry.
pub async fn followup(backend: TestBackend, policy: ClearReadReason) -> TestCluster {
    let registry = fake_registry().await;
    let peers = BTreeMap::from([("grid-registry".to_owned(), format!("http://{registry}"))]);
    cluster(
        backend,
        &[Service::CaseFollowup],
        pingan_platform::clock::system(),
        peers,
        policy,
    )
    .await
}

/// A case-followup client of `subject` with `roles` at DESK.
pub fn followup_client(
    cluster: &TestCluster,
    subject: &str,
    roles: &[Role],
) -> CaseFollowupServiceClient<Authed> {
    let token = cluster.token(subject, roles, &[DESK]).expect("token");
    CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &token)
            .expect("channel"),
    )
}

/// A found ID card of the fake registry's resident, in custody at DESK.
pub fn found_card(request_id: &str, reason: &str) -> fu::RegisterFoundItemRequest {
    fu::RegisterFoundItemRequest {
        request_id: request_id.into(),
        kind: fu::ItemKind::IdCard as i32,
        description: "居民身份证".into(),
        custody: Some(fu::Custody {
            station_id: DESK.into(),
            officer_id: "officer-duty".into(),
            storage_place: "值班室保管柜 3".into(),
        }),
        id_number: OWNER_ID.into(),
        reason: reason.into(),
        ..Default::default()
    }
}
