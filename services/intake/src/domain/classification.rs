//! Triage's classification of an incident as intake stores it: who handles it, how urgent, the
//! rules that explain it, the situations recognised and the units the response needs.

use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::UnitKind;
use pingan_proto::triage::v1::{Kind, RuleEffect};

/// The classification of an incident, every field of triage's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationRecord {
    pub kind: Kind,
    pub category: String,
    pub priority: Priority,
    /// Within which a unit must be on its way, in milliseconds; `None` when triage set none.
    pub response_target_ms: Option<i64>,
    pub matched_rules: Vec<RuleMatch>,
    /// The 12345 department, for non-police business.
    pub department: String,
    pub category_name: String,
    pub rules_version: String,
    pub needs_confirmation: bool,
    pub situations: Vec<SituationMatch>,
    pub unit_requirements: Vec<UnitNeed>,
    pub catalogue_version: String,
}

/// One rule that matched the call's text, and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule_id: String,
    pub category: String,
    pub matched_words: Vec<String>,
    pub effect: RuleEffect,
    pub kind: Kind,
    pub priority: Priority,
    pub negated_words: Vec<String>,
    pub explanation: String,
}

/// A response situation recognised in the call (e.g. WATER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SituationMatch {
    pub code: String,
    pub name: String,
    pub matched_words: Vec<String>,
}

/// Units of one sort the response needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitNeed {
    /// Acceptable kinds (empty: any).
    pub kinds: Vec<UnitKind>,
    pub capabilities: Vec<String>,
    /// How many (0 means 1).
    pub count: i32,
}

impl Default for ClassificationRecord {
    fn default() -> Self {
        Self {
            kind: Kind::Unspecified,
            category: String::new(),
            priority: Priority::Unspecified,
            response_target_ms: None,
            matched_rules: Vec::new(),
            department: String::new(),
            category_name: String::new(),
            rules_version: String::new(),
            needs_confirmation: false,
            situations: Vec::new(),
            unit_requirements: Vec::new(),
            catalogue_version: String::new(),
        }
    }
}
