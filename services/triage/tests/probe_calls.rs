//! Calls written in sessions 45 and 46 to probe the shipped triage by people who had not read the
//! corpus, never trained on (`tests/probes/*.jsonl`, 2,226 calls: colloquial, dialect-flavoured,
//! traditional characters, English and pinyin, speech-recognition slips, 12345 ticket summaries,
//! hard negatives, silent and cut-off calls, who calls and from where). Each misread that was a
//! safety defect was fixed by meaning (words of `domain/signal_words.rs` and `scene_words.rs`,
//! each tested both ways); this keeps them fixed: no police call is sent away and every P1 stays
//! P1.

use std::path::Path;

use pingan_triage::domain::rules::CompiledRules;
use pingan_triage::eval::{evaluate, read_jsonl};
use pingan_triage::model::Model;

/// Calls whose label is in doubt (kept in the files, not asserted): selling counterfeit goods
/// (fake cigarettes, fake brand bags, fake liquor) is a market-regulation complaint in the corpus
/// (co-2016: `CONSUMER`) as much as a police matter; a manhole cover gone is the city's in the
/// corpus (mu-6001) and the police's in the probes (pi46-081, pl46-076); a transfer under way at a
/// bank counter is P2 in one probe set (pe-004) and P1 in another (pl46-131); a thing lying
/// across a fast lane is P2 in one (ph-060) and P1 in another (pl46-143).
const LABEL_IN_DOUBT: &[&str] = &[
    "pd-194", "pg-139", "ph-160", "pi46-081", "pl46-076", "pl46-131", "pl46-143",
];

#[test]
fn probe_calls_are_never_sent_away_and_every_p1_stays_p1() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes");
    let mut calls = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("probe folder")
        .map(|e| e.expect("probe file").path())
        .collect();
    files.sort();
    for file in &files {
        calls.extend(read_jsonl(file).expect("probe calls parse"));
    }
    assert!(calls.len() >= 2_200, "{} probe calls", calls.len());
    let rules = CompiledRules::builtin().expect("shipped rules load");
    let model = Model::builtin().expect("shipped model loads");
    let report = evaluate(&rules, &model, "probes", &calls);
    let unsafe_ids: Vec<String> = report
        .unsafe_diversions
        .iter()
        .filter(|m| !LABEL_IN_DOUBT.contains(&m.id.as_str()))
        .map(|m| format!("{} {} -> {} {}", m.id, m.expected, m.got, m.text))
        .collect();
    assert!(unsafe_ids.is_empty(), "sent away: {unsafe_ids:#?}");
    let missed: Vec<String> = report
        .p1_missed
        .iter()
        .filter(|m| !LABEL_IN_DOUBT.contains(&m.id.as_str()))
        .map(|m| format!("{} {} -> {} {}", m.id, m.expected, m.got, m.text))
        .collect();
    assert!(missed.is_empty(), "P1 missed: {missed:#?}");
}
