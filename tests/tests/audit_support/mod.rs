//! Shared by the audit-anchoring tests: the audit records they append, the checkpoint key's
//! test seed, and the database intruder's steps (lift the append-only guard, cut the tail).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pingan_platform::storage::Db;
use pingan_proto::audit::v1::{AuditOutcome, AuditRecord};
use pingan_proto::common::v1::Actor;
use pingan_tests::TestBackend;

/// A fixed test seed: the key lives in a file, never in the database.
pub const SEED: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa11";

/// An audit record of grid-registry, numbered `n`.
pub fn record(n: i64) -> AuditRecord {
    AuditRecord {
        actor: Some(Actor {
            subject: "vo-1".into(),
            role: "village_officer".into(),
            display_name: String::new(),
        }),
        action: "grid.GetResident".into(),
        resource_type: "resident".into(),
        resource_id: format!("res-{n}"),
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_758_600_000 + n,
            nanos: 0,
        }),
        source_service: "grid-registry".into(),
        outcome: AuditOutcome::Success as i32,
        ..AuditRecord::default()
    }
}

pub async fn sql(db: &Db, statement: &str) {
    let statement = statement.to_owned();
    pingan_platform::with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .unwrap_or_else(|err| panic!("{statement}: {err}"));
}

/// Someone with database rights lifts the append-only guard.
pub async fn lift_guards(db: &Db, backend: TestBackend) {
    match backend {
        TestBackend::Postgres => {
            sql(
                db,
                "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
            )
            .await;
        }
        TestBackend::Sqlite => {
            sql(db, "DROP TRIGGER audit_entries_no_update").await;
            sql(db, "DROP TRIGGER audit_entries_no_delete").await;
        }
    }
}

/// Deletes every row after `keep` and moves the chain head back to it.
pub async fn cut_tail(db: &Db, keep: i64) {
    sql(
        db,
        &format!("DELETE FROM audit_entries WHERE sequence > {keep}"),
    )
    .await;
    sql(
        db,
        &format!(
            "UPDATE audit_chain_head SET last_sequence = {keep}, last_hash = \
             (SELECT hash FROM audit_entries WHERE sequence = {keep}) WHERE id = 1"
        ),
    )
    .await;
}
