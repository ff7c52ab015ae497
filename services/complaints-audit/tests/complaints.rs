//! Complaints on both backends: story 6 from the 12345 ticket to the answer, the dispatch
//! timeline attached, the two-person rule, masking, deadlines and the early warning (the
//! timeline fetched later while dispatch is down: `evidence_jobs.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Harness, bad_fields, get, walk_in};
use pingan_platform::auth::Role;
use pingan_platform::backend_tests;
use pingan_platform::storage::Backend;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{
    Accused, ActionKind, AddEvidenceRequest, AssignInvestigatorRequest, ComplaintAnswered,
    ComplaintSource, ComplaintStatus, EvidenceKind, EvidenceStatus, Finding, FindingAction,
    FindingStep, HotlineReplyStatus, InvestigationStage, ListComplaintsRequest,
    ListEarlyWarningsRequest, QueryAuditRequest, RecordFindingRequest,
};
use pingan_proto::common::v1::TimeRange;
use pingan_proto::triage::v1::{HotlineComplaintReceived, TransferStatus, TransferStatusChanged};
use prost::Message;

const INSPECTOR: &[Role] = &[Role::Inspector];
const LEGAL: &[Role] = &[Role::LegalUnit];

async fn story_6_false_complaint_from_12345(backend: Backend) {
    let h = Harness::start(backend).await;
    h.dispatch.up.store(true, Ordering::SeqCst);
    let sink = pingan_complaints_audit::events::sink(h.core.clone());
    // A drunk man's complaint reaches 12345; triage hands it over (delivered twice, and once
    // more under another event id: one complaint per ticket).
    let ticket = HotlineComplaintReceived {
        transfer_id: "TR-9".into(),
        hotline_ticket_id: "12345-2025-0001".into(),
        description: "派出所民警出警时打人".into(),
        complainant_phone: "13900001111".into(),
        complainant_name: "赵六".into(),
        ..HotlineComplaintReceived::default()
    };
    let event = h.envelope("evt-ticket-1", "triage", &ticket);
    assert!(!sink.apply(&event).await.expect("apply"));
    assert!(sink.apply(&event).await.expect("redelivered"));
    assert!(
        !sink
            .apply(&h.envelope("evt-ticket-2", "triage", &ticket))
            .await
            .expect("again")
    );
    let listed = h
        .api
        .list_complaints(h.request(
            "insp-1",
            INSPECTOR,
            ListComplaintsRequest {
                reason: "case file review".into(),
                hotline_ticket_id: "12345-2025-0001".into(),
                ..ListComplaintsRequest::default()
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .complaints;
    assert_eq!(listed.len(), 1);
    let complaint = &listed[0];
    let id = complaint.complaint_id.clone();
    assert_eq!(complaint.source, ComplaintSource::Hotline12345 as i32);
    assert_eq!(complaint.status, ComplaintStatus::Received as i32);
    assert_eq!(
        complaint.hotline_reply_status,
        HotlineReplyStatus::AwaitingFinding as i32
    );
    assert!(complaint.case_number.starts_with("TS-2025-"));
    assert_eq!(complaint.complainant.as_ref().unwrap().phone, "13900001111");
    // The inspection unit takes it in hand with the legal unit involved early, identifies the
    // officer and the incident: the incident's dispatch timeline is attached automatically.
    let assigned = h
        .api
        .assign_investigator(h.request(
            "insp-1",
            INSPECTOR,
            AssignInvestigatorRequest {
                request_id: "as-1".into(),
                complaint_id: id.clone(),
                investigator_id: "insp-1".into(),
                legal_reviewer_id: "legal-1".into(),
                stage: InvestigationStage::PreliminaryCheck as i32,
                accused: vec![Accused {
                    officer_id: "off-cn-1".into(),
                    station_id: "st-chengnan".into(),
                    ..Accused::default()
                }],
                incident_id: "INC-77".into(),
                ..AssignInvestigatorRequest::default()
            },
        ))
        .await
        .expect("assign")
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(assigned.status, ComplaintStatus::PreliminaryCheck as i32);
    assert_eq!(assigned.station_id, "st-chengnan");
    let full = get(&h, "insp-1", INSPECTOR, &id).await;
    let timeline = &full.evidence[0];
    assert_eq!(timeline.kind, EvidenceKind::DispatchTimeline as i32);
    assert_eq!(timeline.status, EvidenceStatus::Attached as i32);
    assert!(timeline.attached_automatically);
    assert_eq!(timeline.source_ref, "D-1");
    assert_eq!(
        timeline.content_sha256,
        pingan_complaints_audit::domain::evidence::sha256_hex(&timeline.content)
    );
    assert!(String::from_utf8_lossy(&timeline.content).contains("officer on scene"));
    // Body-cam evidence by reference, with its hash.
    let clip = h
        .api
        .add_evidence(h.request(
            "insp-1",
            INSPECTOR,
            AddEvidenceRequest {
                request_id: "ev-1".into(),
                complaint_id: id.clone(),
                kind: EvidenceKind::BodycamClip as i32,
                title: "执法记录仪 off-cn-1".into(),
                uri: "vault://bodycam/off-cn-1/2025-09-21T2210.mp4".into(),
                content_sha256: "a".repeat(64),
                size_bytes: 52_428_800,
                device_id: "BWC-0231".into(),
                ..AddEvidenceRequest::default()
            },
        ))
        .await
        .expect("clip")
        .into_inner()
        .evidence
        .unwrap();
    // The investigator proposes: malicious false report, officer cleared, complainant penalised.
    let propose = RecordFindingRequest {
        request_id: "f-1".into(),
        complaint_id: id.clone(),
        step: FindingStep::Propose as i32,
        finding: Finding::MaliciousFalseReport as i32,
        reasoning: "调度时间线与执法记录仪显示民警依法处置，未有殴打行为".into(),
        actions: vec![
            FindingAction {
                kind: ActionKind::OfficerCleared as i32,
                officer_id: "off-cn-1".into(),
                detail: "澄清正名".into(),
                ..FindingAction::default()
            },
            FindingAction {
                kind: ActionKind::ComplainantPenalty as i32,
                detail: "行政拘留五日".into(),
                legal_basis: "治安管理处罚法 第二十五条".into(),
                ..FindingAction::default()
            },
        ],
        evidence_ids: vec![timeline.evidence_id.clone(), clip.evidence_id.clone()],
        legal_opinion: "构成诬告陷害，建议依法处罚".into(),
        reply_text: "经核查，投诉不属实，民警依法履职。".into(),
        ..RecordFindingRequest::default()
    };
    let proposed = h
        .api
        .record_finding(h.request("insp-1", INSPECTOR, propose.clone()))
        .await
        .expect("propose")
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(proposed.status, ComplaintStatus::FindingProposed as i32);
    // Two-person rule: the investigator cannot approve their own finding.
    let approve = |request_id: &str| RecordFindingRequest {
        request_id: request_id.into(),
        complaint_id: id.clone(),
        step: FindingStep::Approve as i32,
        review_notes: "同意".into(),
        ..RecordFindingRequest::default()
    };
    let refused = h
        .api
        .record_finding(h.request("insp-1", INSPECTOR, approve("f-2")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let closed = h
        .api
        .record_finding(h.request("legal-1", LEGAL, approve("f-3")))
        .await
        .expect("approve")
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(closed.status, ComplaintStatus::Closed as i32);
    assert_eq!(
        closed.hotline_reply_status,
        HotlineReplyStatus::Pending as i32
    );
    let finding = closed.finding.unwrap();
    assert!(finding.approved);
    assert_eq!(finding.reviewed_by.unwrap().subject, "legal-1");
    assert_eq!(finding.actions.len(), 2);
    // The answer goes to triage (→ 12345) through the outbox; the filing was announced too.
    let outbox = h.outbox().await;
    let answered: Vec<ComplaintAnswered> = outbox
        .iter()
        .filter(|(t, d, _)| t == "pingan.audit.v1.ComplaintAnswered" && d == "triage")
        .map(|(_, _, p)| ComplaintAnswered::decode(p.as_slice()).unwrap())
        .collect();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].transfer_id, "TR-9");
    assert_eq!(answered[0].hotline_ticket_id, "12345-2025-0001");
    assert_eq!(answered[0].finding, Finding::MaliciousFalseReport as i32);
    assert!(
        outbox
            .iter()
            .any(|(t, d, _)| t == "pingan.audit.v1.ComplaintFiled" && d == "triage")
    );
    // 12345 acknowledges through triage: the reply is SENT.
    let handled = TransferStatusChanged {
        transfer_id: "TR-9".into(),
        to_status: TransferStatus::Handled as i32,
        ..TransferStatusChanged::default()
    };
    sink.apply(&h.envelope("evt-handled", "triage", &handled))
        .await
        .expect("handled");
    let done = get(&h, "legal-1", LEGAL, &id).await;
    assert_eq!(done.hotline_reply_status, HotlineReplyStatus::Sent as i32);
    assert!(
        done.deadlines
            .iter()
            .all(|d| d.met_at.is_some() && !d.overdue)
    );
    // Every step is in the audit log, and so is every read of the complainant in clear (the
    // inspector's list and reads, the legal unit's read), and the chain holds.
    let audit = h
        .api
        .query_audit(h.request(
            "insp-1",
            INSPECTOR,
            QueryAuditRequest {
                resource_id: id.clone(),
                ..QueryAuditRequest::default()
            },
        ))
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let actions: Vec<String> = audit
        .iter()
        .map(|e| e.record.clone().unwrap().action)
        .collect();
    assert_eq!(
        actions,
        [
            "complaints-audit.FileComplaint",
            "complaints-audit.ReadComplainantInClear",
            "complaints-audit.AssignInvestigator",
            "complaints-audit.ReadComplainantInClear",
            "complaints-audit.AddEvidence",
            "complaints-audit.RecordFinding",
            "complaints-audit.RecordFinding",
            "complaints-audit.ReadComplainantInClear",
        ]
    );
    // Closed complaints take no more steps.
    let again = h
        .api
        .record_finding(h.request("legal-2", LEGAL, approve("f-4")))
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    h.shutdown().await;
}

async fn bad_input_names_the_fields(backend: Backend) {
    let h = Harness::start(backend).await;
    let mut bad = walk_in("c-bad", "off-1", "");
    bad.source = ComplaintSource::Unspecified as i32;
    bad.allegation.clear();
    bad.complainant.as_mut().unwrap().id_number = "110105194912310021".into();
    let status = h
        .api
        .file_complaint(h.request("insp-1", INSPECTOR, bad))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["source", "allegation", "complainant.id_number"]
    );
    let status = h
        .api
        .add_evidence(h.request(
            "insp-1",
            INSPECTOR,
            AddEvidenceRequest {
                request_id: "e".into(),
                complaint_id: "x".into(),
                kind: EvidenceKind::Statement as i32,
                content: b"statement".to_vec(),
                content_sha256: "b".repeat(64),
                ..AddEvidenceRequest::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["content_sha256"]);
    let status = h
        .api
        .record_finding(h.request(
            "insp-1",
            INSPECTOR,
            RecordFindingRequest {
                request_id: "f".into(),
                complaint_id: "x".into(),
                step: FindingStep::Propose as i32,
                finding: Finding::Unfounded as i32,
                reasoning: "r".into(),
                reply_text: "r".into(),
                actions: vec![FindingAction {
                    kind: ActionKind::ComplainantPenalty as i32,
                    ..FindingAction::default()
                }],
                ..RecordFindingRequest::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["actions[0].legal_basis", "actions[0].kind"]
    );
    let status = h
        .api
        .assign_investigator(h.request(
            "insp-1",
            INSPECTOR,
            AssignInvestigatorRequest {
                request_id: "a".into(),
                complaint_id: "x".into(),
                ..AssignInvestigatorRequest::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["investigator_id", "stage"]);
    let missing = h
        .api
        .assign_investigator(h.request(
            "insp-1",
            INSPECTOR,
            AssignInvestigatorRequest {
                request_id: "a2".into(),
                complaint_id: "nope".into(),
                investigator_id: "insp-1".into(),
                stage: InvestigationStage::PreliminaryCheck as i32,
                ..AssignInvestigatorRequest::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    h.shutdown().await;
}

async fn overdue_and_early_warning(backend: Backend) {
    let h = Harness::start(backend).await;
    h.dispatch.up.store(true, Ordering::SeqCst);
    for (i, officer) in ["off-1", "off-1", "off-1", "off-2"].iter().enumerate() {
        h.api
            .file_complaint(h.request("insp-1", INSPECTOR, walk_in(&format!("w-{i}"), officer, "")))
            .await
            .expect("file");
    }
    // Two days later nobody has taken them in hand: the receipt deadline (24 h) is missed.
    h.clock.advance(Duration::from_secs(2 * 24 * 3600));
    let overdue = h
        .api
        .list_complaints(h.request(
            "insp-1",
            INSPECTOR,
            ListComplaintsRequest {
                reason: "case file review".into(),
                overdue_only: true,
                page_size: 3,
                ..ListComplaintsRequest::default()
            },
        ))
        .await
        .expect("overdue")
        .into_inner();
    assert_eq!(overdue.complaints.len(), 3);
    assert!(overdue.complaints.iter().all(|c| c.overdue));
    assert!(!overdue.next_page_token.is_empty());
    let rest = h
        .api
        .list_complaints(h.request(
            "insp-1",
            INSPECTOR,
            ListComplaintsRequest {
                reason: "case file review".into(),
                overdue_only: true,
                page_size: 3,
                page_token: overdue.next_page_token.clone(),
                ..ListComplaintsRequest::default()
            },
        ))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.complaints.len(), 1);
    let by_officer = h
        .api
        .list_complaints(h.request(
            "insp-1",
            INSPECTOR,
            ListComplaintsRequest {
                reason: "case file review".into(),
                accused_officer_id: "off-2".into(),
                ..ListComplaintsRequest::default()
            },
        ))
        .await
        .expect("by officer")
        .into_inner();
    assert_eq!(by_officer.complaints.len(), 1);
    let range = TimeRange {
        start: Some(prost_types::Timestamp {
            seconds: common::start_time().timestamp() - 3600,
            nanos: 0,
        }),
        end: Some(prost_types::Timestamp {
            seconds: common::start_time().timestamp() + 3600,
            nanos: 0,
        }),
    };
    let warnings = h
        .api
        .list_early_warnings(h.request(
            "insp-1",
            INSPECTOR,
            ListEarlyWarningsRequest {
                range: Some(range),
                ..ListEarlyWarningsRequest::default()
            },
        ))
        .await
        .expect("warnings")
        .into_inner()
        .warnings;
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        (
            warnings[0].officer_id.as_str(),
            warnings[0].complaint_count,
            warnings[0].open_count
        ),
        ("off-1", 3, 3)
    );
    assert_eq!(warnings[0].threshold, 3);
    let lower = h
        .api
        .list_early_warnings(h.request(
            "insp-1",
            INSPECTOR,
            ListEarlyWarningsRequest {
                range: Some(range),
                threshold: 1,
                ..ListEarlyWarningsRequest::default()
            },
        ))
        .await
        .expect("lower")
        .into_inner()
        .warnings;
    assert_eq!(lower.len(), 2);
    let status = h
        .api
        .list_early_warnings(h.request("insp-1", INSPECTOR, ListEarlyWarningsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["range.start", "range.end"]);
    h.shutdown().await;
}

backend_tests!(
    story_6_false_complaint_from_12345,
    bad_input_names_the_fields,
    overdue_and_early_warning,
);
