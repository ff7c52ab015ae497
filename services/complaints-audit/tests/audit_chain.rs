//! The audit log on both backends: concurrent appends never fork the chain, searches page,
//! tampering through SQL is found, retention keeps the chain verifiable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, bad_fields};
use pingan_platform::auth::Role;
use pingan_platform::backend_tests;
use pingan_platform::events::ServiceSink;
use pingan_platform::storage::Backend;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{
    AuditOutcome, AuditRecord, ChainStatus, QueryAuditRequest, RecordAuditRequest,
    VerifyAuditChainRequest, VerifyAuditChainResponse,
};
use pingan_proto::common::v1::Actor;

fn record(n: usize) -> AuditRecord {
    AuditRecord {
        actor: Some(Actor {
            subject: format!("officer-{}", n % 3),
            role: "village_officer".into(),
            display_name: String::new(),
        }),
        action: "grid.FindResidentByIdNumber".into(),
        resource_type: "resident".into(),
        resource_id: format!("res-{n}"),
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_758_500_000 + i64::try_from(n).unwrap(),
            nanos: 0,
        }),
        trace_id: String::new(),
        source_service: "grid-registry".into(),
        outcome: AuditOutcome::Success as i32,
        station_id: "st-chengnan".into(),
        detail: "lookup for found item 138****5678".into(),
        client: String::new(),
    }
}

async fn record_audit(h: &Harness, request_id: &str, record: AuditRecord) -> i64 {
    h.api
        .record_audit(h.request(
            "grid-registry",
            &[Role::Service],
            RecordAuditRequest {
                request_id: request_id.into(),
                record: Some(record),
            },
        ))
        .await
        .expect("record audit")
        .into_inner()
        .entry
        .expect("entry")
        .sequence
}

async fn verify(h: &Harness) -> VerifyAuditChainResponse {
    h.api
        .verify_audit_chain(h.request(
            "insp-1",
            &[Role::Inspector],
            VerifyAuditChainRequest::default(),
        ))
        .await
        .expect("verify")
        .into_inner()
}

async fn concurrent_appends_never_fork_the_chain(backend: Backend) {
    let h = Harness::start(backend).await;
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let api = h.api.clone();
        let requests: Vec<_> = (0..15)
            .map(|i| {
                h.request(
                    "grid-registry",
                    &[Role::Service],
                    RecordAuditRequest {
                        request_id: format!("w{worker}-{i}"),
                        record: Some(record(worker * 100 + i)),
                    },
                )
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            for request in requests {
                let mut attempts = 0;
                loop {
                    let retry = tonic::Request::from_parts(
                        request.metadata().clone(),
                        Default::default(),
                        request.get_ref().clone(),
                    );
                    match api.record_audit(retry).await {
                        Ok(_) => break,
                        // SQLite answers BUSY under write contention: the client retries.
                        Err(status)
                            if status.code() == tonic::Code::Unavailable && attempts < 50 =>
                        {
                            attempts += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(status) => panic!("append failed: {status:?}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    // Events through the inbox land on the same chain; a redelivery adds nothing.
    let sink: ServiceSink = pingan_complaints_audit::events::sink(h.core.clone());
    let event = h.envelope("evt-1", "dispatch", &record(999));
    assert!(!sink.apply(&event).await.expect("apply"));
    assert!(sink.apply(&event).await.expect("again"));
    let verified = verify(&h).await;
    assert_eq!(verified.status, ChainStatus::Ok as i32, "{verified:?}");
    assert_eq!(verified.rows_checked, 61);
    assert_eq!(verified.head_sequence, 61);
    // A repeat of a request id returns the first entry.
    let first = record_audit(&h, "w0-0", record(0)).await;
    assert!(first <= 61);
    h.shutdown().await;
}

async fn query_filters_and_pages(backend: Backend) {
    let h = Harness::start(backend).await;
    for n in 0..8 {
        record_audit(&h, &format!("q-{n}"), record(n)).await;
    }
    let page = |token: String| {
        h.request(
            "insp-1",
            &[Role::Inspector],
            QueryAuditRequest {
                actor_subject: "officer-1".into(),
                page_size: 2,
                page_token: token,
                ..QueryAuditRequest::default()
            },
        )
    };
    let first = h
        .api
        .query_audit(page(String::new()))
        .await
        .expect("query")
        .into_inner();
    let ids: Vec<&str> = first
        .entries
        .iter()
        .map(|e| e.record.as_ref().unwrap().resource_id.as_str())
        .collect();
    assert_eq!(ids, ["res-1", "res-4"]);
    let second = h
        .api
        .query_audit(page(first.next_page_token.clone()))
        .await
        .expect("page 2")
        .into_inner();
    let ids: Vec<&str> = second
        .entries
        .iter()
        .map(|e| e.record.as_ref().unwrap().resource_id.as_str())
        .collect();
    assert_eq!(ids, ["res-7"]);
    assert!(second.next_page_token.is_empty());
    // Newest first, by resource.
    let newest = h
        .api
        .query_audit(h.request(
            "insp-1",
            &[Role::Inspector],
            QueryAuditRequest {
                resource_type: "resident".into(),
                newest_first: true,
                page_size: 3,
                ..QueryAuditRequest::default()
            },
        ))
        .await
        .expect("newest")
        .into_inner();
    let sequences: Vec<i64> = newest.entries.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [8, 7, 6]);
    // Bad input names the field; clear personal data is refused; only auditors read.
    let mut bad = record(1);
    bad.detail = "caller 13812345678".into();
    bad.action.clear();
    let status = h
        .api
        .record_audit(h.request(
            "grid-registry",
            &[Role::Service],
            RecordAuditRequest {
                request_id: "bad-1".into(),
                record: Some(bad),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["record.action", "record.detail"]);
    let status = h
        .api
        .query_audit(h.request(
            "insp-1",
            &[Role::Inspector],
            QueryAuditRequest {
                page_size: 5000,
                ..QueryAuditRequest::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size"]);
    let status = h
        .api
        .query_audit(h.request("d-1", &[Role::Dispatcher], QueryAuditRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    h.shutdown().await;
}

async fn tampering_is_found(backend: Backend) {
    let h = Harness::start(backend).await;
    for n in 0..6 {
        record_audit(&h, &format!("t-{n}"), record(n)).await;
    }
    assert_eq!(verify(&h).await.status, ChainStatus::Ok as i32);
    // The table refuses changes outright...
    let refused = pingan_platform::with_db!(&h.database.db, pool => sqlx::query(
        "UPDATE audit_entries SET detail = 'nothing happened' WHERE sequence = 3")
        .execute(pool).await.map(|r| r.rows_affected()));
    assert!(refused.is_err(), "append-only trigger must refuse updates");
    // ...so someone with database rights first disables the guard.
    match backend {
        Backend::Postgres => {
            h.sql("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
                .await;
        }
        Backend::Sqlite => {
            h.sql("DROP TRIGGER audit_entries_no_update").await;
            h.sql("DROP TRIGGER audit_entries_no_delete").await;
        }
    }
    h.sql("UPDATE audit_entries SET detail = 'nothing happened' WHERE sequence = 3")
        .await;
    let altered = verify(&h).await;
    assert_eq!(
        altered.status,
        ChainStatus::RowAltered as i32,
        "{altered:?}"
    );
    assert_eq!(altered.first_broken_sequence, 3);
    assert_eq!(altered.first_broken_entry_id, "t-2");
    assert_eq!(altered.rows_checked, 2);
    // Put it back: the chain is whole again.
    h.sql(
        "UPDATE audit_entries SET detail = 'lookup for found item 138****5678' WHERE sequence = 3",
    )
    .await;
    assert_eq!(verify(&h).await.status, ChainStatus::Ok as i32);
    // Remove a row in the middle, then the newest one.
    h.sql("DELETE FROM audit_entries WHERE sequence = 5").await;
    let removed = verify(&h).await;
    assert_eq!(
        removed.status,
        ChainStatus::RowRemoved as i32,
        "{removed:?}"
    );
    assert_eq!(removed.first_broken_sequence, 5);
    // A range before the gap still verifies.
    let early = h
        .api
        .verify_audit_chain(h.request(
            "insp-1",
            &[Role::Inspector],
            VerifyAuditChainRequest {
                from_sequence: 2,
                to_sequence: 4,
                ..VerifyAuditChainRequest::default()
            },
        ))
        .await
        .expect("range")
        .into_inner();
    assert_eq!(
        (early.status, early.rows_checked),
        (ChainStatus::Ok as i32, 3)
    );
    h.sql("DELETE FROM audit_entries WHERE sequence >= 5").await;
    let tail = verify(&h).await;
    assert_eq!(
        (tail.status, tail.first_broken_sequence),
        (ChainStatus::RowRemoved as i32, 5)
    );
    h.shutdown().await;
}

async fn retention_keeps_the_chain_verifiable(backend: Backend) {
    let h = Harness::start(backend).await;
    for n in 0..3 {
        record_audit(&h, &format!("old-{n}"), record(n)).await;
    }
    h.clock.advance(Duration::from_secs(200 * 24 * 3600));
    for n in 3..5 {
        record_audit(&h, &format!("new-{n}"), record(n)).await;
    }
    let removed = pingan_complaints_audit::app::audit_log::apply_retention(&h.core)
        .await
        .expect("retention");
    assert_eq!(removed, 3);
    let verified = verify(&h).await;
    assert_eq!(verified.status, ChainStatus::Ok as i32, "{verified:?}");
    assert_eq!(
        (verified.oldest_retained_sequence, verified.rows_checked),
        (4, 2)
    );
    // Retained rows stay protected.
    let refused = pingan_platform::with_db!(&h.database.db, pool => sqlx::query(
        "DELETE FROM audit_entries WHERE sequence = 4")
        .execute(pool).await.map(|r| r.rows_affected()));
    assert!(refused.is_err());
    h.shutdown().await;
}

backend_tests!(
    concurrent_appends_never_fork_the_chain,
    query_filters_and_pages,
    tampering_is_found,
    retention_keeps_the_chain_verifiable,
);
