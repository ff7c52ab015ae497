//! The grid registry's read side, end to end through gRPC on both backends: stories 8 and 9 read
//! back (an inspection's final RECTIFIED/PASSED state, a station's logistics sites with their last
//! result and next due date, a settled need with its follow-up, an officer's visits in a period),
//! jurisdiction, paging and the refusal of bad filters.

mod grid_common;

use std::time::{SystemTime, UNIX_EPOCH};

use grid_common::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::grid::v1 as pb;
use pingan_tests::{TestBackend, backend_tests};
use prost_types::Timestamp;
use tonic::Code;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn period(start: i64, end: i64) -> Option<TimeRange> {
    Some(TimeRange {
        start: at(start),
        end: at(end),
    })
}

fn secs(t: Option<&Timestamp>) -> i64 {
    t.map(|t| t.seconds).expect("timestamp")
}

/// Results for every item of `inspection`, `fail` failed with a note.
fn results(inspection: &pb::Inspection, fail: Option<&str>) -> Vec<pb::ItemResultInput> {
    inspection
        .items
        .iter()
        .map(|i| {
            let failed = Some(i.item_code.as_str()) == fail;
            pb::ItemResultInput {
                item_code: i.item_code.clone(),
                result: if failed {
                    pb::ItemResult::Fail
                } else {
                    pb::ItemResult::Pass
                } as i32,
                note: if failed {
                    "录像仅保存15天".into()
                } else {
                    String::new()
                },
                evidence_refs: vec![],
            }
        })
        .collect()
}

async fn logistics_sites(client: &mut Client) -> Vec<pb::PremisesStanding> {
    client
        .list_premises(pb::ListPremisesRequest {
            station_id: RONGXIANG.into(),
            kind: pb::PremisesKind::LogisticsSite as i32,
            ..Default::default()
        })
        .await
        .expect("list premises")
        .into_inner()
        .premises
}

fn standing<'a>(list: &'a [pb::PremisesStanding], id: &str) -> &'a pb::PremisesStanding {
    list.iter()
        .find(|p| p.premises.as_ref().is_some_and(|p| p.premises_id == id))
        .expect("premises listed")
}

/// Story 8 read back: the station lists its logistics sites with their last result and next due
/// date; a failed inspection shows RECTIFIED once its re-inspection passed, by GetInspection and
/// ListInspections alike.
async fn story_8_inspections_read_back(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = client(
        &cluster,
        "st-rongxiang-o1",
        &[Role::VillageOfficer],
        &[RONGXIANG],
    );
    let now = now_secs();

    // Before the campaign: both logistics sites of the station, never inspected, due already.
    let sites = logistics_sites(&mut officer).await;
    let ids: Vec<&str> = sites
        .iter()
        .map(|s| s.premises.as_ref().expect("premises").premises_id.as_str())
        .collect();
    assert_eq!(ids, ["p-st-rongxiang-1", "p-st-rongxiang-2"]);
    for site in &sites {
        assert_eq!(site.station_id, RONGXIANG);
        assert_eq!(site.last_result, pb::InspectionStatus::Unspecified as i32);
        assert!(site.last_inspection_id.is_empty());
        assert_eq!(
            site.next_due_reason,
            pb::InspectionDueReason::NeverInspected as i32
        );
        assert!(site.overdue);
    }

    // The first inspection fails one item: the re-inspection is due by the deadline.
    let first = officer
        .start_inspection(pb::StartInspectionRequest {
            request_id: "read-insp-1".into(),
            premises_id: "p-st-rongxiang-1".into(),
            template_id: "LOGISTICS_SAFETY".into(),
            started_at: at(now - 3 * HOUR),
            ..Default::default()
        })
        .await
        .expect("start")
        .into_inner()
        .inspection
        .expect("inspection");
    let deadline = now + 7 * DAY;
    officer
        .record_inspection_result(pb::RecordInspectionResultRequest {
            request_id: "read-insp-1-result".into(),
            inspection_id: first.inspection_id.clone(),
            results: results(&first, Some("VIDEO_RETENTION_MET")),
            rectification_deadline: at(deadline),
            completed_at: at(now - 2 * HOUR),
            ..Default::default()
        })
        .await
        .expect("failed results");
    let sites = logistics_sites(&mut officer).await;
    let site = standing(&sites, "p-st-rongxiang-1");
    assert_eq!(
        site.last_result,
        pb::InspectionStatus::RectificationRequired as i32
    );
    assert_eq!(site.last_inspection_id, first.inspection_id);
    assert_eq!(
        site.next_due_reason,
        pb::InspectionDueReason::Reinspection as i32
    );
    assert_eq!(secs(site.next_due_at.as_ref()), deadline);
    assert!(!site.overdue);

    // 回头看: the re-inspection passes.
    let recheck = officer
        .start_inspection(pb::StartInspectionRequest {
            request_id: "read-insp-2".into(),
            premises_id: "p-st-rongxiang-1".into(),
            template_id: "LOGISTICS_SAFETY".into(),
            reinspection_of: first.inspection_id.clone(),
            started_at: at(now - HOUR),
            ..Default::default()
        })
        .await
        .expect("re-inspection")
        .into_inner()
        .inspection
        .expect("inspection");
    let completed = now - HOUR / 2;
    officer
        .record_inspection_result(pb::RecordInspectionResultRequest {
            inspection_id: recheck.inspection_id.clone(),
            results: results(&recheck, None),
            completed_at: at(completed),
            ..Default::default()
        })
        .await
        .expect("passed");

    // Read back: the first inspection in its final state, with the failure it recorded.
    let read = officer
        .get_inspection(pb::GetInspectionRequest {
            inspection_id: first.inspection_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .inspection
        .expect("inspection");
    assert_eq!(read.status, pb::InspectionStatus::Rectified as i32);
    assert_eq!(read.reinspection_id, recheck.inspection_id);
    let failed_item = read
        .items
        .iter()
        .find(|i| i.item_code == "VIDEO_RETENTION_MET")
        .expect("item");
    assert_eq!(failed_item.result, pb::ItemResult::Fail as i32);
    assert_eq!(failed_item.note, "录像仅保存15天");
    let read_recheck = officer
        .get_inspection(pb::GetInspectionRequest {
            inspection_id: recheck.inspection_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .inspection
        .expect("inspection");
    assert_eq!(read_recheck.status, pb::InspectionStatus::Passed as i32);
    assert_eq!(read_recheck.reinspection_of, first.inspection_id);

    // Listed newest first, each in its final state; filters by status, premises and period.
    let list = |request: pb::ListInspectionsRequest| {
        let mut officer = officer.clone();
        async move {
            officer
                .list_inspections(request)
                .await
                .expect("list inspections")
                .into_inner()
                .inspections
                .into_iter()
                .map(|i| (i.inspection_id, i.status))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(pb::ListInspectionsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await,
        [
            (
                recheck.inspection_id.clone(),
                pb::InspectionStatus::Passed as i32
            ),
            (
                first.inspection_id.clone(),
                pb::InspectionStatus::Rectified as i32
            ),
        ]
    );
    assert_eq!(
        list(pb::ListInspectionsRequest {
            status: pb::InspectionStatus::Rectified as i32,
            ..Default::default()
        })
        .await,
        [(
            first.inspection_id.clone(),
            pb::InspectionStatus::Rectified as i32
        )]
    );
    assert!(
        list(pb::ListInspectionsRequest {
            premises_id: "p-st-rongxiang-2".into(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let in_period = list(pb::ListInspectionsRequest {
        period: period(now - 2 * HOUR, now),
        premises_kind: pb::PremisesKind::LogisticsSite as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(
        in_period,
        [(
            recheck.inspection_id.clone(),
            pb::InspectionStatus::Passed as i32
        )]
    );

    // The site is now routine: next due one template interval (90 days) after the pass.
    let sites = logistics_sites(&mut officer).await;
    let site = standing(&sites, "p-st-rongxiang-1");
    assert_eq!(site.last_result, pb::InspectionStatus::Passed as i32);
    assert_eq!(site.last_inspection_id, recheck.inspection_id);
    assert_eq!(secs(site.last_inspected_at.as_ref()), completed);
    assert_eq!(
        site.next_due_reason,
        pb::InspectionDueReason::Routine as i32
    );
    assert_eq!(secs(site.next_due_at.as_ref()), completed + 90 * DAY);
    assert!(!site.overdue);
    let other_site = standing(&sites, "p-st-rongxiang-2");
    assert_eq!(
        other_site.next_due_reason,
        pb::InspectionDueReason::NeverInspected as i32
    );

    // Jurisdiction: another station sees none of it; the bureau sees every station's sites.
    let mut caye = client(
        &cluster,
        "leader-caye",
        &[Role::StationOfficer],
        &["st-caye"],
    );
    let status = caye
        .get_inspection(pb::GetInspectionRequest {
            inspection_id: first.inspection_id.clone(),
        })
        .await
        .expect_err("outside the jurisdiction");
    assert_eq!(status.code(), Code::NotFound);
    let theirs = caye
        .list_inspections(pb::ListInspectionsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(theirs.inspections.is_empty());
    let status = caye
        .list_premises(pb::ListPremisesRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await
        .expect_err("another station");
    assert_eq!(status.code(), Code::PermissionDenied);
    let own = caye
        .list_premises(pb::ListPremisesRequest::default())
        .await
        .expect("own premises")
        .into_inner()
        .premises;
    assert_eq!(own.len(), 4);
    assert!(own.iter().all(|p| p.station_id == "st-caye"));
    let mut bureau = client(&cluster, "cc-1", &[Role::CommandCenter], &[]);
    let all_sites = bureau
        .list_premises(pb::ListPremisesRequest {
            kind: pb::PremisesKind::LogisticsSite as i32,
            ..Default::default()
        })
        .await
        .expect("bureau")
        .into_inner()
        .premises;
    assert_eq!(all_sites.len(), 6);

    // Paging through the station's four premises three at a time.
    let page = officer
        .list_premises(pb::ListPremisesRequest {
            station_id: RONGXIANG.into(),
            page_size: 3,
            ..Default::default()
        })
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(page.premises.len(), 3);
    assert!(!page.next_page_token.is_empty());
    let rest = officer
        .list_premises(pb::ListPremisesRequest {
            station_id: RONGXIANG.into(),
            page_size: 3,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.premises.len(), 1);
    assert!(rest.next_page_token.is_empty());

    // The checklists themselves.
    let templates = officer
        .list_inspection_templates(pb::ListInspectionTemplatesRequest::default())
        .await
        .expect("templates")
        .into_inner()
        .templates;
    let logistics = templates
        .iter()
        .find(|t| t.template_id == "LOGISTICS_SAFETY")
        .expect("logistics template");
    assert_eq!(logistics.items.len(), 6);
    assert_eq!(
        logistics.interval.as_ref().map(|d| d.seconds),
        Some(90 * DAY)
    );
    let for_shops = officer
        .list_inspection_templates(pb::ListInspectionTemplatesRequest {
            premises_kind: pb::PremisesKind::Shop as i32,
            ..Default::default()
        })
        .await
        .expect("templates")
        .into_inner()
        .templates;
    let ids: Vec<&str> = for_shops.iter().map(|t| t.template_id.as_str()).collect();
    assert_eq!(ids, ["SHOP_SAFETY"]);
    cluster.shutdown().await.expect("shutdown");
}

/// Story 9 read back: a settled need stays readable with its follow-up, and the station sees the
/// visits its village officer made in a period.
async fn story_9_needs_and_visits_read_back(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut officer = client(
        &cluster,
        "st-rongxiang-o3",
        &[Role::VillageOfficer],
        &[RONGXIANG],
    );
    let now = now_secs();
    let first_visit = officer
        .record_visit(pb::RecordVisitRequest {
            request_id: "read-visit-1".into(),
            resident_id: "r-101".into(),
            purpose: pb::VisitPurpose::WelfareCheck as i32,
            visited_at: at(now - 3 * HOUR),
            contacted: true,
            concern_raised: true,
            notes: "老人腿脚不便，药快吃完了".into(),
            ..Default::default()
        })
        .await
        .expect("visit")
        .into_inner()
        .visit
        .expect("visit");
    let need = officer
        .record_need(pb::RecordNeedRequest {
            request_id: "read-need-1".into(),
            resident_id: "r-101".into(),
            category: pb::NeedCategory::Medical as i32,
            description: "需要代购降压药".into(),
            urgent: true,
            visit_id: first_visit.visit_id.clone(),
            ..Default::default()
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    // A visit can only follow up a need of the same person.
    let status = officer
        .record_visit(pb::RecordVisitRequest {
            request_id: "read-visit-wrong".into(),
            resident_id: "r-104".into(),
            need_id: need.need_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("need of another resident");
    assert_eq!(fields(&status), ["need_id"]);
    let follow_up = officer
        .record_visit(pb::RecordVisitRequest {
            request_id: "read-visit-2".into(),
            resident_id: "r-101".into(),
            purpose: pb::VisitPurpose::NeedFollowUp as i32,
            contacted: true,
            notes: "已代购降压药送上门".into(),
            need_id: need.need_id.clone(),
            ..Default::default()
        })
        .await
        .expect("follow-up visit")
        .into_inner()
        .visit
        .expect("visit");
    assert_eq!(follow_up.need_id, need.need_id);
    officer
        .resolve_need(pb::ResolveNeedRequest {
            request_id: "read-resolve-1".into(),
            need_id: need.need_id.clone(),
            resolution: pb::NeedStatus::Resolved as i32,
            resolution_note: "已代购并送药上门".into(),
            referred_to: String::new(),
        })
        .await
        .expect("resolve");

    // The station reads the settled need back with its follow-up.
    let mut station = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG]);
    let read = station
        .get_need(pb::GetNeedRequest {
            need_id: need.need_id.clone(),
        })
        .await
        .expect("get need")
        .into_inner();
    let settled = read.need.expect("need");
    assert_eq!(settled.status, pb::NeedStatus::Resolved as i32);
    assert_eq!(settled.resolution_note, "已代购并送药上门");
    assert_eq!(
        settled.resolved_by.as_ref().map(|a| a.subject.as_str()),
        Some("st-rongxiang-o3")
    );
    assert!(settled.resolved_at.is_some());
    let visit_ids: Vec<&str> = read.visits.iter().map(|v| v.visit_id.as_str()).collect();
    assert_eq!(
        visit_ids,
        [first_visit.visit_id.as_str(), follow_up.visit_id.as_str()]
    );
    let kinds: Vec<i32> = read.history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::NeedEventKind::Visited as i32,
            pb::NeedEventKind::Recorded as i32,
            pb::NeedEventKind::Visited as i32,
            pb::NeedEventKind::Settled as i32,
        ]
    );
    let last = read.history.last().expect("settled");
    assert_eq!(last.status, pb::NeedStatus::Resolved as i32);
    assert_eq!(last.note, "已代购并送药上门");

    // Listed with a settled filter (and not among the open ones).
    let needs = |request: pb::ListNeedsRequest| {
        let mut station = station.clone();
        async move {
            station
                .list_needs(request)
                .await
                .expect("list needs")
                .into_inner()
                .needs
                .into_iter()
                .map(|n| n.need_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        needs(pb::ListNeedsRequest {
            station_id: RONGXIANG.into(),
            settlement: pb::NeedSettlement::Settled as i32,
            ..Default::default()
        })
        .await,
        [need.need_id.as_str()]
    );
    assert!(
        needs(pb::ListNeedsRequest {
            settlement: pb::NeedSettlement::Open as i32,
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        needs(pb::ListNeedsRequest {
            officer_id: "st-rongxiang-o3".into(),
            resident_id: "r-101".into(),
            categories: vec![pb::NeedCategory::Medical as i32],
            statuses: vec![pb::NeedStatus::Resolved as i32],
            period: period(now - HOUR, now + HOUR),
            ..Default::default()
        })
        .await,
        [need.need_id.as_str()]
    );
    assert!(
        needs(pb::ListNeedsRequest {
            period: period(now - 10 * DAY, now - 9 * DAY),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        needs(pb::ListNeedsRequest {
            statuses: vec![pb::NeedStatus::Open as i32],
            settlement: pb::NeedSettlement::Settled as i32,
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let open = station
        .list_open_needs(pb::ListOpenNeedsRequest::default())
        .await
        .expect("open")
        .into_inner();
    assert!(open.needs.is_empty());

    // The officer's visits in a period, newest first.
    let visits = |request: pb::ListVisitsRequest| {
        let mut station = station.clone();
        async move {
            station
                .list_visits(request)
                .await
                .expect("list visits")
                .into_inner()
                .visits
                .into_iter()
                .map(|v| v.visit_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        visits(pb::ListVisitsRequest {
            officer_id: "st-rongxiang-o3".into(),
            period: period(now - 4 * HOUR, now + HOUR),
            ..Default::default()
        })
        .await,
        [follow_up.visit_id.clone(), first_visit.visit_id.clone()]
    );
    assert_eq!(
        visits(pb::ListVisitsRequest {
            officer_id: "st-rongxiang-o3".into(),
            period: period(now - 4 * HOUR, now - 2 * HOUR),
            ..Default::default()
        })
        .await,
        [first_visit.visit_id.as_str()]
    );
    assert_eq!(
        visits(pb::ListVisitsRequest {
            need_id: need.need_id.clone(),
            purpose: pb::VisitPurpose::NeedFollowUp as i32,
            ..Default::default()
        })
        .await,
        [follow_up.visit_id.as_str()]
    );
    assert!(
        visits(pb::ListVisitsRequest {
            officer_id: "st-rongxiang-o1".into(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let page = station
        .list_visits(pb::ListVisitsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(page.visits.len(), 1);
    let rest = station
        .list_visits(pb::ListVisitsRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.visits.len(), 1);
    assert!(rest.next_page_token.is_empty());

    // Another station sees none of it.
    let mut caye = client(
        &cluster,
        "leader-caye",
        &[Role::StationOfficer],
        &["st-caye"],
    );
    let status = caye
        .get_need(pb::GetNeedRequest {
            need_id: need.need_id.clone(),
        })
        .await
        .expect_err("outside the jurisdiction");
    assert_eq!(status.code(), Code::NotFound);
    let theirs = caye
        .list_needs(pb::ListNeedsRequest::default())
        .await
        .expect("needs")
        .into_inner();
    assert!(theirs.needs.is_empty());
    let theirs = caye
        .list_visits(pb::ListVisitsRequest::default())
        .await
        .expect("visits")
        .into_inner();
    assert!(theirs.visits.is_empty());
    let status = caye
        .list_visits(pb::ListVisitsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await
        .expect_err("another station");
    assert_eq!(status.code(), Code::PermissionDenied);
    cluster.shutdown().await.expect("shutdown");
}

/// Bad filter values are INVALID_ARGUMENT naming the field.
async fn bad_filters_name_the_field(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut station = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG]);
    let now = now_secs();
    let refused = |status: tonic::Status| {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        fields(&status)
    };
    let status = station
        .list_needs(pb::ListNeedsRequest {
            categories: vec![pb::NeedCategory::Medical as i32, 99],
            statuses: vec![0],
            settlement: 7,
            ..Default::default()
        })
        .await
        .expect_err("unknown enums");
    assert_eq!(
        refused(status),
        ["categories[1]", "statuses[0]", "settlement"]
    );
    let status = station
        .list_inspections(pb::ListInspectionsRequest {
            period: period(now, now - DAY),
            status: 42,
            ..Default::default()
        })
        .await
        .expect_err("inverted period");
    assert_eq!(refused(status), ["status", "period"]);
    let status = station
        .list_visits(pb::ListVisitsRequest {
            period: period(now, now),
            purpose: 99,
            ..Default::default()
        })
        .await
        .expect_err("empty period");
    assert_eq!(refused(status), ["purpose", "period"]);
    let status = station
        .list_premises(pb::ListPremisesRequest {
            page_token: "not-a-token".into(),
            kind: 77,
            ..Default::default()
        })
        .await
        .expect_err("bad token");
    assert_eq!(refused(status), ["page_token", "kind"]);
    for page_size in [-1, 501] {
        let status = station
            .list_visits(pb::ListVisitsRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect_err("page size out of range");
        assert_eq!(refused(status), ["page_size"]);
    }
    let status = station
        .list_inspection_templates(pb::ListInspectionTemplatesRequest {
            page_token: "-3".into(),
            ..Default::default()
        })
        .await
        .expect_err("negative token");
    assert_eq!(refused(status), ["page_token"]);
    let status = station
        .get_need(pb::GetNeedRequest::default())
        .await
        .expect_err("no id");
    assert_eq!(refused(status), ["need_id"]);
    let status = station
        .get_inspection(pb::GetInspectionRequest::default())
        .await
        .expect_err("no id");
    assert_eq!(refused(status), ["inspection_id"]);
    let status = station
        .get_need(pb::GetNeedRequest {
            need_id: "no-such-need".into(),
        })
        .await
        .expect_err("unknown need");
    assert_eq!(status.code(), Code::NotFound);
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    story_8_inspections_read_back,
    story_9_needs_and_visits_read_back,
    bad_filters_name_the_field,
);
