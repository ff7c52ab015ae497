//! The labelled corpus (../shared/data/triage-labelled.jsonl): no call that needs the police is
//! diverted away, every P1 comes out P1; kind and priority accuracy are printed for docs/triage.md.

use pingan_triage::domain::Kind;
use pingan_triage::domain::classify::classify;
use pingan_triage::domain::rules::CompiledRules;

#[derive(serde::Deserialize)]
struct Labelled {
    id: String,
    channel: String,
    text: String,
    kind: String,
    category: String,
    priority: String,
}

fn corpus() -> Vec<Labelled> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/triage-labelled.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line"))
        .collect()
}

#[test]
fn labelled_corpus_is_safe_and_accurate() {
    let rules = CompiledRules::builtin().expect("rules");
    let lines = corpus();
    assert!(lines.len() >= 60, "corpus too small: {}", lines.len());
    let (mut kind_ok, mut prio_ok, mut cat_ok) = (0, 0, 0);
    let mut unsafe_diversions = Vec::new();
    let mut missed_p1 = Vec::new();
    for line in &lines {
        let channel = format!("CHANNEL_{}", line.channel);
        let c = classify(&rules, &line.text, &channel, "");
        let expected = Kind::parse(&line.kind).expect("kind");
        let got_kind = c.kind.as_str();
        if got_kind == line.kind {
            kind_ok += 1;
        }
        if c.priority.as_str() == line.priority {
            prio_ok += 1;
        }
        if c.category == line.category {
            cat_ok += 1;
        }
        if expected.stays_with_police() && matches!(c.kind, Kind::NonPolice | Kind::Invalid) {
            unsafe_diversions.push(line.id.clone());
        }
        if line.priority == "P1" && c.priority.as_str() != "P1" {
            missed_p1.push(line.id.clone());
        }
        if got_kind != line.kind
            || c.priority.as_str() != line.priority
            || c.category != line.category
        {
            println!(
                "{} {} expected {}/{}/{} got {}/{}/{} {:?}",
                line.id,
                line.text,
                line.kind,
                line.category,
                line.priority,
                got_kind,
                c.category,
                c.priority.as_str(),
                c.matched
                    .iter()
                    .map(|m| m.explanation.clone())
                    .collect::<Vec<_>>()
            );
        }
    }
    let n = lines.len();
    println!(
        "corpus {n}: kind {kind_ok}/{n} ({:.1}%), category {cat_ok}/{n} ({:.1}%), priority {prio_ok}/{n} ({:.1}%)",
        100.0 * kind_ok as f64 / n as f64,
        100.0 * cat_ok as f64 / n as f64,
        100.0 * prio_ok as f64 / n as f64
    );
    assert!(
        unsafe_diversions.is_empty(),
        "unsafe diversions: {unsafe_diversions:?}"
    );
    assert!(missed_p1.is_empty(), "P1 answered lower: {missed_p1:?}");
}
