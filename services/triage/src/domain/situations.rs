//! Response situations in a call's text (e.g. WATER: 落水, 掉进 + 河, 河里 + 漂着): a word, a
//! verb followed closely by its place, or a place followed closely by its verb; a phrase of the
//! rule's exclusions cancels the match it overlaps (落水管, 手机掉进) or shares a clause with
//! when the place comes first (河里漂着很多垃圾).

use super::classify::{Hit, dedup, is_break, same_clause};
use super::rules::{CompiledRules, PatternUse};

/// Each situation found (index into `rules.situations`) with the words that revealed it.
pub(super) fn detect(
    rules: &CompiledRules,
    norm: &str,
    raw: &[Hit],
    negated_by_cue: &dyn Fn(&Hit) -> bool,
) -> Vec<(usize, Vec<String>)> {
    let word = |h: &Hit| norm[h.start..h.end].to_owned();
    let uses = |h: &Hit| rules.uses[h.pattern].iter().copied();
    let mut hits: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, situation) in rules.situations.iter().enumerate() {
        let has = |h: &Hit, want: PatternUse| uses(h).any(|u| u == want);
        let excluded = |start: usize, end: usize| {
            raw.iter()
                .any(|x| has(x, PatternUse::SituationExclude(i)) && x.start < end && start < x.end)
        };
        let negated = |h: &Hit| situation.negatable && negated_by_cue(h);
        let mut found = Vec::new();
        for h in raw {
            if has(h, PatternUse::SituationWord(i)) && !excluded(h.start, h.end) && !negated(h) {
                found.push(word(h));
            }
            if !has(h, PatternUse::SituationVerb(i)) || negated(h) {
                continue;
            }
            let place = raw.iter().find(|p| {
                has(p, PatternUse::SituationPlace(i))
                    && p.start >= h.end
                    && norm[h.end..p.start].chars().count() <= situation.window
                    && !norm[h.end..p.start].chars().any(is_break)
                    && !excluded(h.start, p.end)
            });
            if let Some(p) = place {
                found.push(norm[h.start..p.end].to_owned());
            }
        }
        // A place followed by its verb: an exclusion anywhere in the clause cancels it
        // (河里漂着很多垃圾).
        let clause_excluded = |start: usize, end: usize| {
            raw.iter().any(|x| {
                has(x, PatternUse::SituationExclude(i))
                    && same_clause(norm, start.min(x.start), end.max(x.end))
            })
        };
        for h in raw {
            if !has(h, PatternUse::SituationAfterPlace(i)) || negated(h) {
                continue;
            }
            let place = raw.iter().rev().find(|p| {
                has(p, PatternUse::SituationPlace(i))
                    && p.end <= h.start
                    && norm[p.end..h.start].chars().count() <= situation.after_window
                    && same_clause(norm, p.end, h.start)
                    && !clause_excluded(p.start, h.end)
            });
            if let Some(p) = place {
                found.push(norm[p.start..h.end].to_owned());
            }
        }
        if !found.is_empty() {
            hits.push((i, dedup(found)));
        }
    }

    hits
}
