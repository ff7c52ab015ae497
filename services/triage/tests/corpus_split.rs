//! The labelled corpus of services/triage/corpus: every line is a valid labelled call, and the
//! train / held-out split is the one `pingan triage split` regenerates (fixed seed, ~70/30,
//! stratified by category), with no text on both sides and none taken from the shared corpus.

use std::collections::{BTreeMap, BTreeSet};

use pingan_triage::eval::{
    self, LabelledCall, TEST_FILE, TRAIN_FILE, default_corpus_dir, load_sources, read_jsonl, split,
    to_jsonl,
};

const KINDS: [&str; 5] = [
    "POLICE",
    "JOINT",
    "COMPLAINT_ABOUT_POLICE",
    "NON_POLICE",
    "INVALID",
];

fn sources() -> Vec<LabelledCall> {
    load_sources(&default_corpus_dir()).expect("corpus sources parse")
}

fn split_file(name: &str) -> Vec<LabelledCall> {
    read_jsonl(&default_corpus_dir().join(name)).expect("split file parses")
}

#[test]
fn corpus_is_large_and_ids_are_unique() {
    let calls = sources();
    assert!(calls.len() >= 820, "corpus too small: {}", calls.len());
    let mut ids = BTreeSet::new();
    for call in &calls {
        assert!(ids.insert(call.id.clone()), "duplicate id {}", call.id);
        assert!(!call.text.trim().is_empty(), "{}: empty text", call.id);
    }
    let texts: BTreeSet<&str> = calls.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts.len(), calls.len(), "a text appears twice");
}

#[test]
fn every_label_is_valid_against_the_catalogue() {
    let catalogue = pingan_catalogue::catalogue().expect("catalogue");
    for call in sources() {
        assert!(
            call.channel == "110" || call.channel == "12345",
            "{}: channel {}",
            call.id,
            call.channel
        );
        assert!(
            matches!(call.priority.as_str(), "P1" | "P2" | "P3" | "P4"),
            "{}: priority {}",
            call.id,
            call.priority
        );
        let category = catalogue
            .category(&call.category)
            .unwrap_or_else(|e| panic!("{}: {e}", call.id));
        assert_eq!(category.code.as_str(), call.category, "{}", call.id);
        let kind = category.kind.as_str();
        // A traffic accident with injuries is police and ambulance together.
        let injured_traffic = call.category == "TRAFFIC_ACCIDENT" && call.kind == "JOINT";
        assert!(
            call.kind == kind || injured_traffic,
            "{}: kind {} but {} is {}",
            call.id,
            call.kind,
            call.category,
            kind
        );
        let police = matches!(call.kind.as_str(), "POLICE" | "JOINT");
        assert_eq!(
            call.priority == "P4",
            !police,
            "{}: P4 exactly when no police unit goes ({} {})",
            call.id,
            call.kind,
            call.priority
        );
    }
}

#[test]
fn split_files_are_what_the_split_command_writes() {
    let (train, test) = split(&sources());
    let dir = default_corpus_dir();
    let on_disk = |name: &str| std::fs::read_to_string(dir.join(name)).expect("split file");
    assert_eq!(
        on_disk(TRAIN_FILE),
        to_jsonl(&train),
        "train.jsonl is stale: run `pingan triage split`"
    );
    assert_eq!(
        on_disk(TEST_FILE),
        to_jsonl(&test),
        "test.jsonl is stale: run `pingan triage split`"
    );
    // Deterministic: the same input in another order gives the same split.
    let mut shuffled = sources();
    shuffled.reverse();
    assert_eq!(split(&shuffled), (train, test));
}

#[test]
fn split_is_seventy_thirty_and_covers_everything() {
    let (train, test) = (split_file(TRAIN_FILE), split_file(TEST_FILE));
    let total = train.len() + test.len();
    assert_eq!(total, sources().len(), "every call is in exactly one split");
    let share = test.len() as f64 / total as f64;
    assert!(
        (0.27..=0.33).contains(&share),
        "test share {share:.3} not 30 % ± 3"
    );
    let catalogue = pingan_catalogue::catalogue().expect("catalogue");
    for (name, part) in [("train", &train), ("test", &test)] {
        let categories: BTreeMap<&str, usize> = part.iter().fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c.category.as_str()).or_default() += 1;
            m
        });
        for category in &catalogue.categories {
            assert!(
                categories.contains_key(category.code.as_str()),
                "{name} has no {} call",
                category.code
            );
        }
        let kinds: BTreeSet<&str> = part.iter().map(|c| c.kind.as_str()).collect();
        for kind in KINDS {
            assert!(kinds.contains(kind), "{name} has no {kind} call");
        }
    }
    let train_texts: BTreeSet<&str> = train.iter().map(|c| c.text.as_str()).collect();
    for call in &test {
        assert!(
            !train_texts.contains(call.text.as_str()),
            "{}: text on both sides of the split",
            call.id
        );
    }
}

#[test]
fn no_line_is_taken_from_the_shared_corpus() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/triage-labelled.jsonl");
    let shared = read_jsonl(&path).expect("shared corpus");
    let shared_texts: BTreeSet<String> = shared.iter().map(|c| c.text.trim().to_owned()).collect();
    for call in sources() {
        assert!(
            !shared_texts.contains(call.text.trim()),
            "{}: copied from the shared corpus",
            call.id
        );
    }
}

#[test]
fn eval_runs_on_every_split() {
    let dir = default_corpus_dir();
    let test = eval::run_eval(&dir, "test", None, false).expect("eval test");
    let train = eval::run_eval(&dir, "train", None, false).expect("eval train");
    let all = eval::run_eval(&dir, "all", None, false).expect("eval all");
    assert_eq!(test.calls + train.calls, all.calls);
    assert_eq!(
        test.kind_confusion.iter().flatten().sum::<usize>(),
        test.calls
    );
    assert!(eval::run_eval(&dir, "dev", None, false).is_err());
}

#[test]
fn the_newest_calls_carry_the_corpus_version() {
    let calls = sources();
    let newest = calls.iter().filter_map(|c| c.since).max();
    assert_eq!(newest, Some(eval::CORPUS_VERSION));
    for call in &calls {
        if let Some(v) = call.since {
            assert!(
                v > eval::BASE_VERSION && v <= eval::CORPUS_VERSION,
                "{}: since {v}",
                call.id
            );
        }
    }
}
