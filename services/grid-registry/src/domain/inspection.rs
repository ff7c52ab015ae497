//! Inspection templates (data shipped with the service) and the rules for recording results.

use std::collections::{BTreeMap, HashMap};

use pingan_proto::grid::v1::{InspectionStatus, ItemResult};
use serde::Deserialize;

use super::records::{Hazard, Inspection, InspectionItem, Millis};

/// The templates shipped with the service.
const TEMPLATES_JSON: &str = include_str!("../../templates/inspections.json");

/// One checklist item of a template.
#[derive(Debug, Clone, Deserialize)]
pub struct TemplateItem {
    /// Stable code, e.g. VIDEO_RETENTION_MET.
    pub item_code: String,
    /// What is checked (Chinese).
    pub description: String,
}

/// An inspection template.
#[derive(Debug, Clone, Deserialize)]
pub struct Template {
    /// Id, e.g. LOGISTICS_SAFETY.
    pub template_id: String,
    /// Version, recorded on each inspection.
    pub version: String,
    /// Display name.
    pub name: String,
    /// Premises kinds (proto numbers) it applies to by default.
    pub premises_kinds: Vec<i32>,
    /// Days between two routine inspections (0: [`DEFAULT_INTERVAL_DAYS`]).
    #[serde(default)]
    pub interval_days: i64,
    /// Checklist.
    pub items: Vec<TemplateItem>,
}

#[derive(Debug, Deserialize)]
struct TemplateFile {
    templates: Vec<Template>,
}

/// Days between routine inspections when a template does not say.
pub const DEFAULT_INTERVAL_DAYS: i64 = 180;

/// Templates by id.
#[derive(Debug, Clone)]
pub struct Templates {
    by_id: HashMap<String, Template>,
}

/// A template file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("inspection templates: {0}")]
pub struct TemplateError(String);

impl Templates {
    /// The templates shipped with the service.
    pub fn builtin() -> Result<Self, TemplateError> {
        Self::parse(TEMPLATES_JSON)
    }

    /// Parses a template file.
    pub fn parse(json: &str) -> Result<Self, TemplateError> {
        let file: TemplateFile =
            serde_json::from_str(json).map_err(|e| TemplateError(e.to_string()))?;
        Ok(Self {
            by_id: file
                .templates
                .into_iter()
                .map(|t| (t.template_id.clone(), t))
                .collect(),
        })
    }

    /// No templates at all.
    pub fn empty() -> Self {
        Self {
            by_id: HashMap::new(),
        }
    }

    /// A template by id.
    pub fn get(&self, template_id: &str) -> Option<&Template> {
        self.by_id.get(template_id)
    }

    /// Every template, ordered by id.
    pub fn all(&self) -> Vec<&Template> {
        let mut list: Vec<&Template> = self.by_id.values().collect();
        list.sort_by(|a, b| a.template_id.cmp(&b.template_id));
        list
    }

    /// The default templates for a kind of premises.
    pub fn defaults_for(&self, premises_kind: i32) -> Vec<String> {
        let mut ids: Vec<String> = self
            .by_id
            .values()
            .filter(|t| t.premises_kinds.contains(&premises_kind))
            .map(|t| t.template_id.clone())
            .collect();
        ids.sort();
        ids
    }
}

impl Template {
    /// Days between two routine inspections.
    pub fn interval_days(&self) -> i64 {
        if self.interval_days > 0 {
            self.interval_days
        } else {
            DEFAULT_INTERVAL_DAYS
        }
    }

    /// A fresh checklist, every item pending.
    pub fn checklist(&self) -> Vec<InspectionItem> {
        self.items
            .iter()
            .map(|item| InspectionItem {
                item_code: item.item_code.clone(),
                description: item.description.clone(),
                result: ItemResult::Pending as i32,
                note: String::new(),
                evidence_refs: Vec::new(),
            })
            .collect()
    }
}

/// One item's result as sent.
#[derive(Debug, Clone)]
pub struct ItemInput {
    pub item_code: String,
    pub result: i32,
    pub note: String,
    pub evidence_refs: Vec<String>,
}

/// Why results cannot be recorded; `index` points into the request's `results`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// An item code the template does not have.
    #[error("unknown item code")]
    UnknownItem { index: usize },
    /// The same item twice.
    #[error("item given more than once")]
    DuplicateItem { index: usize },
    /// Result must be PASS, FAIL or NOT_APPLICABLE.
    #[error("must be PASS, FAIL or NOT_APPLICABLE")]
    BadResult { index: usize },
    /// A failed item needs a note.
    #[error("a failed item needs a note")]
    FailWithoutNote { index: usize },
    /// Some template item got no result.
    #[error("every checklist item needs a result; missing {0}")]
    Missing(String),
    /// Some item failed but no deadline was given.
    #[error("required when an item failed")]
    DeadlineRequired,
}

/// Applies the results to the checklist; returns the new status (PASSED or
/// RECTIFICATION_REQUIRED).
pub fn apply_results(
    items: &mut [InspectionItem],
    inputs: &[ItemInput],
    deadline: Option<Millis>,
) -> Result<InspectionStatus, ResultError> {
    let mut given: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, input) in inputs.iter().enumerate() {
        if !items.iter().any(|i| i.item_code == input.item_code) {
            return Err(ResultError::UnknownItem { index });
        }
        if given.insert(input.item_code.as_str(), index).is_some() {
            return Err(ResultError::DuplicateItem { index });
        }
        let result = ItemResult::try_from(input.result).unwrap_or(ItemResult::Unspecified);
        if !matches!(
            result,
            ItemResult::Pass | ItemResult::Fail | ItemResult::NotApplicable
        ) {
            return Err(ResultError::BadResult { index });
        }
        if result == ItemResult::Fail && input.note.trim().is_empty() {
            return Err(ResultError::FailWithoutNote { index });
        }
    }
    if let Some(missing) = items
        .iter()
        .find(|i| !given.contains_key(i.item_code.as_str()))
    {
        return Err(ResultError::Missing(missing.item_code.clone()));
    }
    let failed = inputs.iter().any(|i| i.result == ItemResult::Fail as i32);
    if failed && deadline.is_none() {
        return Err(ResultError::DeadlineRequired);
    }
    for item in items.iter_mut() {
        if let Some(input) = inputs.iter().find(|i| i.item_code == item.item_code) {
            item.result = input.result;
            item.note = input.note.clone();
            item.evidence_refs = input.evidence_refs.clone();
        }
    }
    Ok(if failed {
        InspectionStatus::RectificationRequired
    } else {
        InspectionStatus::Passed
    })
}

/// Records results on an inspection in progress (the caller checks the status first).
pub fn complete(
    inspection: &mut Inspection,
    inputs: &[ItemInput],
    hazards: Vec<Hazard>,
    deadline: Option<Millis>,
    summary: String,
    completed_at: Millis,
) -> Result<(), ResultError> {
    let status = apply_results(&mut inspection.items, inputs, deadline)?;
    inspection.status = status as i32;
    inspection.rectification_deadline = match status {
        InspectionStatus::RectificationRequired => deadline,
        _ => None,
    };
    inspection.hazards = hazards;
    inspection.summary = summary;
    inspection.completed_at = Some(completed_at);
    inspection.updated_at = completed_at;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(code: &str, result: ItemResult, note: &str) -> ItemInput {
        ItemInput {
            item_code: code.to_owned(),
            result: result as i32,
            note: note.to_owned(),
            evidence_refs: vec![],
        }
    }

    #[test]
    fn logistics_template_has_the_story_8_checklist() {
        let templates = Templates::builtin().expect("templates");
        let t = templates.get("LOGISTICS_SAFETY").expect("logistics");
        let codes: Vec<&str> = t.items.iter().map(|i| i.item_code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "VIDEO_SURVEILLANCE_RUNNING",
                "VIDEO_RETENTION_MET",
                "FIRE_EQUIPMENT_COMPLETE",
                "REAL_NAME_REGISTRATION",
                "OPEN_PACKAGE_INSPECTION",
                "XRAY_SCREENING"
            ]
        );
        assert_eq!(templates.defaults_for(1), ["LOGISTICS_SAFETY"]);
    }

    #[test]
    fn a_failed_item_requires_a_note_and_a_deadline() {
        let templates = Templates::builtin().expect("templates");
        let t = templates.get("HOTEL_SAFETY").expect("hotel");
        let mut items = t.checklist();
        let mut inputs: Vec<ItemInput> = t
            .items
            .iter()
            .map(|i| input(&i.item_code, ItemResult::Pass, ""))
            .collect();
        assert_eq!(
            apply_results(&mut items.clone(), &inputs, None),
            Ok(InspectionStatus::Passed)
        );
        inputs[1] = input(&t.items[1].item_code, ItemResult::Fail, "");
        assert_eq!(
            apply_results(&mut items.clone(), &inputs, None),
            Err(ResultError::FailWithoutNote { index: 1 })
        );
        inputs[1].note = "录像仅保存15天".into();
        assert_eq!(
            apply_results(&mut items.clone(), &inputs, None),
            Err(ResultError::DeadlineRequired)
        );
        assert_eq!(
            apply_results(&mut items, &inputs, Some(1)),
            Ok(InspectionStatus::RectificationRequired)
        );
        assert_eq!(items[1].result, ItemResult::Fail as i32);
    }

    #[test]
    fn unknown_missing_and_duplicate_items_are_refused() {
        let templates = Templates::builtin().expect("templates");
        let t = templates.get("HOTEL_SAFETY").expect("hotel");
        let mut items = t.checklist();
        let unknown = vec![input("NOPE", ItemResult::Pass, "")];
        assert_eq!(
            apply_results(&mut items, &unknown, None),
            Err(ResultError::UnknownItem { index: 0 })
        );
        let partial = vec![input(&t.items[0].item_code, ItemResult::Pass, "")];
        assert!(matches!(
            apply_results(&mut items, &partial, None),
            Err(ResultError::Missing(_))
        ));
        let twice = vec![
            input(&t.items[0].item_code, ItemResult::Pass, ""),
            input(&t.items[0].item_code, ItemResult::Pass, ""),
        ];
        assert_eq!(
            apply_results(&mut items, &twice, None),
            Err(ResultError::DuplicateItem { index: 1 })
        );
    }
}
