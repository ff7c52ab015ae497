//! A request id is bound to the caller who first used it, on SQLite and on Postgres + Redis: the
//! same caller's repeat gets the first answer back, but another caller replaying the exact
//! request (same bytes, same id) is refused with INVALID_ARGUMENT naming `request_id` — never
//! handed the stored answer, which would skip the station check the handler makes (found by the
//! authorization matrix: an officer of another station got a unit's status change back as OK).

mod dispatch_support;

use dispatch_support::*;
use pingan_platform::auth::Role;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

backend_tests!(another_caller_replaying_a_request_id_is_refused_not_answered,);

const UNIT: &str = "u-st-chengnan-o1";

async fn as_subject(
    cluster: &TestCluster,
    subject: &str,
    roles: &[Role],
    stations: &[&str],
) -> Client {
    let token = cluster.token(subject, roles, stations).expect("token");
    DispatchServiceClient::new(
        cluster
            .channel_as(Service::Dispatch, &token)
            .expect("channel"),
    )
}

async fn another_caller_replaying_a_request_id_is_refused_not_answered(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    import_units(&mut admin).await;

    let request = SetUnitStatusRequest {
        request_id: "replay-1".to_owned(),
        unit_id: UNIT.to_owned(),
        status: UnitStatus::Busy as i32,
        reason: "meal break".to_owned(),
    };
    let mut own = as_subject(&cluster, "o-cn", &[Role::StationOfficer], &["st-chengnan"]).await;
    let first = own
        .set_unit_status(request.clone())
        .await
        .expect("the unit's own station sets its status")
        .into_inner();

    // Another station's officer: with a fresh id, refused by the station check …
    let mut other = as_subject(&cluster, "o-rx", &[Role::StationOfficer], &["st-rongxiang"]).await;
    let fresh = other
        .set_unit_status(SetUnitStatusRequest {
            request_id: "replay-2".to_owned(),
            ..request.clone()
        })
        .await
        .expect_err("another station's unit");
    assert_eq!(fresh.code(), Code::PermissionDenied, "{fresh:?}");
    // … and with the first request's exact bytes and id, refused too, naming request_id.
    let replayed = other
        .set_unit_status(request.clone())
        .await
        .expect_err("a replay by another caller must not get the stored answer");
    assert_eq!(replayed.code(), Code::InvalidArgument, "{replayed:?}");
    assert!(replayed.message().contains("request_id"), "{replayed:?}");

    // The first caller's repeat (a retry) still gets its first answer back.
    let again = own
        .set_unit_status(request.clone())
        .await
        .expect("the same caller's retry")
        .into_inner();
    assert_eq!(again, first);

    // A bureau-wide admin is another caller too: refused, not answered.
    let by_admin = admin
        .set_unit_status(request)
        .await
        .expect_err("an admin replaying an officer's request id");
    assert_eq!(by_admin.code(), Code::InvalidArgument, "{by_admin:?}");
}
