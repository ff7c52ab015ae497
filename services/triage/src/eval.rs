//! The labelled corpus (`services/triage/corpus/`), its fixed train / held-out split, and the
//! evaluation of the classifier on a split (`pingan triage eval`). The split is stratified by
//! category and decided by a salted SHA-256 of each call's id, so it never depends on file order
//! (each category's test share is a quota: the split is fixed together with the corpus).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::rules::CompiledRules;
use crate::model::{Model, ModelError};

mod report;
pub use report::{Miss, Outcome, Report};

/// Salt of the split hash; changing it re-draws the held-out set (never do it to improve figures).
pub const SPLIT_SALT: &str = "pingan-triage-corpus-split-v1";
/// Share of every category that goes to the held-out test split.
pub const TEST_SHARE: f64 = 0.30;
/// Where the train split is written, inside the corpus folder.
pub const TRAIN_FILE: &str = "train.jsonl";
/// Where the held-out split is written, inside the corpus folder.
pub const TEST_FILE: &str = "test.jsonl";
/// The folder of the hand-written source files, inside the corpus folder.
pub const CALLS_DIR: &str = "calls";
/// The kinds, in the order of the confusion matrix.
pub const KINDS: [&str; 5] = [
    "POLICE",
    "JOINT",
    "COMPLAINT_ABOUT_POLICE",
    "NON_POLICE",
    "INVALID",
];

/// The corpus shipped in the source tree.
pub fn default_corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// One labelled call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledCall {
    /// Unique id, e.g. `dv-012`.
    pub id: String,
    /// `110` or `12345`.
    pub channel: String,
    /// What the caller said (or the ticket's text).
    pub text: String,
    /// Expected kind (`POLICE`, `JOINT`, ...).
    pub kind: String,
    /// Expected category code of the catalogue.
    pub category: String,
    /// Expected priority `P1`..`P4`.
    pub priority: String,
    /// The corpus version the call entered with (none: versions 1 and 2). It fixes the call's
    /// side of the split: see [`split`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u32>,
    /// The category the call entered the corpus with, when a label review changed it: the split
    /// keys the call's quota on it, so a relabel never moves a call across the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_as: Option<String>,
}

impl LabelledCall {
    /// The category that placed the call in the split (see [`LabelledCall::entered_as`]).
    pub fn split_category(&self) -> &str {
        self.entered_as.as_deref().unwrap_or(&self.category)
    }
}

/// Why the corpus or a split cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a labelled call.
    #[error("{path}:{line}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The cause.
        source: serde_json::Error,
    },
    /// The rules shipped with the service do not compile.
    #[error("rules: {0}")]
    Rules(String),
    /// jieba's dictionary could not be reduced.
    #[error("{path}: {source}")]
    Segmenter {
        /// The dictionary read.
        path: String,
        /// The cause.
        source: crate::model::segmenter::SegmenterError,
    },
    /// The model could not be loaded or trained.
    #[error("model: {0}")]
    Model(#[from] ModelError),
    /// An unknown split name.
    #[error("unknown split {0:?} (test, train or all)")]
    Split(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    move |source| EvalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads one JSONL file of labelled calls (blank lines skipped).
pub fn read_jsonl(path: &Path) -> Result<Vec<LabelledCall>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut calls = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let call = serde_json::from_str(line).map_err(|source| EvalError::Parse {
            path: path.display().to_string(),
            line: n + 1,
            source,
        })?;
        calls.push(call);
    }
    Ok(calls)
}

/// Every hand-written call of `corpus_dir/calls/*.jsonl`, files in name order.
pub fn load_sources(corpus_dir: &Path) -> Result<Vec<LabelledCall>, EvalError> {
    let dir = corpus_dir.join(CALLS_DIR);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(io(&dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut calls = Vec::new();
    for file in files {
        calls.extend(read_jsonl(&file)?);
    }
    Ok(calls)
}

fn split_key(id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(SPLIT_SALT.as_bytes());
    hasher.update([0u8]);
    hasher.update(id.as_bytes());
    hasher.finalize().into()
}

/// The version of calls without `since` (corpus versions 1 and 2 were split together).
pub const BASE_VERSION: u32 = 2;
/// The corpus version of the source tree (`since` of its newest calls).
pub const CORPUS_VERSION: u32 = 5;

/// The ids the fixed-seed rule sends to test among `calls`: within each category (the one a call
/// entered with), calls ordered by the salted hash of their id, the first round(30 %).
fn quota_test_ids<'a>(calls: impl Iterator<Item = &'a LabelledCall>) -> BTreeSet<&'a str> {
    let mut by_category: BTreeMap<&str, Vec<&LabelledCall>> = BTreeMap::new();
    for call in calls {
        by_category
            .entry(call.split_category())
            .or_default()
            .push(call);
    }
    let mut test = BTreeSet::new();
    for group in by_category.values_mut() {
        group.sort_by_key(|c| (split_key(&c.id), c.id.clone()));
        let n_test = (group.len() as f64 * TEST_SHARE).round() as usize;
        test.extend(group.iter().take(n_test).map(|c| c.id.as_str()));
    }
    test
}

/// Splits `calls` into (train, test) by the fixed-seed rule, applied once per corpus version: a
/// call that entered with version `v` (`since`, [`BASE_VERSION`] when absent) takes the side the
/// rule gives it on the corpus as it was at `v` (every call with `since` ≤ `v`), so a new
/// version never moves a call of an older one across. The rule: within each category, calls
/// ordered by the salted hash of their id, the first round(30 %) go to test. Both halves are
/// sorted by id.
pub fn split(calls: &[LabelledCall]) -> (Vec<LabelledCall>, Vec<LabelledCall>) {
    let version = |c: &LabelledCall| c.since.unwrap_or(BASE_VERSION);
    let versions: BTreeSet<u32> = calls.iter().map(version).collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for v in versions {
        let test_ids = quota_test_ids(calls.iter().filter(|c| version(c) <= v));
        for call in calls.iter().filter(|c| version(c) == v) {
            if test_ids.contains(call.id.as_str()) {
                test.push(call.clone());
            } else {
                train.push(call.clone());
            }
        }
    }
    train.sort_by(|a, b| a.id.cmp(&b.id));
    test.sort_by(|a, b| a.id.cmp(&b.id));
    (train, test)
}

/// The JSONL text of a split, one call a line, as written to disk.
pub fn to_jsonl(calls: &[LabelledCall]) -> String {
    let mut out = String::new();
    for call in calls {
        // A struct of strings always serialises.
        if let Ok(line) = serde_json::to_string(call) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Regenerates `train.jsonl` and `test.jsonl` from the sources; returns their sizes.
pub fn write_split(corpus_dir: &Path) -> Result<(usize, usize), EvalError> {
    let (train, test) = split(&load_sources(corpus_dir)?);
    let train_path = corpus_dir.join(TRAIN_FILE);
    let test_path = corpus_dir.join(TEST_FILE);
    std::fs::write(&train_path, to_jsonl(&train)).map_err(io(&train_path))?;
    std::fs::write(&test_path, to_jsonl(&test)).map_err(io(&test_path))?;
    Ok((train.len(), test.len()))
}

/// The calls of split `name` (`test`, `train` or `all`) as written on disk.
pub fn load_split(corpus_dir: &Path, name: &str) -> Result<Vec<LabelledCall>, EvalError> {
    match name {
        "test" => read_jsonl(&corpus_dir.join(TEST_FILE)),
        "train" => read_jsonl(&corpus_dir.join(TRAIN_FILE)),
        "all" => {
            let mut calls = read_jsonl(&corpus_dir.join(TRAIN_FILE))?;
            calls.extend(read_jsonl(&corpus_dir.join(TEST_FILE))?);
            calls.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(calls)
        }
        other => Err(EvalError::Split(other.to_owned())),
    }
}

/// Classifies every call of `calls` with `rules` and `model`, in process, timing each call.
pub fn evaluate(
    rules: &CompiledRules,
    model: &Model,
    split: &str,
    calls: &[LabelledCall],
) -> Report {
    evaluate_with(rules, model, split, calls, false)
}

/// As `evaluate`; with `rules_only` the rules answer alone (the `rules` classifier).
pub fn evaluate_with(
    rules: &CompiledRules,
    model: &Model,
    split: &str,
    calls: &[LabelledCall],
    rules_only: bool,
) -> Report {
    let outcomes: Vec<Outcome> = calls
        .iter()
        .map(|call| {
            let channel = format!("CHANNEL_{}", call.channel);
            let start = Instant::now();
            let c = if rules_only {
                crate::domain::classify::classify(rules, &call.text, &channel, "")
            } else {
                model.classify(rules, &call.text, &channel, "")
            };
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            Outcome {
                call: call.clone(),
                kind: c.kind.as_str().to_owned(),
                category: c.category.clone(),
                priority: c.priority.as_str().to_owned(),
                nanos,
                why: c
                    .matched
                    .iter()
                    .map(|m| format!("{}[{}]", m.rule_id, m.words.join(", ")))
                    .collect(),
            }
        })
        .collect();
    let mut report = Report::from_outcomes(split, &rules.version, &outcomes);
    report.model_version = model.version().to_owned();
    report
}

/// `pingan triage eval`: the figures of the shipped rules and model (or the model file `model`,
/// or the rules alone) on one split of the corpus.
pub fn run_eval(
    corpus_dir: &Path,
    split: &str,
    model: Option<&Path>,
    rules_only: bool,
) -> Result<Report, EvalError> {
    let calls = load_split(corpus_dir, split)?;
    let rules = CompiledRules::builtin().map_err(|e| EvalError::Rules(e.to_string()))?;
    let start = Instant::now();
    let model = match model {
        Some(path) => Model::parse(&std::fs::read_to_string(path).map_err(io(path))?)?,
        None => Model::builtin()?,
    };
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    // The segmenter is built once per process; build it before the clock runs on calls.
    let _ = crate::model::features::jieba();
    let mut report = evaluate_with(&rules, &model, split, &calls, rules_only);
    report.model_load_ms = load_ms;
    Ok(report)
}

/// `pingan triage segmenter-dict`: the segmenter's dictionary for the train split, written to
/// `out`; returns the number of entries.
pub fn write_segmenter_dict(
    full_dict: &Path,
    corpus_dir: &Path,
    out: &Path,
) -> Result<usize, EvalError> {
    let full = std::fs::read_to_string(full_dict).map_err(io(full_dict))?;
    let texts: Vec<String> = load_split(corpus_dir, "train")?
        .into_iter()
        .map(|c| c.text)
        .collect();
    let content =
        crate::model::segmenter::reduce(&full, &texts).map_err(|source| EvalError::Segmenter {
            path: full_dict.display().to_string(),
            source,
        })?;
    std::fs::write(out, &content).map_err(io(out))?;
    Ok(content.lines().count().saturating_sub(1))
}

/// `pingan triage train`: trains on `corpus/train.jsonl` and returns the model (not written).
pub fn run_train(corpus_dir: &Path) -> Result<Model, EvalError> {
    let path = corpus_dir.join(TRAIN_FILE);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let calls = read_jsonl(&path)?;
    let rules = CompiledRules::builtin().map_err(|e| EvalError::Rules(e.to_string()))?;
    Ok(crate::model::train::train(
        &rules,
        &calls,
        &bytes,
        &crate::model::train::candidates_from_env(),
    )?)
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
