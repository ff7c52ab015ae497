//! The classifier: one pass of the automaton over the text, then scores per category, negations,
//! danger overrides and priority modifiers. Conservative by construction: a call leaves the
//! police only on clear non-police evidence and no sign of danger; no usable words keeps it with
//! the police for a person to confirm.

use std::collections::BTreeSet;

use pingan_catalogue::{Requirement, SituationCode};

use super::rules::CompiledRules;
use super::scan::{Scan, scan};
use super::{Kind, Priority};

/// What a matched rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Proposed the category.
    Category,
    /// Raised or lowered the priority.
    PriorityModifier,
    /// Cancelled words of another rule.
    Negation,
    /// Kept the call with the police.
    DangerOverride,
    /// The channel tipped the balance.
    ChannelHint,
    /// Nothing usable: kept with the police for a person.
    Fallback,
    /// Recognised a response situation.
    Situation,
}

/// One line of the explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// Rule id in the file.
    pub rule_id: String,
    /// Category concerned (empty for category-less modifiers).
    pub category: String,
    /// Words of the text that matched.
    pub words: Vec<String>,
    /// What it did.
    pub effect: Effect,
    /// Kind it points to, if any.
    pub kind: Option<Kind>,
    /// Priority it set, if any.
    pub priority: Option<Priority>,
    /// Words cancelled (negations).
    pub negated: Vec<String>,
    /// One line for the operator.
    pub explanation: String,
}

/// Triage's answer for one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Who handles it.
    pub kind: Kind,
    /// Category code.
    pub category: String,
    /// Category name.
    pub category_name: String,
    /// Priority.
    pub priority: Priority,
    /// Seconds until a unit must be on its way (none for P4).
    pub response_target_secs: Option<u64>,
    /// The explanation.
    pub matched: Vec<Explained>,
    /// 12345 department (non-police).
    pub department: String,
    /// Rules version.
    pub rules_version: String,
    /// A person must confirm.
    pub needs_confirmation: bool,
    /// Response situations recognised (police and joint calls only).
    pub situations: Vec<Recognised>,
    /// Units the response needs, from the catalogue (police and joint calls only).
    pub requirements: Vec<Requirement>,
    /// Version of the category catalogue.
    pub catalogue_version: String,
}

/// A response situation recognised in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    /// The catalogue's situation.
    pub code: SituationCode,
    /// Its name.
    pub name: String,
    /// Words that revealed it.
    pub words: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Hit {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) pattern: usize,
}

/// True when no sentence or clause break lies between byte offsets `from` and `to`.
pub(super) fn same_clause(norm: &str, from: usize, to: usize) -> bool {
    norm.get(from..to)
        .is_some_and(|between| !between.chars().any(is_break))
}

pub(super) fn is_break(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '！'
            | '？'
            | '；'
            | '、'
            | ','
            | '.'
            | '!'
            | '?'
            | ';'
            | '\n'
            | ' '
            | '（'
            | '）'
            | '('
            | ')'
    )
}

pub(super) fn dedup(words: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    words
        .into_iter()
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// Classifies `text` received on `channel` (e.g. `CHANNEL_110`), with an optional category the
/// reporter chose (a hint).
pub fn classify(
    rules: &CompiledRules,
    text: &str,
    channel: &str,
    reported_category: &str,
) -> Classification {
    classify_scanned(rules, &scan(rules, text), channel, reported_category)
}

/// [`classify`] of a text already scanned (the model path scans once for both).
pub fn classify_scanned(
    rules: &CompiledRules,
    scan: &Scan,
    channel: &str,
    reported_category: &str,
) -> Classification {
    let Scan {
        scores: scanned,
        rule_words,
        matched_rules,
        active,
        negated,
        situations: situation_hits,
        ..
    } = scan;
    let mut scores = scanned.clone();
    let mut explained = Vec::new();
    let hint = rules.category_index(reported_category.trim());
    if let Some(c) = hint {
        scores[c] += 1;
    }
    if !negated.is_empty() {
        explained.push(Explained {
            rule_id: rules.negation_id.clone(),
            category: String::new(),
            words: Vec::new(),
            effect: Effect::Negation,
            kind: None,
            priority: None,
            explanation: format!("否定: {} 不计", negated.join("、")),
            negated: negated.clone(),
        });
    }
    let danger: Vec<String> = active
        .iter()
        .filter(|(i, _)| rules.modifiers[*i].danger)
        .flat_map(|(_, w)| w.iter().cloned())
        .collect();

    // Decision.
    let bias = rules
        .thresholds
        .police_bias
        .get(channel)
        .or_else(|| rules.thresholds.police_bias.get("default"))
        .copied()
        .unwrap_or(0);
    let pick = |bias: u32| -> Option<usize> {
        (0..rules.categories.len())
            .filter(|c| scores[*c] > 0)
            .min_by_key(|c| {
                let cat = &rules.categories[*c];
                let effective = scores[*c]
                    + if cat.kind.stays_with_police() {
                        bias
                    } else {
                        0
                    };
                (
                    std::cmp::Reverse(effective),
                    super::tie_rank(cat.kind),
                    cat.priority,
                    *c,
                )
            })
    };
    let best_police = (0..rules.categories.len())
        .filter(|c| scores[*c] > 0 && rules.categories[*c].kind.stays_with_police())
        .min_by_key(|c| {
            (
                std::cmp::Reverse(scores[*c]),
                rules.categories[*c].priority,
                *c,
            )
        });
    let winner = pick(bias);
    let unbiased = pick(0);
    let (fallback_category, fallback_priority) = rules.fallback;
    let mut needs_confirmation = false;
    let mut fallback_reason: Option<String> = None;
    let mut chosen = match winner {
        None => {
            fallback_reason = Some("没有可用的关键词，留警务待人工确认".into());
            fallback_category
        }
        Some(c) => c,
    };
    if let (Some(w), Some(u)) = (winner, unbiased)
        && rules.categories[w].kind != rules.categories[u].kind
    {
        explained.push(Explained {
            rule_id: format!("channel_hint.{channel}"),
            category: rules.categories[w].code.clone(),
            words: Vec::new(),
            effect: Effect::ChannelHint,
            kind: Some(rules.categories[w].kind),
            priority: None,
            negated: Vec::new(),
            explanation: format!(
                "{channel}: 警务类加权 {bias}，{} 优先于 {}",
                rules.categories[w].code, rules.categories[u].code
            ),
        });
    }
    let kind_of = |c: usize| rules.categories[c].kind;
    if winner.is_some() {
        let score = scores[chosen];
        let weak = match kind_of(chosen) {
            Kind::NonPolice => score < rules.thresholds.min_divert_score,
            Kind::Invalid => score < rules.thresholds.min_invalid_score,
            _ => false,
        };
        if weak {
            fallback_reason = Some(format!(
                "{} 证据不足 (得分 {score})，不转出，留警务待人工确认",
                rules.categories[chosen].code
            ));
            chosen = best_police.unwrap_or(fallback_category);
        }
    }
    let mut danger_override = false;
    if !danger.is_empty() && !kind_of(chosen).stays_with_police() {
        let from = rules.categories[chosen].code.clone();
        chosen = best_police.unwrap_or(fallback_category);
        danger_override = true;
        needs_confirmation = true;
        explained.push(Explained {
            rule_id: "danger.override".into(),
            category: rules.categories[chosen].code.clone(),
            words: danger.clone(),
            effect: Effect::DangerOverride,
            kind: Some(kind_of(chosen)),
            priority: Some(Priority::P1),
            negated: Vec::new(),
            explanation: format!("危险迹象 {} -> 不按 {from} 处理，留警务", danger.join("、")),
        });
    }

    // Category explanation and base priority.
    let category = &rules.categories[chosen];
    let mut kind = category.kind;
    let mut priority = if winner.is_none() || (fallback_reason.is_some() && best_police.is_none()) {
        fallback_priority
    } else {
        category.priority
    };
    let mut first_rule_priority: Option<Priority> = None;
    for &i in matched_rules {
        let rule = &rules.rules[i];
        if rule.category != chosen {
            continue;
        }
        first_rule_priority =
            Some(first_rule_priority.map_or(rule.priority, |p| p.min(rule.priority)));
        let words = dedup(rule_words[i].clone());
        explained.insert(
            explained
                .iter()
                .take_while(|e| e.effect == Effect::Category)
                .count(),
            Explained {
                rule_id: rule.id.clone(),
                category: category.code.clone(),
                explanation: format!(
                    "{} -> {} {}",
                    words.join("、"),
                    category.code,
                    rule.priority.as_str()
                ),
                words,
                effect: Effect::Category,
                kind: Some(category.kind),
                priority: Some(rule.priority),
                negated: Vec::new(),
            },
        );
    }
    for (i, _) in situation_hits {
        let situation = &rules.situations[*i];
        if let (Some((c, _)), Some(p)) = (situation.category, situation.priority)
            && c == chosen
        {
            first_rule_priority = Some(first_rule_priority.map_or(p, |q| q.min(p)));
        }
    }
    if let Some(p) = first_rule_priority {
        priority = p;
    }
    if hint == Some(chosen) {
        explained.push(Explained {
            rule_id: "hint.reported_category".into(),
            category: category.code.clone(),
            words: Vec::new(),
            effect: Effect::Category,
            kind: Some(category.kind),
            priority: None,
            negated: Vec::new(),
            explanation: format!("上报类别 {} (+1)", category.code),
        });
    }
    if let Some(reason) = &fallback_reason {
        needs_confirmation = true;
        explained.push(Explained {
            rule_id: "fallback".into(),
            category: category.code.clone(),
            words: Vec::new(),
            effect: Effect::Fallback,
            kind: Some(kind),
            priority: Some(priority),
            negated: Vec::new(),
            explanation: reason.clone(),
        });
    }
    if scores[chosen] < rules.thresholds.confident_score {
        needs_confirmation = true;
    }

    // Priority modifiers (police and joint calls only).
    if kind.stays_with_police() {
        let mut raised = danger_override;
        if danger_override {
            priority = Priority::P1;
        }
        for (i, words) in active {
            let m = &rules.modifiers[*i];
            let applies = m.categories.is_empty() || m.categories.contains(&chosen);
            if !applies || (m.raise_to.is_none() && m.raise_by == 0) {
                continue;
            }
            let before = priority;
            if let Some(to) = m.raise_to {
                priority = priority.min(to);
            }
            priority = priority.raised(m.raise_by);
            raised = true;
            let joint = m.joint_categories.contains(&chosen);
            if joint {
                kind = Kind::Joint;
            }
            explained.push(Explained {
                rule_id: m.id.clone(),
                category: String::new(),
                words: words.clone(),
                effect: Effect::PriorityModifier,
                kind: joint.then_some(Kind::Joint),
                priority: Some(priority),
                negated: Vec::new(),
                explanation: format!(
                    "{} -> {}{}",
                    words.join("、"),
                    if before == priority { "保持 " } else { "" },
                    priority.as_str()
                ) + if joint { " (联动 119/120)" } else { "" },
            });
        }
        if !raised {
            for (i, words) in active {
                let m = &rules.modifiers[*i];
                let applies = m.categories.is_empty() || m.categories.contains(&chosen);
                if !applies
                    || m.lower_by == 0
                    || !(m.lower_from.is_empty() || m.lower_from.contains(&priority))
                {
                    continue;
                }
                priority = priority.lowered(m.lower_by, Priority::P3);
                explained.push(Explained {
                    rule_id: m.id.clone(),
                    category: String::new(),
                    words: words.clone(),
                    effect: Effect::PriorityModifier,
                    kind: None,
                    priority: Some(priority),
                    negated: Vec::new(),
                    explanation: format!("{} -> 降为 {}", words.join("、"), priority.as_str()),
                });
            }
        }
    } else {
        priority = Priority::P4;
    }

    // Situations shape the response of a unit that goes: none for the other kinds.
    let mut situations: Vec<Recognised> = Vec::new();
    if kind.stays_with_police() {
        for (i, words) in situation_hits {
            let situation = &rules.situations[*i];
            explained.push(Explained {
                rule_id: situation.id.clone(),
                category: category.code.clone(),
                words: words.clone(),
                effect: Effect::Situation,
                kind: None,
                priority: None,
                negated: Vec::new(),
                explanation: format!(
                    "{} -> {} {}",
                    words.join("、"),
                    situation.situation,
                    situation.name
                ),
            });
            match situations
                .iter_mut()
                .find(|s| s.code == situation.situation)
            {
                Some(seen) => seen.words = dedup(seen.words.iter().chain(words).cloned()),
                None => situations.push(Recognised {
                    code: situation.situation,
                    name: situation.name.clone(),
                    words: words.clone(),
                }),
            }
        }
    }
    let requirements = match pingan_catalogue::catalogue() {
        Ok(catalogue) if kind.stays_with_police() => {
            let codes: Vec<SituationCode> = situations.iter().map(|s| s.code).collect();
            catalogue.requirements(category.id, &codes)
        }
        _ => Vec::new(),
    };

    Classification {
        kind,
        category: category.code.clone(),
        category_name: category.name.clone(),
        priority,
        response_target_secs: rules.response_targets.get(&priority).copied(),
        matched: explained,
        department: if kind == Kind::NonPolice {
            category.department.clone()
        } else {
            String::new()
        },
        rules_version: rules.version.clone(),
        needs_confirmation,
        situations,
        requirements,
        catalogue_version: rules.catalogue_version.clone(),
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
