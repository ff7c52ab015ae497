//! Stories 8 (logistics inspections and re-inspection), 9 (the village officer's notebook) and
//! 10 (prevention outreach per grid), end to end through gRPC on both backends.

mod grid_common;

use grid_common::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::grid::v1 as pb;
use pingan_tests::{TestBackend, backend_tests};
use tonic::Code;

/// Story 8: every logistics site inspected; a failure gets a deadline and a re-inspection.
async fn story_8_logistics_inspection_and_reinspection(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = client(
        &cluster,
        "st-rongxiang-o1",
        &[Role::VillageOfficer],
        &[RONGXIANG],
    );
    let start = pb::StartInspectionRequest {
        request_id: "insp-1".into(),
        premises_id: "p-st-rongxiang-1".into(),
        template_id: "LOGISTICS_SAFETY".into(),
        campaign: "春节前寄递物流安全检查".into(),
        ..Default::default()
    };
    let first = officer
        .start_inspection(start.clone())
        .await
        .expect("start")
        .into_inner()
        .inspection
        .expect("inspection");
    assert_eq!(first.items.len(), 6);
    assert_eq!(first.status, pb::InspectionStatus::InProgress as i32);
    let again = officer
        .start_inspection(start)
        .await
        .expect("repeat")
        .into_inner()
        .inspection
        .expect("inspection");
    assert_eq!(
        again.inspection_id, first.inspection_id,
        "a repeated request returns the first result"
    );
    let results = |fail: Option<&str>| -> Vec<pb::ItemResultInput> {
        first
            .items
            .iter()
            .map(|i| pb::ItemResultInput {
                item_code: i.item_code.clone(),
                result: if Some(i.item_code.as_str()) == fail {
                    pb::ItemResult::Fail
                } else {
                    pb::ItemResult::Pass
                } as i32,
                note: if Some(i.item_code.as_str()) == fail {
                    "录像仅保存15天".into()
                } else {
                    String::new()
                },
                evidence_refs: vec![],
            })
            .collect()
    };
    let deadline = prost_types::Timestamp {
        seconds: 4_102_444_800,
        nanos: 0,
    };
    let status = officer
        .record_inspection_result(pb::RecordInspectionResultRequest {
            inspection_id: first.inspection_id.clone(),
            results: results(Some("VIDEO_RETENTION_MET")),
            ..Default::default()
        })
        .await
        .expect_err("deadline required");
    assert_eq!(fields(&status), ["rectification_deadline"]);
    let failed = officer
        .record_inspection_result(pb::RecordInspectionResultRequest {
            request_id: "insp-1-result".into(),
            inspection_id: first.inspection_id.clone(),
            results: results(Some("VIDEO_RETENTION_MET")),
            hazards: vec![pb::HazardInput {
                item_code: "VIDEO_RETENTION_MET".into(),
                description: "监控录像保存不足30天".into(),
                severity: pb::HazardSeverity::Minor as i32,
                required_action: "更换存储，保存30天以上".into(),
            }],
            rectification_deadline: Some(deadline),
            summary: "一项不合格".into(),
            ..Default::default()
        })
        .await
        .expect("results")
        .into_inner()
        .inspection
        .expect("inspection");
    assert_eq!(
        failed.status,
        pb::InspectionStatus::RectificationRequired as i32
    );
    let due = officer
        .list_due_reinspections(pb::ListDueReinspectionsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await
        .expect("due")
        .into_inner();
    assert_eq!(due.inspections.len(), 1);
    assert_eq!(due.inspections[0].inspection_id, first.inspection_id);
    let recheck = officer
        .start_inspection(pb::StartInspectionRequest {
            request_id: "insp-2".into(),
            premises_id: "p-st-rongxiang-1".into(),
            template_id: "LOGISTICS_SAFETY".into(),
            reinspection_of: first.inspection_id.clone(),
            ..Default::default()
        })
        .await
        .expect("re-inspection")
        .into_inner()
        .inspection
        .expect("inspection");
    let passed = officer
        .record_inspection_result(pb::RecordInspectionResultRequest {
            inspection_id: recheck.inspection_id.clone(),
            results: results(None),
            ..Default::default()
        })
        .await
        .expect("passed")
        .into_inner()
        .inspection
        .expect("inspection");
    assert_eq!(passed.status, pb::InspectionStatus::Passed as i32);
    let due = officer
        .list_due_reinspections(pb::ListDueReinspectionsRequest::default())
        .await
        .expect("due")
        .into_inner();
    assert!(
        due.inspections.is_empty(),
        "回头看 done: {:?}",
        due.inspections
    );
    cluster.shutdown().await.expect("shutdown");
}

/// Story 9: the village officer's notebook of elderly people living alone and their needs.
async fn story_9_notebook_visits_and_needs(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = client(
        &cluster,
        "st-rongxiang-o3",
        &[Role::VillageOfficer],
        &[RONGXIANG],
    );
    let due_list = |officer_id: &str| pb::ListWelfareVisitsDueRequest {
        officer_id: officer_id.into(),
        ..Default::default()
    };
    let due = officer
        .list_welfare_visits_due(due_list("st-rongxiang-o3"))
        .await
        .expect("due")
        .into_inner();
    let ids: Vec<String> = due
        .entries
        .iter()
        .map(|e| e.resident.as_ref().expect("r").resident_id.clone())
        .collect();
    assert!(ids.contains(&"r-101".to_owned()), "{ids:?}");
    let entry = &due.entries[0];
    assert_eq!(entry.resident.as_ref().expect("r").phone_masked.len(), 11);
    officer
        .record_visit(pb::RecordVisitRequest {
            request_id: "visit-1".into(),
            resident_id: "r-101".into(),
            purpose: pb::VisitPurpose::WelfareCheck as i32,
            contacted: true,
            concern_raised: true,
            notes: "老人腿脚不便，药快吃完了".into(),
            ..Default::default()
        })
        .await
        .expect("visit");
    let due = officer
        .list_welfare_visits_due(due_list("st-rongxiang-o3"))
        .await
        .expect("due")
        .into_inner();
    assert!(
        due.entries
            .iter()
            .all(|e| e.resident.as_ref().expect("r").resident_id != "r-101")
    );
    let need = officer
        .record_need(pb::RecordNeedRequest {
            request_id: "need-1".into(),
            resident_id: "r-101".into(),
            category: pb::NeedCategory::Medical as i32,
            description: "需要代购降压药".into(),
            urgent: true,
            ..Default::default()
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(need.assigned_officer_id, "st-rongxiang-o3");
    // Visible to the station.
    let mut station = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG]);
    let open = station
        .list_open_needs(pb::ListOpenNeedsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await
        .expect("open")
        .into_inner();
    assert_eq!(open.needs.len(), 1);
    assert_eq!(open.needs[0].need_id, need.need_id);
    let mut other = client(&cluster, "leader-2", &[Role::StationOfficer], &["st-caye"]);
    let theirs = other
        .list_open_needs(pb::ListOpenNeedsRequest::default())
        .await
        .expect("open")
        .into_inner();
    assert!(theirs.needs.is_empty());
    let resolve = pb::ResolveNeedRequest {
        request_id: "resolve-1".into(),
        need_id: need.need_id.clone(),
        resolution: pb::NeedStatus::Resolved as i32,
        resolution_note: "已代购并送药上门".into(),
        referred_to: String::new(),
    };
    let resolved = officer
        .resolve_need(resolve.clone())
        .await
        .expect("resolve")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(resolved.status, pb::NeedStatus::Resolved as i32);
    officer
        .resolve_need(resolve.clone())
        .await
        .expect("a repeat answers the same");
    let mut changed = resolve;
    changed.resolution_note = "另一个结果".into();
    let status = officer.resolve_need(changed).await.expect_err("not open");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let open = station
        .list_open_needs(pb::ListOpenNeedsRequest::default())
        .await
        .expect("open")
        .into_inner();
    assert!(open.needs.is_empty());
    cluster.shutdown().await.expect("shutdown");
}

/// Story 10: anti-fraud, anti-drug and e-bike charging outreach recorded per grid.
async fn story_10_outreach_per_grid(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut worker = client(&cluster, "worker-1", &[Role::GridWorker], &[RONGXIANG]);
    let held_at = Some(prost_types::Timestamp {
        seconds: 1_735_700_000,
        nanos: 0,
    });
    let event = |request_id: &str, grid: &str, topics: Vec<pb::OutreachTopic>, audience| {
        pb::RecordOutreachRequest {
            request_id: request_id.into(),
            grid_id: grid.into(),
            topics: topics.into_iter().map(|t| t as i32).collect(),
            format: pb::OutreachFormat::Meeting as i32,
            held_at,
            venue: "村委会".into(),
            audience_size: audience,
            ..Default::default()
        }
    };
    let first = event(
        "o-1",
        "st-rongxiang-g1",
        vec![
            pb::OutreachTopic::AntiFraud,
            pb::OutreachTopic::EbikeCharging,
        ],
        40,
    );
    worker.record_outreach(first.clone()).await.expect("o-1");
    worker
        .record_outreach(first)
        .await
        .expect("repeat counts once");
    worker
        .record_outreach(event(
            "o-2",
            "st-rongxiang-g2",
            vec![pb::OutreachTopic::AntiDrug],
            25,
        ))
        .await
        .expect("o-2");
    let status = worker
        .record_outreach(event(
            "o-3",
            "st-chengnan-g1",
            vec![pb::OutreachTopic::AntiDrug],
            5,
        ))
        .await
        .expect_err("other station");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = worker
        .record_outreach(event("o-4", "st-rongxiang-g1", vec![], 5))
        .await
        .expect_err("no topic");
    assert_eq!(fields(&status), ["topics"]);
    let stats = worker
        .outreach_stats(pb::OutreachStatsRequest {
            period: Some(TimeRange {
                start: Some(prost_types::Timestamp {
                    seconds: 1_735_600_000,
                    nanos: 0,
                }),
                end: None,
            }),
            station_id: RONGXIANG.into(),
            interval: pb::StatsInterval::Month as i32,
            ..Default::default()
        })
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.total_events, stats.total_audience), (2, 65));
    let fraud = stats
        .topic_totals
        .iter()
        .find(|r| r.topic == pb::OutreachTopic::AntiFraud as i32)
        .expect("fraud");
    assert_eq!((fraud.events, fraud.audience), (1, 40));
    assert_eq!(stats.grid_totals.len(), 2);
    assert_eq!(stats.rows.len(), 3);
    assert!(stats.rows.iter().all(|r| r.period_start.is_some()));
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    story_8_logistics_inspection_and_reinspection,
    story_9_notebook_visits_and_needs,
    story_10_outreach_per_grid,
);
