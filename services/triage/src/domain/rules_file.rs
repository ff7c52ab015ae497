//! The rules file as written (serde shapes, unknown fields refused); `rules` compiles it.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesFile {
    pub(super) version: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for people editing the file
    pub(super) description: String,
    pub(super) response_targets_seconds: BTreeMap<String, u64>,
    pub(super) thresholds: ThresholdsFile,
    pub(super) fallback: FallbackFile,
    pub(super) rules: Vec<RuleFile>,
    #[serde(default)]
    pub(super) situations: Vec<SituationFile>,
    #[serde(default)]
    pub(super) modifiers: Vec<ModifierFile>,
    pub(super) negation: NegationFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ThresholdsFile {
    pub(super) min_divert_score: u32,
    pub(super) min_invalid_score: u32,
    pub(super) confident_score: u32,
    pub(super) police_bias: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FallbackFile {
    pub(super) category: String,
    pub(super) priority: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SituationFile {
    pub(super) id: String,
    pub(super) situation: String,
    #[serde(default)]
    pub(super) category: Option<String>,
    #[serde(default)]
    pub(super) weight: u32,
    #[serde(default)]
    pub(super) priority: Option<String>,
    #[serde(default)]
    pub(super) words: Vec<String>,
    #[serde(default)]
    pub(super) verbs: Vec<String>,
    #[serde(default)]
    pub(super) places: Vec<String>,
    #[serde(default)]
    pub(super) window_chars: usize,
    /// Verbs that come after their place (河里漂着, 水库边玩掉下去了).
    #[serde(default)]
    pub(super) after_place: Vec<String>,
    #[serde(default)]
    pub(super) after_window_chars: usize,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
    #[serde(default)]
    pub(super) negatable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub(super) id: String,
    pub(super) category: String,
    pub(super) weight: u32,
    #[serde(default)]
    pub(super) priority: Option<String>,
    pub(super) words: Vec<String>,
    #[serde(default)]
    pub(super) with: Vec<String>,
    /// The rule's priority is a floor whoever decides (the model included): a trace that goes
    /// cold in minutes (an item in a taxi that is driving away).
    #[serde(default)]
    pub(super) priority_floor: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModifierFile {
    pub(super) id: String,
    pub(super) words: Vec<String>,
    #[serde(default)]
    pub(super) danger: bool,
    #[serde(default)]
    pub(super) negatable: bool,
    #[serde(default)]
    pub(super) raise_to: Option<String>,
    #[serde(default)]
    pub(super) raise_by: Option<u8>,
    #[serde(default)]
    pub(super) lower_by: Option<u8>,
    #[serde(default)]
    pub(super) lower_from: Vec<String>,
    #[serde(default)]
    pub(super) categories: Vec<String>,
    #[serde(default)]
    pub(super) joint_categories: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NegationFile {
    pub(super) id: String,
    pub(super) cues: Vec<String>,
    pub(super) window_chars: usize,
    #[serde(default)]
    pub(super) uncertain: Vec<String>,
}
