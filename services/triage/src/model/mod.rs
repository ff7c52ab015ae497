//! The trained model of triage: multinomial logistic regression over sublinear TF-IDF of jieba
//! words, character n-grams and the rules' matches, one head each for kind, category and
//! priority. Trained offline (`pingan triage train`, see `train`) into a versioned JSON file that
//! ships with the binary and can be replaced at run time (`--triage-model`).

pub mod features;
pub mod optimize;
pub mod segmenter;
pub mod thresholds;
pub mod train;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use features::FeatureConfig;

use crate::domain::classify::Classification;
use crate::domain::classify::{Effect, Explained};
use crate::domain::decide::{ModelView, decide, model_lines};
use crate::domain::{Kind, Priority};

/// The rule id of the rules' own fallback (no category rule recognised the call).
const FALLBACK_RULE: &str = "fallback";
use crate::domain::rules::CompiledRules;
use crate::domain::scan::Scan;

/// The model shipped with the service (the default when no model file is configured).
pub const DEFAULT_MODEL: &str = include_str!("../../models/triage-model.json");

/// Where `pingan triage train` writes the model, inside the crate.
pub const MODEL_FILE: &str = "models/triage-model.json";

/// Format of the model file this code reads.
pub const FORMAT: u32 = 2;

/// Why a model file was refused (the model in force stays in force).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not valid JSON of the expected shape.
    #[error("model file is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// Valid JSON, inconsistent content.
    #[error("model file is inconsistent: {0}")]
    Invalid(String),
    /// The file could not be read.
    #[error("model file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// The data a model was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainedOn {
    /// The corpus file (relative to the crate).
    pub file: String,
    /// Calls in it.
    pub calls: usize,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Training settings (fixed: training is deterministic, full-batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// `softmax_regression_adam`.
    pub algorithm: String,
    /// Inverse L2 strength as scikit-learn's `C`: the penalty is `|W|² / (2 C n)` per call.
    pub c: f64,
    /// Full-batch Adam steps.
    pub iterations: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// Weigh each call by `n / (classes × calls of its class)`.
    pub balanced: bool,
}

/// How the model's answer and the rules' answer are combined (chosen by cross-validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The model places every call, under the safety layer.
    Model,
    /// Where a category rule recognises the call, the rules' category and priority stand (under
    /// the same gate for leaving the police); the model places the rest.
    RulesFirst,
    /// The model places the calls it is sure of (top category at least `confident`); where it is
    /// not and a category rule recognises the call, the rules' answer stands as in `RulesFirst`
    /// (an edit of the rules file then shows at once on the calls the model cannot place).
    RulesWhenUnsure,
}

/// Decision thresholds, chosen by cross-validation on the train split (never on test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Least P(kind = NON_POLICE) to divert a call to 12345 (categories without their own).
    pub divert: f64,
    /// Least P(kind = NON_POLICE) to divert a call placed in a given 12345 category: chosen per
    /// category so that one ambiguous category does not raise the bar for all.
    #[serde(default)]
    pub divert_by_category: std::collections::BTreeMap<String, f64>,
    /// Least P(kind = INVALID) to call a call invalid.
    pub invalid: f64,
    /// Least P(priority = P1) that makes a police call P1 without a danger word.
    pub p1: f64,
    /// The same, for a call placed in a given police category (never below `p1`): chosen per
    /// category so that the one category whose P1 calls lack words does not make every
    /// category's calls P1.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub p1_by_category: std::collections::BTreeMap<String, f64>,
    /// Below this top category probability a person must confirm.
    pub confident: f64,
}

impl Thresholds {
    /// The P1 threshold of a call placed in `category`.
    pub fn p1_for(&self, category: &str) -> f64 {
        self.p1_by_category
            .get(category)
            .copied()
            .unwrap_or(self.p1)
    }

    /// The threshold to leave the police as `kind` in `category` (none for the police's kinds).
    pub fn exit(&self, kind: Kind, category: &str) -> f64 {
        match kind {
            Kind::NonPolice => self
                .divert_by_category
                .get(category)
                .copied()
                .unwrap_or(self.divert),
            Kind::Invalid => self.invalid,
            _ => 0.0,
        }
    }
}

/// One softmax head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Class labels, in weight order.
    pub classes: Vec<String>,
    /// Bias per class.
    pub bias: Vec<f32>,
    /// Weights, row-major: feature × class.
    pub weights: Vec<f32>,
}

/// The three heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heads {
    /// Kind (`POLICE`, `JOINT`, ...).
    pub kind: Head,
    /// Category code of the catalogue.
    pub category: Head,
    /// Priority `P1`..`P4`.
    pub priority: Head,
}

/// Cross-validation figures recorded with the model (out-of-fold, train split).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CvFigures {
    /// Folds.
    pub folds: usize,
    /// Every candidate tried and its out-of-fold figures, one line each.
    pub candidates: Vec<String>,
    /// The figures of the chosen settings with the chosen thresholds.
    pub chosen: String,
}

/// The model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// File format.
    pub format: u32,
    /// Version: a digest of what the model says (vocabulary, weights, thresholds).
    pub version: String,
    /// What it was trained on.
    pub trained_on: TrainedOn,
    /// Rules version whose matches were features.
    pub rules_version: String,
    /// Feature settings.
    pub features: FeatureConfig,
    /// Training settings.
    pub hyper: Hyper,
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// How they were chosen.
    pub cv: CvFigures,
    /// How the model's and the rules' answers are combined.
    pub decision: Decision,
    /// Feature names, in weight order.
    pub vocabulary: Vec<String>,
    /// Inverse document frequency per feature (smooth: ln((1 + n) / (1 + df)) + 1).
    pub idf: Vec<f32>,
    /// The heads.
    pub heads: Heads,
}

impl ModelFile {
    /// The digest that names the model's content.
    pub fn content_digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&self.vocabulary).unwrap_or_default());
        h.update(serde_json::to_vec(&self.idf).unwrap_or_default());
        h.update(serde_json::to_vec(&self.decision).unwrap_or_default());
        h.update(serde_json::to_vec(&self.heads).unwrap_or_default());
        h.update(serde_json::to_vec(&self.thresholds).unwrap_or_default());
        h.update(serde_json::to_vec(&self.features).unwrap_or_default());
        hex::encode(h.finalize())
    }
}

/// Probabilities of one head, in the head's class order.
#[derive(Debug, Clone, PartialEq)]
pub struct Probs {
    /// Class labels.
    pub classes: Vec<String>,
    /// Probability per class.
    pub p: Vec<f64>,
}

impl Probs {
    /// Probability of `class` (0 when unknown).
    pub fn of(&self, class: &str) -> f64 {
        self.classes
            .iter()
            .position(|c| c == class)
            .map_or(0.0, |i| self.p[i])
    }

    /// Classes by decreasing probability (ties by label).
    pub fn ranked(&self) -> Vec<(&str, f64)> {
        let mut v: Vec<(&str, f64)> = self
            .classes
            .iter()
            .map(String::as_str)
            .zip(self.p.iter().copied())
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// The best class.
    pub fn top(&self) -> (&str, f64) {
        self.ranked().first().copied().unwrap_or(("", 0.0))
    }
}

/// What the model says about one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Kind probabilities.
    pub kind: Probs,
    /// Category probabilities.
    pub category: Probs,
    /// Priority probabilities.
    pub priority: Probs,
}

/// A loaded model, ready to score.
#[derive(Debug, Clone)]
pub struct Model {
    /// The file it came from.
    pub file: ModelFile,
    index: HashMap<String, u32>,
}

fn check_head(name: &str, head: &Head, features: usize) -> Result<(), ModelError> {
    let k = head.classes.len();
    if k == 0 || head.bias.len() != k || head.weights.len() != features * k {
        return Err(ModelError::Invalid(format!(
            "head {name}: {} classes, {} biases, {} weights for {features} features",
            k,
            head.bias.len(),
            head.weights.len()
        )));
    }
    if head
        .weights
        .iter()
        .chain(&head.bias)
        .any(|w| !w.is_finite())
    {
        return Err(ModelError::Invalid(format!(
            "head {name}: weight not finite"
        )));
    }
    Ok(())
}

impl Model {
    /// Reads a model file's text.
    pub fn parse(json: &str) -> Result<Self, ModelError> {
        let file: ModelFile = serde_json::from_str(json)?;
        Self::from_file(file)
    }

    /// Checks a model and indexes its vocabulary.
    pub fn from_file(file: ModelFile) -> Result<Self, ModelError> {
        if file.format != FORMAT {
            return Err(ModelError::Invalid(format!(
                "format {} (this build reads {FORMAT})",
                file.format
            )));
        }
        let n = file.vocabulary.len();
        if file.idf.len() != n || file.idf.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(ModelError::Invalid(format!(
                "{} idf values for {n} features",
                file.idf.len()
            )));
        }
        check_head("kind", &file.heads.kind, n)?;
        check_head("category", &file.heads.category, n)?;
        check_head("priority", &file.heads.priority, n)?;
        for kind in &file.heads.kind.classes {
            if crate::domain::Kind::parse(kind).is_none() {
                return Err(ModelError::Invalid(format!("unknown kind {kind}")));
            }
        }
        for p in &file.heads.priority.classes {
            if !matches!(p.as_str(), "P1" | "P2" | "P3" | "P4") {
                return Err(ModelError::Invalid(format!("unknown priority {p}")));
            }
        }
        let mut index = HashMap::with_capacity(n);
        for (i, f) in file.vocabulary.iter().enumerate() {
            let i =
                u32::try_from(i).map_err(|_| ModelError::Invalid("vocabulary too large".into()))?;
            if index.insert(f.clone(), i).is_some() {
                return Err(ModelError::Invalid(format!("feature {f} twice")));
            }
        }
        Ok(Self { file, index })
    }

    /// The model shipped with the service.
    pub fn builtin() -> Result<Self, ModelError> {
        Self::parse(DEFAULT_MODEL)
    }

    /// The model's version.
    pub fn version(&self) -> &str {
        &self.file.version
    }

    /// The feature vector of a scanned text: sublinear TF-IDF of the known features, unit length.
    pub fn vector(&self, rules: &CompiledRules, scan: &Scan) -> Vec<(u32, f32)> {
        let names = features::extract(&self.file.features, rules, scan);
        vectorize(&self.index, &self.file.idf, &self.file.features, &names)
    }

    /// Classifies a call (the answer of the `Classify` RPC): the model under the safety layer
    /// (`domain::decide`), or the rules first where their file's decision says so.
    pub fn classify(
        &self,
        rules: &CompiledRules,
        text: &str,
        channel: &str,
        reported_category: &str,
    ) -> Classification {
        let scan = crate::domain::scan::scan(rules, text);
        let scores = self.score(rules, &scan);
        let view = ModelView {
            version: &self.file.version,
            thresholds: &self.file.thresholds,
            scores: &scores,
        };
        answer(
            rules,
            &scan,
            &view,
            self.file.decision,
            channel,
            reported_category,
        )
    }

    /// Scores a scanned text.
    pub fn score(&self, rules: &CompiledRules, scan: &Scan) -> Scores {
        let x = self.vector(rules, scan);
        let heads = &self.file.heads;
        Scores {
            kind: predict(&heads.kind, &x),
            category: predict(&heads.category, &x),
            priority: predict(&heads.priority, &x),
        }
    }
}

/// The rules' answer under the safety layer: a danger signal, or the model's P1 probability
/// over its threshold, makes a call that stays with the police P1; the model's top classes
/// are added to the explanation.
fn raise_for_danger(
    rules: &CompiledRules,
    scan: &Scan,
    view: &ModelView<'_>,
    mut answer: Classification,
) -> Classification {
    let danger = scan.safety(rules).danger.clone();
    let p1 = view.scores.priority.of("P1");
    let threshold = view.thresholds.p1_for(&answer.category);
    if answer.kind.stays_with_police()
        && answer.priority != Priority::P1
        && (!danger.is_empty() || p1 >= threshold)
    {
        let why = if danger.is_empty() {
            format!("模型 P(P1)={p1:.2} ≥ {threshold:.2}")
        } else {
            format!("危险迹象 {}", danger.join("、"))
        };
        answer.matched.push(Explained {
            rule_id: "danger.override".into(),
            category: answer.category.clone(),
            words: danger,
            effect: Effect::DangerOverride,
            kind: Some(answer.kind),
            priority: Some(Priority::P1),
            negated: Vec::new(),
            explanation: format!("{why} -> P1"),
        });
        answer.priority = Priority::P1;
        answer.response_target_secs = rules.response_targets.get(&Priority::P1).copied();
    }
    answer.matched.extend(model_lines(view));
    answer
}

/// The decision of `Model::classify` on a scanned text (also run on out-of-fold scores).
pub fn answer(
    rules: &CompiledRules,
    scan: &Scan,
    view: &ModelView<'_>,
    decision: Decision,
    channel: &str,
    reported_category: &str,
) -> Classification {
    let rules_answer = match decision {
        Decision::Model => false,
        Decision::RulesFirst => true,
        Decision::RulesWhenUnsure => view.scores.category.top().1 < view.thresholds.confident,
    };
    if rules_answer {
        let by_rules =
            crate::domain::classify::classify_scanned(rules, scan, channel, reported_category);
        let rules_know = !by_rules.matched.iter().any(|e| e.rule_id == FALLBACK_RULE);
        // Leaving the police takes the model's confidence and no police signal, whoever proposes it.
        let exit_allowed = match by_rules.kind {
            Kind::NonPolice | Kind::Invalid => {
                let threshold = view.thresholds.exit(by_rules.kind, &by_rules.category);
                let p = exit_probability(view.scores, rules, by_rules.kind);
                p >= threshold && scan.safety(rules).blocking_words_at(p).is_empty()
            }
            _ => true,
        };
        if rules_know && exit_allowed {
            let mut answer = raise_for_danger(rules, scan, view, by_rules);
            if matches!(answer.kind, Kind::NonPolice | Kind::Invalid) {
                let p = exit_probability(view.scores, rules, answer.kind);
                answer.matched.push(crate::domain::decide::line(
                    "divert.allowed",
                    Effect::Category,
                    format!(
                        "规则 {} 且模型 P({})={p:.2} ≥ {:.2}，无警情迹象",
                        answer.category,
                        answer.kind.as_str(),
                        view.thresholds.exit(answer.kind, &answer.category)
                    ),
                ));
            }
            return answer;
        }
    }
    decide(rules, scan, view, channel, reported_category)
}

/// The model's probability that a call is of `kind`: the mean of the kind head's probability and
/// the category head's mass on the categories of that kind.
pub fn exit_probability(scores: &Scores, rules: &CompiledRules, kind: Kind) -> f64 {
    let mass: f64 = scores
        .category
        .classes
        .iter()
        .zip(&scores.category.p)
        .filter(|(c, _)| {
            rules
                .category_index(c)
                .is_some_and(|i| rules.categories[i].kind == kind)
        })
        .map(|(_, p)| *p)
        .sum();
    (scores.kind.of(kind.as_str()) + mass) / 2.0
}

/// Weighs counted feature names by sublinear TF-IDF and their group, scaled to unit length.
pub fn vectorize(
    index: &HashMap<String, u32>,
    idf: &[f32],
    config: &FeatureConfig,
    names: &[(String, u32)],
) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = names
        .iter()
        .filter_map(|(n, count)| {
            let i = *index.get(n)?;
            let tf = 1.0 + (*count as f32).ln();
            Some((i, tf * idf[i as usize] * config.group_weight(n)))
        })
        .collect();
    v.sort_unstable_by_key(|e| e.0);
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, x)| *x /= norm);
    }
    v
}

/// Softmax probabilities of one head for a feature vector.
pub fn predict(head: &Head, x: &[(u32, f32)]) -> Probs {
    let k = head.classes.len();
    let mut logits: Vec<f64> = head.bias.iter().map(|b| f64::from(*b)).collect();
    for &(f, v) in x {
        let row = &head.weights[f as usize * k..(f as usize + 1) * k];
        for (l, w) in logits.iter_mut().zip(row) {
            *l += f64::from(*w) * f64::from(v);
        }
    }
    Probs {
        classes: head.classes.clone(),
        p: softmax(&logits),
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
