//! The shipped segmenter dictionary (`models/segmenter-dict.txt`, ~17,700 of jieba's 349,000
//! entries) cuts every training call exactly as jieba's whole dictionary does, so the model
//! trained on those cuts is the model it would be with the whole dictionary.

use jieba_rs::Jieba;
use pingan_triage::domain::rules::normalize;
use pingan_triage::eval::{self, default_corpus_dir};
use pingan_triage::model::features::jieba;
use pingan_triage::model::segmenter;

#[test]
fn the_shipped_dictionary_cuts_every_training_call_as_the_whole_one_does() {
    let whole = Jieba::new();
    let shipped = jieba();
    let calls = eval::load_split(&default_corpus_dir(), "train").expect("train");
    assert!(calls.len() > 2000, "{} train calls", calls.len());
    let differ: Vec<String> = calls
        .iter()
        .map(|c| normalize(&c.text))
        .filter(|norm| whole.cut(norm, true) != shipped.cut(norm, true))
        .take(5)
        .collect();
    assert!(
        differ.is_empty(),
        "cut differently (rerun `pingan triage segmenter-dict`): {differ:?}"
    );
}

#[test]
fn unseen_text_is_still_cut_into_words() {
    let words = jieba().cut("我家楼下的煤气罐漏气了，闻着很呛", true);
    assert!(words.contains(&"楼下"), "{words:?}");
    assert!(words.len() < 14, "cut into characters only: {words:?}");
}

#[test]
fn a_malformed_dictionary_is_refused_with_its_line() {
    for (text, line) in [
        ("", 1),
        ("12 words\n", 1),
        ("total 10\n我们 3 x\n", 2),
        ("total 10\n我们 three\n", 2),
        ("total 2\n我们 3\n", 1),
    ] {
        let err = segmenter::parse(text).err().map(|e| e.line);
        assert_eq!(err, Some(line), "{text:?}");
    }
    assert!(segmenter::parse("total 10\n我们 3\n").is_ok());
}
