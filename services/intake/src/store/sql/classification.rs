//! Triage's classification of an incident: its scalars on `intake_incidents` (`class_*`, enums by
//! their text name), its lists in child tables keyed by incident and position, and the blobs of
//! the old layout that the start-up data step converts.

use std::collections::HashMap;

use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::{with_db, with_tx};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::UnitKind;
use pingan_proto::triage::v1::{Kind, RuleEffect};

use crate::domain::{ClassificationRecord, IncidentRecord, RuleMatch, SituationMatch, UnitNeed};

const CHILD_TABLES: [&str; 4] = [
    "intake_classification_values",
    "intake_classification_rules",
    "intake_classification_situations",
    "intake_classification_requirements",
];

const SET_SCALARS: &str = "UPDATE intake_incidents SET classification = NULL, class_kind = $2, \
    class_category = $3, class_priority = $4, class_response_target_ms = $5, \
    class_department = $6, class_category_name = $7, class_rules_version = $8, \
    class_needs_confirmation = $9, class_catalogue_version = $10 WHERE incident_id = $1";
const INSERT_RULE: &str = "INSERT INTO intake_classification_rules (incident_id, position, \
    rule_id, category, effect, kind, priority, explanation) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_SITUATION: &str = "INSERT INTO intake_classification_situations (incident_id, \
    position, code, name) VALUES ($1, $2, $3, $4)";
const INSERT_REQUIREMENT: &str = "INSERT INTO intake_classification_requirements (incident_id, \
    position, unit_count) VALUES ($1, $2, $3)";
const INSERT_VALUE: &str = "INSERT INTO intake_classification_values (incident_id, list_name, \
    owner_position, position, value) VALUES ($1, $2, $3, $4, $5)";

const RULE_MATCHED: &str = "rule_matched_words";
const RULE_NEGATED: &str = "rule_negated_words";
const SITUATION_MATCHED: &str = "situation_matched_words";
const REQUIREMENT_KINDS: &str = "requirement_kinds";
const REQUIREMENT_CAPABILITIES: &str = "requirement_capabilities";

type ScalarRow = (
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
    bool,
    String,
);
type RuleRow = (String, i32, String, String, String, String, String, String);
type SituationRow = (String, i32, String, String);
type RequirementRow = (String, i32, i32);
type ValueRow = (String, String, i32, i32, String);

fn position(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// Replaces the classification of an incident (`None`: not classified) and clears its old blob.
pub(super) async fn write(
    tx: &mut Tx,
    incident_id: &str,
    c: Option<&ClassificationRecord>,
) -> Result<(), StorageError> {
    for table in CHILD_TABLES {
        let sql = format!("DELETE FROM {table} WHERE incident_id = $1");
        with_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(incident_id)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    }
    let empty = ClassificationRecord::default();
    let r = c.unwrap_or(&empty);
    let kind = c.map(|c| c.kind.as_str_name());
    with_tx!(tx, conn => sqlx::query(SET_SCALARS)
        .bind(incident_id).bind(kind).bind(&r.category).bind(r.priority.as_str_name())
        .bind(r.response_target_ms).bind(&r.department).bind(&r.category_name)
        .bind(&r.rules_version).bind(r.needs_confirmation).bind(&r.catalogue_version)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    let Some(c) = c else {
        return Ok(());
    };
    for (i, rule) in c.matched_rules.iter().enumerate() {
        with_tx!(tx, conn => sqlx::query(INSERT_RULE)
            .bind(incident_id).bind(position(i)).bind(&rule.rule_id).bind(&rule.category)
            .bind(rule.effect.as_str_name()).bind(rule.kind.as_str_name())
            .bind(rule.priority.as_str_name()).bind(&rule.explanation)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        values(tx, incident_id, RULE_MATCHED, i, rule.matched_words.iter()).await?;
        values(tx, incident_id, RULE_NEGATED, i, rule.negated_words.iter()).await?;
    }
    for (i, situation) in c.situations.iter().enumerate() {
        with_tx!(tx, conn => sqlx::query(INSERT_SITUATION)
            .bind(incident_id).bind(position(i)).bind(&situation.code).bind(&situation.name)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        values(
            tx,
            incident_id,
            SITUATION_MATCHED,
            i,
            situation.matched_words.iter(),
        )
        .await?;
    }
    for (i, need) in c.unit_requirements.iter().enumerate() {
        with_tx!(tx, conn => sqlx::query(INSERT_REQUIREMENT)
            .bind(incident_id).bind(position(i)).bind(need.count)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
        let kinds = need.kinds.iter().map(|k| k.as_str_name());
        values(tx, incident_id, REQUIREMENT_KINDS, i, kinds).await?;
        let capabilities = need.capabilities.iter();
        values(tx, incident_id, REQUIREMENT_CAPABILITIES, i, capabilities).await?;
    }
    Ok(())
}

/// Writes one nested list of strings.
async fn values<S: AsRef<str>>(
    tx: &mut Tx,
    incident_id: &str,
    list: &str,
    owner: usize,
    items: impl Iterator<Item = S>,
) -> Result<(), StorageError> {
    for (i, value) in items.enumerate() {
        with_tx!(tx, conn => sqlx::query(INSERT_VALUE)
            .bind(incident_id).bind(list).bind(position(owner)).bind(position(i))
            .bind(value.as_ref())
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// `SELECT {columns} FROM {table} WHERE incident_id IN ($1, …)` for `count` ids.
fn select_for(columns: &str, table: &str, count: usize, order: &str) -> String {
    let marks: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    format!(
        "SELECT {columns} FROM {table} WHERE incident_id IN ({}) ORDER BY {order}",
        marks.join(", ")
    )
}

macro_rules! fetch_for {
    ($tx:expr, $row:ty, $sql:expr, $ids:expr) => {
        with_tx!($tx, conn => {
            let mut query = sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe($sql.clone()));
            for id in $ids {
                query = query.bind(id.as_str());
            }
            query.fetch_all(&mut *conn).await
        })
    };
}

/// Fills in the classification of each of `incidents`.
pub(super) async fn attach(
    tx: &mut Tx,
    incidents: &mut [IncidentRecord],
) -> Result<(), StorageError> {
    if incidents.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = incidents.iter().map(|i| i.incident_id.clone()).collect();
    let n = ids.len();
    let sql = select_for(
        "incident_id, class_kind, class_category, class_priority, class_response_target_ms, \
         class_department, class_category_name, class_rules_version, \
         class_needs_confirmation, class_catalogue_version",
        "intake_incidents",
        n,
        "incident_id",
    );
    let scalars = fetch_for!(tx, ScalarRow, sql, &ids)?;
    let mut found: HashMap<String, ClassificationRecord> = scalars
        .into_iter()
        .filter_map(|row| {
            let kind = row.1?;
            Some((
                row.0,
                ClassificationRecord {
                    kind: Kind::from_str_name(&kind).unwrap_or(Kind::Unspecified),
                    category: row.2,
                    priority: priority(&row.3),
                    response_target_ms: row.4,
                    matched_rules: Vec::new(),
                    department: row.5,
                    category_name: row.6,
                    rules_version: row.7,
                    needs_confirmation: row.8,
                    situations: Vec::new(),
                    unit_requirements: Vec::new(),
                    catalogue_version: row.9,
                },
            ))
        })
        .collect();
    if !found.is_empty() {
        attach_lists(tx, &ids, &mut found).await?;
    }
    for incident in incidents.iter_mut() {
        incident.classification = found.remove(&incident.incident_id);
    }
    Ok(())
}

fn priority(name: &str) -> Priority {
    Priority::from_str_name(name).unwrap_or(Priority::Unspecified)
}

/// Reads the child rows of the classified incidents among `ids` into `found`.
async fn attach_lists(
    tx: &mut Tx,
    ids: &[String],
    found: &mut HashMap<String, ClassificationRecord>,
) -> Result<(), StorageError> {
    let n = ids.len();
    let sql = select_for(
        "incident_id, position, rule_id, category, effect, kind, priority, explanation",
        "intake_classification_rules",
        n,
        "incident_id, position",
    );
    for row in fetch_for!(tx, RuleRow, sql, ids)? {
        if let Some(c) = found.get_mut(&row.0) {
            c.matched_rules.push(RuleMatch {
                rule_id: row.2,
                category: row.3,
                matched_words: Vec::new(),
                effect: RuleEffect::from_str_name(&row.4).unwrap_or(RuleEffect::Unspecified),
                kind: Kind::from_str_name(&row.5).unwrap_or(Kind::Unspecified),
                priority: priority(&row.6),
                negated_words: Vec::new(),
                explanation: row.7,
            });
        }
    }
    let sql = select_for(
        "incident_id, position, code, name",
        "intake_classification_situations",
        n,
        "incident_id, position",
    );
    for row in fetch_for!(tx, SituationRow, sql, ids)? {
        if let Some(c) = found.get_mut(&row.0) {
            c.situations.push(SituationMatch {
                code: row.2,
                name: row.3,
                matched_words: Vec::new(),
            });
        }
    }
    let sql = select_for(
        "incident_id, position, unit_count",
        "intake_classification_requirements",
        n,
        "incident_id, position",
    );
    for row in fetch_for!(tx, RequirementRow, sql, ids)? {
        if let Some(c) = found.get_mut(&row.0) {
            c.unit_requirements.push(UnitNeed {
                kinds: Vec::new(),
                capabilities: Vec::new(),
                count: row.2,
            });
        }
    }
    let sql = select_for(
        "incident_id, list_name, owner_position, position, value",
        "intake_classification_values",
        n,
        "incident_id, list_name, owner_position, position",
    );
    for row in fetch_for!(tx, ValueRow, sql, ids)? {
        if let Some(c) = found.get_mut(&row.0) {
            place_value(c, &row.1, row.2, row.4);
        }
    }
    Ok(())
}

/// Puts one string of a nested list where it belongs; a value without its owner is skipped.
fn place_value(c: &mut ClassificationRecord, list: &str, owner: i32, value: String) {
    let owner = usize::try_from(owner).unwrap_or(usize::MAX);
    match list {
        RULE_MATCHED | RULE_NEGATED => {
            if let Some(rule) = c.matched_rules.get_mut(owner) {
                if list == RULE_MATCHED {
                    rule.matched_words.push(value);
                } else {
                    rule.negated_words.push(value);
                }
            }
        }
        SITUATION_MATCHED => {
            if let Some(situation) = c.situations.get_mut(owner) {
                situation.matched_words.push(value);
            }
        }
        REQUIREMENT_KINDS | REQUIREMENT_CAPABILITIES => {
            if let Some(need) = c.unit_requirements.get_mut(owner) {
                if list == REQUIREMENT_KINDS {
                    need.kinds
                        .push(UnitKind::from_str_name(&value).unwrap_or(UnitKind::Unspecified));
                } else {
                    need.capabilities.push(value);
                }
            }
        }
        _ => {}
    }
}

/// Up to `limit` incidents still holding a classification blob of the old layout.
pub(super) async fn legacy_ids(db: &Db, limit: i64) -> Result<Vec<String>, StorageError> {
    const SQL: &str = "SELECT incident_id FROM intake_incidents \
        WHERE classification IS NOT NULL ORDER BY incident_id LIMIT $1";
    Ok(with_db!(db, pool => sqlx::query_scalar(SQL).bind(limit).fetch_all(pool).await)?)
}

/// The old classification blob of an incident locked in `tx`, if it still has one.
pub(super) async fn legacy_blob(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    const SQL: &str = "SELECT classification FROM intake_incidents \
        WHERE incident_id = $1 AND classification IS NOT NULL";
    Ok(
        with_tx!(tx, conn => sqlx::query_scalar(SQL).bind(incident_id)
        .fetch_optional(&mut *conn).await)?,
    )
}
