//! Seed story 6 and the 110 complaint call end to end through gRPC with the real services
//! together, on both backends: events flow between them through the outbox relays; effects are
//! awaited by polling the reading RPC (bounded).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dispatch_support;
mod followup_support;

use std::time::Duration;

use followup_support::{channel, eventually};
use pingan_platform::auth::Role;
use pingan_proto::audit::v1::ComplaintSource;
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use pingan_proto::audit::v1::{
    Accused, ActionKind, AddEvidenceRequest, AssignInvestigatorRequest, ChainStatus,
    ComplaintStatus, EvidenceKind, EvidenceStatus, Finding, FindingAction, FindingStep,
    GetComplaintRequest, HotlineReplyStatus, InvestigationStage, ListComplaintsRequest,
    QueryAuditRequest, RecordFindingRequest, VerifyAuditChainRequest,
};
use pingan_proto::common::v1::{Channel as CallChannel, Priority};
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, IncidentStatus, PoliceComplaintCallReceived, ReportCallRequest,
};
use pingan_proto::triage::v1 as triage;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests};
use pingan_triage::{HotlineSimulator, TriageConfig};
use prost::{Message, Name};

/// Story 6: a false complaint against an officer arrives from 12345, is investigated with
/// evidence (the real dispatch timeline among it), found a malicious false report by two
/// people, and the finding goes back to the 12345 ticket; the audit log is intact and holds
/// entries from several services.
async fn story6_false_complaint_from_12345_is_answered_with_the_finding(backend: TestBackend) {
    let clock = pingan_platform::clock::system();
    let simulator = HotlineSimulator::new(clock.clone());
    let cluster = TestCluster::start_with_options(
        backend,
        &[Service::Triage, Service::ComplaintsAudit, Service::Dispatch],
        Topology::PortPerService,
        clock,
        ClusterOptions {
            triage: Some(TriageConfig {
                delivery_poll: Duration::from_millis(50),
                retry_initial: Duration::from_millis(200),
                retry_max: Duration::from_secs(2),
                call_timeout: Duration::from_secs(2),
                simulator: Some(simulator.clone()),
                ..TriageConfig::default()
            }),
            ..ClusterOptions::default()
        },
    )
    .await
    .expect("cluster");

    // The incident the complaint is about: a real dispatch (its timeline becomes evidence).
    let mut dispatcher = dispatch_support::command_center(&cluster).await;
    dispatch_support::import_units(&mut dispatcher).await;
    let origin = dispatch_support::origin("st-chengnan");
    dispatcher
        .open_dispatch(dispatch_support::open_request(
            "INC-S6-1",
            Priority::P2,
            dispatch_support::offset(origin, 200.0, 100.0),
            "st-chengnan",
        ))
        .await
        .expect("open dispatch");

    // 12345 hands triage a complaint about police.
    let mut hotline = TriageServiceClient::new(channel(
        &cluster,
        Service::Triage,
        "hotline-gw",
        &[Role::HotlineIntegrator],
        &[],
    ));
    let received = hotline
        .receive_hotline_ticket(triage::ReceiveHotlineTicketRequest {
            request_id: "rx-s6".into(),
            hotline_ticket_id: "HL-S6-0042".into(),
            description: "我要投诉城南派出所的民警，喝多了被民警带走，民警打人".into(),
            caller_phone: "13700002222".into(),
            caller_name: "钱七".into(),
            department: "12345 热线".into(),
            ..Default::default()
        })
        .await
        .expect("receive ticket")
        .into_inner();
    assert_eq!(
        received.disposition,
        triage::InboundDisposition::ComplaintFiled as i32
    );
    let transfer_id = received.transfer.expect("transfer").transfer_id;

    // HotlineComplaintReceived reaches complaints-audit: the complaint exists.
    let audit_as = |subject: &str, roles: &[Role]| {
        ComplaintsAuditServiceClient::new(channel(
            &cluster,
            Service::ComplaintsAudit,
            subject,
            roles,
            &[],
        ))
    };
    let mut inspector = audit_as("insp-7", &[Role::Inspector]);
    let mut legal = audit_as("legal-3", &[Role::LegalUnit]);
    let complaint = eventually("the 12345 complaint filed in complaints-audit", || {
        let mut client = inspector.clone();
        async move {
            client
                .list_complaints(ListComplaintsRequest {
                    reason: "case file review".into(),
                    hotline_ticket_id: "HL-S6-0042".into(),
                    ..Default::default()
                })
                .await
                .expect("list complaints")
                .into_inner()
                .complaints
                .pop()
        }
    })
    .await;
    assert_eq!(complaint.transfer_id, transfer_id);
    let id = complaint.complaint_id.clone();

    // ComplaintFiled reaches triage: the transfer is accepted with the complaint id.
    let mut reader = TriageServiceClient::new(channel(
        &cluster,
        Service::Triage,
        "dispatcher-1",
        &[Role::Dispatcher],
        &[],
    ));
    let get_transfer = |reader: &mut TriageServiceClient<_>| {
        let mut reader = reader.clone();
        let transfer_id = transfer_id.clone();
        async move {
            reader
                .get_transfer(triage::GetTransferRequest {
                    transfer_id,
                    ..Default::default()
                })
                .await
                .expect("get transfer")
                .into_inner()
                .transfer
                .expect("transfer")
        }
    };
    let accepted = eventually("triage hears the complaint was filed", || {
        let fut = get_transfer(&mut reader);
        async move {
            let t = fut.await;
            (t.status == triage::TransferStatus::Accepted as i32).then_some(t)
        }
    })
    .await;
    assert_eq!(accepted.complaint_id, id);

    // Investigation: the officer and the incident; dispatch's real timeline is attached.
    let assigned = inspector
        .assign_investigator(AssignInvestigatorRequest {
            request_id: "s6-assign".into(),
            complaint_id: id.clone(),
            investigator_id: "insp-7".into(),
            legal_reviewer_id: "legal-3".into(),
            stage: InvestigationStage::FullInvestigation as i32,
            accused: vec![Accused {
                officer_id: "off-cn-2".into(),
                station_id: "st-chengnan".into(),
                ..Default::default()
            }],
            incident_id: "INC-S6-1".into(),
            ..Default::default()
        })
        .await
        .expect("assign")
        .into_inner()
        .complaint
        .expect("complaint");
    assert_eq!(assigned.status, ComplaintStatus::UnderInvestigation as i32);
    let timeline = assigned
        .evidence
        .iter()
        .find(|e| e.kind == EvidenceKind::DispatchTimeline as i32)
        .expect("timeline evidence");
    assert_eq!(
        timeline.status,
        EvidenceStatus::Attached as i32,
        "{}",
        timeline.pending_reason
    );
    let statement = inspector
        .add_evidence(AddEvidenceRequest {
            request_id: "s6-ev-1".into(),
            complaint_id: id.clone(),
            kind: EvidenceKind::Statement as i32,
            content: "投诉人酒醒后承认民警未动手".as_bytes().to_vec(),
            content_type: "text/plain; charset=utf-8".into(),
            statement_by: "钱七".into(),
            ..Default::default()
        })
        .await
        .expect("evidence")
        .into_inner()
        .evidence
        .expect("evidence");

    // Proposed by the investigator, approved by the legal unit (two people).
    inspector
        .record_finding(RecordFindingRequest {
            request_id: "s6-f-1".into(),
            complaint_id: id.clone(),
            step: FindingStep::Propose as i32,
            finding: Finding::MaliciousFalseReport as i32,
            reasoning: "执法记录与当事人陈述证明民警依法处置".into(),
            actions: vec![FindingAction {
                kind: ActionKind::OfficerCleared as i32,
                officer_id: "off-cn-2".into(),
                ..Default::default()
            }],
            evidence_ids: vec![timeline.evidence_id.clone(), statement.evidence_id],
            legal_opinion: "属诬告，依法处理".into(),
            reply_text: "经调查，投诉不实，民警依法履职。".into(),
            ..Default::default()
        })
        .await
        .expect("propose");
    let closed = legal
        .record_finding(RecordFindingRequest {
            request_id: "s6-f-2".into(),
            complaint_id: id.clone(),
            step: FindingStep::Approve as i32,
            ..Default::default()
        })
        .await
        .expect("approve")
        .into_inner()
        .complaint
        .expect("complaint");
    assert_eq!(closed.status, ComplaintStatus::Closed as i32);

    // ComplaintAnswered reaches triage, which replies to the 12345 ticket with the finding.
    let reply = eventually("12345 receives the finding", || {
        let replies = simulator.replies();
        async move {
            replies
                .into_iter()
                .find(|r| r.kind == ReplyKind::Finding as i32 && r.ticket_id == "HL-S6-0042")
        }
    })
    .await;
    assert_eq!(reply.finding, "MALICIOUS_FALSE_REPORT");
    assert_eq!(reply.complaint_id, id);
    assert_eq!(reply.transfer_id, transfer_id);
    // Triage's HANDLED reaches complaints-audit: the reply is SENT.
    eventually("complaints-audit marks the reply sent", || {
        let mut client = legal.clone();
        let id = id.clone();
        async move {
            let c = client
                .get_complaint(GetComplaintRequest {
                    reason: "case file review".into(),
                    complaint_id: id,
                    ..Default::default()
                })
                .await
                .expect("get complaint")
                .into_inner()
                .complaint
                .expect("complaint");
            (c.hotline_reply_status == HotlineReplyStatus::Sent as i32).then_some(())
        }
    })
    .await;
    assert_eq!(
        simulator
            .replies()
            .iter()
            .filter(|r| r.kind == ReplyKind::Finding as i32)
            .count(),
        1,
        "answered once"
    );

    // The audit log: intact, with entries from complaints-audit and dispatch.
    let sources = eventually("audit entries from several services", || {
        let mut client = inspector.clone();
        async move {
            let entries = client
                .query_audit(QueryAuditRequest {
                    page_size: 500,
                    ..Default::default()
                })
                .await
                .expect("query audit")
                .into_inner()
                .entries;
            let sources: std::collections::BTreeSet<String> = entries
                .into_iter()
                .filter_map(|e| e.record.map(|r| r.source_service))
                .collect();
            (sources.contains("dispatch") && sources.contains("complaints-audit"))
                .then_some(sources)
        }
    })
    .await;
    assert!(sources.len() >= 2, "{sources:?}");
    let verified = inspector
        .verify_audit_chain(VerifyAuditChainRequest::default())
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(verified.status, ChainStatus::Ok as i32, "{verified:?}");
    cluster.shutdown().await.expect("shutdown");
}

/// A 110 call complaining about police: intake closes it and hands it to complaints-audit
/// (PoliceComplaintCallReceived), which files one CALL_110 complaint linked to the incident;
/// the same call delivered again under another event id files nothing more.
async fn police_complaint_call_from_110_is_filed_once(backend: TestBackend) {
    let cluster = TestCluster::start(
        backend,
        &[
            Service::Intake,
            Service::GridRegistry,
            Service::Triage,
            Service::ComplaintsAudit,
        ],
    )
    .await
    .expect("cluster");
    followup_support::import_jurisdiction(&cluster).await;
    let mut intake = IntakeServiceClient::new(channel(
        &cluster,
        Service::Intake,
        "dispatcher-1",
        &[Role::CommandCenter, Role::Dispatcher],
        &[],
    ));
    let at = dispatch_support::offset(dispatch_support::origin("st-chengnan"), 300.0, 200.0);
    let reported = intake
        .report_call(ReportCallRequest {
            request_id: "call-c-1".into(),
            channel: CallChannel::Channel110 as i32,
            source_call_id: "110-c-1".into(),
            caller_phone: "13700002222".into(),
            caller_name: "钱七".into(),
            location: Some(at),
            address: "城南路 12 号".into(),
            description: "我要投诉城南派出所的民警，态度恶劣还骂人".into(),
            ..Default::default()
        })
        .await
        .expect("report call")
        .into_inner();
    let incident_id = reported.incident_id.clone();
    let mut inspector = ComplaintsAuditServiceClient::new(channel(
        &cluster,
        Service::ComplaintsAudit,
        "insp-7",
        &[Role::Inspector],
        &[],
    ));
    let list = |inspector: &ComplaintsAuditServiceClient<_>| {
        let mut client = inspector.clone();
        let incident_id = incident_id.clone();
        async move {
            client
                .list_complaints(ListComplaintsRequest {
                    reason: "case file review".into(),
                    incident_id,
                    ..Default::default()
                })
                .await
                .expect("list complaints")
                .into_inner()
                .complaints
        }
    };
    let complaint = eventually("the 110 complaint filed in complaints-audit", || {
        let fut = list(&inspector);
        async move { fut.await.pop() }
    })
    .await;
    assert_eq!(complaint.source, ComplaintSource::Call110 as i32);
    assert_eq!(complaint.station_id, "st-chengnan");
    assert_eq!(complaint.status, ComplaintStatus::Received as i32);
    assert_eq!(
        complaint.hotline_reply_status,
        HotlineReplyStatus::NotApplicable as i32
    );
    let complainant = complaint.complainant.clone().expect("complainant");
    assert_eq!(complainant.phone_masked, "137****2222");
    assert!(complaint.allegation.contains("态度恶劣"));
    // ComplaintFiled reaches intake: the closed incident names its complaint.
    let incident = eventually("intake links the complaint to the incident", || {
        let mut intake = intake.clone();
        let incident_id = incident_id.clone();
        async move {
            let incident = intake
                .get_incident(GetIncidentRequest {
                    incident_id,
                    ..Default::default()
                })
                .await
                .expect("incident")
                .into_inner()
                .incident
                .expect("incident");
            (!incident.complaint_id.is_empty()).then_some(incident)
        }
    })
    .await;
    assert_eq!(incident.complaint_id, complaint.complaint_id);
    assert_eq!(incident.status, IncidentStatus::Closed as i32);

    // The same call again under another event id (e.g. re-driven by hand): still one complaint.
    let again = PoliceComplaintCallReceived {
        incident_id: incident_id.clone(),
        description: "我要投诉城南派出所的民警，态度恶劣还骂人".into(),
        station_id: "st-chengnan".into(),
        ..Default::default()
    };
    let token = cluster
        .token("intake", &[Role::Service], &[])
        .expect("token");
    EventSinkServiceClient::new(
        cluster
            .channel_as(Service::ComplaintsAudit, &token)
            .expect("channel"),
    )
    .deliver(DeliverRequest {
        destination: "complaints-audit".into(),
        event: Some(EventEnvelope {
            event_id: "redriven-1".into(),
            event_type: PoliceComplaintCallReceived::full_name(),
            source: "intake".into(),
            aggregate_id: incident_id.clone(),
            payload: Some(prost_types::Any {
                type_url: format!(
                    "type.googleapis.com/{}",
                    PoliceComplaintCallReceived::full_name()
                ),
                value: again.encode_to_vec(),
            }),
            ..Default::default()
        }),
    })
    .await
    .expect("deliver");
    let all = list(&inspector).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].complaint_id, complaint.complaint_id);
    inspector
        .get_complaint(GetComplaintRequest {
            reason: "case file review".into(),
            complaint_id: complaint.complaint_id,
            ..Default::default()
        })
        .await
        .expect("get complaint");
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(story6_false_complaint_from_12345_is_answered_with_the_finding);
backend_tests!(police_complaint_call_from_110_is_filed_once);
