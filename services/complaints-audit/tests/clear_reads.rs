//! Sensitive reads on both backends: inspectors and the legal unit read complainants' phone and
//! ID numbers in clear only with a reason (INVALID_ARGUMENT naming `reason` without one), and
//! every complaint shown in clear writes an audit record with who, what and why; masked readers
//! need no reason and write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, INSPECTOR, bad_fields, walk_in};
use pingan_platform::auth::Role;
use pingan_platform::backend_tests;
use pingan_platform::storage::Backend;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{
    AuditEntry, GetComplaintRequest, ListComplaintsRequest, QueryAuditRequest,
};

const ACTION: &str = "complaints-audit.ReadComplainantInClear";

async fn clear_reads(h: &Harness) -> Vec<AuditEntry> {
    h.api
        .query_audit(h.request(
            "insp-audit",
            INSPECTOR,
            QueryAuditRequest {
                action: ACTION.into(),
                ..QueryAuditRequest::default()
            },
        ))
        .await
        .expect("query")
        .into_inner()
        .entries
}

async fn clear_reads_need_a_reason_and_are_audited(backend: Backend) {
    let h = Harness::start(backend).await;
    let filed = h
        .api
        .file_complaint(h.request("insp-9", INSPECTOR, walk_in("f-1", "o-1", "")))
        .await
        .expect("file")
        .into_inner()
        .complaint
        .expect("complaint");
    let get = |subject: &str, roles: &[Role], reason: &str| {
        h.request(
            subject,
            roles,
            GetComplaintRequest {
                complaint_id: filed.complaint_id.clone(),
                reason: reason.into(),
                ..GetComplaintRequest::default()
            },
        )
    };
    // No reason: refused by name, and nothing was read.
    for roles in [&[Role::Inspector][..], &[Role::LegalUnit][..]] {
        let status = h
            .api
            .get_complaint(get("insp-1", roles, "  "))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["reason"]);
    }
    let status = h
        .api
        .list_complaints(h.request("insp-1", INSPECTOR, ListComplaintsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["reason"]);
    assert!(clear_reads(&h).await.is_empty());

    // With a reason: clear, and recorded with who, what and why.
    let shown = h
        .api
        .get_complaint(get("insp-1", INSPECTOR, "初核: 联系投诉人核实"))
        .await
        .expect("get")
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(shown.complainant.as_ref().unwrap().phone, "13812345678");
    let listed = h
        .api
        .list_complaints(h.request(
            "legal-1",
            &[Role::LegalUnit],
            ListComplaintsRequest {
                reason: "法制审核".into(),
                ..ListComplaintsRequest::default()
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .complaints;
    assert_eq!(
        listed[0].complainant.as_ref().unwrap().id_number,
        "11010519491231002X"
    );
    let records = clear_reads(&h).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    let who: Vec<(String, String, String)> = records
        .iter()
        .map(|e| {
            let r = e.record.clone().unwrap();
            let actor = r.actor.unwrap();
            (actor.subject, r.resource_id, r.detail)
        })
        .collect();
    assert_eq!(who[0].0, "insp-1");
    assert_eq!(who[0].1, filed.complaint_id);
    assert!(who[0].2.contains("GetComplaint") && who[0].2.contains("初核: 联系投诉人核实"));
    assert!(who[0].2.contains("phone") && who[0].2.contains("id_number"));
    assert_eq!(who[1].0, "legal-1");
    assert!(who[1].2.contains("ListComplaints") && who[1].2.contains("法制审核"));
    // The record never carries the numbers themselves.
    assert!(records.iter().all(|e| {
        let text = format!("{e:?}");
        !text.contains("13812345678") && !text.contains("11010519491231002X")
    }));

    // Masked readers need no reason and leave no clear-read record.
    let masked = h
        .api
        .get_complaint(get("cc-1", &[Role::CommandCenter], ""))
        .await
        .expect("masked")
        .into_inner()
        .complaint
        .unwrap();
    assert!(masked.complainant.as_ref().unwrap().phone.is_empty());
    assert_eq!(clear_reads(&h).await.len(), 2);
    h.shutdown().await;
}

backend_tests!(clear_reads_need_a_reason_and_are_audited);
