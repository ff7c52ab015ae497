//! Findings in columns on both backends: written, replaced and read back; and a finding a
//! bureau stored under the 0002 schema (an encoded `ComplaintFinding`) read after the upgrade.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::borrow::Cow;

use chrono::Duration;
use common::rows::{at, complaint};
use pingan_complaints_audit::MIGRATIONS;
use pingan_complaints_audit::api::convert::finding;
use pingan_complaints_audit::store::{SqlStore, Store, upgrade_legacy};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, Db, Migrations};
use pingan_platform::testing::TestDatabase;
use pingan_platform::time::to_timestamp;
use pingan_platform::with_db;
use pingan_proto::audit::v1::{ActionKind, ComplaintFinding, Finding, FindingAction};
use pingan_proto::common::v1::Actor;
use prost::Message as _;
use sqlx::migrate::Migrator;

/// A reviewed finding with every field set.
fn reviewed() -> ComplaintFinding {
    let actor = |subject: &str, role: &str| Actor {
        subject: subject.into(),
        role: role.into(),
        display_name: format!("{subject} (name)"),
    };
    ComplaintFinding {
        finding: Finding::Substantiated as i32,
        reasoning: "bodycam shows raised voice".into(),
        actions: vec![
            FindingAction {
                kind: ActionKind::OfficerDiscipline as i32,
                officer_id: "off-1".into(),
                detail: "警告".into(),
                legal_basis: "条例 第十条".into(),
                referred_to: String::new(),
            },
            FindingAction {
                kind: ActionKind::Apology as i32,
                ..FindingAction::default()
            },
        ],
        evidence_ids: vec!["e-2".into(), "e-1".into()],
        legal_opinion: "proportionate".into(),
        reply_text: "您的投诉部分属实".into(),
        proposed_by: Some(actor("insp-1", "inspector")),
        proposed_at: Some(to_timestamp(at(23, 4) + Duration::microseconds(17))),
        approved: true,
        reviewed_by: Some(actor("legal-1", "legal_unit")),
        reviewed_at: Some(to_timestamp(at(24, 9))),
        review_notes: "agreed".into(),
    }
}

fn migrations_until(version: i64) -> Migrations {
    let cut = |m: &Migrator| -> &'static Migrator {
        let kept: Vec<_> = m
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect();
        Box::leak(Box::new(Migrator {
            migrations: Cow::Owned(kept),
            ..Migrator::DEFAULT
        }))
    };
    Migrations {
        postgres: cut(MIGRATIONS.postgres),
        sqlite: cut(MIGRATIONS.sqlite),
    }
}

async fn encoded_rows(db: &Db) -> i64 {
    const SQL: &str = "SELECT COUNT(*) FROM complaints WHERE finding_record IS NOT NULL";
    with_db!(db, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await).unwrap()
}

async fn findings_are_stored_in_columns_and_replaced(backend: Backend) {
    let database = TestDatabase::create(backend, &MIGRATIONS).await.unwrap();
    let store = SqlStore::new(database.db.clone());
    let mut tx = database.db.begin_write().await.unwrap();
    store
        .insert_complaint(&mut tx, &complaint("c-1", "st-a", at(22, 2)), &[])
        .await
        .unwrap();
    assert_eq!(store.finding_in(&mut tx, "c-1").await.unwrap(), None);
    let record =
        pingan_complaints_audit::store::legacy_decode("c-1", &reviewed().encode_to_vec()).unwrap();
    store.put_finding(&mut tx, &record).await.unwrap();
    assert_eq!(
        store.finding_in(&mut tx, "c-1").await.unwrap().as_ref(),
        Some(&record)
    );
    tx.commit().await.unwrap();
    let read = store.finding("c-1").await.unwrap().unwrap();
    assert_eq!(finding(&read), reviewed());
    // Returned for more work: fewer actions and evidence, not reviewed yet.
    let mut returned = read.clone();
    returned.actions.truncate(1);
    returned.evidence_ids.truncate(1);
    returned.head.approved = false;
    returned.head.reviewed_by_subject.clear();
    returned.head.reviewed_by_role.clear();
    returned.head.reviewed_at = None;
    let mut tx = database.db.begin_write().await.unwrap();
    store.put_finding(&mut tx, &returned).await.unwrap();
    tx.commit().await.unwrap();
    let read = store.finding("c-1").await.unwrap().unwrap();
    assert_eq!(read, returned);
    assert_eq!(finding(&read).reviewed_by, None);
    assert_eq!(store.finding("c-404").await.unwrap(), None);
    database.cleanup().await;
}

/// A finding encoded by the 0002 schema is read before and after migration 0003's data step.
async fn an_encoded_finding_is_converted_and_read_back(backend: Backend) {
    let database = TestDatabase::create(backend, &migrations_until(2))
        .await
        .unwrap();
    let db = &database.db;
    let store = SqlStore::new(db.clone());
    let mut tx = db.begin_write().await.unwrap();
    for id in ["c-1", "c-2"] {
        store
            .insert_complaint(&mut tx, &complaint(id, "st-a", at(22, 2)), &[])
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    // As the 0002 store wrote it: the whole message, encoded, in the complaint row.
    const ENCODED: &str = "UPDATE complaints SET finding_record = $1 WHERE complaint_id = 'c-1'";
    let bytes = reviewed().encode_to_vec();
    with_db!(db, pool => sqlx::query(ENCODED).bind(bytes).execute(pool).await.map(|_| ())).unwrap();

    db.migrate(&MIGRATIONS).await.expect("upgrade to columns");
    // Read before the data step: from the old encoding.
    let before = store.finding("c-1").await.unwrap().expect("finding");
    assert_eq!(finding(&before), reviewed());
    assert_eq!(upgrade_legacy(db).await.expect("convert"), 1);
    assert_eq!(upgrade_legacy(db).await.expect("again"), 0, "idempotent");
    assert_eq!(encoded_rows(db).await, 0);
    // Read after: from the columns, the same finding.
    let after = store.finding("c-1").await.unwrap().expect("finding");
    assert_eq!(after, before);
    assert_eq!(finding(&after), reviewed());
    assert_eq!(after.actions[0].kind, "ACTION_KIND_OFFICER_DISCIPLINE");
    assert_eq!(after.evidence_ids, ["e-2", "e-1"]);
    assert_eq!(store.finding("c-2").await.unwrap(), None);
    database.cleanup().await;
}

backend_tests!(
    findings_are_stored_in_columns_and_replaced,
    an_encoded_finding_is_converted_and_read_back,
);
