//! Decision thresholds and the figures they are judged by: the thresholds chosen on the
//! out-of-fold scores of cross-validation (split from `train` to keep files short).

use super::train::Prepared;
use super::{Decision, Scores, Thresholds, answer};
use crate::domain::Kind;
use crate::domain::classify::Classification;
use crate::domain::decide::ModelView;
use crate::domain::rules::CompiledRules;

/// Thresholds before cross-validation chose them.
pub fn default_thresholds() -> Thresholds {
    Thresholds {
        divert: 0.8,
        invalid: 0.8,
        p1: 0.5,
        confident: 0.6,
        divert_by_category: std::collections::BTreeMap::new(),
        p1_by_category: std::collections::BTreeMap::new(),
    }
}

/// Figures of answers against labels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// POLICE/JOINT answered NON_POLICE or INVALID.
    pub unsafe_diversions: usize,
    /// P1 answered lower.
    pub p1_missed: usize,
    /// Kind right.
    pub kind_ok: usize,
    /// Category right.
    pub category_ok: usize,
    /// Priority right.
    pub priority_ok: usize,
    /// Calls.
    pub calls: usize,
}

impl Figures {
    pub(super) fn line(&self) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.calls.max(1) as f64;
        format!(
            "unsafe {} · P1 missed {} · kind {:.1} % · category {:.1} % · priority {:.1} %",
            self.unsafe_diversions,
            self.p1_missed,
            pct(self.kind_ok),
            pct(self.category_ok),
            pct(self.priority_ok)
        )
    }

    pub(super) fn total(&self) -> usize {
        self.kind_ok + self.category_ok + self.priority_ok
    }
}

/// The decision on every call with given scores and thresholds.
pub fn decide_all(
    rules: &CompiledRules,
    calls: &[Prepared],
    scores: &[Scores],
    thresholds: &Thresholds,
    decision: Decision,
) -> Vec<Classification> {
    calls
        .iter()
        .zip(scores)
        .map(|(p, s)| {
            let view = ModelView {
                version: "cv",
                thresholds,
                scores: s,
            };
            answer(
                rules,
                &p.scan,
                &view,
                decision,
                &format!("CHANNEL_{}", p.call.channel),
                "",
            )
        })
        .collect()
}

/// Figures of `answers` against the labels of `calls`.
pub fn figures(calls: &[Prepared], answers: &[Classification]) -> Figures {
    let mut f = Figures {
        calls: calls.len(),
        ..Figures::default()
    };
    for (p, a) in calls.iter().zip(answers) {
        let c = &p.call;
        f.kind_ok += usize::from(a.kind.as_str() == c.kind);
        f.category_ok += usize::from(a.category == c.category);
        f.priority_ok += usize::from(a.priority.as_str() == c.priority);
        if matches!(c.kind.as_str(), "POLICE" | "JOINT")
            && matches!(a.kind.as_str(), "NON_POLICE" | "INVALID")
        {
            f.unsafe_diversions += 1;
        }
        if c.priority == "P1" && a.priority.as_str() != "P1" {
            f.p1_missed += 1;
        }
    }
    f
}

/// No call is diverted on less than an even chance that it is 12345 business.
pub const DIVERT_FLOOR: f64 = 0.5;

/// Margin added to the least safe thresholds found on the folds (unseen calls vary more).
pub const SAFETY_MARGIN: f64 = 0.05;

/// Chooses the thresholds on out-of-fold scores: the least divert / invalid threshold with no
/// unsafe diversion, plus a margin; the highest P1 threshold that misses no P1, less a margin.
pub fn choose_thresholds(
    rules: &CompiledRules,
    calls: &[Prepared],
    scores: &[Scores],
    decision: Decision,
) -> Thresholds {
    let mut t = default_thresholds();
    let grid = |from: f64, to: f64| -> Vec<f64> {
        let steps = ((to - from) / 0.01).round() as usize;
        (0..=steps).map(|s| from + s as f64 * 0.01).collect()
    };
    // Invalid, then divert per 12345 category: unsafe answers only fall as a threshold rises, and
    // a call placed in one category is diverted by that category's threshold alone.
    let least_safe = |probe: &dyn Fn(f64) -> Thresholds, from: f64| -> f64 {
        let chosen = grid(from, 0.99)
            .into_iter()
            .find(|v| {
                let f = figures(
                    calls,
                    &decide_all(rules, calls, scores, &probe(*v), decision),
                );
                f.unsafe_diversions == 0
            })
            .unwrap_or(0.99);
        (chosen + SAFETY_MARGIN).min(0.99)
    };
    t.invalid = least_safe(
        &|v| Thresholds {
            divert: 1.1,
            invalid: v,
            ..t.clone()
        },
        0.30,
    );
    let mut highest: f64 = DIVERT_FLOOR;
    for category in rules
        .categories
        .iter()
        .filter(|c| c.kind == Kind::NonPolice)
    {
        let chosen = least_safe(
            &|v| Thresholds {
                divert: 1.1,
                invalid: 1.1,
                divert_by_category: [(category.code.clone(), v)].into_iter().collect(),
                ..t.clone()
            },
            DIVERT_FLOOR - SAFETY_MARGIN,
        );
        highest = highest.max(chosen);
        t.divert_by_category.insert(category.code.clone(), chosen);
    }
    t.divert = highest;
    t.p1 = p1_threshold(rules, calls, scores, &t, decision);
    t
}

/// Share of the train P1 calls (out-of-fold, danger words switched off) the model's own P(P1)
/// must reach above the P1 threshold: a recall target of the model alone, so the threshold does
/// not float up when the danger words come to cover every train P1.
pub const P1_MODEL_RECALL: f64 = 0.92;

/// The P1 threshold, chosen so that it keeps catching what the danger words miss: the lower of
/// (1) the least out-of-fold P(P1) among the train P1 calls the danger words do not make P1
/// (every one of them caught), and (2) the P(P1) that [`P1_MODEL_RECALL`] of all train P1 calls
/// reach (the model alone, words off), less the margin.
pub fn p1_threshold(
    rules: &CompiledRules,
    calls: &[Prepared],
    scores: &[Scores],
    t: &Thresholds,
    decision: Decision,
) -> f64 {
    let mut probe = t.clone();
    probe.p1 = 1.1;
    probe.p1_by_category.clear();
    let answers = decide_all(rules, calls, scores, &probe, decision);
    let floor = |v: f64| (v * 100.0).floor() / 100.0;
    let mut uncovered = P1_CAP;
    let mut all: Vec<f64> = Vec::new();
    for ((p, a), s) in calls.iter().zip(&answers).zip(scores) {
        if p.call.priority != "P1" {
            continue;
        }
        let v = floor(s.priority.of("P1"));
        all.push(v);
        if a.priority != crate::domain::Priority::P1 {
            uncovered = uncovered.min(v);
        }
    }
    all.sort_by(f64::total_cmp);
    let at = ((1.0 - P1_MODEL_RECALL) * all.len() as f64).floor() as usize;
    let model_alone = all.get(at).copied().unwrap_or(P1_CAP);
    (uncovered.min(model_alone) - SAFETY_MARGIN).clamp(0.02, P1_CAP)
}

/// The most the P1 threshold rises to: above it the model's belief alone makes P1.
pub const P1_CAP: f64 = 0.6;
