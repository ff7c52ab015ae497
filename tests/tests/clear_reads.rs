//! Sensitive reads of intake, grid-registry and case-followup, through gRPC on both backends: a
//! read that shows phone or ID numbers in clear writes an audit record for complaints-audit with
//! who (subject, role, stations), what (the RPC, the ids shown in clear, never the numbers) and
//! why (the reason, or "not given"); masked-only readers and the services' own reads write none;
//! under `--clear-read-reason required` a clear reader without a reason is INVALID_ARGUMENT
//! naming `reason`, and with one is served and audited.

mod clear_reads_support;
mod grid_common;
mod intake_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use clear_reads_support::*;
use pingan_platform::auth::Role;
use pingan_platform::clock::ManualClock;
use pingan_platform::config::ClearReadReason;
use pingan_proto::followup::v1 as fu;
use pingan_proto::grid::v1 as pb;
use pingan_proto::intake::v1::incident_exchange_service_client::IncidentExchangeServiceClient;
use pingan_proto::intake::v1::{ExportIncidentRequest, GetIncidentRequest};
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

const NOT_GIVEN: &str = "not given";

// ------------------------------------------------------------------------------------------
// grid-registry
// ------------------------------------------------------------------------------------------

/// grid-registry under `policy` with the shared jurisdiction (the import names its reason).
async fn registry(backend: TestBackend, policy: ClearReadReason) -> TestCluster {
    let cluster = cluster(
        backend,
        &[Service::GridRegistry],
        pingan_platform::clock::system(),
        BTreeMap::new(),
        policy,
    )
    .await;
    let admin = cluster
        .token("admin-1", &[Role::Admin], &[])
        .expect("token");
    pingan::registry_import::import(
        cluster.channel(Service::GridRegistry).expect("channel"),
        None,
        Some(&admin),
        grid_common::JURISDICTION,
    )
    .await
    .expect("import");
    cluster
}

fn due(officer_id: &str, reason: &str) -> pb::ListWelfareVisitsDueRequest {
    pb::ListWelfareVisitsDueRequest {
        officer_id: officer_id.into(),
        reason: reason.into(),
        ..Default::default()
    }
}

const OFFICER: &str = "st-rongxiang-o3";
/// r-101's numbers, due a welfare visit by OFFICER.
const R101_PHONE: &str = "18247856977";
const R101_ID: &str = "540523194701041012";

async fn grid_clear_reads_are_audited(backend: TestBackend) {
    let cluster = registry(backend, ClearReadReason::Optional).await;
    let rongxiang = grid_common::RONGXIANG;
    let action = "grid.ReadInClear";

    // A village officer sees phones in clear: served without a reason, audited as not given.
    let mut village = grid_common::client(&cluster, OFFICER, &[Role::VillageOfficer], &[rongxiang]);
    let entries = village
        .list_welfare_visits_due(due(OFFICER, ""))
        .await
        .expect("due")
        .into_inner()
        .entries;
    let r101 = entries
        .iter()
        .filter_map(|e| e.resident.as_ref())
        .find(|r| r.resident_id == "r-101")
        .expect("r-101 due");
    assert_eq!(r101.phone, R101_PHONE);
    assert!(r101.id_number.is_empty());
    let records = audit_records(&cluster, Service::GridRegistry, action).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_clear_read(
        &records[0],
        OFFICER,
        Role::VillageOfficer,
        rongxiang,
        &["ListWelfareVisitsDue: ", "r-101", "phone"],
        NOT_GIVEN,
        &[R101_PHONE, R101_ID],
    );

    // The station leader reads ID numbers too, with a reason.
    let mut leader =
        grid_common::client(&cluster, "leader-1", &[Role::StationOfficer], &[rongxiang]);
    let entries = leader
        .list_welfare_visits_due(due(OFFICER, "回访独居老人"))
        .await
        .expect("due")
        .into_inner()
        .entries;
    assert!(
        entries
            .iter()
            .any(|e| e.resident.as_ref().is_some_and(|r| r.id_number == R101_ID))
    );
    let records = audit_records(&cluster, Service::GridRegistry, action).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_clear_read(
        &records[1],
        "leader-1",
        Role::StationOfficer,
        rongxiang,
        &["r-101", "id_number"],
        "回访独居老人",
        &[R101_PHONE, R101_ID],
    );

    // A grid worker sees masked numbers only, and a service's read is its own flow: no record.
    let mut worker = grid_common::client(&cluster, "worker-1", &[Role::GridWorker], &[rongxiang]);
    let masked = worker
        .list_welfare_visits_due(due(OFFICER, ""))
        .await
        .expect("masked")
        .into_inner()
        .entries;
    assert!(
        masked
            .iter()
            .all(|e| e.resident.as_ref().is_some_and(|r| r.phone.is_empty()))
    );
    // (intake locating a call's grid, with the grid officers' phones).
    let (_, lat0, lon0, lat1, lon1) = grid_common::rectangles()[0].clone();
    let mut service = grid_common::client(&cluster, "intake", &[Role::Service], &[]);
    service
        .locate_grid(pb::LocateGridRequest {
            location: grid_common::point((lat0 + lat1) / 2.0, (lon0 + lon1) / 2.0),
            ..Default::default()
        })
        .await
        .expect("service");
    assert_eq!(
        audit_records(&cluster, Service::GridRegistry, action)
            .await
            .len(),
        2
    );

    // Officers' work phones: the assignment's answer and ListGrids name the officer shown.
    let mut admin = grid_common::admin(&cluster);
    let officer_phone = "13912345678";
    admin
        .assign_officer(pb::AssignOfficerRequest {
            request_id: "assign-phone".into(),
            grid_id: "st-rongxiang-g1".into(),
            officer_id: "st-rongxiang-o9".into(),
            role: pb::OfficerRole::VillageOfficer as i32,
            name: "次仁".into(),
            station_id: rongxiang.into(),
            phone: officer_phone.into(),
            reason: "登记网格民警".into(),
            ..Default::default()
        })
        .await
        .expect("assign");
    let records = audit_records(&cluster, Service::GridRegistry, action).await;
    assert_eq!(records.len(), 3, "{records:#?}");
    let read = &records[2];
    assert!(
        read.detail.starts_with("AssignOfficer: phone in clear"),
        "{read:?}"
    );
    assert_clear_read(
        read,
        "admin-1",
        Role::Admin,
        rongxiang,
        &["st-rongxiang-o9"],
        "登记网格民警",
        &[officer_phone],
    );
    let grids = village
        .list_grids(pb::ListGridsRequest {
            station_id: rongxiang.into(),
            reason: "联系网格民警".into(),
            ..Default::default()
        })
        .await
        .expect("grids")
        .into_inner()
        .grids;
    assert!(
        grids
            .iter()
            .flat_map(|g| &g.officers)
            .any(|o| o.phone == officer_phone)
    );
    let records = audit_records(&cluster, Service::GridRegistry, action).await;
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(records[3].resource_id, "st-rongxiang-o9");
    assert_clear_read(
        &records[3],
        OFFICER,
        Role::VillageOfficer,
        rongxiang,
        &["st-rongxiang-o9", "phone"],
        "联系网格民警",
        &[officer_phone],
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn grid_required_reason(backend: TestBackend) {
    // The import itself names its reason, so it works under `required`.
    let cluster = registry(backend, ClearReadReason::Required).await;
    let rongxiang = grid_common::RONGXIANG;
    let action = "grid.ReadInClear";
    let mut village = grid_common::client(&cluster, OFFICER, &[Role::VillageOfficer], &[rongxiang]);
    let refused = village
        .list_welfare_visits_due(due(OFFICER, "  "))
        .await
        .expect_err("no reason");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(grid_common::fields(&refused), ["reason"]);
    let refused = village
        .list_premises(pb::ListPremisesRequest::default())
        .await
        .expect_err("no reason");
    assert_eq!(grid_common::fields(&refused), ["reason"]);
    assert!(
        audit_records(&cluster, Service::GridRegistry, action)
            .await
            .is_empty()
    );

    // Masked readers and services need none.
    grid_common::client(&cluster, "worker-1", &[Role::GridWorker], &[rongxiang])
        .list_welfare_visits_due(due(OFFICER, ""))
        .await
        .expect("masked reader");
    grid_common::client(&cluster, "intake", &[Role::Service], &[])
        .locate_grid(pb::LocateGridRequest {
            location: grid_common::point(29.23, 92.03),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .or_else(|status| match status.code() {
            Code::NotFound => Ok(()),
            _ => Err(status),
        })
        .expect("service locate");

    // With a reason: served in clear and audited.
    let entries = village
        .list_welfare_visits_due(due(OFFICER, "入户走访"))
        .await
        .expect("with a reason")
        .into_inner()
        .entries;
    assert!(
        entries
            .iter()
            .any(|e| e.resident.as_ref().is_some_and(|r| r.phone == R101_PHONE))
    );
    let records = audit_records(&cluster, Service::GridRegistry, action).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_clear_read(
        &records[0],
        OFFICER,
        Role::VillageOfficer,
        rongxiang,
        &["r-101"],
        "入户走访",
        &[R101_PHONE, R101_ID],
    );
    cluster.shutdown().await.expect("shutdown");
}

// ------------------------------------------------------------------------------------------
// intake
// ------------------------------------------------------------------------------------------

use intake_support::harness::{Harness, PHONE, call, client, start_time};
use intake_support::{BASE_LAT, BASE_LON, FakePeers, REFUSED_BY_DISPATCH, STATION};

/// A call the fake dispatch refuses: the incident is held, with no dispatch to export.
fn held() -> String {
    format!("邻居家传来争吵声 {REFUSED_BY_DISPATCH}")
}

/// Intake over the fake peers under `policy`, with a dispatcher (a call taker) client.
async fn intake(backend: TestBackend, policy: ClearReadReason) -> Harness {
    let fakes = FakePeers::start().await.expect("fakes");
    let clock = ManualClock::new(start_time());
    let cluster = cluster(
        backend,
        &[Service::Intake],
        Arc::new(clock.clone()),
        fakes.urls(),
        policy,
    )
    .await;
    let dispatcher = client(&cluster, "dispatcher-1", &[Role::Dispatcher], &[STATION]);
    Harness {
        cluster,
        fakes,
        clock,
        dispatcher,
    }
}

fn get(incident_id: &str, reason: &str) -> GetIncidentRequest {
    GetIncidentRequest {
        incident_id: incident_id.into(),
        reason: reason.into(),
    }
}

fn exchange(h: &Harness, subject: &str, roles: &[Role]) -> IncidentExchangeServiceClient<Authed> {
    let token = h.cluster.token(subject, roles, &[STATION]).expect("token");
    IncidentExchangeServiceClient::new(
        h.cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    )
}

async fn intake_clear_reads_are_audited(backend: TestBackend) {
    let mut h = intake(backend, ClearReadReason::Optional).await;
    let id = h
        .report(call("c-1", &held(), BASE_LAT, BASE_LON))
        .await
        .incident_id;
    let shown = h
        .dispatcher
        .get_incident(get(&id, ""))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        shown.incident.expect("incident").calls[0].caller_phone,
        PHONE
    );
    h.dispatcher
        .get_incident(get(&id, "回拨核实警情"))
        .await
        .expect("get with a reason");
    let records = audit_records(&h.cluster, Service::Intake, "intake.ReadInClear").await;
    assert_eq!(records.len(), 2, "{records:#?}");
    for (record, reason) in records.iter().zip([NOT_GIVEN, "回拨核实警情"]) {
        assert_eq!(record.resource_id, id);
        assert_clear_read(
            record,
            "dispatcher-1",
            Role::Dispatcher,
            STATION,
            &["calls.caller_phone"],
            reason,
            &[PHONE],
        );
    }

    // The command centre sees the number masked: no reason, no record.
    let mut centre = client(&h.cluster, "cc-1", &[Role::CommandCenter], &[STATION]);
    let masked = centre
        .get_incident(get(&id, ""))
        .await
        .expect("masked")
        .into_inner();
    assert!(
        masked.incident.expect("incident").calls[0]
            .caller_phone
            .is_empty()
    );
    assert_eq!(
        audit_records(&h.cluster, Service::Intake, "intake.ReadInClear")
            .await
            .len(),
        2
    );

    // An export in clear names its reason in its audit record.
    exchange(&h, "dispatcher-1", &[Role::Dispatcher])
        .export_incident(ExportIncidentRequest {
            incident_id: id.clone(),
            reason: "移交外局".into(),
        })
        .await
        .expect("export");
    let exports = audit_records(&h.cluster, Service::Intake, "intake.ExportIncident").await;
    assert_eq!(exports.len(), 1, "{exports:#?}");
    assert!(
        exports[0].detail.contains("in clear; reason: 移交外局"),
        "{exports:?}"
    );
    assert!(!format!("{exports:?}").contains(PHONE));
    h.shutdown().await;
}

async fn intake_required_reason(backend: TestBackend) {
    let mut h = intake(backend, ClearReadReason::Required).await;
    let id = h
        .report(call("c-1", &held(), BASE_LAT, BASE_LON))
        .await
        .incident_id;
    let refused = h
        .dispatcher
        .get_incident(get(&id, ""))
        .await
        .expect_err("no reason");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(grid_common::fields(&refused), ["reason"]);
    let refused = exchange(&h, "dispatcher-1", &[Role::Dispatcher])
        .export_incident(ExportIncidentRequest {
            incident_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("no reason");
    assert_eq!(grid_common::fields(&refused), ["reason"]);
    assert!(
        audit_records(&h.cluster, Service::Intake, "intake.ReadInClear")
            .await
            .is_empty()
    );

    // Masked readers are unaffected; with a reason the call taker is served and audited.
    client(&h.cluster, "cc-1", &[Role::CommandCenter], &[STATION])
        .get_incident(get(&id, ""))
        .await
        .expect("masked reader");
    let shown = h
        .dispatcher
        .get_incident(get(&id, "回拨核实警情"))
        .await
        .expect("served");
    assert_eq!(
        shown.into_inner().incident.expect("incident").calls[0].caller_phone,
        PHONE
    );
    let records = audit_records(&h.cluster, Service::Intake, "intake.ReadInClear").await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_clear_read(
        &records[0],
        "dispatcher-1",
        Role::Dispatcher,
        STATION,
        &[&id],
        "回拨核实警情",
        &[PHONE],
    );
    h.shutdown().await;
}

// ------------------------------------------------------------------------------------------
// case-followup
// ------------------------------------------------------------------------------------------

const FOLLOWUP_ACTION: &str = "followup.ReadInClear";

async fn followup_clear_reads_are_audited(backend: TestBackend) {
    let cluster = followup(backend, ClearReadReason::Optional).await;
    let mut officer = followup_client(&cluster, "officer-duty", &[Role::StationOfficer]);
    let item = officer
        .register_found_item(found_card("f-1", ""))
        .await
        .expect("registered")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(item.owner.as_ref().expect("owner").phone, OWNER_PHONE);
    officer
        .mark_owner_contacted(fu::MarkOwnerContactedRequest {
            request_id: "c-1".into(),
            found_item_id: item.found_item_id.clone(),
            method: fu::ContactMethod::Phone as i32,
            reason: "电话通知失主".into(),
            ..Default::default()
        })
        .await
        .expect("contacted");
    let records = audit_records(&cluster, Service::CaseFollowup, FOLLOWUP_ACTION).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    assert!(
        records[0]
            .detail
            .starts_with("RegisterFoundItem: owner.phone in clear")
    );
    assert_eq!(records[0].resource_id, item.found_item_id);
    assert_clear_read(
        &records[0],
        "officer-duty",
        Role::StationOfficer,
        DESK,
        &["owner.phone"],
        NOT_GIVEN,
        &[OWNER_PHONE, OWNER_ID],
    );
    assert!(records[1].detail.starts_with("MarkOwnerContacted: "));
    assert_clear_read(
        &records[1],
        "officer-duty",
        Role::StationOfficer,
        DESK,
        &[&item.found_item_id],
        "电话通知失主",
        &[OWNER_PHONE, OWNER_ID],
    );

    // An inspector reads revisits masked: no reason asked, no record.
    followup_client(&cluster, "insp-1", &[Role::Inspector])
        .list_due_revisits(fu::ListDueRevisitsRequest {
            station_id: DESK.into(),
            ..Default::default()
        })
        .await
        .expect("masked reader");
    assert_eq!(
        audit_records(&cluster, Service::CaseFollowup, FOLLOWUP_ACTION)
            .await
            .len(),
        2
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn followup_required_reason(backend: TestBackend) {
    let cluster = followup(backend, ClearReadReason::Required).await;
    let mut officer = followup_client(&cluster, "officer-duty", &[Role::StationOfficer]);
    let refused = officer
        .register_found_item(found_card("f-1", ""))
        .await
        .expect_err("no reason");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(grid_common::fields(&refused), ["reason"]);
    let refused = officer
        .list_due_revisits(fu::ListDueRevisitsRequest::default())
        .await
        .expect_err("no reason");
    assert_eq!(grid_common::fields(&refused), ["reason"]);
    followup_client(&cluster, "insp-1", &[Role::Inspector])
        .list_due_revisits(fu::ListDueRevisitsRequest::default())
        .await
        .expect("masked reader");

    let item = officer
        .register_found_item(found_card("f-1", "拾获身份证归还失主"))
        .await
        .expect("served")
        .into_inner()
        .found_item
        .expect("item");
    assert_eq!(item.owner.as_ref().expect("owner").phone, OWNER_PHONE);
    let records = audit_records(&cluster, Service::CaseFollowup, FOLLOWUP_ACTION).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_clear_read(
        &records[0],
        "officer-duty",
        Role::StationOfficer,
        DESK,
        &[&item.found_item_id],
        "拾获身份证归还失主",
        &[OWNER_PHONE, OWNER_ID],
    );
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    grid_clear_reads_are_audited,
    grid_required_reason,
    intake_clear_reads_are_audited,
    intake_required_reason,
    followup_clear_reads_are_audited,
    followup_required_reason,
);
