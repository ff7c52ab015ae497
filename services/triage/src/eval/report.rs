//! The figures of one evaluation: safety (unsafe diversions, P1 misses), accuracy, the kind
//! confusion matrix and latency, and their text report (split from `eval` to keep files short).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{KINDS, LabelledCall};
use crate::domain::Kind;

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
    /// What the answer rested on: each rule that fired with its words (`rule[word, …]`).
    pub why: Vec<String>,
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
    /// What the answer rested on (rules that fired, with their words).
    pub why: Vec<String>,
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
                why: o.why.clone(),
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
