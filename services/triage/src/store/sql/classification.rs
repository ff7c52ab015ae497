//! The classification a transfer was made on: its scalars on `triage_transfers` (`class_*`,
//! enums by their text name), its lists in child tables keyed by transfer and position, and the
//! blobs of the layout before migration 0003 that the start-up data step converts.

use std::collections::HashMap;

use pingan_platform::storage::{Db, StorageError, Tx};
use pingan_platform::storage_rows::{self, Arg, Cols, Columns, On, execute, placeholders, t};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::UnitKind;
use pingan_proto::triage::v1::{Kind, RuleEffect};

use crate::store::{ClassificationRecord, RuleMatch, SituationMatch, TransferRow, UnitNeed};

const RULES: &str = "triage_classification_rules";
const SITUATIONS: &str = "triage_classification_situations";
const REQUIREMENTS: &str = "triage_classification_requirements";
const VALUES: &str = "triage_classification_values";

const RULE_MATCHED: &str = "rule_matched_words";
const RULE_NEGATED: &str = "rule_negated_words";
const SITUATION_MATCHED: &str = "situation_matched_words";
const REQUIREMENT_KINDS: &str = "requirement_kinds";
const REQUIREMENT_CAPABILITIES: &str = "requirement_capabilities";

/// Ids per `IN (…)` list (far below either backend's limit on bound parameters).
const IN_CHUNK: usize = 500;

/// The classification's columns on `triage_transfers`, with the old blob emptied.
pub(super) fn scalar_columns(c: Option<&ClassificationRecord>) -> Columns {
    let empty = ClassificationRecord::default();
    let r = c.unwrap_or(&empty);
    vec![
        ("classification", Arg::Bytes(Some(Vec::new()))),
        (
            "class_kind",
            Arg::Text(c.map(|c| c.kind.as_str_name().to_owned())),
        ),
        ("class_category", t(&r.category)),
        ("class_priority", t(r.priority.as_str_name())),
        ("class_response_target_ms", Arg::Int(r.response_target_ms)),
        ("class_department", t(&r.department)),
        ("class_category_name", t(&r.category_name)),
        ("class_rules_version", t(&r.rules_version)),
        ("class_needs_confirmation", Arg::Bool(r.needs_confirmation)),
        ("class_catalogue_version", t(&r.catalogue_version)),
    ]
}

/// Replaces the classification of a transfer (`None`: none readable) and empties its old blob.
pub(super) async fn write(
    tx: &mut Tx,
    transfer_id: &str,
    c: Option<&ClassificationRecord>,
) -> Result<(), StorageError> {
    let mut row: Columns = vec![("transfer_id", t(transfer_id))];
    row.extend(scalar_columns(c));
    storage_rows::update(tx, "triage_transfers", row).await?;
    write_lists(tx, transfer_id, c).await
}

fn position(index: usize) -> Arg {
    Arg::Int(Some(i64::try_from(index).unwrap_or(i64::MAX)))
}

/// Inserts one child row: the transfer and position first, then `columns`.
async fn child(
    tx: &mut Tx,
    table: &str,
    transfer_id: &str,
    index: usize,
    columns: Columns,
) -> Result<(), StorageError> {
    let mut row: Columns = vec![
        ("transfer_id", t(transfer_id)),
        ("position", position(index)),
    ];
    row.extend(columns);
    storage_rows::insert(tx, table, row, "").await?;
    Ok(())
}

/// Writes one nested list of strings.
async fn values<S: AsRef<str>>(
    tx: &mut Tx,
    transfer_id: &str,
    list: &'static str,
    owner: usize,
    items: impl Iterator<Item = S>,
) -> Result<(), StorageError> {
    for (i, value) in items.enumerate() {
        let columns = vec![
            ("list_name", t(list)),
            ("owner_position", position(owner)),
            ("value", t(value.as_ref())),
        ];
        child(tx, VALUES, transfer_id, i, columns).await?;
    }
    Ok(())
}

/// Replaces the child rows of a transfer's classification.
pub(super) async fn write_lists(
    tx: &mut Tx,
    transfer_id: &str,
    c: Option<&ClassificationRecord>,
) -> Result<(), StorageError> {
    for table in [VALUES, RULES, SITUATIONS, REQUIREMENTS] {
        let sql = format!("DELETE FROM {table} WHERE transfer_id = $1");
        execute(tx, &sql, vec![t(transfer_id)]).await?;
    }
    let Some(c) = c else {
        return Ok(());
    };
    for (i, rule) in c.matched_rules.iter().enumerate() {
        let columns = vec![
            ("rule_id", t(&rule.rule_id)),
            ("category", t(&rule.category)),
            ("effect", t(rule.effect.as_str_name())),
            ("kind", t(rule.kind.as_str_name())),
            ("priority", t(rule.priority.as_str_name())),
            ("explanation", t(&rule.explanation)),
        ];
        child(tx, RULES, transfer_id, i, columns).await?;
        values(tx, transfer_id, RULE_MATCHED, i, rule.matched_words.iter()).await?;
        values(tx, transfer_id, RULE_NEGATED, i, rule.negated_words.iter()).await?;
    }
    for (i, situation) in c.situations.iter().enumerate() {
        let columns = vec![("code", t(&situation.code)), ("name", t(&situation.name))];
        child(tx, SITUATIONS, transfer_id, i, columns).await?;
        let words = situation.matched_words.iter();
        values(tx, transfer_id, SITUATION_MATCHED, i, words).await?;
    }
    for (i, need) in c.unit_requirements.iter().enumerate() {
        let columns = vec![("unit_count", Arg::Int(Some(i64::from(need.count))))];
        child(tx, REQUIREMENTS, transfer_id, i, columns).await?;
        let kinds = need.kinds.iter().map(|k| k.as_str_name());
        values(tx, transfer_id, REQUIREMENT_KINDS, i, kinds).await?;
        let capabilities = need.capabilities.iter();
        values(tx, transfer_id, REQUIREMENT_CAPABILITIES, i, capabilities).await?;
    }
    Ok(())
}

fn priority(name: &str) -> Priority {
    Priority::from_str_name(name).unwrap_or(Priority::Unspecified)
}

fn kind(name: &str) -> Kind {
    Kind::from_str_name(name).unwrap_or(Kind::Unspecified)
}

/// The classification's scalars of a `triage_transfers` row (`None` when `class_kind` is NULL).
pub(super) fn decode_scalars(row: &dyn Cols) -> Result<Option<ClassificationRecord>, StorageError> {
    let Some(class_kind) = row.opt_text("class_kind")? else {
        return Ok(None);
    };
    Ok(Some(ClassificationRecord {
        kind: kind(&class_kind),
        category: row.text("class_category")?,
        priority: priority(&row.text("class_priority")?),
        response_target_ms: row.opt_int("class_response_target_ms")?,
        matched_rules: Vec::new(),
        department: row.text("class_department")?,
        category_name: row.text("class_category_name")?,
        rules_version: row.text("class_rules_version")?,
        needs_confirmation: row.flag("class_needs_confirmation")?,
        situations: Vec::new(),
        unit_requirements: Vec::new(),
        catalogue_version: row.text("class_catalogue_version")?,
    }))
}

/// The rows of `table` for `ids`, in transfer and `order` order.
async fn rows_for<T>(
    on: &mut On<'_>,
    table: &str,
    ids: &[String],
    order: &str,
    decode: storage_rows::Decode<(String, T)>,
) -> Result<Vec<(String, T)>, StorageError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT * FROM {table} WHERE transfer_id IN ({}) ORDER BY transfer_id, {order}",
            placeholders(1, chunk.len())
        );
        let args = chunk.iter().map(|id| t(id)).collect();
        found.extend(on.rows(&sql, args, decode).await?);
    }
    Ok(found)
}

fn owner(row: &dyn Cols, column: &str) -> Result<usize, StorageError> {
    usize::try_from(row.int(column)?)
        .map_err(|_| StorageError::Other(format!("{column} out of range").into()))
}

/// Fills in the lists of the classifications of `rows` (read with their scalars).
pub(super) async fn attach(on: &mut On<'_>, rows: &mut [TransferRow]) -> Result<(), StorageError> {
    let ids: Vec<String> = rows
        .iter()
        .filter(|r| r.classification.is_some())
        .map(|r| r.transfer_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut found: HashMap<String, ClassificationRecord> = HashMap::new();
    for row in rows.iter_mut() {
        if let Some(c) = row.classification.take() {
            found.insert(row.transfer_id.clone(), c);
        }
    }
    let rules = rows_for(on, RULES, &ids, "position", |row| {
        Ok((
            row.text("transfer_id")?,
            RuleMatch {
                rule_id: row.text("rule_id")?,
                category: row.text("category")?,
                matched_words: Vec::new(),
                effect: RuleEffect::from_str_name(&row.text("effect")?)
                    .unwrap_or(RuleEffect::Unspecified),
                kind: kind(&row.text("kind")?),
                priority: priority(&row.text("priority")?),
                negated_words: Vec::new(),
                explanation: row.text("explanation")?,
            },
        ))
    })
    .await?;
    for (id, rule) in rules {
        if let Some(c) = found.get_mut(&id) {
            c.matched_rules.push(rule);
        }
    }
    let situations = rows_for(on, SITUATIONS, &ids, "position", |row| {
        Ok((
            row.text("transfer_id")?,
            SituationMatch {
                code: row.text("code")?,
                name: row.text("name")?,
                matched_words: Vec::new(),
            },
        ))
    })
    .await?;
    for (id, situation) in situations {
        if let Some(c) = found.get_mut(&id) {
            c.situations.push(situation);
        }
    }
    let needs = rows_for(on, REQUIREMENTS, &ids, "position", |row| {
        Ok((
            row.text("transfer_id")?,
            UnitNeed {
                kinds: Vec::new(),
                capabilities: Vec::new(),
                count: row.int32("unit_count")?,
            },
        ))
    })
    .await?;
    for (id, need) in needs {
        if let Some(c) = found.get_mut(&id) {
            c.unit_requirements.push(need);
        }
    }
    let order = "list_name, owner_position, position";
    let values = rows_for(on, VALUES, &ids, order, |row| {
        Ok((
            row.text("transfer_id")?,
            (
                row.text("list_name")?,
                owner(row, "owner_position")?,
                row.text("value")?,
            ),
        ))
    })
    .await?;
    for (id, (list, at, value)) in values {
        if let Some(c) = found.get_mut(&id) {
            place_value(c, &list, at, value);
        }
    }
    for row in rows.iter_mut() {
        row.classification = found.remove(&row.transfer_id);
    }
    Ok(())
}

/// Puts one string of a nested list where it belongs; a value without its owner is skipped.
fn place_value(c: &mut ClassificationRecord, list: &str, owner: usize, value: String) {
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
                    let unit_kind = UnitKind::from_str_name(&value);
                    need.kinds.push(unit_kind.unwrap_or(UnitKind::Unspecified));
                } else {
                    need.capabilities.push(value);
                }
            }
        }
        _ => {}
    }
}

/// Up to `limit` transfers after `after` still holding a classification blob, in id order.
pub(super) async fn legacy_ids(
    db: &Db,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, StorageError> {
    const SQL: &str = "SELECT transfer_id AS value FROM triage_transfers \
        WHERE length(classification) > 0 AND transfer_id > $1 ORDER BY transfer_id LIMIT $2";
    On::Pool(db)
        .texts(SQL, vec![t(after), Arg::Int(Some(limit))])
        .await
}

/// Locks a transfer in `tx` if it still holds a classification blob (the row lock on Postgres:
/// a transfer another transaction converted meanwhile no longer matches), and reads the blob.
pub(super) async fn lock_legacy(
    tx: &mut Tx,
    transfer_id: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    const TOUCH: &str = "UPDATE triage_transfers SET updated_at = updated_at \
        WHERE transfer_id = $1 AND length(classification) > 0";
    const SQL: &str = "SELECT classification FROM triage_transfers \
        WHERE transfer_id = $1 AND length(classification) > 0";
    if execute(tx, TOUCH, vec![t(transfer_id)]).await? == 0 {
        return Ok(None);
    }
    let blob = On::Tx(tx)
        .first(SQL, vec![t(transfer_id)], |row| row.bytes("classification"))
        .await?;
    Ok(blob.flatten())
}
