//! Case follow-up end to end over gRPC, in the cluster shape: story 2 (a found ID card goes back
//! to its owner through the registry; the time to contact is reported), the owner lookup kept
//! PENDING while grid-registry is unreachable and completed by the background retry, role-gated
//! phones, and field violations. grid-registry is a fake implementing its generated trait until
//! the real service lands (then start `Service::GridRegistry` and load a resident instead).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_platform::clock::{ManualClock, SharedClock};
use pingan_platform::storage::Backend;
use pingan_proto::followup::v1::case_followup_service_client::CaseFollowupServiceClient;
use pingan_proto::followup::v1::*;
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{
    FindResidentByIdNumberRequest, FindResidentByIdNumberResponse, GridOfficer, OfficerRole,
    Resident,
};
use pingan_tests::{Service, TestCluster, Topology, backend_tests};
use tokio::net::TcpListener;
use tonic::{Code, Request, Response, Status};

const OWNER_ID: &str = "11010519491231002X";
const OWNER_PHONE: &str = "13812345678";
const STATION: &str = "st-chengnan";

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

async fn serve_registry(listener: TcpListener) {
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(GridRegistryServiceServer::new(FakeRegistry))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
}

async fn cluster_with_registry(
    backend: Backend,
    registry: SocketAddr,
    clock: &ManualClock,
) -> anyhow::Result<TestCluster> {
    let peers = BTreeMap::from([("grid-registry".to_owned(), format!("http://{registry}"))]);
    let shared: SharedClock = Arc::new(clock.clone());
    TestCluster::start_with_peers(
        backend,
        &[Service::CaseFollowup],
        Topology::PortPerService,
        shared,
        &peers,
    )
    .await
}

fn found_card(request_id: &str) -> RegisterFoundItemRequest {
    RegisterFoundItemRequest {
        request_id: request_id.into(),
        kind: ItemKind::IdCard as i32,
        description: "居民身份证".into(),
        custody: Some(Custody {
            station_id: STATION.into(),
            officer_id: "officer-duty".into(),
            storage_place: "值班室保管柜 3".into(),
        }),
        id_number: OWNER_ID.into(),
        ..RegisterFoundItemRequest::default()
    }
}

async fn story_2_found_id_card_back_to_its_owner(backend: Backend) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    serve_registry(listener).await;
    let clock = ManualClock::new(pingan_platform::clock::system().now());
    let cluster = cluster_with_registry(backend, addr, &clock)
        .await
        .expect("cluster");

    let anonymous = cluster.channel(Service::CaseFollowup).expect("channel");
    let refused = CaseFollowupServiceClient::new(anonymous)
        .register_found_item(found_card("f-anon"))
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);

    let officer = cluster
        .token("officer-duty", &[Role::StationOfficer], &[STATION])
        .expect("token");
    let mut client = CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &officer)
            .expect("channel"),
    );
    let item = client
        .register_found_item(found_card("f-1"))
        .await
        .expect("registered")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(item.registry_lookup, RegistryLookup::Found as i32);
    assert_eq!(item.status, FoundItemStatus::OwnerIdentified as i32);
    assert_eq!(item.id_number_masked, "110105********002X");
    assert_eq!(item.owner.as_ref().expect("owner").phone, OWNER_PHONE);
    let task = item
        .contact_task
        .clone()
        .expect("contact task raised at once");
    assert_eq!(task.assigned_officer_id, "officer-duty");

    // Another station's officer sees nothing of it.
    let outsider = cluster
        .token("officer-x", &[Role::StationOfficer], &["st-rongxiang"])
        .expect("token");
    let denied = CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &outsider)
            .expect("channel"),
    )
    .mark_owner_contacted(MarkOwnerContactedRequest {
        request_id: "c-x".into(),
        found_item_id: item.found_item_id.clone(),
        ..MarkOwnerContactedRequest::default()
    })
    .await
    .expect_err("other station");
    assert_eq!(denied.code(), Code::NotFound);

    clock.advance(Duration::from_secs(7 * 60));
    let contacted = client
        .mark_owner_contacted(MarkOwnerContactedRequest {
            request_id: "c-1".into(),
            found_item_id: item.found_item_id.clone(),
            method: ContactMethod::Phone as i32,
            notes: "今天下午来派出所领取".into(),
            ..MarkOwnerContactedRequest::default()
        })
        .await
        .expect("contacted")
        .into_inner()
        .found_item
        .expect("item");
    let task = contacted.contact_task.expect("task");
    assert_eq!(
        task.time_to_contact.expect("time to contact").seconds,
        7 * 60
    );
    assert!(!task.overdue, "within the 10-minute target");

    clock.advance(Duration::from_secs(60 * 60));
    let returned = client
        .mark_returned(MarkReturnedRequest {
            request_id: "r-1".into(),
            found_item_id: item.found_item_id.clone(),
            recipient_name: "张三".into(),
            recipient_is_owner: true,
            identity_check: IdentityCheck::PhotoMatch as i32,
            ..MarkReturnedRequest::default()
        })
        .await
        .expect("returned")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(returned.status, FoundItemStatus::Returned as i32);

    let mut range = FollowupStatsRequest::default().range.unwrap_or_default();
    let mut start = returned.created_at.expect("created");
    start.seconds -= 3600;
    let mut end = start;
    end.seconds += 4 * 3600;
    range.start = Some(start);
    range.end = Some(end);
    let stats = client
        .followup_stats(FollowupStatsRequest {
            range: Some(range),
            ..FollowupStatsRequest::default()
        })
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.rows.len(), 1, "the officer's one station");
    let lf = stats.rows[0].lost_and_found.expect("lost and found");
    assert_eq!(
        (lf.id_cards, lf.contacted_within_target, lf.returned),
        (1, 1, 1)
    );
    assert_eq!(lf.time_to_contact_median.expect("median").seconds, 7 * 60);
    cluster.shutdown().await.expect("shutdown");
}

async fn registry_down_lookup_pending_then_retried(backend: Backend) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener); // grid-registry is down
    let clock = ManualClock::new(pingan_platform::clock::system().now());
    let cluster = cluster_with_registry(backend, addr, &clock)
        .await
        .expect("cluster");
    let officer = cluster
        .token("officer-duty", &[Role::StationOfficer], &[STATION])
        .expect("token");
    let mut client = CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &officer)
            .expect("channel"),
    );
    let item = client
        .register_found_item(found_card("f-1"))
        .await
        .expect("the item is kept while the registry is down")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(item.registry_lookup, RegistryLookup::Pending as i32);
    let not_yet = client
        .mark_owner_contacted(MarkOwnerContactedRequest {
            request_id: "c-0".into(),
            found_item_id: item.found_item_id.clone(),
            ..MarkOwnerContactedRequest::default()
        })
        .await
        .expect_err("owner unknown yet");
    assert_eq!(not_yet.code(), Code::FailedPrecondition);

    serve_registry(TcpListener::bind(addr).await.expect("rebind")).await;
    clock.advance(Duration::from_secs(60));
    // The background task retries (polls every second); the owner becomes known.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut attempt = 0;
    let contacted = loop {
        attempt += 1;
        match client
            .mark_owner_contacted(MarkOwnerContactedRequest {
                request_id: format!("c-{attempt}"),
                found_item_id: item.found_item_id.clone(),
                ..MarkOwnerContactedRequest::default()
            })
            .await
        {
            Ok(response) => break response.into_inner().found_item.expect("item"),
            Err(status) if status.code() == Code::FailedPrecondition => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "lookup never retried"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    };
    assert_eq!(contacted.registry_lookup, RegistryLookup::Found as i32);
    assert_eq!(contacted.owner.expect("owner").name, "张三");
    cluster.shutdown().await.expect("shutdown");
}

async fn bad_input_is_invalid_argument_naming_fields(backend: Backend) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    serve_registry(listener).await;
    let clock = ManualClock::new(pingan_platform::clock::system().now());
    let cluster = cluster_with_registry(backend, addr, &clock)
        .await
        .expect("cluster");
    let officer = cluster
        .token("officer-duty", &[Role::StationOfficer], &[STATION])
        .expect("token");
    let mut client = CaseFollowupServiceClient::new(
        cluster
            .channel_as(Service::CaseFollowup, &officer)
            .expect("channel"),
    );
    let status = client
        .record_revisit(RecordRevisitRequest {
            request_id: "rr-1".into(),
            revisit_id: "rv-1".into(),
            contacted: true,
            satisfaction: 7,
            ..RecordRevisitRequest::default()
        })
        .await
        .expect_err("satisfaction 7");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("satisfaction"), "{status:?}");
    let status = client
        .register_found_item(RegisterFoundItemRequest {
            request_id: "f-1".into(),
            kind: 42,
            custody: Some(Custody {
                station_id: STATION.into(),
                ..Custody::default()
            }),
            ..RegisterFoundItemRequest::default()
        })
        .await
        .expect_err("unknown kind");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("kind"), "{status:?}");
    let missing = client
        .record_revisit(RecordRevisitRequest {
            request_id: "rr-2".into(),
            revisit_id: "rv-missing".into(),
            contacted: true,
            satisfaction: 5,
            ..RecordRevisitRequest::default()
        })
        .await
        .expect_err("no such revisit");
    assert_eq!(missing.code(), Code::NotFound);
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    story_2_found_id_card_back_to_its_owner,
    registry_down_lookup_pending_then_retried,
    bad_input_is_invalid_argument_naming_fields,
);
