//! Features of a call's text: jieba words, character uni- and bi-grams of the normalised text,
//! and (optionally) what the rules saw (categories whose rules matched, modifiers in force).

use std::sync::OnceLock;

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

use crate::domain::rules::CompiledRules;
use crate::domain::scan::Scan;

/// Which features a model uses (written into the model file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Words of jieba's segmentation (embedded dictionary, HMM for unknown words).
    pub words: bool,
    /// Character n-gram lengths (e.g. `[1, 2]`).
    pub char_ngrams: Vec<usize>,
    /// Add `rule:<CATEGORY>` and `mod:<modifier>` features from the rules' scan.
    pub rule_features: bool,
    /// Features seen in fewer training calls are dropped.
    pub min_df: usize,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            words: true,
            char_ngrams: vec![1, 2],
            rule_features: true,
            min_df: 2,
        }
    }
}

/// The segmenter, built once per process (building it reads the dictionary, ~100+ ms).
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

fn is_noise(c: char) -> bool {
    c.is_whitespace() || (c.is_ascii_punctuation()) || "，。！？；：、“”‘’（）《》…—～·".contains(c)
}

/// The feature names of a text (deduplicated, sorted).
pub fn extract(config: &FeatureConfig, rules: &CompiledRules, scan: &Scan) -> Vec<String> {
    let mut out = Vec::new();
    if config.words {
        for w in jieba().cut(&scan.norm, true) {
            if !w.chars().all(is_noise) {
                out.push(format!("w:{w}"));
            }
        }
    }
    let chars: Vec<char> = scan.norm.chars().collect();
    for &n in &config.char_ngrams {
        for window in chars.windows(n) {
            if window.iter().any(|c| is_noise(*c)) {
                continue;
            }
            out.push(format!("c{n}:{}", window.iter().collect::<String>()));
        }
    }
    if config.rule_features {
        for (c, score) in scan.scores.iter().enumerate() {
            if *score > 0 {
                out.push(format!("rule:{}", rules.categories[c].code));
            }
        }
        for (i, _) in &scan.active {
            out.push(format!("mod:{}", rules.modifiers[*i].id));
        }
        if !scan.negated.is_empty() {
            out.push("mod:negated".to_owned());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
