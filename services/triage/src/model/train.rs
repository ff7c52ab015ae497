//! Offline training (`pingan triage train`): stochastic gradient descent on the softmax loss with
//! an L2 penalty, in an order fixed by the seed, so the same train split gives the same file.
//! Settings and decision thresholds are chosen by k-fold cross-validation on the train split
//! only (out-of-fold answers through the same decision the service uses).

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::{
    CvFigures, FORMAT, FeatureConfig, Head, Heads, Hyper, Model, ModelError, ModelFile, Scores,
    Thresholds, TrainedOn, features, predict, vectorize,
};
use crate::domain::rules::CompiledRules;
use crate::domain::scan::{Scan, scan};
use crate::eval::{KINDS, LabelledCall};

pub use super::thresholds::{
    Figures, SAFETY_MARGIN, choose_thresholds, decide_all, default_thresholds, figures,
};

/// Salt of the fold assignment of cross-validation.
pub const FOLD_SALT: &str = "pingan-triage-cv-v1";
/// Folds of cross-validation.
pub const FOLDS: usize = 5;
/// Priorities, in head order.
pub const PRIORITIES: [&str; 4] = ["P1", "P2", "P3", "P4"];

/// A labelled call, scanned by the rules once.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The call.
    pub call: LabelledCall,
    /// What the rules saw.
    pub scan: Scan,
}

/// Scans every call.
pub fn prepare(rules: &CompiledRules, calls: &[LabelledCall]) -> Vec<Prepared> {
    calls
        .iter()
        .map(|call| Prepared {
            call: call.clone(),
            scan: scan(rules, &call.text),
        })
        .collect()
}

/// Deterministic generator (SplitMix64): the order of calls in each pass.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn round4(w: f64) -> f32 {
    ((w * 1e4).round() / 1e4) as f32
}

/// Trains one softmax head.
pub fn train_head(
    classes: &[String],
    x: &[Vec<(u32, f32)>],
    y: &[usize],
    n_features: usize,
    hyper: &Hyper,
) -> Head {
    let k = classes.len();
    let mut w = vec![0.0_f64; n_features * k];
    let mut b = vec![0.0_f64; k];
    let mut rng = SplitMix(hyper.seed);
    let mut order: Vec<usize> = (0..x.len()).collect();
    let mut logits = vec![0.0_f64; k];
    for epoch in 0..hyper.epochs {
        rng.shuffle(&mut order);
        let lr = hyper.learning_rate / (1.0 + epoch as f64 / 4.0);
        for &i in &order {
            logits.copy_from_slice(&b);
            for &(f, v) in &x[i] {
                let row = &w[f as usize * k..(f as usize + 1) * k];
                for (l, wv) in logits.iter_mut().zip(row) {
                    *l += wv * f64::from(v);
                }
            }
            let p = super::softmax(&logits);
            for c in 0..k {
                let g = p[c] - if y[i] == c { 1.0 } else { 0.0 };
                b[c] -= lr * g;
                for &(f, v) in &x[i] {
                    let j = f as usize * k + c;
                    w[j] -= lr * (g * f64::from(v) + hyper.l2 * w[j]);
                }
            }
        }
    }
    Head {
        classes: classes.to_vec(),
        bias: b.into_iter().map(round4).collect(),
        weights: w.into_iter().map(round4).collect(),
    }
}

fn index_of(classes: &[String], label: &str) -> usize {
    classes.iter().position(|c| c == label).unwrap_or(0)
}

/// Trains a model on `calls` (no thresholds chosen: `thresholds` are written as given).
pub fn fit(
    rules: &CompiledRules,
    calls: &[&Prepared],
    config: &FeatureConfig,
    hyper: &Hyper,
    thresholds: &Thresholds,
) -> Result<Model, ModelError> {
    let names: Vec<Vec<String>> = calls
        .iter()
        .map(|p| features::extract(config, rules, &p.scan))
        .collect();
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for doc in &names {
        for f in doc {
            *df.entry(f.as_str()).or_default() += 1;
        }
    }
    let vocabulary: Vec<String> = df
        .into_iter()
        .filter(|(_, n)| *n >= config.min_df)
        .map(|(f, _)| f.to_owned())
        .collect();
    let index: HashMap<String, u32> = vocabulary
        .iter()
        .enumerate()
        .map(|(i, f)| (f.clone(), i as u32))
        .collect();
    let x: Vec<Vec<(u32, f32)>> = names.iter().map(|n| vectorize(&index, n)).collect();
    let kinds: Vec<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
    let categories: Vec<String> = rules.categories.iter().map(|c| c.code.clone()).collect();
    let priorities: Vec<String> = PRIORITIES.iter().map(|p| (*p).to_owned()).collect();
    let y = |classes: &[String], label: fn(&LabelledCall) -> &str| -> Vec<usize> {
        calls
            .iter()
            .map(|p| index_of(classes, label(&p.call)))
            .collect()
    };
    let heads = Heads {
        kind: train_head(&kinds, &x, &y(&kinds, |c| &c.kind), vocabulary.len(), hyper),
        category: train_head(
            &categories,
            &x,
            &y(&categories, |c| &c.category),
            vocabulary.len(),
            hyper,
        ),
        priority: train_head(
            &priorities,
            &x,
            &y(&priorities, |c| &c.priority),
            vocabulary.len(),
            hyper,
        ),
    };
    let mut file = ModelFile {
        format: FORMAT,
        version: String::new(),
        trained_on: TrainedOn {
            file: String::new(),
            calls: calls.len(),
            sha256: String::new(),
        },
        rules_version: rules.version.clone(),
        features: config.clone(),
        hyper: hyper.clone(),
        thresholds: thresholds.clone(),
        cv: CvFigures::default(),
        vocabulary,
        heads,
    };
    file.version = format!("lr-{}", &file.content_digest()[..12]);
    Model::from_file(file)
}

fn fold_of(calls: &[Prepared]) -> Vec<usize> {
    let mut by_category: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in calls.iter().enumerate() {
        by_category.entry(&p.call.category).or_default().push(i);
    }
    let key = |id: &str| -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(FOLD_SALT.as_bytes());
        h.update([0u8]);
        h.update(id.as_bytes());
        h.finalize().to_vec()
    };
    let mut fold = vec![0; calls.len()];
    for group in by_category.values_mut() {
        group.sort_by_key(|&i| (key(&calls[i].call.id), calls[i].call.id.clone()));
        for (n, &i) in group.iter().enumerate() {
            fold[i] = n % FOLDS;
        }
    }
    fold
}

/// Out-of-fold scores of every call of `calls` for one setting.
pub fn out_of_fold(
    rules: &CompiledRules,
    calls: &[Prepared],
    config: &FeatureConfig,
    hyper: &Hyper,
) -> Result<Vec<Scores>, ModelError> {
    let fold = fold_of(calls);
    let mut scores: Vec<Option<Scores>> = vec![None; calls.len()];
    let placeholder = default_thresholds();
    for k in 0..FOLDS {
        let train: Vec<&Prepared> = calls
            .iter()
            .zip(&fold)
            .filter(|(_, f)| **f != k)
            .map(|(p, _)| p)
            .collect();
        let model = fit(rules, &train, config, hyper, &placeholder)?;
        for (i, p) in calls.iter().enumerate() {
            if fold[i] == k {
                let x = model.vector(rules, &p.scan);
                let h = &model.file.heads;
                scores[i] = Some(Scores {
                    kind: predict(&h.kind, &x),
                    category: predict(&h.category, &x),
                    priority: predict(&h.priority, &x),
                });
            }
        }
    }
    Ok(scores.into_iter().flatten().collect())
}

/// Settings tried by cross-validation.
pub fn candidates() -> Vec<(FeatureConfig, Hyper)> {
    let hyper = |l2: f64, epochs: usize| Hyper {
        algorithm: "logistic_regression".into(),
        l2,
        epochs,
        learning_rate: 2.0,
        seed: 14,
    };
    let features = |char_ngrams: Vec<usize>, min_df: usize| FeatureConfig {
        char_ngrams,
        min_df,
        ..FeatureConfig::default()
    };
    vec![
        (features(vec![1, 2], 2), hyper(1e-6, 30)),
        (features(vec![1, 2, 3], 2), hyper(1e-6, 30)),
        (features(vec![1, 2], 1), hyper(1e-6, 30)),
        (features(vec![1, 2], 2), hyper(1e-6, 60)),
    ]
}

/// Trains the shipped model: cross-validation over `candidates`, thresholds on the folds, then
/// the chosen setting on the whole train split. `train_bytes` is the train file's content.
pub fn train(
    rules: &CompiledRules,
    calls: &[LabelledCall],
    train_bytes: &[u8],
    settings: &[(FeatureConfig, Hyper)],
) -> Result<Model, ModelError> {
    let prepared = prepare(rules, calls);
    let mut best: Option<(usize, usize, Thresholds, String)> = None;
    let mut lines = Vec::new();
    for (n, (config, hyper)) in settings.iter().enumerate() {
        let scores = out_of_fold(rules, &prepared, config, hyper)?;
        let raw = prepared
            .iter()
            .zip(&scores)
            .map(|(p, s)| {
                (
                    usize::from(s.kind.top().0 == p.call.kind),
                    usize::from(s.category.top().0 == p.call.category),
                    usize::from(s.priority.top().0 == p.call.priority),
                )
            })
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        let thresholds = choose_thresholds(rules, &prepared, &scores);
        if std::env::var_os("PINGAN_TRIAGE_TRAIN_DEBUG").is_some() {
            let mut probe = thresholds.clone();
            probe.divert = 0.6;
            probe.invalid = 0.6;
            for (p, a) in prepared
                .iter()
                .zip(decide_all(rules, &prepared, &scores, &probe))
            {
                let c = &p.call;
                if (matches!(c.kind.as_str(), "POLICE" | "JOINT")
                    && matches!(a.kind.as_str(), "NON_POLICE" | "INVALID"))
                    || (c.priority == "P1" && a.priority.as_str() != "P1")
                {
                    eprintln!(
                        "MISS {} {}/{} -> {}/{}/{} {}",
                        c.id,
                        c.kind,
                        c.priority,
                        a.kind.as_str(),
                        a.category,
                        a.priority.as_str(),
                        c.text
                    );
                }
            }
        }
        let f = figures(
            &prepared,
            &decide_all(rules, &prepared, &scores, &thresholds),
        );
        let line = format!(
            "rule_features={} l2={} epochs={} lr={}: {} (divert {:.2}, invalid {:.2}, p1 {:.2}; model alone: kind {}, category {}, priority {} of {})",
            config.rule_features,
            hyper.l2,
            hyper.epochs,
            hyper.learning_rate,
            f.line(),
            thresholds.divert,
            thresholds.invalid,
            thresholds.p1,
            raw.0,
            raw.1,
            raw.2,
            prepared.len()
        );
        lines.push(line.clone());
        // Safety first, then the sum of the three accuracies; ties keep the earlier setting.
        let rank = f
            .total()
            .saturating_sub(1000 * (f.unsafe_diversions + f.p1_missed));
        if best.as_ref().is_none_or(|(_, r, _, _)| rank > *r) {
            best = Some((n, rank, thresholds, line));
        }
    }
    let (n, _, thresholds, chosen) =
        best.ok_or_else(|| ModelError::Invalid("no setting to train".into()))?;
    let (config, hyper) = &settings[n];
    let all: Vec<&Prepared> = prepared.iter().collect();
    let model = fit(rules, &all, config, hyper, &thresholds)?;
    let mut file = model.file;
    file.trained_on = TrainedOn {
        file: format!("corpus/{}", crate::eval::TRAIN_FILE),
        calls: calls.len(),
        sha256: hex::encode(Sha256::digest(train_bytes)),
    };
    file.cv = CvFigures {
        folds: FOLDS,
        candidates: lines,
        chosen,
    };
    Model::from_file(file)
}

/// The model file's text as written to disk.
pub fn to_json(model: &Model) -> String {
    serde_json::to_string(&model.file).unwrap_or_default() + "\n"
}
