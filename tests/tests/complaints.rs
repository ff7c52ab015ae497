//! Complaints-audit end to end through gRPC on both backends: story 6 (a false complaint from
//! 12345 ends as a malicious false report, answered back towards 12345), audit records from
//! other services through the events backbone, and tampering with the audit table found by
//! VerifyAuditChain.
//!
//! Triage and dispatch are built in parallel: here triage's events are delivered to the event
//! sink exactly as its relay would, and dispatch is absent (the timeline waits as PENDING).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pingan_platform::auth::Role;
use pingan_platform::storage::{Db, PoolSettings};
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use pingan_proto::audit::v1::{
    Accused, ActionKind, AddEvidenceRequest, AssignInvestigatorRequest, AuditOutcome, AuditRecord,
    ChainStatus, ComplaintAnswered, ComplaintStatus, EvidenceKind, EvidenceStatus,
    FileComplaintRequest, Finding, FindingAction, FindingStep, GetComplaintRequest,
    HotlineReplyStatus, InvestigationStage, ListComplaintsRequest, QueryAuditRequest,
    RecordFindingRequest, VerifyAuditChainRequest,
};
use pingan_proto::common::v1::Actor;
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::triage::v1::{HotlineComplaintReceived, TransferStatus, TransferStatusChanged};
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use prost::{Message, Name};
use tonic_types::StatusExt;

fn envelope<M: Name>(event_id: &str, source: &str, message: &M) -> EventEnvelope {
    EventEnvelope {
        event_id: event_id.into(),
        event_type: M::full_name(),
        source: source.into(),
        aggregate_id: event_id.into(),
        sequence: 1,
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_758_600_000,
            nanos: 0,
        }),
        traceparent: String::new(),
        tracestate: String::new(),
        payload: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{}", M::full_name()),
            value: message.encode_to_vec(),
        }),
    }
}

async fn deliver(cluster: &TestCluster, from: &str, event: EventEnvelope) -> bool {
    let token = cluster.token(from, &[Role::Service], &[]).unwrap();
    EventSinkServiceClient::new(
        cluster
            .channel_as(Service::ComplaintsAudit, &token)
            .unwrap(),
    )
    .deliver(DeliverRequest {
        event: Some(event),
        destination: "complaints-audit".into(),
    })
    .await
    .expect("deliver")
    .into_inner()
    .duplicate
}

async fn sql(db: &Db, statement: &'static str) {
    pingan_platform::with_db!(db, pool => sqlx::query(statement)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .expect(statement);
}

async fn story_6_and_the_tamper_evident_log(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::ComplaintsAudit])
        .await
        .expect("cluster");
    let as_role = |subject: &str, roles: &[Role]| {
        let token = cluster.token(subject, roles, &[]).unwrap();
        ComplaintsAuditServiceClient::new(
            cluster
                .channel_as(Service::ComplaintsAudit, &token)
                .unwrap(),
        )
    };
    let mut inspector = as_role("insp-7", &[Role::Inspector]);
    let mut legal = as_role("legal-3", &[Role::LegalUnit]);

    // No token, no call; bad input names the fields.
    let anonymous =
        ComplaintsAuditServiceClient::new(cluster.channel(Service::ComplaintsAudit).unwrap())
            .list_complaints(ListComplaintsRequest::default())
            .await
            .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let bad = inspector
        .file_complaint(FileComplaintRequest {
            request_id: "bad".into(),
            ..FileComplaintRequest::default()
        })
        .await
        .unwrap_err();
    let fields: Vec<String> = bad
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["source", "allegation", "accused"]);

    // 12345 → triage → complaint (triage's relay delivers; a redelivery has no second effect).
    let ticket = HotlineComplaintReceived {
        transfer_id: "TR-2025-88".into(),
        hotline_ticket_id: "HL-20250923-0042".into(),
        description: "喝多了被民警带走，投诉民警打人".into(),
        complainant_phone: "13700002222".into(),
        complainant_name: "钱七".into(),
        ..HotlineComplaintReceived::default()
    };
    assert!(!deliver(&cluster, "triage", envelope("evt-t-1", "triage", &ticket)).await);
    assert!(deliver(&cluster, "triage", envelope("evt-t-1", "triage", &ticket)).await);
    let complaint = inspector
        .list_complaints(ListComplaintsRequest {
            reason: "case file review".into(),
            hotline_ticket_id: "HL-20250923-0042".into(),
            ..ListComplaintsRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints
        .pop()
        .expect("complaint filed from 12345");
    let id = complaint.complaint_id.clone();

    // The inspection unit takes it, with the legal unit; the officer and incident are found.
    let assigned = inspector
        .assign_investigator(AssignInvestigatorRequest {
            request_id: "as-1".into(),
            complaint_id: id.clone(),
            investigator_id: "insp-7".into(),
            legal_reviewer_id: "legal-3".into(),
            stage: InvestigationStage::FullInvestigation as i32,
            accused: vec![Accused {
                officer_id: "off-cn-2".into(),
                station_id: "st-chengnan".into(),
                ..Accused::default()
            }],
            incident_id: "INC-2025-0915".into(),
            ..AssignInvestigatorRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(assigned.status, ComplaintStatus::UnderInvestigation as i32);
    // Dispatch is not running here: the timeline waits as a pending item.
    let timeline = &assigned.evidence[0];
    assert_eq!(
        (timeline.kind, timeline.status),
        (
            EvidenceKind::DispatchTimeline as i32,
            EvidenceStatus::Pending as i32
        )
    );
    let clip = inspector
        .add_evidence(AddEvidenceRequest {
            request_id: "ev-1".into(),
            complaint_id: id.clone(),
            kind: EvidenceKind::BodycamClip as i32,
            uri: "vault://bodycam/off-cn-2/clip-0915.mp4".into(),
            content_sha256: "c".repeat(64),
            size_bytes: 10_485_760,
            ..AddEvidenceRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .evidence
        .unwrap();
    let statement = inspector
        .add_evidence(AddEvidenceRequest {
            request_id: "ev-2".into(),
            complaint_id: id.clone(),
            kind: EvidenceKind::Statement as i32,
            content: "投诉人酒醒后承认民警未动手".as_bytes().to_vec(),
            content_type: "text/plain; charset=utf-8".into(),
            statement_by: "钱七".into(),
            ..AddEvidenceRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .evidence
        .unwrap();
    assert_eq!(statement.content_sha256.len(), 64);

    inspector
        .record_finding(RecordFindingRequest {
            request_id: "f-1".into(),
            complaint_id: id.clone(),
            step: FindingStep::Propose as i32,
            finding: Finding::MaliciousFalseReport as i32,
            reasoning: "执法记录仪与当事人陈述证明民警依法处置".into(),
            actions: vec![
                FindingAction {
                    kind: ActionKind::OfficerCleared as i32,
                    officer_id: "off-cn-2".into(),
                    ..FindingAction::default()
                },
                FindingAction {
                    kind: ActionKind::ComplainantPenalty as i32,
                    detail: "警告".into(),
                    legal_basis: "治安管理处罚法 第二十五条".into(),
                    ..FindingAction::default()
                },
            ],
            evidence_ids: vec![clip.evidence_id.clone(), statement.evidence_id.clone()],
            legal_opinion: "属诬告，依法处理".into(),
            reply_text: "经调查，投诉不实，民警依法履职。".into(),
            ..RecordFindingRequest::default()
        })
        .await
        .unwrap();
    let approve = |request_id: &str| RecordFindingRequest {
        request_id: request_id.into(),
        complaint_id: id.clone(),
        step: FindingStep::Approve as i32,
        ..RecordFindingRequest::default()
    };
    let self_review = inspector.record_finding(approve("f-2")).await.unwrap_err();
    assert_eq!(self_review.code(), tonic::Code::FailedPrecondition);
    let closed = legal
        .record_finding(approve("f-3"))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(closed.status, ComplaintStatus::Closed as i32);
    assert_eq!(
        closed.hotline_reply_status,
        HotlineReplyStatus::Pending as i32
    );

    // The answer waits in the outbox for triage (which answers 12345).
    let db = Db::connect(
        &cluster.database_url(Service::ComplaintsAudit).unwrap(),
        &PoolSettings::default(),
    )
    .await
    .unwrap();
    const ANSWERS: &str = "SELECT e.payload FROM pingan_outbox_events e JOIN pingan_outbox_deliveries d \
        ON d.event_row_id = e.id WHERE e.event_type = 'pingan.audit.v1.ComplaintAnswered' \
        AND d.destination = 'triage'";
    let answers: Vec<Vec<u8>> = pingan_platform::with_db!(&db, pool => sqlx::query_scalar(ANSWERS)
        .fetch_all(pool)
        .await)
    .unwrap();
    assert_eq!(answers.len(), 1);
    let answer = ComplaintAnswered::decode(answers[0].as_slice()).unwrap();
    assert_eq!(
        (answer.transfer_id.as_str(), answer.finding),
        ("TR-2025-88", Finding::MaliciousFalseReport as i32)
    );
    // Triage reports 12345 has it.
    let handled = TransferStatusChanged {
        transfer_id: "TR-2025-88".into(),
        to_status: TransferStatus::Handled as i32,
        ..TransferStatusChanged::default()
    };
    deliver(&cluster, "triage", envelope("evt-t-2", "triage", &handled)).await;
    let answered = legal
        .get_complaint(GetComplaintRequest {
            reason: "case file review".into(),
            complaint_id: id.clone(),
            ..GetComplaintRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(
        answered.hotline_reply_status,
        HotlineReplyStatus::Sent as i32
    );

    // Other services' audit records arrive as events.
    for n in 0..3 {
        let record = AuditRecord {
            actor: Some(Actor {
                subject: "vo-rx-1".into(),
                role: "village_officer".into(),
                display_name: String::new(),
            }),
            action: "grid.FindResidentByIdNumber".into(),
            resource_type: "resident".into(),
            resource_id: format!("res-{n}"),
            source_service: "grid-registry".into(),
            outcome: AuditOutcome::Success as i32,
            ..AuditRecord::default()
        };
        deliver(
            &cluster,
            "grid-registry",
            envelope(&format!("evt-a-{n}"), "grid-registry", &record),
        )
        .await;
    }
    deliver(
        &cluster,
        "grid-registry",
        envelope("evt-a-1", "grid-registry", &AuditRecord::default()),
    )
    .await;
    let from_grid = inspector
        .query_audit(QueryAuditRequest {
            source_service: "grid-registry".into(),
            ..QueryAuditRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(from_grid.len(), 3);
    let verify = |from: i64| VerifyAuditChainRequest {
        from_sequence: from,
        to_sequence: 0,
        ..VerifyAuditChainRequest::default()
    };
    let ok = inspector
        .verify_audit_chain(verify(0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.status, ChainStatus::Ok as i32, "{ok:?}");
    // Nine steps and records, and the inspector's two reasoned clear reads (list, get).
    assert_eq!(ok.rows_checked, 11, "{ok:?}");

    // Someone with database rights edits one row, then deletes another.
    match backend {
        TestBackend::Postgres => {
            sql(
                &db,
                "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
            )
            .await;
        }
        TestBackend::Sqlite => {
            sql(&db, "DROP TRIGGER audit_entries_no_update").await;
            sql(&db, "DROP TRIGGER audit_entries_no_delete").await;
        }
    }
    sql(
        &db,
        "UPDATE audit_entries SET actor_subject = 'someone-else' WHERE sequence = 2",
    )
    .await;
    let altered = inspector
        .verify_audit_chain(verify(0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (altered.status, altered.first_broken_sequence),
        (ChainStatus::RowAltered as i32, 2)
    );
    assert!(!altered.first_broken_entry_id.is_empty());
    let removed = inspector
        .verify_audit_chain(verify(3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.status, ChainStatus::Ok as i32);
    sql(&db, "DELETE FROM audit_entries WHERE sequence = 5").await;
    let removed = inspector
        .verify_audit_chain(verify(3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (removed.status, removed.first_broken_sequence),
        (ChainStatus::RowRemoved as i32, 5)
    );
    db.close().await;
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(story_6_and_the_tamper_evident_log);
