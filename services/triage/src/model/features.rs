//! Features of a call's text: jieba words (and word bigrams), character n-grams of the normalised
//! text, and (optionally) what the rules saw (categories whose rules matched, modifiers in force).
//! Each feature comes with its count in the text; `Model::vector` weighs them by sublinear TF-IDF
//! and scales the vector to unit length.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

use crate::domain::rules::CompiledRules;
use crate::domain::scan::Scan;

/// Which features a model uses (written into the model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Words of jieba's segmentation (embedded dictionary, HMM for unknown words).
    pub words: bool,
    /// Pairs of consecutive jieba words.
    #[serde(default)]
    pub word_bigrams: bool,
    /// Character n-gram lengths (e.g. `[1, 2, 3]`).
    pub char_ngrams: Vec<usize>,
    /// Add `rule:<CATEGORY>` and `mod:<modifier>` features from the rules' scan.
    pub rule_features: bool,
    /// Features seen in fewer training calls are dropped.
    pub min_df: usize,
    /// Weight of word features against character n-grams (before normalisation).
    #[serde(default = "one")]
    pub word_weight: f32,
    /// Weight of the rules' features.
    #[serde(default = "one")]
    pub rule_weight: f32,
    /// Add what the safety layer saw (`mod:safety_danger`, `mod:safety_conflict`, …) as features.
    #[serde(default)]
    pub safety_features: bool,
}

fn one() -> f32 {
    1.0
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            words: true,
            word_bigrams: false,
            char_ngrams: vec![1, 2, 3],
            rule_features: true,
            min_df: 2,
            word_weight: 1.0,
            rule_weight: 0.5,
            safety_features: false,
        }
    }
}

impl FeatureConfig {
    /// The weight of a feature's group, read from its name's prefix.
    pub fn group_weight(&self, name: &str) -> f32 {
        if name.starts_with("w:") || name.starts_with("b:") {
            self.word_weight
        } else if name.starts_with("rule:") || name.starts_with("mod:") {
            self.rule_weight
        } else {
            1.0
        }
    }
}

/// The segmenter, built once per process from the shipped dictionary (`segmenter.rs`).
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(super::segmenter::shipped)
}

fn is_noise(c: char) -> bool {
    c.is_whitespace() || (c.is_ascii_punctuation()) || "，。！？；：、“”‘’（）《》…—～·".contains(c)
}

/// The feature names of a text with their counts, sorted by name.
pub fn extract(config: &FeatureConfig, rules: &CompiledRules, scan: &Scan) -> Vec<(String, u32)> {
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    let mut add = |name: String| *out.entry(name).or_default() += 1;
    if config.words {
        let words: Vec<&str> = jieba()
            .cut(&scan.norm, true)
            .into_iter()
            .filter(|w| !w.chars().all(is_noise))
            .collect();
        for w in &words {
            add(format!("w:{w}"));
        }
        if config.word_bigrams {
            for pair in words.windows(2) {
                add(format!("b:{}|{}", pair[0], pair[1]));
            }
        }
    }
    let chars: Vec<char> = scan.norm.chars().collect();
    for &n in &config.char_ngrams {
        for window in chars.windows(n) {
            if window.iter().any(|c| is_noise(*c)) {
                continue;
            }
            add(format!("c{n}:{}", window.iter().collect::<String>()));
        }
    }
    if config.rule_features {
        for (c, score) in scan.scores.iter().enumerate() {
            if *score > 0 {
                add(format!("rule:{}", rules.categories[c].code));
            }
        }
        for (i, _) in &scan.active {
            add(format!("mod:{}", rules.modifiers[*i].id));
        }
        if !scan.negated.is_empty() {
            add("mod:negated".to_owned());
        }
    }
    if config.safety_features {
        let seen = scan.safety(rules);
        for (name, words) in [
            ("danger", &seen.danger),
            ("conflict", &seen.conflict),
            ("police", &seen.police),
            ("weapon_named", &seen.weapon_named),
            ("fire_out", &seen.fire_out),
            ("harm_over", &seen.harm_over),
            ("past", &seen.past),
            ("found", &seen.found),
            ("not_a_person", &seen.not_a_person),
            ("break_in_found", &seen.break_in_found),
        ] {
            if !words.is_empty() {
                add(format!("mod:safety_{name}"));
            }
        }
    }
    out.into_iter().collect()
}
