//! The shipped model: loads fast, is what `pingan triage train` writes from train.jsonl
//! (deterministic), and its figures on the held-out split (never tuned on).

use std::time::Instant;

use pingan_triage::domain::rules::CompiledRules;
use pingan_triage::eval::{self, default_corpus_dir};
use pingan_triage::model::Model;
use pingan_triage::model::train::{fit, prepare};
use sha2::{Digest, Sha256};

#[test]
fn shipped_model_loads_under_a_second_and_names_its_data() {
    let start = Instant::now();
    let model = Model::builtin().expect("model");
    let elapsed = start.elapsed();
    assert!(elapsed.as_secs_f64() < 1.0, "model load took {elapsed:?}");
    let f = &model.file;
    assert_eq!(model.version(), format!("lr-{}", &f.content_digest()[..12]));
    let train = std::fs::read(default_corpus_dir().join(eval::TRAIN_FILE)).expect("train");
    assert_eq!(
        f.trained_on.sha256,
        hex::encode(Sha256::digest(&train)),
        "model stale: run `pingan triage train`"
    );
    assert!(f.thresholds.divert >= 0.5 && f.thresholds.divert < 1.0);
}

#[test]
fn retraining_the_chosen_setting_reproduces_the_shipped_model() {
    let shipped = Model::builtin().expect("model");
    let rules = CompiledRules::builtin().expect("rules");
    let calls = eval::load_split(&default_corpus_dir(), "train").expect("train");
    let prepared = prepare(&rules, &calls);
    let all: Vec<_> = prepared.iter().collect();
    let f = &shipped.file;
    let again = fit(
        &rules,
        &all,
        &f.features,
        &f.hyper,
        &f.thresholds,
        f.decision,
    )
    .expect("fit");
    assert_eq!(again.file.vocabulary, f.vocabulary);
    assert_eq!(again.file.heads, f.heads);
    assert_eq!(again.version(), shipped.version());
}

#[test]
fn held_out_split_is_safe() {
    let rules = CompiledRules::builtin().expect("rules");
    let model = Model::builtin().expect("model");
    let calls = eval::load_split(&default_corpus_dir(), "test").expect("test");
    let report = eval::evaluate(&rules, &model, "test", &calls);
    println!("{}", report.render());
    // A regression guard on issue 14's safety acceptance (never a reason to change a rule or a
    // threshold); the accuracy figures are recorded in docs/triage.md.
    assert!(
        report.unsafe_diversions.is_empty(),
        "unsafe diversions: {:?}",
        report.unsafe_diversions
    );
    assert!(
        report.p1_missed.is_empty(),
        "P1 answered lower: {:?}",
        report.p1_missed
    );
}
