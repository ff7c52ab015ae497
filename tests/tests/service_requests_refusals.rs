//! Service requests refused through gRPC on both backends: bad input names its field, another
//! station's officer and a grid worker are refused.

mod grid_common;
mod service_requests_support;

use service_requests_support::*;

/// Bad input names its field; another station's officer and a grid worker are refused.
async fn refusals(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = village_officer(&cluster);
    let now = now_secs();

    let empty = officer
        .open_service_request(pb::OpenServiceRequestRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(
        refused(&empty),
        [
            "applicant_name",
            "applicant_phone",
            "channel",
            "request_id",
            "station_id",
            "type"
        ]
    );
    let mut bad = certificate("svc-bad", now);
    bad.resident_id.clear();
    bad.applicant_name = "李四".into();
    bad.applicant_phone = "call me".into();
    bad.requested_at = at(now + DAY);
    let status = officer.open_service_request(bad).await.expect_err("bad");
    assert_eq!(refused(&status), ["applicant_phone", "requested_at"]);
    let mut foreign_grid = certificate("svc-bad-grid", now);
    foreign_grid.grid_id = "st-chengnan-g1".into();
    let status = desk(&cluster, "admin-1", &[Role::Admin], &[])
        .open_service_request(foreign_grid)
        .await
        .expect_err("grid of another station");
    assert_eq!(refused(&status), ["grid_id"]);

    let id = open(&mut officer, certificate("svc-ref", now - HOUR))
        .await
        .service_request_id;
    let status = officer
        .complete_checklist_item(tick("svc-ref-x", &id, "NO_SUCH_ITEM"))
        .await
        .expect_err("unknown item");
    assert_eq!(refused(&status), ["item_key"]);
    let status = officer
        .complete_checklist_item(pb::CompleteChecklistItemRequest::default())
        .await
        .expect_err("empty tick");
    assert_eq!(
        refused(&status),
        ["item_key", "request_id", "service_request_id"]
    );
    for key in BEFORE_SUBMIT {
        officer
            .complete_checklist_item(tick(&format!("svc-ref-{key}"), &id, key))
            .await
            .expect("tick");
    }
    let status = officer
        .submit_service_request(pb::SubmitServiceRequestRequest {
            request_id: "svc-ref-submit".into(),
            service_request_id: id.clone(),
            submitted_at: at(now - 2 * HOUR),
            note: String::new(),
        })
        .await
        .expect_err("before the request");
    assert_eq!(refused(&status), ["submitted_at"]);
    for (outcome, field) in [
        (pb::ServiceRequestOutcome::Rejected as i32, "note"),
        (0, "outcome"),
    ] {
        let close = pb::CloseServiceRequestRequest {
            request_id: format!("svc-ref-close-{outcome}"),
            service_request_id: id.clone(),
            outcome,
            ..Default::default()
        };
        let status = officer.close_service_request(close).await.expect_err(field);
        assert_eq!(refused(&status), [field]);
    }
    let status = officer
        .list_service_requests(pb::ListServiceRequestsRequest {
            page_size: 501,
            r#type: 99,
            ..Default::default()
        })
        .await
        .expect_err("bad filters");
    assert_eq!(refused(&status), ["page_size", "type"]);
    let status = officer
        .get_service_request(pb::GetServiceRequestRequest {
            service_request_id: "no-such-request".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // Chengnan's village officer: denied at Rongxiang, blind to its requests.
    let mut stranger = desk(
        &cluster,
        "st-chengnan-o1",
        &[Role::VillageOfficer],
        &["st-chengnan"],
    );
    let answer = stranger
        .open_service_request(certificate("svc-stranger", now))
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);
    let answer = stranger
        .complete_checklist_item(tick("svc-stranger-tick", &id, "RESULT_DELIVERED"))
        .await;
    assert_eq!(code(answer), Code::NotFound);
    let answer = stranger
        .get_service_request(pb::GetServiceRequestRequest {
            service_request_id: id.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(answer), Code::NotFound);
    let answer = stranger
        .list_service_requests(pb::ListServiceRequestsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);
    let seen = list(&mut stranger, pb::ListServiceRequestsRequest::default()).await;
    assert!(seen.is_empty(), "{seen:?}");
    let answer = stranger
        .service_request_report(pb::ServiceRequestReportRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);

    // A grid worker of the station reads but does not serve applicants.
    let mut worker = desk(&cluster, "gw-1", &[Role::GridWorker], &[RONGXIANG]);
    let answer = worker
        .open_service_request(certificate("svc-worker", now))
        .await;
    assert_eq!(code(answer), Code::PermissionDenied);
    let read = get(&mut worker, &id)
        .await
        .service_request
        .expect("request");
    assert!(
        read.applicant_phone.is_empty(),
        "grid workers see the masked phone only"
    );
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(refusals,);
