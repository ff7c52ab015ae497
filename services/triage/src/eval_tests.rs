use super::*;

fn call(id: &str, kind: &str, category: &str, priority: &str) -> LabelledCall {
    LabelledCall {
        id: id.to_owned(),
        channel: "110".to_owned(),
        text: format!("text of {id}"),
        kind: kind.to_owned(),
        category: category.to_owned(),
        priority: priority.to_owned(),
        since: None,
        entered_as: None,
    }
}

fn outcome(c: LabelledCall, kind: &str, category: &str, priority: &str, nanos: u64) -> Outcome {
    Outcome {
        call: c,
        kind: kind.to_owned(),
        category: category.to_owned(),
        priority: priority.to_owned(),
        nanos,
        why: Vec::new(),
    }
}

#[test]
fn metrics_of_a_hand_made_set() {
    let outcomes = vec![
        // Right on every field.
        outcome(
            call("a", "POLICE", "DISPUTE", "P3"),
            "POLICE",
            "DISPUTE",
            "P3",
            1_000,
        ),
        // P1 downgraded, kind and category right.
        outcome(
            call("b", "POLICE", "DOMESTIC_VIOLENCE", "P1"),
            "POLICE",
            "DOMESTIC_VIOLENCE",
            "P2",
            2_000,
        ),
        // Unsafe: a police call diverted to 12345.
        outcome(
            call("c", "POLICE", "DISPUTE", "P3"),
            "NON_POLICE",
            "MUNICIPAL",
            "P4",
            3_000,
        ),
        // Unsafe: a joint call answered invalid (and a P1 missed).
        outcome(
            call("d", "JOINT", "FIRE", "P1"),
            "INVALID",
            "INVALID",
            "P4",
            4_000,
        ),
        // Over-cautious, not unsafe: a 12345 call kept with the police.
        outcome(
            call("e", "NON_POLICE", "UTILITIES", "P4"),
            "POLICE",
            "ASSISTANCE",
            "P3",
            100_000,
        ),
    ];
    let r = Report::from_outcomes("test", "v1", &outcomes);
    assert_eq!(r.calls, 5);
    assert_eq!(r.kind_ok, 2);
    assert_eq!(r.category_ok, 2);
    assert_eq!(r.priority_ok, 1);
    assert!((r.kind_accuracy() - 0.4).abs() < 1e-9);
    assert_eq!(
        r.unsafe_diversions
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>(),
        ["c", "d"]
    );
    assert_eq!((r.p1_hit, r.p1_total), (0, 2));
    assert_eq!(r.p1_recall(), 0.0);
    assert_eq!(r.misses.len(), 4);
    // Rows expected, columns answered: POLICE, JOINT, COMPLAINT, NON_POLICE, INVALID.
    assert_eq!(r.kind_confusion[0], [2, 0, 0, 1, 0]);
    assert_eq!(r.kind_confusion[1], [0, 0, 0, 0, 1]);
    assert_eq!(r.kind_confusion[3], [1, 0, 0, 0, 0]);
    assert_eq!(r.latency_p50_us, 3.0);
    assert_eq!(r.latency_p99_us, 100.0);
    assert_eq!(r.calls_by_kind.get("POLICE"), Some(&3));
    let text = r.render();
    assert!(text.contains("unsafe diversions (POLICE/JOINT answered NON_POLICE/INVALID): 2"));
    assert!(text.contains("P1 recall: 0/2"));
}

#[test]
fn empty_set_has_no_p1_to_miss() {
    let r = Report::from_outcomes("test", "v1", &[]);
    assert_eq!(r.p1_recall(), 1.0);
    assert_eq!(r.kind_accuracy(), 0.0);
    assert_eq!(r.latency_p99_us, 0.0);
}

#[test]
fn split_is_stratified_and_independent_of_order() {
    let mut calls: Vec<LabelledCall> = (0..20)
        .map(|i| call(&format!("x-{i:02}"), "POLICE", "DISPUTE", "P3"))
        .chain((0..10).map(|i| call(&format!("y-{i:02}"), "NON_POLICE", "LABOR", "P4")))
        .collect();
    let (train, test) = split(&calls);
    assert_eq!((train.len(), test.len()), (21, 9));
    assert_eq!(test.iter().filter(|c| c.category == "DISPUTE").count(), 6);
    calls.reverse();
    assert_eq!(split(&calls), (train, test));
}

#[test]
fn a_new_corpus_version_never_moves_an_older_call_across() {
    let old: Vec<LabelledCall> = (0..20)
        .map(|i| call(&format!("x-{i:02}"), "POLICE", "DISPUTE", "P3"))
        .collect();
    let (old_train, old_test) = split(&old);
    let mut grown = old.clone();
    grown.extend((20..40).map(|i| LabelledCall {
        since: Some(3),
        ..call(&format!("x-{i:02}"), "POLICE", "DISPUTE", "P3")
    }));
    let (train, test) = split(&grown);
    let old_ids = |v: &[LabelledCall]| -> Vec<String> {
        v.iter()
            .filter(|c| c.since.is_none())
            .map(|c| c.id.clone())
            .collect()
    };
    assert_eq!(old_ids(&train), old_ids(&old_train));
    assert_eq!(old_ids(&test), old_ids(&old_test));
    // The new calls take their side from the rule on the grown corpus: 12 of 40 go to test.
    let whole = quota_test_ids(grown.iter());
    assert_eq!(whole.len(), 12);
    for c in test.iter().filter(|c| c.since == Some(3)) {
        assert!(whole.contains(c.id.as_str()), "{}", c.id);
    }
    assert!(test.iter().any(|c| c.since == Some(3)));
}

#[test]
fn a_relabelled_call_keeps_its_side_and_moves_no_other_call() {
    let calls: Vec<LabelledCall> = (0..20)
        .map(|i| call(&format!("x-{i:02}"), "POLICE", "ASSISTANCE", "P3"))
        .chain((0..20).map(|i| call(&format!("y-{i:02}"), "NON_POLICE", "POLICY_INQUIRY", "P4")))
        .collect();
    let (train, test) = split(&calls);
    let mut relabelled = calls.clone();
    for c in relabelled
        .iter_mut()
        .filter(|c| c.id == "x-03" || c.id == "x-07")
    {
        c.entered_as = Some(c.category.clone());
        c.kind = "NON_POLICE".into();
        c.category = "POLICY_INQUIRY".into();
        c.priority = "P4".into();
    }
    let (train2, test2) = split(&relabelled);
    let ids = |v: &[LabelledCall]| v.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&train2), ids(&train));
    assert_eq!(ids(&test2), ids(&test));
    // Without the entered category the quotas move: the split would differ.
    let mut bare = relabelled.clone();
    bare.iter_mut().for_each(|c| c.entered_as = None);
    assert_ne!(split(&bare), (train2, test2));
}
