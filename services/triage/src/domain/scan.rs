//! One pass of the rules' automaton over a call's text: the words that matched, per category
//! rule, modifier (with negations), and response situation. Both the rules' own answer
//! (`classify`) and the safety layer above the model (`safety`) read it.

use std::sync::OnceLock;

use super::classify::{Hit, dedup, is_break};
use super::rules::{CompiledRules, PatternUse, normalize};
use super::safety::Signals;

/// What the rules see in a text.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The normalised text.
    pub norm: String,
    /// Score per category (index of `rules.categories`), without channel bias or hint.
    pub scores: Vec<u32>,
    /// Words of the text per rule (index of `rules.rules`), empty when the rule did not match.
    pub rule_words: Vec<Vec<String>>,
    /// Rules that matched (their words, and their companion word when they need one).
    pub matched_rules: Vec<usize>,
    /// Modifiers in force (not negated) with their words.
    pub active: Vec<(usize, Vec<String>)>,
    /// Modifier words cancelled by a negation cue.
    pub negated: Vec<String>,
    /// Response situations found, with their words.
    pub situations: Vec<(usize, Vec<String>)>,
    /// The safety layer's reading, made once: the model's features and its decision both need it.
    safety: OnceLock<Signals>,
}

impl Scan {
    /// Words of the danger modifiers in force (weapons, injury, life at risk, attack now).
    pub fn danger_words(&self, rules: &CompiledRules) -> Vec<String> {
        self.active
            .iter()
            .filter(|(i, _)| rules.modifiers[*i].danger)
            .flat_map(|(_, w)| w.iter().cloned())
            .collect()
    }

    /// The safety signals of this scan ([`super::safety::signals`]), computed on first use;
    /// `rules` must be the rules the text was scanned with.
    pub fn safety(&self, rules: &CompiledRules) -> &Signals {
        self.safety
            .get_or_init(|| super::safety::signals(rules, self))
    }
}

/// Scans `text` with `rules`.
pub fn scan(rules: &CompiledRules, text: &str) -> Scan {
    let norm = normalize(text);
    let raw: Vec<Hit> = rules
        .automaton
        .find_overlapping_iter(&norm)
        .map(|m| Hit {
            start: m.start(),
            end: m.end(),
            pattern: m.pattern().as_usize(),
        })
        .collect();
    // The most specific phrase wins: a match inside a longer match is not counted on its own
    // (刀 inside 管制刀具, the cue 没 inside 没回来 or 有没有).
    let surviving: Vec<Hit> = raw
        .iter()
        .copied()
        .filter(|m| {
            !raw.iter().any(|o| {
                o.start <= m.start && m.end <= o.end && (o.end - o.start) > (m.end - m.start)
            })
        })
        .collect();
    let word = |h: &Hit| norm[h.start..h.end].to_owned();
    let uses = |h: &Hit| rules.uses[h.pattern].iter().copied();

    let cues: Vec<Hit> = surviving
        .iter()
        .copied()
        .filter(|h| uses(h).any(|u| u == PatternUse::NegationCue))
        .collect();
    let negated_by_cue = |h: &Hit| {
        cues.iter().any(|c| {
            if c.start >= h.start {
                return false;
            }
            let between = if c.end <= h.start {
                &norm[c.end..h.start]
            } else {
                ""
            };
            between.chars().count() <= rules.negation_window && !between.chars().any(is_break)
        })
    };
    let situations = super::situations::detect(rules, &norm, &raw, &negated_by_cue);

    let mut scores = vec![0_u32; rules.categories.len()];
    let mut rule_words: Vec<Vec<String>> = vec![Vec::new(); rules.rules.len()];
    let mut rule_with: Vec<bool> = vec![false; rules.rules.len()];
    for h in &surviving {
        for u in uses(h) {
            if let PatternUse::RuleWord(i) = u {
                rule_words[i].push(word(h));
            }
        }
    }
    for h in &raw {
        for u in uses(h) {
            if let PatternUse::RuleWith(i) = u {
                rule_with[i] = true;
            }
        }
    }
    let mut matched_rules = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        if !rule_words[i].is_empty() && (!rule.needs_with || rule_with[i]) {
            scores[rule.category] += rule.weight;
            matched_rules.push(i);
        }
    }
    for (i, _) in &situations {
        if let Some((category, weight)) = rules.situations[*i].category {
            scores[category] += weight;
        }
    }

    let mut active: Vec<(usize, Vec<String>)> = Vec::new();
    let mut negated: Vec<String> = Vec::new();
    for (i, modifier) in rules.modifiers.iter().enumerate() {
        let mut live = Vec::new();
        for h in surviving
            .iter()
            .filter(|h| uses(h).any(|u| u == PatternUse::ModifierWord(i)))
        {
            if modifier.negatable && negated_by_cue(h) {
                negated.push(word(h));
            } else {
                live.push(word(h));
            }
        }
        if !live.is_empty() {
            active.push((i, dedup(live)));
        }
    }
    Scan {
        norm,
        scores,
        rule_words,
        matched_rules,
        active,
        negated: dedup(negated),
        situations,
        safety: OnceLock::new(),
    }
}
