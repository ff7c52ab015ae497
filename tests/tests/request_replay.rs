//! A request id is bound to the caller who first used it, on SQLite and on Postgres + Redis: the
//! same caller's repeat gets the first answer back, but another caller replaying the exact
//! request (same bytes, same id) is refused with INVALID_ARGUMENT naming `request_id` — never
//! handed the stored answer, which would skip the station check the handler makes (found by the
//! authorization matrix: an officer of another station got a unit's status change back as OK).

mod dispatch_support;

use dispatch_support::*;
use pingan_platform::auth::Role;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

backend_tests!(
    another_caller_replaying_a_request_id_is_refused_not_answered,
    two_callers_racing_one_request_id_get_one_owner,
);

const UNIT: &str = "u-st-chengnan-o1";

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

/// Two officers of the same station (both allowed) send the same request id at once, eight
/// times each: one of them owns the id and every one of the owner's calls gets the same answer;
/// every call of the other is refused naming `request_id`; the status changed once.
async fn two_callers_racing_one_request_id_get_one_owner(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    import_units(&mut admin).await;
    let request = SetUnitStatusRequest {
        request_id: "race-1".to_owned(),
        unit_id: UNIT.to_owned(),
        status: UnitStatus::Busy as i32,
        reason: "meal break".to_owned(),
    };
    let before = unit_events(&cluster).await;
    let a = as_subject(
        &cluster,
        "o-cn-a",
        &[Role::StationOfficer],
        &["st-chengnan"],
    )
    .await;
    let b = as_subject(
        &cluster,
        "o-cn-b",
        &[Role::StationOfficer],
        &["st-chengnan"],
    )
    .await;
    let mut calls = Vec::new();
    for i in 0..16 {
        let (mut client, caller) = if i % 2 == 0 {
            (a.clone(), "a")
        } else {
            (b.clone(), "b")
        };
        let request = request.clone();
        calls.push(tokio::spawn(async move {
            (
                caller,
                client
                    .set_unit_status(request)
                    .await
                    .map(|r| r.into_inner()),
            )
        }));
    }
    let mut answers: Vec<(&str, Result<SetUnitStatusResponse, tonic::Status>)> = Vec::new();
    for call in calls {
        answers.push(call.await.expect("task"));
    }
    let owners: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter(|(_, answer)| answer.is_ok())
        .map(|(caller, _)| *caller)
        .collect();
    assert_eq!(
        owners.len(),
        1,
        "exactly one caller owns the id: {answers:?}"
    );
    let owner = owners.iter().next().copied().expect("an owner");
    let first = answers
        .iter()
        .find_map(|(caller, answer)| (*caller == owner).then(|| answer.clone()))
        .expect("the owner's answer")
        .expect("ok");
    for (caller, answer) in &answers {
        if *caller == owner {
            assert_eq!(
                answer.as_ref().ok(),
                Some(&first),
                "the owner's every call: the first answer"
            );
        } else {
            let status = answer.as_ref().expect_err("the other caller is refused");
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(status.message().contains("request_id"), "{status:?}");
        }
    }
    // The change was made once: its events are those of one change (the same count a second,
    // single change with a fresh id writes).
    let once = unit_events(&cluster).await - before;
    assert!(once > 0, "the change wrote its events");
    let mut own = a.clone();
    own.set_unit_status(SetUnitStatusRequest {
        request_id: "race-2".to_owned(),
        status: UnitStatus::Available as i32,
        reason: "back on patrol".to_owned(),
        ..request.clone()
    })
    .await
    .expect("a second change");
    let single = unit_events(&cluster).await - before - once;
    assert_eq!(once, single, "sixteen racing calls made one change");
}

/// Events dispatch's outbox holds about the unit.
async fn unit_events(cluster: &TestCluster) -> i64 {
    let db = cluster.context(Service::Dispatch).expect("context").db;
    let (count,): (i64,) = pingan_platform::with_db!(&db, pool => sqlx::query_as(
        "SELECT count(*) FROM pingan_outbox_events WHERE aggregate_id = $1",
    )
    .bind(UNIT)
    .fetch_one(pool)
    .await)
    .expect("count");
    count
}
