//! The labelled corpus (`services/triage/corpus/`), its fixed train / held-out split, and the
//! evaluation of the classifier on a split (`pingan triage eval`). The split is stratified by
//! category and decided by a salted SHA-256 of each call's id, so it never depends on file order
//! (each category's test share is a quota: the split is fixed together with the corpus).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Kind;
use crate::domain::rules::CompiledRules;
use crate::model::{Model, ModelError};

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

/// Splits `calls` into (train, test): within each category, calls ordered by the salted hash of
/// their id, the first round(30 %) go to test. Both halves are sorted by id.
pub fn split(calls: &[LabelledCall]) -> (Vec<LabelledCall>, Vec<LabelledCall>) {
    let mut by_category: BTreeMap<&str, Vec<&LabelledCall>> = BTreeMap::new();
    for call in calls {
        by_category.entry(&call.category).or_default().push(call);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for group in by_category.values_mut() {
        group.sort_by_key(|c| (split_key(&c.id), c.id.clone()));
        let n_test = (group.len() as f64 * TEST_SHARE).round() as usize;
        for (i, call) in group.iter().enumerate() {
            if i < n_test {
                test.push((*call).clone());
            } else {
                train.push((*call).clone());
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

/// What the classifier answered for one call, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The labelled call.
    pub call: LabelledCall,
    /// Kind answered.
    pub kind: String,
    /// Category answered.
    pub category: String,
    /// Priority answered.
    pub priority: String,
    /// Classification time in nanoseconds.
    pub nanos: u64,
}

/// A call whose answer was wrong, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Miss {
    /// Call id.
    pub id: String,
    /// The call's text.
    pub text: String,
    /// Expected kind/category/priority.
    pub expected: String,
    /// Answered kind/category/priority.
    pub got: String,
}

/// Figures of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Split evaluated.
    pub split: String,
    /// Rules version used.
    pub rules_version: String,
    /// Model version used.
    pub model_version: String,
    /// Time to parse the model file, milliseconds.
    pub model_load_ms: f64,
    /// Calls evaluated.
    pub calls: usize,
    /// Calls per expected kind.
    pub calls_by_kind: BTreeMap<String, usize>,
    /// POLICE/JOINT calls answered NON_POLICE or INVALID.
    pub unsafe_diversions: Vec<Miss>,
    /// P1 calls answered P1.
    pub p1_hit: usize,
    /// P1 calls.
    pub p1_total: usize,
    /// P1 calls answered lower.
    pub p1_missed: Vec<Miss>,
    /// Kind right.
    pub kind_ok: usize,
    /// Category right.
    pub category_ok: usize,
    /// Priority right.
    pub priority_ok: usize,
    /// Rows: expected kind; columns: answered kind (order of [`KINDS`]).
    pub kind_confusion: Vec<Vec<usize>>,
    /// Median classification time, microseconds.
    pub latency_p50_us: f64,
    /// 99th percentile classification time, microseconds.
    pub latency_p99_us: f64,
    /// Every call with any field wrong.
    pub misses: Vec<Miss>,
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

fn percentile_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank: the smallest sample with at least p of the samples at or below it.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn kind_index(kind: &str) -> Option<usize> {
    KINDS.iter().position(|k| *k == kind)
}

fn stays_with_police(kind: &str) -> bool {
    Kind::parse(kind).is_some_and(Kind::stays_with_police)
}

impl Report {
    /// The figures of `outcomes` (pure: no classifier involved).
    pub fn from_outcomes(split: &str, rules_version: &str, outcomes: &[Outcome]) -> Self {
        let mut report = Report {
            split: split.to_owned(),
            rules_version: rules_version.to_owned(),
            model_version: String::new(),
            model_load_ms: 0.0,
            calls: outcomes.len(),
            calls_by_kind: BTreeMap::new(),
            unsafe_diversions: Vec::new(),
            p1_hit: 0,
            p1_total: 0,
            p1_missed: Vec::new(),
            kind_ok: 0,
            category_ok: 0,
            priority_ok: 0,
            kind_confusion: vec![vec![0; KINDS.len()]; KINDS.len()],
            latency_p50_us: 0.0,
            latency_p99_us: 0.0,
            misses: Vec::new(),
        };
        for o in outcomes {
            let c = &o.call;
            *report.calls_by_kind.entry(c.kind.clone()).or_default() += 1;
            let miss = Miss {
                id: c.id.clone(),
                text: c.text.clone(),
                expected: format!("{}/{}/{}", c.kind, c.category, c.priority),
                got: format!("{}/{}/{}", o.kind, o.category, o.priority),
            };
            let kind_ok = o.kind == c.kind;
            let category_ok = o.category == c.category;
            let priority_ok = o.priority == c.priority;
            report.kind_ok += usize::from(kind_ok);
            report.category_ok += usize::from(category_ok);
            report.priority_ok += usize::from(priority_ok);
            if let (Some(row), Some(col)) = (kind_index(&c.kind), kind_index(&o.kind)) {
                report.kind_confusion[row][col] += 1;
            }
            if stays_with_police(&c.kind) && matches!(o.kind.as_str(), "NON_POLICE" | "INVALID") {
                report.unsafe_diversions.push(miss.clone());
            }
            if c.priority == "P1" {
                report.p1_total += 1;
                if o.priority == "P1" {
                    report.p1_hit += 1;
                } else {
                    report.p1_missed.push(miss.clone());
                }
            }
            if !(kind_ok && category_ok && priority_ok) {
                report.misses.push(miss);
            }
        }
        let mut nanos: Vec<u64> = outcomes.iter().map(|o| o.nanos).collect();
        nanos.sort_unstable();
        report.latency_p50_us = percentile_us(&nanos, 0.50);
        report.latency_p99_us = percentile_us(&nanos, 0.99);
        report
    }

    /// P1 recall (1.0 when the split has no P1 call).
    pub fn p1_recall(&self) -> f64 {
        if self.p1_total == 0 {
            1.0
        } else {
            ratio(self.p1_hit, self.p1_total)
        }
    }

    /// Kind accuracy.
    pub fn kind_accuracy(&self) -> f64 {
        ratio(self.kind_ok, self.calls)
    }

    /// Category accuracy.
    pub fn category_accuracy(&self) -> f64 {
        ratio(self.category_ok, self.calls)
    }

    /// Priority accuracy.
    pub fn priority_accuracy(&self) -> f64 {
        ratio(self.priority_ok, self.calls)
    }

    /// The report as the command prints it.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let pct = |x: f64| format!("{:.1} %", 100.0 * x);
        let _ = writeln!(
            s,
            "split {} — {} calls — rules {} — model {} (loaded in {:.1} ms)",
            self.split, self.calls, self.rules_version, self.model_version, self.model_load_ms
        );
        let by_kind: Vec<String> = self
            .calls_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(s, "calls by kind: {}", by_kind.join(", "));
        let _ = writeln!(
            s,
            "unsafe diversions (POLICE/JOINT answered NON_POLICE/INVALID): {}",
            self.unsafe_diversions.len()
        );
        for m in &self.unsafe_diversions {
            let _ = writeln!(s, "  {} [{} -> {}] {}", m.id, m.expected, m.got, m.text);
        }
        let _ = writeln!(
            s,
            "P1 recall: {}/{} ({})",
            self.p1_hit,
            self.p1_total,
            pct(self.p1_recall())
        );
        for m in &self.p1_missed {
            let _ = writeln!(s, "  {} [{} -> {}] {}", m.id, m.expected, m.got, m.text);
        }
        let n = self.calls;
        let _ = writeln!(
            s,
            "kind accuracy: {}/{n} ({})",
            self.kind_ok,
            pct(self.kind_accuracy())
        );
        let _ = writeln!(
            s,
            "category accuracy: {}/{n} ({})",
            self.category_ok,
            pct(self.category_accuracy())
        );
        let _ = writeln!(
            s,
            "priority accuracy: {}/{n} ({})",
            self.priority_ok,
            pct(self.priority_accuracy())
        );
        let _ = writeln!(s, "kind confusion (rows expected, columns answered):");
        let short = ["POL", "JNT", "CMP", "NON", "INV"];
        let _ = writeln!(
            s,
            "{:>24} {}",
            "",
            short.map(|k| format!("{k:>5}")).join("")
        );
        for (i, row) in self.kind_confusion.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
            let _ = writeln!(s, "{:>24} {}", KINDS[i], cells.join(""));
        }
        let _ = writeln!(
            s,
            "classification latency: p50 {:.1} µs, p99 {:.1} µs",
            self.latency_p50_us, self.latency_p99_us
        );
        s
    }
}

/// Classifies every call of `calls` with `rules` and `model`, in process, timing each call.
pub fn evaluate(
    rules: &CompiledRules,
    model: &Model,
    split: &str,
    calls: &[LabelledCall],
) -> Report {
    let outcomes: Vec<Outcome> = calls
        .iter()
        .map(|call| {
            let channel = format!("CHANNEL_{}", call.channel);
            let start = Instant::now();
            let c = model.classify(rules, &call.text, &channel);
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            Outcome {
                call: call.clone(),
                kind: c.kind.as_str().to_owned(),
                category: c.category.clone(),
                priority: c.priority.as_str().to_owned(),
                nanos,
            }
        })
        .collect();
    let mut report = Report::from_outcomes(split, &rules.version, &outcomes);
    report.model_version = model.version().to_owned();
    report
}

/// `pingan triage eval`: the figures of the shipped rules and model on one split of the corpus.
pub fn run_eval(corpus_dir: &Path, split: &str) -> Result<Report, EvalError> {
    let calls = load_split(corpus_dir, split)?;
    let rules = CompiledRules::builtin().map_err(|e| EvalError::Rules(e.to_string()))?;
    let start = Instant::now();
    let model = Model::builtin()?;
    let load_ms = start.elapsed().as_secs_f64() * 1000.0;
    // The segmenter is built once per process; build it before the clock runs on calls.
    let _ = crate::model::features::jieba();
    let mut report = evaluate(&rules, &model, split, &calls);
    report.model_load_ms = load_ms;
    Ok(report)
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
        &crate::model::train::candidates(),
    )?)
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
