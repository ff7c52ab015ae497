//! Lost and found through the service, on both backends: a found ID card goes back to its
//! owner (looked up in the registry), and lost reports match found items.

mod support;

use std::sync::atomic::Ordering;

use pingan_case_followup::domain::ts;
use pingan_platform::storage::Backend;
use pingan_proto::common::v1::{GeoPoint, TimeRange};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;
use pingan_proto::followup::v1::*;
use support::{Harness, OWNER_ID, OWNER_PHONE, found_id_card, serve_registry};
use tonic::Request;

async fn found_id_card_goes_back_to_its_owner(backend: Backend) {
    let (addr, registry) = serve_registry("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("registry");
    let h = Harness::start(backend, Some(addr)).await.expect("harness");
    let item = h
        .api
        .register_found_item(Request::new(found_id_card("f-1", OWNER_ID)))
        .await
        .expect("registered")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(registry.calls.load(Ordering::SeqCst), 1);
    assert_eq!(item.registry_lookup, RegistryLookup::Found as i32);
    assert_eq!(item.status, FoundItemStatus::OwnerIdentified as i32);
    assert_eq!(item.id_number_masked, "110105********002X");
    let owner = item.owner.clone().expect("owner");
    assert_eq!(
        (owner.name.as_str(), owner.phone.as_str()),
        ("张三", OWNER_PHONE)
    );
    assert_eq!(owner.village_officer_id, "officer-village-1");
    let task = item.contact_task.clone().expect("task");
    assert_eq!(task.assigned_officer_id, "officer-duty");
    assert_eq!(task.status, ContactTaskStatus::Open as i32);

    h.advance_minutes(6);
    let contacted = h
        .api
        .mark_owner_contacted(Request::new(MarkOwnerContactedRequest {
            request_id: "c-1".into(),
            found_item_id: item.found_item_id.clone(),
            method: ContactMethod::Phone as i32,
            ..MarkOwnerContactedRequest::default()
        }))
        .await
        .expect("contacted")
        .into_inner()
        .found_item
        .expect("item");
    let task = contacted.contact_task.expect("task");
    assert_eq!(
        task.time_to_contact,
        Some(pingan_case_followup::domain::duration(
            chrono::Duration::minutes(6)
        ))
    );
    assert!(!task.overdue);

    h.advance_minutes(30);
    let returned = h
        .api
        .mark_returned(Request::new(MarkReturnedRequest {
            request_id: "r-1".into(),
            found_item_id: item.found_item_id.clone(),
            recipient_name: "张三".into(),
            recipient_is_owner: true,
            recipient_id_number: OWNER_ID.into(),
            identity_check: IdentityCheck::PhotoMatch as i32,
            ..MarkReturnedRequest::default()
        }))
        .await
        .expect("returned")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(returned.status, FoundItemStatus::Returned as i32);
    let record = returned.returned.expect("return record");
    assert_eq!(record.recipient_id_number_masked, "110105********002X");

    let stats = h
        .api
        .followup_stats(Request::new(FollowupStatsRequest {
            range: Some(TimeRange {
                start: Some(ts(support::start_time())),
                end: Some(ts(support::start_time() + chrono::Duration::days(1))),
            }),
            ..FollowupStatsRequest::default()
        }))
        .await
        .expect("stats")
        .into_inner();
    let lf = stats.totals.expect("totals").lost_and_found.expect("lf");
    assert_eq!(
        (
            lf.found_items,
            lf.id_cards,
            lf.owners_contacted,
            lf.contacted_within_target,
            lf.returned
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(lf.time_to_contact_median.map(|d| d.seconds), Some(360));

    let stored = h.stored_text().await.expect("stored");
    assert!(
        stored.contains("110105********002X"),
        "the columns are read"
    );
    assert!(!stored.contains(OWNER_ID), "clear ID number stored");
    assert!(!stored.contains(OWNER_PHONE), "clear phone stored");
    h.cleanup().await;
}

async fn lost_reports_match_found_items(backend: Backend) {
    let (addr, _) = serve_registry("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("registry");
    let h = Harness::start(backend, Some(addr)).await.expect("harness");
    let start = support::start_time();
    let report = h
        .api
        .register_lost_report(Request::new(RegisterLostReportRequest {
            request_id: "l-1".into(),
            kind: ItemKind::Phone as i32,
            description: "黑色华为手机 Mate60 蓝色保护壳".into(),
            lost_during: Some(TimeRange {
                start: Some(ts(start - chrono::Duration::hours(2))),
                end: Some(ts(start - chrono::Duration::hours(1))),
            }),
            lost_location: Some(GeoPoint {
                lat: 29.66,
                lon: 91.145,
            }),
            lost_radius_m: 500.0,
            owner_name: "赵六".into(),
            owner_phone: "13700002222".into(),
            station_id: "st-chengnan".into(),
            ..RegisterLostReportRequest::default()
        }))
        .await
        .expect("lost report")
        .into_inner();
    assert!(report.matches.is_empty());
    let found = h
        .api
        .register_found_item(Request::new(RegisterFoundItemRequest {
            request_id: "f-1".into(),
            kind: ItemKind::Phone as i32,
            description: "华为 mate60 手机，黑色".into(),
            found_location: Some(GeoPoint {
                lat: 29.655,
                lon: 91.14,
            }),
            custody: Some(Custody {
                station_id: "st-chengnan".into(),
                ..Custody::default()
            }),
            ..RegisterFoundItemRequest::default()
        }))
        .await
        .expect("found")
        .into_inner();
    assert_eq!(found.matches.len(), 1);
    assert!(found.matches[0].score > 0.8, "{:?}", found.matches[0]);
    let listed = h
        .api
        .list_matches(Request::new(ListMatchesRequest {
            lost_report_id: report.lost_report.expect("report").lost_report_id,
            ..ListMatchesRequest::default()
        }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.matches.len(), 1);

    // A lost ID card reported first; the found card is matched by the number (certain).
    let lost_card = h
        .api
        .register_lost_report(Request::new(RegisterLostReportRequest {
            request_id: "l-2".into(),
            kind: ItemKind::IdCard as i32,
            description: "身份证".into(),
            lost_during: Some(TimeRange {
                start: Some(ts(start - chrono::Duration::hours(3))),
                end: None,
            }),
            owner_name: "孙七".into(),
            owner_phone: "13600003333".into(),
            owner_id_number: "11010519491231002X".into(),
            station_id: "st-chengnan".into(),
            ..RegisterLostReportRequest::default()
        }))
        .await
        .expect("lost card")
        .into_inner()
        .lost_report
        .expect("report");
    let card = h
        .api
        .register_found_item(Request::new(found_id_card("f-2", OWNER_ID)))
        .await
        .expect("card")
        .into_inner();
    let certain = card
        .matches
        .iter()
        .find(|m| m.lost_report_id == lost_card.lost_report_id)
        .expect("match");
    assert!(certain.id_number_match);
    assert_eq!(certain.score, 1.0);
    h.cleanup().await;
}

pingan_platform::backend_tests!(
    found_id_card_goes_back_to_its_owner,
    lost_reports_match_found_items,
);
