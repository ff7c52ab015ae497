//! The rules file (data, versioned, shipped with the crate) and its compiled form: one
//! Aho-Corasick automaton over every word of every rule, situation, modifier and negation cue.
//! Categories and situations come from the shared category catalogue: a file naming any other
//! is refused.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::{AhoCorasick, MatchKind};
use pingan_catalogue::{CategoryCode, SituationCode};

use super::{Kind, Priority};

#[path = "rules_file.rs"]
mod file;
use file::RulesFile;

/// The rules shipped with the service (the default when no rules file is configured).
pub const DEFAULT_RULES: &str = include_str!("../../rules/rules.json");

/// Why a rules file was refused (the rules in force stay in force).
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Not valid JSON of the expected shape.
    #[error("rules file is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// Valid JSON, inconsistent content.
    #[error("rules file is inconsistent: {0}")]
    Invalid(String),
    /// The automaton could not be built.
    #[error("rules automaton: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
    /// The file could not be read.
    #[error("rules file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// One category of the shared vocabulary (from the catalogue).
#[derive(Debug, Clone)]
pub struct Category {
    /// The catalogue's code.
    pub id: CategoryCode,
    /// Code, e.g. `CRIMINAL_VIOLENT`.
    pub code: String,
    /// Display name, e.g. 暴力犯罪.
    pub name: String,
    /// Who handles it.
    pub kind: Kind,
    /// Priority when no rule says otherwise.
    pub priority: Priority,
    /// 12345 department (non-police categories).
    pub department: String,
}

/// A category rule: its words propose its category.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Id in the file.
    pub id: String,
    /// Index into [`CompiledRules::categories`].
    pub category: usize,
    /// Score it adds to its category.
    pub weight: u32,
    /// Priority it proposes.
    pub priority: Priority,
    /// When non-empty, one of these must also appear for the rule to match.
    pub needs_with: bool,
    /// Its priority is the least a call it matches gets, under the model too.
    pub priority_floor: bool,
}

/// A situation rule: its words (or a verb shortly followed by a place, e.g. 掉进 + 河) reveal
/// a response situation of the catalogue, which adds units to the response.
#[derive(Debug, Clone)]
pub struct SituationRule {
    /// Id in the file.
    pub id: String,
    /// The catalogue's situation.
    pub situation: SituationCode,
    /// Display name of the situation.
    pub name: String,
    /// Category the situation is evidence for (index), with the score it adds.
    pub category: Option<(usize, u32)>,
    /// Priority it proposes for that category.
    pub priority: Option<Priority>,
    /// Characters allowed between a verb and its place.
    pub window: usize,
    /// Characters allowed between a place and a verb that follows it.
    pub after_window: usize,
    /// A negation cue just before the word cancels it.
    pub negatable: bool,
}

/// A modifier: danger signs, priority raises and lowers.
#[derive(Debug, Clone)]
pub struct Modifier {
    /// Id in the file.
    pub id: String,
    /// A sign of danger: raises to P1 and keeps the call with the police.
    pub danger: bool,
    /// A negation cue just before the word cancels it.
    pub negatable: bool,
    /// Raises the priority to at least this.
    pub raise_to: Option<Priority>,
    /// Raises the priority by this many levels.
    pub raise_by: u8,
    /// Lowers the priority by this many levels (when nothing raised it).
    pub lower_by: u8,
    /// Lowers only from these priorities (empty: any).
    pub lower_from: Vec<Priority>,
    /// Applies only to these categories (indexes; empty: every police or joint category).
    pub categories: Vec<usize>,
    /// Makes the call JOINT (police with 119/120) for these categories.
    pub joint_categories: Vec<usize>,
}

/// What a pattern of the automaton stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternUse {
    /// A main word of a rule.
    RuleWord(usize),
    /// A companion word of a rule (`with`).
    RuleWith(usize),
    /// A word of a modifier.
    ModifierWord(usize),
    /// A negation cue.
    NegationCue,
    /// An uncertainty phrase (e.g. 有没有): it neutralises the cue inside it.
    Uncertain,
    /// A word of a situation rule.
    SituationWord(usize),
    /// A verb of a situation rule (needs a place after it).
    SituationVerb(usize),
    /// A place of a situation rule.
    SituationPlace(usize),
    /// A verb of a situation rule that needs its place before it.
    SituationAfterPlace(usize),
    /// A phrase that cancels a situation rule's words it overlaps (落水管, 手机掉进).
    SituationExclude(usize),
}

/// Thresholds of the decision.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// A non-police answer needs at least this score.
    pub min_divert_score: u32,
    /// An invalid answer needs at least this score.
    pub min_invalid_score: u32,
    /// Below this score the answer needs a person's confirmation.
    pub confident_score: u32,
    /// Score added to police categories per channel name (`CHANNEL_110`, ..., `default`).
    pub police_bias: BTreeMap<String, u32>,
}

/// The rules in force, ready to match.
#[derive(Debug)]
pub struct CompiledRules {
    /// Version string of the file.
    pub version: String,
    /// Categories, in file order.
    pub categories: Vec<Category>,
    /// Category rules, in file order.
    pub rules: Vec<Rule>,
    /// Situation rules, in file order.
    pub situations: Vec<SituationRule>,
    /// Version of the category catalogue.
    pub catalogue_version: String,
    /// Modifiers, in file order.
    pub modifiers: Vec<Modifier>,
    /// Id of the negation rule.
    pub negation_id: String,
    /// Characters allowed between a negation cue and the word it cancels.
    pub negation_window: usize,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Fallback category index and priority.
    pub fallback: (usize, Priority),
    /// Response target per priority, seconds.
    pub response_targets: BTreeMap<Priority, u64>,
    /// The automaton over every distinct word.
    pub automaton: AhoCorasick,
    /// For each pattern of the automaton, what it stands for.
    pub uses: Vec<Vec<PatternUse>>,
    /// Number of rules and modifiers (as reported by ReloadRules).
    pub rule_count: usize,
}

/// Lowercases ASCII, folds full-width ASCII ('ｋｔｖ' is 'ktv') and traditional characters to
/// simplified ones (樓上有人開槍 is read as 楼上有人开枪),
/// so every word list and the model, all written in simplified Chinese, read it.
pub fn normalize(text: &str) -> String {
    let folded: String = text
        .chars()
        .map(|c| {
            let c = match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                0x3000 => ' ',
                _ => c,
            };
            c.to_ascii_lowercase()
        })
        .collect();
    fast2s::convert(&folded)
}

fn priority(value: &str, what: &str) -> Result<Priority, RulesError> {
    Priority::parse(value)
        .ok_or_else(|| RulesError::Invalid(format!("{what}: unknown priority {value}")))
}

impl CompiledRules {
    /// Parses, checks and compiles a rules file.
    pub fn parse(json: &str) -> Result<Self, RulesError> {
        let file: RulesFile = serde_json::from_str(json)?;
        if file.version.trim().is_empty() {
            return Err(RulesError::Invalid("version must not be empty".into()));
        }
        let catalogue = pingan_catalogue::catalogue()
            .map_err(|e| RulesError::Invalid(format!("category catalogue: {e}")))?;
        let mut categories = Vec::new();
        let mut index = BTreeMap::new();
        for c in &catalogue.categories {
            index.insert(c.code.as_str().to_owned(), categories.len());
            categories.push(Category {
                id: c.code,
                code: c.code.as_str().to_owned(),
                name: c.name.clone(),
                kind: c.kind,
                priority: priority(c.priority.as_str(), c.code.as_str())?,
                department: c.department.clone(),
            });
        }
        let category = |code: &str, what: &str| {
            index
                .get(code)
                .copied()
                .ok_or_else(|| RulesError::Invalid(format!("{what}: unknown category {code}")))
        };

        let mut words: BTreeMap<String, Vec<PatternUse>> = BTreeMap::new();
        let mut add = |word: &str, what: &str, usage: PatternUse| {
            let word = normalize(word.trim());
            if word.is_empty() {
                return Err(RulesError::Invalid(format!("{what}: empty word")));
            }
            words.entry(word).or_default().push(usage);
            Ok(())
        };
        let mut ids = BTreeSet::new();
        let mut rules = Vec::new();
        for (i, r) in file.rules.iter().enumerate() {
            if !ids.insert(r.id.clone()) {
                return Err(RulesError::Invalid(format!("rule id {} twice", r.id)));
            }
            if r.words.is_empty() || r.weight == 0 {
                return Err(RulesError::Invalid(format!(
                    "rule {}: needs words and a positive weight",
                    r.id
                )));
            }
            let cat = category(&r.category, &r.id)?;
            let rule_priority = match &r.priority {
                Some(p) => priority(p, &r.id)?,
                None => categories[cat].priority,
            };
            for w in &r.words {
                add(w, &r.id, PatternUse::RuleWord(i))?;
            }
            for w in &r.with {
                add(w, &r.id, PatternUse::RuleWith(i))?;
            }
            rules.push(Rule {
                id: r.id.clone(),
                category: cat,
                weight: r.weight,
                priority: rule_priority,
                needs_with: !r.with.is_empty(),
                priority_floor: r.priority_floor,
            });
        }
        let mut situations = Vec::new();
        for (i, s) in file.situations.iter().enumerate() {
            if !ids.insert(s.id.clone()) {
                return Err(RulesError::Invalid(format!("situation id {} twice", s.id)));
            }
            let known = catalogue
                .situation(&s.situation)
                .map_err(|e| RulesError::Invalid(format!("{}: {e}", s.id)))?;
            if known.code.as_str() != s.situation {
                return Err(RulesError::Invalid(format!(
                    "{}: write the situation as the catalogue does ({})",
                    s.id, known.code
                )));
            }
            if s.words.is_empty() && (s.verbs.is_empty() || s.places.is_empty()) {
                return Err(RulesError::Invalid(format!(
                    "situation {}: needs words, or verbs and places",
                    s.id
                )));
            }
            let implied = match &s.category {
                Some(code) if s.weight > 0 => Some((category(code, &s.id)?, s.weight)),
                Some(_) => {
                    return Err(RulesError::Invalid(format!(
                        "situation {}: a category needs a positive weight",
                        s.id
                    )));
                }
                None => None,
            };
            for w in &s.words {
                add(w, &s.id, PatternUse::SituationWord(i))?;
            }
            for w in &s.verbs {
                add(w, &s.id, PatternUse::SituationVerb(i))?;
            }
            for w in &s.places {
                add(w, &s.id, PatternUse::SituationPlace(i))?;
            }
            for w in &s.after_place {
                add(w, &s.id, PatternUse::SituationAfterPlace(i))?;
            }
            for w in &s.exclude {
                add(w, &s.id, PatternUse::SituationExclude(i))?;
            }
            situations.push(SituationRule {
                id: s.id.clone(),
                situation: known.code,
                name: known.name.clone(),
                category: implied,
                priority: s
                    .priority
                    .as_deref()
                    .map(|p| priority(p, &s.id))
                    .transpose()?,
                window: s.window_chars,
                after_window: s.after_window_chars,
                negatable: s.negatable,
            });
        }
        let mut modifiers = Vec::new();
        for (i, m) in file.modifiers.iter().enumerate() {
            if !ids.insert(m.id.clone()) {
                return Err(RulesError::Invalid(format!("modifier id {} twice", m.id)));
            }
            if m.words.is_empty() {
                return Err(RulesError::Invalid(format!("modifier {}: no words", m.id)));
            }
            for w in &m.words {
                add(w, &m.id, PatternUse::ModifierWord(i))?;
            }
            let raise_to = m
                .raise_to
                .as_deref()
                .map(|p| priority(p, &m.id))
                .transpose()?;
            let lower_from = m
                .lower_from
                .iter()
                .map(|p| priority(p, &m.id))
                .collect::<Result<_, _>>()?;
            let categories = m
                .categories
                .iter()
                .map(|c| category(c, &m.id))
                .collect::<Result<_, _>>()?;
            let joint_categories = m
                .joint_categories
                .iter()
                .map(|c| category(c, &m.id))
                .collect::<Result<_, _>>()?;
            modifiers.push(Modifier {
                id: m.id.clone(),
                danger: m.danger,
                negatable: m.negatable,
                raise_to,
                raise_by: m.raise_by.unwrap_or(0),
                lower_by: m.lower_by.unwrap_or(0),
                lower_from,
                categories,
                joint_categories,
            });
        }
        for cue in &file.negation.cues {
            add(cue, &file.negation.id, PatternUse::NegationCue)?;
        }
        for phrase in &file.negation.uncertain {
            add(phrase, &file.negation.id, PatternUse::Uncertain)?;
        }

        let fallback_category = category(&file.fallback.category, "fallback")?;
        if !categories[fallback_category].kind.stays_with_police() {
            return Err(RulesError::Invalid(
                "fallback: the fallback category must be police business".into(),
            ));
        }
        let fallback_priority = priority(&file.fallback.priority, "fallback")?;
        let mut response_targets = BTreeMap::new();
        for (p, seconds) in &file.response_targets_seconds {
            response_targets.insert(priority(p, "response_targets_seconds")?, *seconds);
        }
        let (patterns, uses): (Vec<String>, Vec<Vec<PatternUse>>) = words.into_iter().unzip();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)?;
        Ok(Self {
            version: file.version,
            rule_count: rules.len() + situations.len() + modifiers.len() + 1,
            categories,
            rules,
            situations,
            catalogue_version: catalogue.version.clone(),
            modifiers,
            negation_id: file.negation.id,
            negation_window: file.negation.window_chars,
            thresholds: Thresholds {
                min_divert_score: file.thresholds.min_divert_score,
                min_invalid_score: file.thresholds.min_invalid_score,
                confident_score: file.thresholds.confident_score,
                police_bias: file.thresholds.police_bias,
            },
            fallback: (fallback_category, fallback_priority),
            response_targets,
            automaton,
            uses,
        })
    }

    /// The rules shipped with the service.
    pub fn builtin() -> Result<Self, RulesError> {
        Self::parse(DEFAULT_RULES)
    }

    /// The index of a category code.
    pub fn category_index(&self, code: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.code == code)
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
