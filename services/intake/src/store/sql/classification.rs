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
const INSERT_RULES: &str = "INSERT INTO intake_classification_rules (incident_id, position, \
    rule_id, category, effect, kind, priority, explanation)";
const INSERT_SITUATIONS: &str = "INSERT INTO intake_classification_situations (incident_id, \
    position, code, name)";
const INSERT_REQUIREMENTS: &str = "INSERT INTO intake_classification_requirements (incident_id, \
    position, unit_count)";
const INSERT_VALUES: &str = "INSERT INTO intake_classification_values (incident_id, list_name, \
    owner_position, position, value)";
/// Most rows in one INSERT (far under both backends' parameter limits).
const ROWS_PER_STATEMENT: usize = 100;

/// Inserts `rows` in multi-row statements of at most [`ROWS_PER_STATEMENT`] rows, each row's
/// `width` arguments bound by `bind`.
macro_rules! insert_all {
    ($tx:expr, $head:expr, $width:expr, $rows:expr, |$query:ident, $row:tt| $bind:expr) => {
        for chunk in $rows.chunks(ROWS_PER_STATEMENT) {
            let sql = multi_insert($head, $width, chunk.len());
            with_tx!($tx, conn => {
                let mut $query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for $row in chunk {
                    $query = $bind;
                }
                $query.execute(&mut *conn).await.map(|r| r.rows_affected())
            })?;
        }
    };
}

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
    match c {
        Some(c) => add(tx, incident_id, c).await,
        None => set_scalars(tx, incident_id, None).await,
    }
}

/// Writes the classification of an incident that has no child rows: its scalars, then each
/// list in one multi-row INSERT (not one statement per row).
pub(super) async fn add(
    tx: &mut Tx,
    incident_id: &str,
    c: &ClassificationRecord,
) -> Result<(), StorageError> {
    set_scalars(tx, incident_id, Some(c)).await?;
    let rules: Vec<(i32, &RuleMatch)> = c
        .matched_rules
        .iter()
        .enumerate()
        .map(|(i, r)| (position(i), r))
        .collect();
    insert_all!(tx, INSERT_RULES, 8, rules, |query, (i, rule)| query
        .bind(incident_id)
        .bind(*i)
        .bind(rule.rule_id.as_str())
        .bind(rule.category.as_str())
        .bind(rule.effect.as_str_name())
        .bind(rule.kind.as_str_name())
        .bind(rule.priority.as_str_name())
        .bind(rule.explanation.as_str()));
    let situations: Vec<(i32, &SituationMatch)> = c
        .situations
        .iter()
        .enumerate()
        .map(|(i, m)| (position(i), m))
        .collect();
    insert_all!(
        tx,
        INSERT_SITUATIONS,
        4,
        situations,
        |query, (i, situation)| query
            .bind(incident_id)
            .bind(*i)
            .bind(situation.code.as_str())
            .bind(situation.name.as_str())
    );
    let needs: Vec<(i32, &UnitNeed)> = c
        .unit_requirements
        .iter()
        .enumerate()
        .map(|(i, n)| (position(i), n))
        .collect();
    insert_all!(tx, INSERT_REQUIREMENTS, 3, needs, |query, (i, need)| query
        .bind(incident_id)
        .bind(*i)
        .bind(need.count));
    let values = list_values(c);
    insert_all!(
        tx,
        INSERT_VALUES,
        5,
        values,
        |query, (list, owner, i, value)| query
            .bind(incident_id)
            .bind(*list)
            .bind(*owner)
            .bind(*i)
            .bind(*value)
    );
    Ok(())
}

async fn set_scalars(
    tx: &mut Tx,
    incident_id: &str,
    c: Option<&ClassificationRecord>,
) -> Result<(), StorageError> {
    let empty = ClassificationRecord::default();
    let r = c.unwrap_or(&empty);
    let kind = c.map(|c| c.kind.as_str_name());
    with_tx!(tx, conn => sqlx::query(SET_SCALARS)
        .bind(incident_id).bind(kind).bind(&r.category).bind(r.priority.as_str_name())
        .bind(r.response_target_ms).bind(&r.department).bind(&r.category_name)
        .bind(&r.rules_version).bind(r.needs_confirmation).bind(&r.catalogue_version)
        .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Every string of the nested lists as (list, owner position, position, value).
fn list_values(c: &ClassificationRecord) -> Vec<(&'static str, i32, i32, &str)> {
    fn push<'a>(
        out: &mut Vec<(&'static str, i32, i32, &'a str)>,
        list: &'static str,
        owner: usize,
        items: impl Iterator<Item = &'a str>,
    ) {
        out.extend(
            items
                .enumerate()
                .map(|(i, value)| (list, position(owner), position(i), value)),
        );
    }
    let mut out = Vec::new();
    for (i, rule) in c.matched_rules.iter().enumerate() {
        push(
            &mut out,
            RULE_MATCHED,
            i,
            rule.matched_words.iter().map(String::as_str),
        );
        push(
            &mut out,
            RULE_NEGATED,
            i,
            rule.negated_words.iter().map(String::as_str),
        );
    }
    for (i, situation) in c.situations.iter().enumerate() {
        let words = situation.matched_words.iter().map(String::as_str);
        push(&mut out, SITUATION_MATCHED, i, words);
    }
    for (i, need) in c.unit_requirements.iter().enumerate() {
        push(
            &mut out,
            REQUIREMENT_KINDS,
            i,
            need.kinds.iter().map(|k| k.as_str_name()),
        );
        let capabilities = need.capabilities.iter().map(String::as_str);
        push(&mut out, REQUIREMENT_CAPABILITIES, i, capabilities);
    }
    out
}

/// `{head} VALUES ($1, …), (…)`: `rows` rows of `width` placeholders (numbers only: no data).
fn multi_insert(head: &str, width: usize, rows: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let marks: Vec<String> = (1..=width)
                .map(|c| format!("${}", row * width + c))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    format!("{head} VALUES {}", tuples.join(", "))
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

/// An incident read with its classification's scalars in the same row (one statement).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct IncidentRow {
    #[sqlx(flatten)]
    pub(super) incident: IncidentRecord,
    class_kind: Option<String>,
    class_category: String,
    class_priority: String,
    class_response_target_ms: Option<i64>,
    class_department: String,
    class_category_name: String,
    class_rules_version: String,
    class_needs_confirmation: bool,
    class_catalogue_version: String,
}

/// The columns of an [`IncidentRow`] besides the incident's own.
pub(super) const SCALAR_COLUMNS: &str = "class_kind, class_category, class_priority, \
    class_response_target_ms, class_department, class_category_name, class_rules_version, \
    class_needs_confirmation, class_catalogue_version";

/// The incidents of `rows` with their classifications (the lists read for the classified).
pub(super) async fn with_classification(
    tx: &mut Tx,
    rows: Vec<IncidentRow>,
) -> Result<Vec<IncidentRecord>, StorageError> {
    let mut found = HashMap::new();
    let mut ids = Vec::new();
    let mut incidents = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(kind) = row.class_kind {
            ids.push(row.incident.incident_id.clone());
            found.insert(
                row.incident.incident_id.clone(),
                ClassificationRecord {
                    kind: Kind::from_str_name(&kind).unwrap_or(Kind::Unspecified),
                    category: row.class_category,
                    priority: priority(&row.class_priority),
                    response_target_ms: row.class_response_target_ms,
                    matched_rules: Vec::new(),
                    department: row.class_department,
                    category_name: row.class_category_name,
                    rules_version: row.class_rules_version,
                    needs_confirmation: row.class_needs_confirmation,
                    situations: Vec::new(),
                    unit_requirements: Vec::new(),
                    catalogue_version: row.class_catalogue_version,
                },
            );
        }
        incidents.push(row.incident);
    }
    if !ids.is_empty() {
        attach_lists(tx, &ids, &mut found).await?;
    }
    for incident in &mut incidents {
        incident.classification = found.remove(&incident.incident_id);
    }
    Ok(incidents)
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

/// The four child lists of a classification read in one statement: which list, the incident,
/// the values' order keys (list name, owner), the position, six text columns and a count.
type ListRow = (
    i32,
    String,
    String,
    i32,
    i32,
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
);

/// The lists of [`ListRow`], in the order their rows must be placed (a value after its owner).
const LIST_RULES: i32 = 0;
const LIST_SITUATIONS: i32 = 1;
const LIST_REQUIREMENTS: i32 = 2;
const LIST_VALUES: i32 = 3;

/// One `UNION ALL` over the four child tables for `count` ids (one round trip, not four).
fn lists_for(count: usize) -> String {
    let marks: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    let within = format!("WHERE incident_id IN ({})", marks.join(", "));
    format!(
        "SELECT {LIST_RULES} AS list, incident_id, '' AS k1, 0 AS k2, position, rule_id AS a, \
         category AS b, effect AS c, kind AS d, priority AS e, explanation AS f, 0 AS n \
         FROM intake_classification_rules {within} \
         UNION ALL SELECT {LIST_SITUATIONS}, incident_id, '', 0, position, code, name, '', '', '', \
         '', 0 FROM intake_classification_situations {within} \
         UNION ALL SELECT {LIST_REQUIREMENTS}, incident_id, '', 0, position, '', '', '', '', '', '', \
         unit_count FROM intake_classification_requirements {within} \
         UNION ALL SELECT {LIST_VALUES}, incident_id, list_name, owner_position, position, value, \
         '', '', '', '', '', 0 FROM intake_classification_values {within} \
         ORDER BY 1, 2, 3, 4, 5"
    )
}

/// Reads the child rows of the classified incidents among `ids` into `found`.
async fn attach_lists(
    tx: &mut Tx,
    ids: &[String],
    found: &mut HashMap<String, ClassificationRecord>,
) -> Result<(), StorageError> {
    let sql = lists_for(ids.len());
    for (list, incident_id, list_name, owner, _, a, b, c, d, e, f, n) in
        fetch_for!(tx, ListRow, sql, ids)?
    {
        let Some(record) = found.get_mut(&incident_id) else {
            continue;
        };
        match list {
            LIST_RULES => record.matched_rules.push(RuleMatch {
                rule_id: a,
                category: b,
                matched_words: Vec::new(),
                effect: RuleEffect::from_str_name(&c).unwrap_or(RuleEffect::Unspecified),
                kind: Kind::from_str_name(&d).unwrap_or(Kind::Unspecified),
                priority: priority(&e),
                negated_words: Vec::new(),
                explanation: f,
            }),
            LIST_SITUATIONS => record.situations.push(SituationMatch {
                code: a,
                name: b,
                matched_words: Vec::new(),
            }),
            LIST_REQUIREMENTS => record.unit_requirements.push(UnitNeed {
                kinds: Vec::new(),
                capabilities: Vec::new(),
                count: n,
            }),
            _ => place_value(record, &list_name, owner, a),
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

/// Locks an incident that still holds an old classification blob and reads the blob, in one
/// statement; an incident without one is not locked (nothing will write a blob again).
pub(super) async fn lock_legacy_blob(
    tx: &mut Tx,
    incident_id: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    const SQL: &str = "UPDATE intake_incidents SET updated_at = updated_at \
        WHERE incident_id = $1 AND classification IS NOT NULL RETURNING classification";
    Ok(
        with_tx!(tx, conn => sqlx::query_scalar(SQL).bind(incident_id)
        .fetch_optional(&mut *conn).await)?,
    )
}
