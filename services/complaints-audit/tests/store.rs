//! Conformance of the SQL store on both backends: the same behaviour on SQLite and Postgres.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Utc};
use common::rows::{at, complaint};
use pingan_complaints_audit::MIGRATIONS;
use pingan_complaints_audit::domain::audit::{GENESIS_HASH, NewAuditEntry, chain_hash};
use pingan_complaints_audit::domain::records::{AccusedRow, ComplaintRow, EvidenceRow};
use pingan_complaints_audit::store::{AuditFilter, ListFilter, SqlStore, Store, member_list};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, StorageError};
use pingan_platform::testing::TestDatabase;

async fn fresh(backend: Backend) -> (TestDatabase, SqlStore) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    (database, store)
}

fn accused(complaint_id: &str, officer: &str, station: &str) -> AccusedRow {
    AccusedRow {
        complaint_id: complaint_id.into(),
        position: 0,
        officer_id: officer.into(),
        unit_id: String::new(),
        station_id: station.into(),
        description: format!("officer {officer}"),
    }
}

fn evidence(id: &str, complaint_id: &str, pending_until: Option<DateTime<Utc>>) -> EvidenceRow {
    EvidenceRow {
        evidence_id: id.into(),
        complaint_id: complaint_id.into(),
        kind: "EVIDENCE_KIND_DISPATCH_TIMELINE".into(),
        status: if pending_until.is_some() {
            "EVIDENCE_STATUS_PENDING"
        } else {
            "EVIDENCE_STATUS_ATTACHED"
        }
        .into(),
        title: format!("evidence {id}"),
        description: String::new(),
        uri: String::new(),
        content: pending_until
            .is_none()
            .then(|| b"{\"entries\":[]}".to_vec()),
        content_type: "application/json".into(),
        content_sha256: String::new(),
        size_bytes: 14,
        captured_at: None,
        covers_start: None,
        covers_end: None,
        device_id: String::new(),
        statement_by: String::new(),
        source_ref: String::new(),
        attached_automatically: true,
        added_by_subject: "inspector-1".into(),
        added_by_role: "inspector".into(),
        added_at: at(22, 3),
        fetch_incident_id: "inc-1".into(),
        fetch_dispatch_id: String::new(),
        fetch_attempts: 1,
        pending_reason: if pending_until.is_some() {
            "dispatch down".into()
        } else {
            String::new()
        },
    }
}

async fn complaints_are_stored_found_locked_and_updated(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let mut tx = db.begin_write().await.unwrap();
    assert_eq!(store.next_case_number(&mut tx, 2025).await.unwrap(), 1);
    assert_eq!(store.next_case_number(&mut tx, 2025).await.unwrap(), 2);
    assert_eq!(store.next_case_number(&mut tx, 2026).await.unwrap(), 1);
    let mut hotline = complaint("c-1", "st-a", at(22, 2));
    hotline.source = "COMPLAINT_SOURCE_HOTLINE_12345".into();
    hotline.hotline_ticket_id = "T-1".into();
    hotline.transfer_id = "X-1".into();
    let mut call = complaint("c-2", "st-b", at(22, 3));
    call.source = "COMPLAINT_SOURCE_CALL_110".into();
    call.incident_id = "inc-9".into();
    let two = [accused("c-1", "o-1", "st-a"), accused("c-1", "o-2", "st-a")];
    store
        .insert_complaint(&mut tx, &hotline, &two)
        .await
        .unwrap();
    store.insert_complaint(&mut tx, &call, &[]).await.unwrap();
    // Reads in the transaction see its writes.
    let by_ticket = store.complaint_by_ticket(&mut tx, "T-1").await.unwrap();
    assert_eq!(by_ticket.as_ref(), Some(&hotline));
    let by_call = store
        .complaint_by_source_incident(&mut tx, "COMPLAINT_SOURCE_CALL_110", "inc-9")
        .await
        .unwrap();
    assert_eq!(by_call.map(|c| c.complaint_id), Some("c-2".to_owned()));
    let by_transfer = store.complaint_by_transfer(&mut tx, "X-1").await.unwrap();
    assert_eq!(by_transfer.map(|c| c.complaint_id), Some("c-1".to_owned()));
    // An empty key matches nothing (complaints without a ticket are not one ticket's).
    assert_eq!(store.complaint_by_ticket(&mut tx, "").await.unwrap(), None);
    let positions: Vec<i32> = store
        .accused_in(&mut tx, "c-1")
        .await
        .unwrap()
        .iter()
        .map(|a| a.position)
        .collect();
    assert_eq!(positions, [0, 1]);
    tx.commit().await.unwrap();

    assert_eq!(store.complaint("c-1").await.unwrap(), Some(hotline.clone()));
    let by_number = store.complaint_by_case_number("TS-2025-c-2").await.unwrap();
    assert_eq!(by_number.map(|c| c.complaint_id), Some("c-2".to_owned()));
    assert_eq!(store.complaint("c-404").await.unwrap(), None);

    // A second complaint for the same ticket is refused by the database.
    let mut tx = db.begin_write().await.unwrap();
    let mut again = complaint("c-3", "st-a", at(22, 4));
    again.hotline_ticket_id = "T-1".into();
    let refused = store.insert_complaint(&mut tx, &again, &[]).await;
    assert!(
        matches!(refused, Err(StorageError::Conflict(_))),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();

    let mut tx = db.begin_write().await.unwrap();
    assert_eq!(store.lock_complaint(&mut tx, "c-404").await.unwrap(), None);
    let mut row = store.lock_complaint(&mut tx, "c-1").await.unwrap().unwrap();
    row.status = "COMPLAINT_STATUS_PRELIMINARY_CHECK".into();
    row.stage = "INVESTIGATION_STAGE_PRELIMINARY_CHECK".into();
    row.investigator_id = "insp-1".into();
    row.receipt_met_at = Some(at(22, 5));
    row.finding = "FINDING_UNFOUNDED".into();
    row.updated_at = at(22, 5);
    store.update_complaint(&mut tx, &row).await.unwrap();
    store
        .replace_accused(&mut tx, "c-1", &[accused("c-1", "o-3", "st-c")])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.complaint("c-1").await.unwrap(), Some(row));
    let officers: Vec<String> = store
        .accused("c-1")
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.officer_id)
        .collect();
    assert_eq!(officers, ["o-3"]);
    database.cleanup().await;
}

async fn complaints_list_filters_pages_and_warnings(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = database.db.begin_write().await.unwrap();
    for (n, station) in ["st-a", "st-b", "st-a", "st-a"].iter().enumerate() {
        let id = format!("c-{n}");
        let mut row = complaint(&id, station, at(22 + u32::try_from(n).unwrap(), 2));
        if n == 3 {
            row.status = "COMPLAINT_STATUS_CLOSED".into();
            row.finding = "FINDING_UNFOUNDED".into();
        }
        let officer = if n == 1 { "o-2" } else { "o-1" };
        store
            .insert_complaint(&mut tx, &row, &[accused(&id, officer, station)])
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let ids = |rows: Vec<ComplaintRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.complaint_id).collect()
    };
    let all = ListFilter {
        limit: 10,
        ..ListFilter::default()
    };
    assert_eq!(
        ids(store.list_complaints(&all).await.unwrap()),
        ["c-3", "c-2", "c-1", "c-0"]
    );
    let page = ListFilter {
        limit: 2,
        ..all.clone()
    };
    let first = store.list_complaints(&page).await.unwrap();
    let last = first.last().unwrap();
    let next = ListFilter {
        after: Some((last.received_at, last.complaint_id.clone())),
        ..page.clone()
    };
    assert_eq!(
        ids(store.list_complaints(&next).await.unwrap()),
        ["c-1", "c-0"]
    );
    let station_a = ListFilter {
        visible_stations: member_list(["st-a"]),
        statuses: member_list(["COMPLAINT_STATUS_RECEIVED"]),
        ..all.clone()
    };
    assert_eq!(
        ids(store.list_complaints(&station_a).await.unwrap()),
        ["c-2", "c-0"]
    );
    let accused_o2 = ListFilter {
        accused_officer_id: "o-2".into(),
        ..all.clone()
    };
    assert_eq!(
        ids(store.list_complaints(&accused_o2).await.unwrap()),
        ["c-1"]
    );
    // Receipt is due 24 h after receipt: on the 24th at 03:00 the first two are overdue.
    let overdue = ListFilter {
        overdue_only: true,
        now: Some(at(24, 3)),
        ..all.clone()
    };
    assert_eq!(
        ids(store.list_complaints(&overdue).await.unwrap()),
        ["c-1", "c-0"]
    );
    let received = ListFilter {
        received_from: Some(at(23, 0)),
        received_to: Some(at(25, 0)),
        ..all
    };
    assert_eq!(
        ids(store.list_complaints(&received).await.unwrap()),
        ["c-2", "c-1"]
    );

    let every = store.warning_rows(at(1, 0), at(30, 0), "").await.unwrap();
    assert_eq!(every.len(), 4);
    let counted = store
        .warning_rows(at(1, 0), at(30, 0), &member_list(["FINDING_UNFOUNDED"]))
        .await
        .unwrap();
    let complaints: Vec<&str> = counted.iter().map(|w| w.complaint_id.as_str()).collect();
    assert_eq!(complaints, ["c-0", "c-2", "c-1"]);
    database.cleanup().await;
}

async fn evidence_waits_pending_until_completed_once(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let mut tx = db.begin_write().await.unwrap();
    store
        .insert_complaint(&mut tx, &complaint("c-1", "st-a", at(22, 2)), &[])
        .await
        .unwrap();
    store
        .insert_evidence(&mut tx, &evidence("e-1", "c-1", None))
        .await
        .unwrap();
    store
        .insert_evidence(&mut tx, &evidence("e-2", "c-1", Some(at(22, 4))))
        .await
        .unwrap();
    let brief = store.evidence_in(&mut tx, "c-1", false).await.unwrap();
    assert!(brief.iter().all(|e| e.content.is_none()));
    tx.commit().await.unwrap();
    let full = store.evidence("c-1", true).await.unwrap();
    assert_eq!(full[0], evidence("e-1", "c-1", None));
    assert_eq!(full[1].content, None);

    // The fetch job finds its item by id; a failed fetch counts and says why.
    assert_eq!(store.evidence_by_id("e-404").await.unwrap(), None);
    assert!(
        store
            .evidence_by_id("e-2")
            .await
            .unwrap()
            .unwrap()
            .is_pending()
    );
    let mut tx = db.begin_write().await.unwrap();
    assert_eq!(store.pending_evidence_ids(&mut tx).await.unwrap(), ["e-2"]);
    tx.commit().await.unwrap();
    store
        .record_fetch_failure("e-2", "still down")
        .await
        .unwrap();
    let mut item = store.evidence_by_id("e-2").await.unwrap().unwrap();
    assert_eq!(
        (item.fetch_attempts, item.pending_reason.as_str()),
        (2, "still down")
    );

    item.content = Some(b"[]".to_vec());
    item.content_sha256 = "a".repeat(64);
    item.title = "Dispatch timeline".into();
    let mut tx = db.begin_write().await.unwrap();
    assert!(store.complete_evidence(&mut tx, &item).await.unwrap());
    assert!(!store.complete_evidence(&mut tx, &item).await.unwrap());
    tx.commit().await.unwrap();
    let done = store.evidence("c-1", true).await.unwrap().remove(1);
    assert_eq!(done.status, "EVIDENCE_STATUS_ATTACHED");
    assert_eq!((done.fetch_attempts, done.pending_reason.as_str()), (3, ""));
    assert_eq!(done.content.as_deref(), Some(&b"[]"[..]));
    // Attached: no longer pending, and a late failure changes nothing.
    store.record_fetch_failure("e-2", "late").await.unwrap();
    assert_eq!(store.evidence_by_id("e-2").await.unwrap(), Some(done));
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        store
            .pending_evidence_ids(&mut tx)
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
    database.cleanup().await;
}

fn entry(n: i64, recorded_day: u32) -> (NewAuditEntry, DateTime<Utc>) {
    let new = NewAuditEntry {
        entry_id: format!("entry-{n}"),
        actor_subject: format!("officer-{}", n % 2),
        actor_role: "inspector".into(),
        action: if n % 2 == 0 {
            "grid.Find"
        } else {
            "complaints-audit.FileComplaint"
        }
        .into(),
        resource_type: "resident".into(),
        resource_id: format!("r-{n}"),
        occurred_at: at(recorded_day, 1),
        source_service: "grid-registry".into(),
        outcome: "AUDIT_OUTCOME_SUCCESS".into(),
        station_id: "st-a".into(),
        detail: "lookup".into(),
        ..NewAuditEntry::default()
    };
    (new, at(recorded_day, 2))
}

async fn audit_chain_appends_searches_and_prunes(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let head = store.audit_head().await.unwrap();
    assert_eq!(
        (head.last_sequence, head.last_hash.as_str()),
        (0, GENESIS_HASH)
    );
    for n in 1..=5 {
        let (new, recorded) = entry(n, u32::try_from(n).unwrap());
        let mut tx = db.begin_write().await.unwrap();
        let row = store.append_audit(&mut tx, new, recorded).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(row.sequence, n);
        assert_eq!(row.hash, chain_hash(&row.prev_hash, &row));
    }
    let mut tx = db.begin_write().await.unwrap();
    let (again, recorded) = entry(3, 9);
    let refused = store.append_audit(&mut tx, again, recorded).await;
    assert!(
        matches!(refused, Err(StorageError::Conflict(_))),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();

    let rows = store.audit_range(1, 5, 100).await.unwrap();
    assert_eq!(rows.len(), 5);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let head = store.audit_head().await.unwrap();
    assert_eq!((head.last_sequence, &head.last_hash), (5, &rows[4].hash));
    assert_eq!(
        store.audit_hash(2).await.unwrap(),
        Some(rows[1].hash.clone())
    );
    assert_eq!(store.audit_hash(6).await.unwrap(), None);
    assert_eq!(
        store.audit_entry("entry-4").await.unwrap(),
        Some(rows[3].clone())
    );

    let sequences = |rows: Vec<pingan_complaints_audit::domain::audit::AuditRow>| -> Vec<i64> {
        rows.iter().map(|r| r.sequence).collect()
    };
    let by_actor = AuditFilter {
        actor_subject: "officer-1".into(),
        limit: 10,
        ..AuditFilter::default()
    };
    assert_eq!(
        sequences(store.query_audit(&by_actor).await.unwrap()),
        [1, 3, 5]
    );
    let newest = AuditFilter {
        newest_first: true,
        limit: 2,
        ..by_actor.clone()
    };
    assert_eq!(sequences(store.query_audit(&newest).await.unwrap()), [5, 3]);
    let after = AuditFilter {
        after_sequence: 3,
        ..newest
    };
    assert_eq!(sequences(store.query_audit(&after).await.unwrap()), [1]);
    let in_time = AuditFilter {
        from: Some(at(2, 0)),
        to: Some(at(4, 0)),
        limit: 10,
        ..AuditFilter::default()
    };
    assert_eq!(
        sequences(store.query_audit(&in_time).await.unwrap()),
        [2, 3]
    );

    // Rows recorded before the 3rd go; the anchor is the hash of the last one removed.
    assert_eq!(store.prune_audit(at(3, 0)).await.unwrap(), 2);
    let head = store.audit_head().await.unwrap();
    assert_eq!((head.pruned_through, &head.anchor_hash), (2, &rows[1].hash));
    assert_eq!(store.prune_audit(at(3, 0)).await.unwrap(), 0);
    assert_eq!(
        sequences(store.audit_range(1, 5, 100).await.unwrap()),
        [3, 4, 5]
    );
    database.cleanup().await;
}

/// A batch continues the chain a single append left, in order; an id already stored is a
/// conflict that takes no sequence, and the rows read back are exactly the rows answered.
async fn audit_chain_appends_a_batch_with_the_head_locked_once(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let (first, recorded) = entry(1, 1);
    let mut tx = db.begin_write().await.unwrap();
    let one = store.append_audit(&mut tx, first, recorded).await.unwrap();
    tx.commit().await.unwrap();

    let batch: Vec<NewAuditEntry> = [2, 1, 3, 4].iter().map(|n| entry(*n, 2).0).collect();
    let mut tx = db.begin_write().await.unwrap();
    let results = store
        .append_audit_batch(&mut tx, batch, at(2, 3))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(results.len(), 4);
    assert!(
        matches!(results[1], Err(StorageError::Conflict(_))),
        "{:?}",
        results[1]
    );
    let appended: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
    assert_eq!(
        appended.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(appended[0].prev_hash, one.hash);
    let rows = store.audit_range(1, 10, 100).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1..], appended[..], "stored as answered");
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].hash, chain_hash(&pair[1].prev_hash, &pair[1]));
    }
    let head = store.audit_head().await.unwrap();
    assert_eq!((head.last_sequence, &head.last_hash), (4, &rows[3].hash));

    // A single append after the batch links to it; an empty batch writes nothing.
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        store
            .append_audit_batch(&mut tx, Vec::new(), at(3, 0))
            .await
            .unwrap()
            .is_empty()
    );
    let (fifth, recorded) = entry(5, 3);
    let five = store.append_audit(&mut tx, fifth, recorded).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((five.sequence, &five.prev_hash), (5, &rows[3].hash));
    database.cleanup().await;
}

backend_tests!(
    audit_chain_appends_a_batch_with_the_head_locked_once,
    complaints_are_stored_found_locked_and_updated,
    complaints_list_filters_pages_and_warnings,
    evidence_waits_pending_until_completed_once,
    audit_chain_appends_searches_and_prunes,
);
