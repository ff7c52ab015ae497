//! The decision: the model proposes kind, category and priority; the safety layer (`safety`)
//! may force P1 and the police, and a call leaves the police (12345 or invalid) only when the
//! model is confident beyond the threshold of its file and no police signal is present;
//! otherwise it stays with the police, flagged for the call-taker to confirm.

use pingan_catalogue::SituationCode;

use super::classify::{Classification, Effect, Explained, Recognised, dedup};
use super::rules::CompiledRules;
use super::safety::{Signals, crash_hurt, fight_without_vehicle, latin_category};
use super::scan::Scan;
use super::{Kind, Priority};
use crate::model::{Probs, Scores, Thresholds};

const TRAFFIC_ACCIDENT: &str = "TRAFFIC_ACCIDENT";
const CRIMINAL_VIOLENT: &str = "CRIMINAL_VIOLENT";

/// What the model layer hands to the decision.
#[derive(Debug, Clone, Copy)]
pub struct ModelView<'a> {
    /// The model's version, for the explanation.
    pub version: &'a str,
    /// Its thresholds.
    pub thresholds: &'a Thresholds,
    /// Its probabilities for this call.
    pub scores: &'a Scores,
}

fn top3(p: &Probs) -> String {
    p.ranked()
        .iter()
        .take(3)
        .map(|(c, p)| format!("{c} {p:.2}"))
        .collect::<Vec<_>>()
        .join("、")
}

pub(crate) fn line(rule_id: &str, effect: Effect, explanation: String) -> Explained {
    Explained {
        rule_id: rule_id.to_owned(),
        category: String::new(),
        words: Vec::new(),
        effect,
        kind: None,
        priority: None,
        negated: Vec::new(),
        explanation,
    }
}

/// The model's top classes with their probabilities, as explanation lines.
pub fn model_lines(model: &ModelView<'_>) -> Vec<Explained> {
    let scores = model.scores;
    vec![
        line(
            "model.category",
            Effect::Category,
            format!("模型 {}: {}", model.version, top3(&scores.category)),
        ),
        line(
            "model.kind",
            Effect::Category,
            format!("模型: {}", top3(&scores.kind)),
        ),
        line(
            "model.priority",
            Effect::PriorityModifier,
            format!("模型: {}", top3(&scores.priority)),
        ),
    ]
}

/// The most probable category (of the model) whose kind keeps the call with the police; when
/// strong police words of the rules held the call, the most probable of their categories (the
/// words say what the police is asked for: 落在出租车上 is a lost item, not a traffic matter).
fn best_police(rules: &CompiledRules, scan: &Scan, scores: &Scores) -> usize {
    let strong: Vec<usize> = scan
        .matched_rules
        .iter()
        .map(|&i| &rules.rules[i])
        .filter(|r| r.weight >= 3 && rules.categories[r.category].kind.stays_with_police())
        .map(|r| r.category)
        .collect();
    scores
        .category
        .ranked()
        .iter()
        .filter_map(|(c, _)| rules.category_index(c))
        .filter(|c| strong.is_empty() || strong.contains(c))
        .find(|&c| rules.categories[c].kind.stays_with_police())
        .unwrap_or(rules.fallback.0)
}

/// Priority of a call that stays with the police: P1 on danger or the model's P(P1) over its
/// threshold, else the priority head's best of P2 / P3 (joint calls never below P2). A call kept
/// with the police is never P4, whatever kept it: P4 means no unit goes. When the safety layer
/// read the call's urgent words and found them defused (a fire put out, a weapon only named, a
/// harm over, a past event),
/// the head's most probable class decides, not its P1 tail (train: fi-6002, fi-6013, cb-017).
fn police_priority(
    kind: Kind,
    category: &str,
    (danger, defused): (bool, bool),
    m: &ModelView<'_>,
) -> Priority {
    let p1 = m.scores.priority.of("P1");
    let p2 = m.scores.priority.of("P2");
    let p3 = m.scores.priority.of("P3");
    let p1_bar = if defused {
        p2.max(p3) + f64::EPSILON
    } else {
        m.thresholds.p1_for(category)
    };
    if danger || p1 >= p1_bar {
        return Priority::P1;
    }
    if kind == Kind::Joint || p2 >= p3 {
        Priority::P2
    } else {
        Priority::P3
    }
}

/// Decides a call from the rules' scan and the model's scores.
pub fn decide(
    rules: &CompiledRules,
    scan: &Scan,
    model: &ModelView<'_>,
    channel: &str,
    reported_category: &str,
) -> Classification {
    let scores = model.scores;
    let t = model.thresholds;
    let safety: &Signals = scan.safety(rules);
    let mut explained = model_lines(model);
    let (top, top_p) = scores.category.top();
    let mut chosen = rules.category_index(top).unwrap_or(rules.fallback.0);
    let mut needs_confirmation = top_p < t.confident;
    let proposed = rules.categories[chosen].kind;
    if matches!(proposed, Kind::NonPolice | Kind::Invalid) {
        let p = crate::model::exit_probability(scores, rules, proposed);
        let threshold = t.exit(proposed, &rules.categories[chosen].code);
        let blocking = safety.blocking_words_at(p);
        if p >= threshold && blocking.is_empty() {
            let released = safety.released_at(p);
            if !released.is_empty() {
                let mut addressed = line(
                    "safety.addressing",
                    Effect::Category,
                    format!(
                        "{}: 只是称呼或提及警察，未见警情，模型 P({})={p:.2} 足够确定",
                        released.join("、"),
                        proposed.as_str()
                    ),
                );
                addressed.words = released;
                explained.push(addressed);
            }
            explained.push(line(
                "divert.allowed",
                Effect::Category,
                format!(
                    "P({})={p:.2} ≥ {threshold:.2}，无警情迹象 -> {}",
                    proposed.as_str(),
                    rules.categories[chosen].code
                ),
            ));
        } else {
            let why = if blocking.is_empty() {
                format!("P({})={p:.2} < {threshold:.2}", proposed.as_str())
            } else {
                format!("警情迹象 {}", blocking.join("、"))
            };
            let from = rules.categories[chosen].code.clone();
            chosen = best_police(rules, scan, scores);
            needs_confirmation = true;
            // Danger is a stronger reason than a refused diversion: say so with its own effect.
            let (id, effect) = if safety.danger.is_empty() {
                ("divert.refused", Effect::Fallback)
            } else {
                ("danger.override", Effect::DangerOverride)
            };
            let mut refused = line(
                id,
                effect,
                format!("不按 {from} 转出: {why}，留警务待人工确认"),
            );
            refused.words = blocking;
            refused.category = rules.categories[chosen].code.clone();
            refused.kind = Some(rules.categories[chosen].kind);
            explained.push(refused);
        }
    }
    // Urgent words the safety layer found defused: each kind explained once.
    for (rule_id, words, why) in [
        (
            "safety.weapon_named",
            &safety.weapon_named,
            "只提及（出售/拾得/遗失/上交），未见使用",
        ),
        (
            "safety.fire_out",
            &safety.fire_out,
            "火已扑灭或未见明火，未见复燃或被困",
        ),
        (
            "safety.harm_over",
            &safety.harm_over,
            "来电称无人受伤，未见仍在发生",
        ),
        ("safety.found", &safety.found, "走失者已在来电人身边"),
        (
            "safety.not_a_person",
            &safety.not_a_person,
            "说的是动物或物品，未提及有人遇险",
        ),
        (
            "safety.break_in_found",
            &safety.break_in_found,
            "事后发现被撬，未见正在发生",
        ),
        (
            "safety.past",
            &safety.past,
            "询问早前发生的事，未见眼下情况",
        ),
    ] {
        if !words.is_empty() {
            explained.push(line(
                rule_id,
                Effect::Category,
                format!("{}: {why} -> 留警务，不强制 P1", words.join("、")),
            ));
        }
    }
    if !safety.unfamiliar.is_empty() {
        explained.push(line(
            "safety.unfamiliar",
            Effect::Fallback,
            "来电以外文或拼音为主，模型以中文来电训练、无法判断：不转 12345、不作无效，留警务待人工确认"
                .to_owned(),
        ));
        // Its category is read from its words where they name one, not from the model's guess.
        if let Some((code, words)) = latin_category(&scan.norm)
            && let Some(named) = rules.category_index(code)
            && named != chosen
        {
            let mut by_words = line(
                "unfamiliar.category",
                Effect::Category,
                format!(
                    "外文或拼音词 {} -> {} (不按模型的 {})",
                    words.join("、"),
                    code,
                    rules.categories[chosen].code
                ),
            );
            by_words.words = words;
            by_words.category = code.to_owned();
            by_words.kind = Some(rules.categories[named].kind);
            explained.push(by_words);
            chosen = named;
        }
    }
    let danger = !safety.danger.is_empty();
    if danger && !rules.categories[chosen].kind.stays_with_police() {
        let from = rules.categories[chosen].code.clone();
        chosen = best_police(rules, scan, scores);
        needs_confirmation = true;
        explained.push(Explained {
            rule_id: "danger.override".into(),
            category: rules.categories[chosen].code.clone(),
            words: safety.danger.clone(),
            effect: Effect::DangerOverride,
            kind: Some(rules.categories[chosen].kind),
            priority: Some(Priority::P1),
            negated: Vec::new(),
            explanation: format!(
                "危险迹象 {} -> 不按 {from} 处理，留警务",
                safety.danger.join("、")
            ),
        });
    }
    // A fight or violence with no vehicle or crash word is never a traffic accident (injury words
    // are mostly crashes in the train data): the model's best category of the police kind.
    if rules.categories[chosen].code == TRAFFIC_ACCIDENT && fight_without_vehicle(&scan.norm) {
        let from = rules.categories[chosen].code.clone();
        chosen = scores
            .category
            .ranked()
            .iter()
            .filter_map(|(c, _)| rules.category_index(c))
            .find(|&c| rules.categories[c].kind == Kind::Police && c != chosen)
            .or_else(|| rules.category_index(CRIMINAL_VIOLENT))
            .unwrap_or(rules.fallback.0);
        explained.push(line(
            "fight.not_traffic",
            Effect::Category,
            format!(
                "打斗无车辆 -> 不按 {from}，按 {}",
                rules.categories[chosen].code
            ),
        ));
    }
    if let Some(situation) = situation_category(rules, scan, chosen) {
        let from = rules.categories[chosen].code.clone();
        chosen = situation;
        explained.push(line(
            "situation.category",
            Effect::Category,
            format!(
                "现场情形 {} 且 {from} 无本类词 -> {}",
                rules.categories[chosen].name, rules.categories[chosen].code
            ),
        ));
    }
    let category = &rules.categories[chosen];
    let mut kind = category.kind;
    // A crash is joint when the model or an injury word says so (the rules' joint modifiers).
    if kind == Kind::Police {
        let injured = scan
            .active
            .iter()
            .any(|(i, _)| rules.modifiers[*i].joint_categories.contains(&chosen));
        let joint_capable = rules
            .modifiers
            .iter()
            .any(|m| m.joint_categories.contains(&chosen));
        // Danger or a hurt makes a crash joint; a crash said to hurt nobody stays police.
        let hurt = || match crash_hurt(&scan.norm) {
            Some(hurt) => hurt || danger,
            None => danger || scores.kind.of("JOINT") > scores.kind.of("POLICE"),
        };
        if joint_capable && (injured || hurt()) {
            kind = Kind::Joint;
        }
    }
    for &i in &scan.matched_rules {
        let rule = &rules.rules[i];
        if rule.category == chosen {
            let words = dedup(scan.rule_words[i].clone());
            explained.push(Explained {
                rule_id: rule.id.clone(),
                category: category.code.clone(),
                explanation: format!("{} -> {}", words.join("、"), category.code),
                words,
                effect: Effect::Category,
                kind: Some(category.kind),
                priority: Some(rule.priority),
                negated: Vec::new(),
            });
        }
    }
    if !scan.negated.is_empty() {
        explained.push(Explained {
            rule_id: rules.negation_id.clone(),
            category: String::new(),
            words: Vec::new(),
            effect: Effect::Negation,
            kind: None,
            priority: None,
            negated: scan.negated.clone(),
            explanation: format!("否定: {} 不计", scan.negated.join("、")),
        });
    }
    let priority = if kind.stays_with_police() {
        let defused = safety.defused().next().is_some();
        let mut p = police_priority(kind, &category.code, (danger, defused), model);
        if let Some((rule, floor)) = priority_floor(rules, scan, chosen)
            && floor < p
        {
            explained.push(Explained {
                rule_id: rule.clone(),
                category: String::new(),
                words: Vec::new(),
                effect: Effect::PriorityModifier,
                kind: None,
                priority: Some(floor),
                negated: Vec::new(),
                explanation: format!("{rule}: 线索时效 -> 至少 {}", floor.as_str()),
            });
            p = floor;
        }
        if danger {
            explained.push(Explained {
                rule_id: "safety.danger".into(),
                category: String::new(),
                words: safety.danger.clone(),
                effect: Effect::PriorityModifier,
                kind: None,
                priority: Some(Priority::P1),
                negated: Vec::new(),
                explanation: format!("{} -> P1", safety.danger.join("、")),
            });
        }
        p
    } else {
        Priority::P4
    };
    let _ = (channel, reported_category);
    let situations = situations(rules, scan, kind, category.code.as_str(), &mut explained);
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

/// The category of a recognised response situation (a person in the water is a rescue) when
/// the chosen category has no word of its own in the call and the situation's category
/// keeps the call with the police: the model's words of a short call can outvote the one fact
/// that decides who goes.
fn situation_category(rules: &CompiledRules, scan: &Scan, chosen: usize) -> Option<usize> {
    let chosen_has_a_word = scan
        .matched_rules
        .iter()
        .any(|&i| rules.rules[i].category == chosen);
    if chosen_has_a_word {
        return None;
    }
    scan.situations
        .iter()
        .filter_map(|(i, _)| rules.situations[*i].category.map(|(category, _)| category))
        .find(|&c| c != chosen && rules.categories[c].kind.stays_with_police())
}

/// The most urgent floor a matched rule of the chosen category sets (`priority_floor` in the
/// rules file), with the rule's id.
fn priority_floor(rules: &CompiledRules, scan: &Scan, chosen: usize) -> Option<(String, Priority)> {
    scan.matched_rules
        .iter()
        .map(|&i| &rules.rules[i])
        .filter(|r| r.category == chosen && r.priority_floor)
        .min_by_key(|r| r.priority)
        .map(|r| (r.id.clone(), r.priority))
}

/// Response situations shape the response of a unit that goes: none for the other kinds.
fn situations(
    rules: &CompiledRules,
    scan: &Scan,
    kind: Kind,
    category: &str,
    explained: &mut Vec<Explained>,
) -> Vec<Recognised> {
    let mut found: Vec<Recognised> = Vec::new();
    if !kind.stays_with_police() {
        return found;
    }
    for (i, words) in &scan.situations {
        let situation = &rules.situations[*i];
        explained.push(Explained {
            rule_id: situation.id.clone(),
            category: category.to_owned(),
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
        match found.iter_mut().find(|s| s.code == situation.situation) {
            Some(seen) => seen.words = dedup(seen.words.iter().chain(words).cloned()),
            None => found.push(Recognised {
                code: situation.situation,
                name: situation.name.clone(),
                words: words.clone(),
            }),
        }
    }
    found
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
