//! Triage's classification of a call as the services that keep it store it (intake on its
//! incidents, triage on its 12345 transfers): who handles it, how urgent, the rules that explain
//! it, the situations recognised and the units the response needs; and the conversion to and
//! from triage's `Classification` message, written once for both.

use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::{UnitKind, UnitRequirement};
use pingan_proto::triage::v1::{Classification, Kind, MatchedRule, RuleEffect, Situation};

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

/// The record of triage's answer (unknown enum numbers are kept as unspecified; the response
/// target to the millisecond).
pub fn from_message(c: &Classification) -> ClassificationRecord {
    ClassificationRecord {
        kind: c.kind(),
        category: c.category.clone(),
        priority: c.priority(),
        response_target_ms: c
            .response_target
            .map(|d| d.seconds.saturating_mul(1000) + i64::from(d.nanos / 1_000_000)),
        matched_rules: c
            .matched_rules
            .iter()
            .map(|r| RuleMatch {
                rule_id: r.rule_id.clone(),
                category: r.category.clone(),
                matched_words: r.matched_words.clone(),
                effect: r.effect(),
                kind: r.kind(),
                priority: r.priority(),
                negated_words: r.negated_words.clone(),
                explanation: r.explanation.clone(),
            })
            .collect(),
        department: c.department.clone(),
        category_name: c.category_name.clone(),
        rules_version: c.rules_version.clone(),
        needs_confirmation: c.needs_confirmation,
        situations: c
            .situations
            .iter()
            .map(|s| SituationMatch {
                code: s.code.clone(),
                name: s.name.clone(),
                matched_words: s.matched_words.clone(),
            })
            .collect(),
        unit_requirements: c
            .unit_requirements
            .iter()
            .map(|u| UnitNeed {
                kinds: u
                    .kinds
                    .iter()
                    .map(|k| UnitKind::try_from(*k).unwrap_or(UnitKind::Unspecified))
                    .collect(),
                capabilities: u.capabilities.clone(),
                count: u.count,
            })
            .collect(),
        catalogue_version: c.catalogue_version.clone(),
    }
}

/// Triage's message for a stored classification.
pub fn to_message(c: &ClassificationRecord) -> Classification {
    Classification {
        kind: c.kind as i32,
        category: c.category.clone(),
        priority: c.priority as i32,
        response_target: c.response_target_ms.map(|ms| prost_types::Duration {
            seconds: ms.div_euclid(1000),
            nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        }),
        matched_rules: c
            .matched_rules
            .iter()
            .map(|r| MatchedRule {
                rule_id: r.rule_id.clone(),
                category: r.category.clone(),
                matched_words: r.matched_words.clone(),
                effect: r.effect as i32,
                kind: r.kind as i32,
                priority: r.priority as i32,
                negated_words: r.negated_words.clone(),
                explanation: r.explanation.clone(),
            })
            .collect(),
        department: c.department.clone(),
        category_name: c.category_name.clone(),
        rules_version: c.rules_version.clone(),
        needs_confirmation: c.needs_confirmation,
        situations: c
            .situations
            .iter()
            .map(|s| Situation {
                code: s.code.clone(),
                name: s.name.clone(),
                matched_words: s.matched_words.clone(),
            })
            .collect(),
        unit_requirements: c
            .unit_requirements
            .iter()
            .map(|u| UnitRequirement {
                kinds: u.kinds.iter().map(|k| *k as i32).collect(),
                capabilities: u.capabilities.clone(),
                count: u.count,
            })
            .collect(),
        catalogue_version: c.catalogue_version.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field set, as triage answers a person in the water.
    fn full() -> Classification {
        Classification {
            kind: Kind::Joint as i32,
            category: "RESCUE".into(),
            priority: Priority::P1 as i32,
            response_target: Some(prost_types::Duration {
                seconds: 300,
                nanos: 0,
            }),
            matched_rules: vec![MatchedRule {
                rule_id: "rescue.water".into(),
                category: "RESCUE".into(),
                matched_words: vec!["落水".into()],
                effect: RuleEffect::Category as i32,
                kind: Kind::Joint as i32,
                priority: Priority::P1 as i32,
                negated_words: vec!["没事".into()],
                explanation: "落水 -> P1".into(),
            }],
            department: "水务".into(),
            category_name: "救援".into(),
            rules_version: "r-7".into(),
            needs_confirmation: true,
            situations: vec![Situation {
                code: "WATER".into(),
                name: "落水救援".into(),
                matched_words: vec!["河里".into()],
            }],
            unit_requirements: vec![UnitRequirement {
                kinds: vec![UnitKind::Drone as i32],
                capabilities: vec!["aerial_video".into()],
                count: 2,
            }],
            catalogue_version: "c-3".into(),
        }
    }

    #[test]
    fn a_full_answer_survives_the_record() {
        let message = full();
        assert_eq!(to_message(&from_message(&message)), message);
        let unset = Classification::default();
        assert_eq!(to_message(&from_message(&unset)), unset);
    }
}
