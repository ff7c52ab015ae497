//! The audit log's producers that were missing: grid-registry (its writes, and every ID-number
//! lookup with its purpose and reference, never the number) and triage (diversions, received 12345 tickets,
//! outcomes, rule reloads) enqueue `pingan.audit.v1.AuditRecord` for complaints-audit in the
//! business transaction. Checked in each service's outbox, on both backends.

mod grid_common;

use std::time::Duration;

use grid_common::*;
use pingan_platform::auth::Role;
use pingan_platform::pii::contains_clear_pii;
use pingan_platform::with_db;
use pingan_proto::audit::v1::{AuditOutcome, AuditRecord};
use pingan_proto::common::v1::Channel;
use pingan_proto::grid::v1 as grid;
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests};
use pingan_triage::{HotlineSimulator, TriageConfig};
use prost::Message;

/// The AuditRecords in `service`'s outbox, with the destinations each is routed to.
async fn audit_records(cluster: &TestCluster, service: Service) -> Vec<(AuditRecord, String)> {
    const SQL: &str = "SELECT e.payload, d.destination FROM pingan_outbox_events e \
        JOIN pingan_outbox_deliveries d ON d.event_row_id = e.id \
        WHERE e.event_type = $1 ORDER BY e.id";
    let context = cluster.context(service).expect("context");
    let rows: Vec<(Vec<u8>, String)> = with_db!(&context.db, pool => sqlx::query_as(SQL)
        .bind("pingan.audit.v1.AuditRecord")
        .fetch_all(pool)
        .await)
    .expect("outbox");
    rows.into_iter()
        .map(|(payload, destination)| {
            (
                AuditRecord::decode(payload.as_slice()).expect("audit record"),
                destination,
            )
        })
        .collect()
}

/// No clear phone or ID number anywhere in the record, nor the given clear values.
fn assert_clean(record: &AuditRecord, clear: &[&str]) {
    let text = format!("{record:?}");
    assert!(!contains_clear_pii(&text), "{text}");
    for value in clear {
        assert!(!text.contains(value), "{value} in {text}");
    }
}

async fn id_number_lookups_are_audited_without_the_number(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let id_number = "540523194701041012";
    let mut officer = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG]);
    let lookup = |id: &str, reference: &str| grid::FindResidentByIdNumberRequest {
        id_number: id.into(),
        purpose: grid::LookupPurpose::LostAndFound as i32,
        reason: format!("拾获身份证 {id} 归还失主"),
        reference_id: reference.into(),
    };
    let found = officer
        .find_resident_by_id_number(lookup(id_number, "found-1"))
        .await
        .expect("found")
        .into_inner();
    // A number nobody has is looked up (and audited) too.
    let unknown = "11010519491231002X";
    officer
        .find_resident_by_id_number(lookup(unknown, "found-2"))
        .await
        .expect_err("nobody has it");

    let records = audit_records(&cluster, Service::GridRegistry).await;
    let lookups: Vec<&(AuditRecord, String)> = records
        .iter()
        .filter(|(r, _)| r.action == "grid.FindResidentByIdNumber")
        .collect();
    assert_eq!(lookups.len(), 2, "{records:?}");
    for (record, destination) in &lookups {
        assert_eq!(destination, "complaints-audit");
        assert_eq!(record.source_service, "grid-registry");
        assert_eq!(record.actor.as_ref().expect("actor").subject, "leader");
        assert!(record.detail.contains("LOOKUP_PURPOSE_LOST_AND_FOUND"));
        assert!(record.occurred_at.is_some());
        assert_clean(record, &[id_number, unknown]);
    }
    let (hit, _) = lookups[0];
    assert_eq!(hit.resource_id, "r-101");
    assert_eq!(hit.station_id, RONGXIANG);
    assert_eq!(hit.outcome(), AuditOutcome::Success);
    assert!(hit.detail.contains("found-1") && hit.detail.contains(&found.lookup_id));
    let (miss, _) = lookups[1];
    assert_eq!(miss.outcome(), AuditOutcome::Failed);
    assert!(miss.detail.contains("found-2"));

    // The import's writes were audited too, one record per change, none with personal data.
    let count = |action: &str| records.iter().filter(|(r, _)| r.action == action).count();
    assert_eq!(count("grid.UpsertStation"), 3);
    assert_eq!(count("grid.UpsertGrid"), 18);
    assert_eq!(count("grid.UpsertResident"), 30);
    assert_eq!(count("grid.UpsertPremises"), 12);
    assert!(count("grid.AssignOfficer") > 0);
    let residents = jurisdiction();
    let clear: Vec<&str> = residents["residents"]
        .as_array()
        .expect("residents")
        .iter()
        .flat_map(|r| [r["id_number"].as_str(), r["phone"].as_str()])
        .flatten()
        .filter(|v| !v.is_empty())
        .collect();
    for (record, destination) in &records {
        assert_eq!(destination, "complaints-audit");
        assert_clean(record, &clear);
    }
    cluster.shutdown().await.expect("shutdown");
}

type TriageClient = TriageServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        pingan_tests::Bearer,
    >,
>;

fn triage_client(cluster: &TestCluster, subject: &str, roles: &[Role]) -> TriageClient {
    let token = cluster.token(subject, roles, &[]).expect("token");
    TriageServiceClient::new(
        cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    )
}

async fn triage_diversions_tickets_outcomes_and_reloads_are_audited(backend: TestBackend) {
    let simulator = HotlineSimulator::new(pingan_platform::clock::system());
    let cluster = TestCluster::start_with_options(
        backend,
        &[Service::Triage],
        Topology::PortPerService,
        pingan_platform::clock::system(),
        ClusterOptions {
            triage: Some(TriageConfig {
                delivery_poll: Duration::from_millis(50),
                simulator: Some(simulator.clone()),
                ..TriageConfig::default()
            }),
            ..ClusterOptions::default()
        },
    )
    .await
    .expect("cluster");
    let mut dispatcher = triage_client(&cluster, "dispatcher-1", &[Role::Dispatcher]);
    let classification = dispatcher
        .classify(pb::ClassifyRequest {
            text: "我们小区从昨天开始停水，到现在还没来水".into(),
            channel: Channel::Channel110 as i32,
            ..Default::default()
        })
        .await
        .expect("classify")
        .into_inner()
        .classification;
    let caller_phone = "13812345678";
    let transfer = dispatcher
        .divert_to12345(pb::DivertTo12345Request {
            request_id: "divert-inc-1".into(),
            incident_id: "inc-1".into(),
            classification,
            description: "小区停水，询问来水时间".into(),
            caller_phone: caller_phone.into(),
            caller_name: "王女士".into(),
            ..Default::default()
        })
        .await
        .expect("divert")
        .into_inner()
        .transfer
        .expect("transfer");
    let mut hotline = triage_client(&cluster, "hotline-12345", &[Role::HotlineIntegrator]);
    hotline
        .record_transfer_outcome(pb::RecordTransferOutcomeRequest {
            request_id: "outcome-1".into(),
            transfer_id: transfer.transfer_id.clone(),
            status: pb::TransferStatus::Handled as i32,
            note: "已安排维修，恢复供水".into(),
            ..Default::default()
        })
        .await
        .expect("outcome");
    let ticket_phone = "13700002222";
    let received = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            request_id: "ticket-1".into(),
            hotline_ticket_id: "12345-T-1".into(),
            description: "我家的下水道堵了，物业不管".into(),
            caller_phone: ticket_phone.into(),
            caller_name: "李先生".into(),
            ..Default::default()
        })
        .await
        .expect("receive")
        .into_inner();
    let inbound = received.transfer.expect("transfer").transfer_id;
    let mut admin = triage_client(&cluster, "admin-1", &[Role::Admin]);
    // Reloading (the shipped rules, or failing to) is audited either way.
    let _ = admin.reload_rules(pb::ReloadRulesRequest::default()).await;

    let records = audit_records(&cluster, Service::Triage).await;
    let of = |action: &str| -> Vec<&AuditRecord> {
        records
            .iter()
            .filter(|(r, _)| r.action == action)
            .map(|(r, _)| r)
            .collect()
    };
    let divert = of("triage.DivertTo12345");
    assert_eq!(divert.len(), 1, "{records:?}");
    assert_eq!(divert[0].resource_id, transfer.transfer_id);
    assert_eq!(
        divert[0].actor.as_ref().expect("actor").subject,
        "dispatcher-1"
    );
    assert!(divert[0].detail.contains("inc-1"));
    let outcome = of("triage.RecordTransferOutcome");
    assert_eq!(outcome.len(), 1, "{records:?}");
    assert_eq!(outcome[0].resource_id, transfer.transfer_id);
    assert!(
        outcome[0].detail.contains("HANDLED"),
        "{}",
        outcome[0].detail
    );
    let ticket = of("triage.ReceiveHotlineTicket");
    assert_eq!(ticket.len(), 1, "{records:?}");
    assert_eq!(ticket[0].resource_id, inbound);
    assert!(ticket[0].detail.contains("12345-T-1"));
    let reload = of("triage.ReloadRules");
    assert_eq!(reload.len(), 1, "{records:?}");
    assert_eq!(reload[0].actor.as_ref().expect("actor").subject, "admin-1");
    for (record, destination) in &records {
        assert_eq!(destination, "complaints-audit");
        assert_eq!(record.source_service, "triage");
        assert_clean(record, &[caller_phone, ticket_phone]);
    }
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(id_number_lookups_are_audited_without_the_number);
backend_tests!(triage_diversions_tickets_outcomes_and_reloads_are_audited);
