//! The trained model of triage: multinomial logistic regression over jieba words, character
//! n-grams and the rules' matches, one head each for kind, category and priority. Trained
//! offline (`pingan triage train`, see `train`) into a versioned JSON file that ships with the
//! binary and can be replaced at run time (`--triage-model`).

pub mod features;
pub mod thresholds;
pub mod train;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use features::FeatureConfig;

use crate::domain::classify::Classification;
use crate::domain::classify::{Effect, Explained};
use crate::domain::decide::{ModelView, decide, model_lines};
use crate::domain::safety::signals;
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
pub const FORMAT: u32 = 1;

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

/// Training settings (fixed: training is deterministic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// `logistic_regression`.
    pub algorithm: String,
    /// L2 penalty per update.
    pub l2: f64,
    /// Passes over the training calls.
    pub epochs: usize,
    /// First step size (decays as 1 / (1 + epoch / 4)).
    pub learning_rate: f64,
    /// Seed of the order of calls in each pass.
    pub seed: u64,
}

/// Decision thresholds, chosen by cross-validation on the train split (never on test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Least P(kind = NON_POLICE) to divert a call to 12345.
    pub divert: f64,
    /// Least P(kind = INVALID) to call a call invalid.
    pub invalid: f64,
    /// Least P(priority = P1) that makes a police call P1 without a danger word.
    pub p1: f64,
    /// Below this top category probability a person must confirm.
    pub confident: f64,
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
    /// Feature names, in weight order.
    pub vocabulary: Vec<String>,
    /// The heads.
    pub heads: Heads,
}

impl ModelFile {
    /// The digest that names the model's content.
    pub fn content_digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&self.vocabulary).unwrap_or_default());
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

    /// The feature vector of a scanned text: known features, each 1/sqrt(n) (unit length).
    pub fn vector(&self, rules: &CompiledRules, scan: &Scan) -> Vec<(u32, f32)> {
        let names = features::extract(&self.file.features, rules, scan);
        vectorize(&self.index, &names)
    }

    /// Classifies a call (the answer of the `Classify` RPC): where a category rule of the rules
    /// file recognises the call, the rules decide as before (their words are the bureau's
    /// vocabulary); where none does, or a diversion the rules propose meets a sign of conflict
    /// or police business, the model decides under the safety layer (`domain::decide`). The
    /// model's top classes are explained either way.
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
        let by_rules =
            crate::domain::classify::classify_scanned(rules, &scan, channel, reported_category);
        let rules_know = !by_rules.matched.iter().any(|e| e.rule_id == FALLBACK_RULE);
        // Leaving the police takes the model's confidence and no police signal, whoever proposes it.
        let exit_allowed = match by_rules.kind {
            Kind::NonPolice | Kind::Invalid => {
                let t = &self.file.thresholds;
                let threshold = if by_rules.kind == Kind::NonPolice {
                    t.divert
                } else {
                    t.invalid
                };
                scores.kind.of(by_rules.kind.as_str()) >= threshold
                    && !signals(rules, &scan).blocks_diversion()
            }
            _ => true,
        };
        if rules_know && exit_allowed {
            return self.raise_for_danger(rules, &scan, &view, by_rules);
        }
        decide(rules, &scan, &view, channel, reported_category)
    }

    /// The rules' answer under the safety layer: a danger signal, or the model's P1 probability
    /// over its threshold, makes a call that stays with the police P1; the model's top classes
    /// are added to the explanation.
    fn raise_for_danger(
        &self,
        rules: &CompiledRules,
        scan: &Scan,
        view: &ModelView<'_>,
        mut answer: Classification,
    ) -> Classification {
        let danger = signals(rules, scan).danger;
        let p1 = view.scores.priority.of("P1");
        if answer.kind.stays_with_police()
            && answer.priority != Priority::P1
            && (!danger.is_empty() || p1 >= view.thresholds.p1)
        {
            let why = if danger.is_empty() {
                format!("模型 P(P1)={p1:.2} ≥ {:.2}", view.thresholds.p1)
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

/// Indexes feature names and scales them to unit length.
pub fn vectorize(index: &HashMap<String, u32>, names: &[String]) -> Vec<(u32, f32)> {
    let mut ids: Vec<u32> = names.iter().filter_map(|n| index.get(n).copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    let v = if ids.is_empty() {
        0.0
    } else {
        1.0 / (ids.len() as f32).sqrt()
    };
    ids.into_iter().map(|i| (i, v)).collect()
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
