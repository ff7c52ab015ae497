//! Offline training (`pingan triage train`): softmax regression by full-batch Adam with an L2
//! penalty (`optimize`), so the same train split gives the same file.
//! Settings and decision thresholds are chosen by k-fold cross-validation on the train split
//! only (out-of-fold answers through the same decision the service uses).

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::optimize::train_head;
use super::{
    CvFigures, Decision, FORMAT, FeatureConfig, Heads, Hyper, Model, ModelError, ModelFile, Scores,
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
    decision: Decision,
) -> Result<Model, ModelError> {
    let names: Vec<Vec<(String, u32)>> = calls
        .iter()
        .map(|p| features::extract(config, rules, &p.scan))
        .collect();
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for doc in &names {
        for (f, _) in doc {
            *df.entry(f.as_str()).or_default() += 1;
        }
    }
    let n = calls.len() as f64;
    let (vocabulary, idf): (Vec<String>, Vec<f32>) = df
        .into_iter()
        .filter(|(_, d)| *d >= config.min_df)
        .map(|(f, d)| {
            let idf = ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0;
            (f.to_owned(), ((idf * 1e4).round() / 1e4) as f32)
        })
        .unzip();
    let index: HashMap<String, u32> = vocabulary
        .iter()
        .enumerate()
        .map(|(i, f)| (f.clone(), i as u32))
        .collect();
    let x: Vec<Vec<(u32, f32)>> = names
        .iter()
        .map(|doc| vectorize(&index, &idf, config, doc))
        .collect();
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
        decision,
        vocabulary,
        idf,
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
        let model = fit(rules, &train, config, hyper, &placeholder, Decision::Model)?;
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
    let hyper = |c: f64| Hyper {
        algorithm: "softmax_regression_adam".into(),
        c,
        iterations: 150,
        learning_rate: 0.05,
        balanced: true,
    };
    let features = |char_ngrams: Vec<usize>, rule_weight: f32, word_bigrams: bool| FeatureConfig {
        char_ngrams,
        rule_weight,
        rule_features: rule_weight > 0.0,
        word_bigrams,
        ..FeatureConfig::default()
    };
    let safety = |config: FeatureConfig| FeatureConfig {
        safety_features: true,
        ..config
    };
    vec![
        (features(vec![1, 2], 0.5, false), hyper(30.0)),
        (features(vec![1, 2], 0.5, true), hyper(30.0)),
        (features(vec![1, 2], 1.0, true), hyper(30.0)),
        (features(vec![1, 2], 0.5, true), hyper(100.0)),
        (features(vec![1, 2, 3], 0.5, true), hyper(30.0)),
        (safety(features(vec![1, 2], 1.0, true)), hyper(30.0)),
        (safety(features(vec![1, 2], 1.0, true)), hyper(60.0)),
    ]
}

/// The candidates, or only the one `PINGAN_TRIAGE_TRAIN_ONLY` names by index (corpus work: one
/// setting's cross-validation in a fifth of the time; the shipped model is trained on all).
pub fn candidates_from_env() -> Vec<(FeatureConfig, Hyper)> {
    let all = candidates();
    match std::env::var("PINGAN_TRIAGE_TRAIN_ONLY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if n < all.len() => vec![all[n].clone()],
        _ => all,
    }
}

/// Prints, on standard error, the out-of-fold calls the safety figures hinge on (train only):
/// police calls the model would send away at probe thresholds, P1 calls it would answer lower.
fn print_misses(rules: &CompiledRules, prepared: &[Prepared], scores: &[Scores], t: &Thresholds) {
    let mut probe = t.clone();
    probe.divert = 0.5;
    probe.invalid = 0.5;
    probe.p1 = 0.4;
    for decision in [Decision::Model] {
        for (p, a) in prepared
            .iter()
            .zip(decide_all(rules, prepared, scores, &probe, decision))
        {
            let c = &p.call;
            let unsafe_exit = matches!(c.kind.as_str(), "POLICE" | "JOINT")
                && matches!(a.kind.as_str(), "NON_POLICE" | "INVALID");
            let p1_low = c.priority == "P1" && a.priority.as_str() != "P1";
            if unsafe_exit || p1_low {
                eprintln!(
                    "{decision:?} {} {} {}/{}/{} -> {}/{}/{} {}",
                    if unsafe_exit { "UNSAFE" } else { "P1LOW" },
                    c.id,
                    c.kind,
                    c.category,
                    c.priority,
                    a.kind.as_str(),
                    a.category,
                    a.priority.as_str(),
                    c.text
                );
            }
        }
    }
}

/// The per-category divert thresholds, for the record.
pub fn per_category(t: &Thresholds) -> String {
    t.divert_by_category
        .iter()
        .map(|(c, v)| format!("{c} {v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The per-category P1 thresholds, for the record (empty: the global one for all).
pub fn p1_line(t: &Thresholds) -> String {
    t.p1_by_category
        .iter()
        .map(|(c, v)| format!("{c} {v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes every out-of-fold answer (train only) as JSON lines for reading misses, in the
/// temporary folder (`pingan-triage-oof-<setting>.jsonl`).
fn dump(rules: &CompiledRules, prepared: &[Prepared], scores: &[Scores], t: &Thresholds, n: usize) {
    let answers = decide_all(rules, prepared, scores, t, Decision::Model);
    let lines: Vec<String> = prepared
        .iter()
        .zip(scores)
        .zip(answers)
        .map(|((p, s), a)| {
            serde_json::json!({
                "id": p.call.id, "text": p.call.text,
                "kind": p.call.kind, "category": p.call.category, "priority": p.call.priority,
                "a_kind": a.kind.as_str(), "a_category": a.category, "a_priority": a.priority.as_str(),
                "rules": a.matched.iter().map(|m| format!("{}: {}", m.rule_id, m.explanation)).collect::<Vec<_>>(),
                "p_cat": s.category.top(), "p_prio": s.priority.ranked(), "p_kind": s.kind.ranked(),
                "p_cats": s.category.ranked(),
                "exit_np": super::exit_probability(s, rules, crate::domain::Kind::NonPolice),
                "exit_inv": super::exit_probability(s, rules, crate::domain::Kind::Invalid),
                "blocking": p.scan.safety(rules).blocking_words(),
            })
            .to_string()
        })
        .collect();
    let path = std::env::temp_dir().join(format!("pingan-triage-oof-{n}.jsonl"));
    let _ = std::fs::write(path, lines.join("\n"));
}

/// Safety first, then the sum of the three accuracies (ties keep the earlier setting).
fn rank(f: &Figures) -> usize {
    f.total()
        .saturating_sub(1000 * (f.unsafe_diversions + f.p1_missed))
}

/// Trains the shipped model: cross-validation over `candidates` and both decisions, thresholds
/// on the folds, then the chosen setting on the whole train split. `train_bytes` is the train
/// file's content.
pub fn train(
    rules: &CompiledRules,
    calls: &[LabelledCall],
    train_bytes: &[u8],
    settings: &[(FeatureConfig, Hyper)],
) -> Result<Model, ModelError> {
    let prepared = prepare(rules, calls);
    let mut best: Option<(usize, Decision, usize, Thresholds, String)> = None;
    let mut lines = Vec::new();
    let debug = std::env::var_os("PINGAN_TRIAGE_TRAIN_DEBUG").is_some();
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
        for decision in [
            Decision::Model,
            Decision::RulesWhenUnsure,
            Decision::RulesFirst,
        ] {
            let thresholds = choose_thresholds(rules, &prepared, &scores, decision);
            if debug && decision == Decision::Model {
                print_misses(rules, &prepared, &scores, &thresholds);
                dump(rules, &prepared, &scores, &thresholds, n);
            }
            // No per-category P1 threshold is chosen any more (session 44): each could only
            // rise above the global one, estimated on a few dozen P1 calls per category.
            let f = figures(
                &prepared,
                &decide_all(rules, &prepared, &scores, &thresholds, decision),
            );
            let line = format!(
                "chars={:?} word_bigrams={} rule_weight={} C={} decision={decision:?}: {} (divert {:.2} [{}], invalid {:.2}, p1 {:.2} [{}]; model alone: kind {}, category {}, priority {} of {})",
                config.char_ngrams,
                config.word_bigrams,
                config.rule_weight,
                hyper.c,
                f.line(),
                thresholds.divert,
                per_category(&thresholds),
                thresholds.invalid,
                thresholds.p1,
                p1_line(&thresholds),
                raw.0,
                raw.1,
                raw.2,
                prepared.len()
            );
            if debug {
                eprintln!("{line}");
            }
            lines.push(line.clone());
            let rank = rank(&f);
            if best.as_ref().is_none_or(|(_, _, r, _, _)| rank > *r) {
                best = Some((n, decision, rank, thresholds, line));
            }
        }
    }
    let (n, decision, _, thresholds, chosen) =
        best.ok_or_else(|| ModelError::Invalid("no setting to train".into()))?;
    let (config, hyper) = &settings[n];
    let all: Vec<&Prepared> = prepared.iter().collect();
    let model = fit(rules, &all, config, hyper, &thresholds, decision)?;
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
