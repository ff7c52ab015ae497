//! The word segmenter's dictionary: the entries of jieba's dictionary that can change how a
//! training call is cut, not all 349,000 of them (which cost ~50 MiB in every triage process).
//!
//! The model only knows words seen in training, and a text is cut using only the dictionary
//! words it contains, so the entries kept are those found inside a training call (plus every
//! single character, which prices the paths of unseen text as before). The dropped entries'
//! frequency mass is kept as one entry no text contains, so every path costs exactly what it
//! cost with the whole dictionary: training calls are cut identically (`tests/segmenter.rs`),
//! unseen ones only differ where a word no training call holds would have been cut.

use std::collections::{BTreeMap, HashSet};

use jieba_rs::Jieba;
use thiserror::Error;

use crate::domain::rules::normalize;

/// The shipped dictionary, relative to the crate.
pub const SEGMENTER_FILE: &str = "models/segmenter-dict.txt";

const SHIPPED: &str = include_str!("../../models/segmenter-dict.txt");

/// The entry that carries the dropped entries' frequency (a private-use character).
const REST: &str = "\u{E000}";

/// A malformed dictionary.
#[derive(Debug, Error)]
#[error("segmenter dictionary line {line}: {why}")]
pub struct SegmenterError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub why: String,
}

fn bad(line: usize, why: impl Into<String>) -> SegmenterError {
    SegmenterError {
        line,
        why: why.into(),
    }
}

/// Builds a segmenter from a dictionary file: `total <N>` then `<word> <freq>` per line.
pub fn parse(text: &str) -> Result<Jieba, SegmenterError> {
    let mut lines = text.lines().enumerate();
    let total: usize = lines
        .next()
        .and_then(|(_, l)| l.strip_prefix("total "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| bad(1, "the first line must be `total <N>`"))?;
    let mut jieba = Jieba::empty();
    let mut sum = 0usize;
    for (i, line) in lines {
        let mut parts = line.split(' ');
        let (Some(word), Some(freq), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(i + 1, "expected `<word> <freq>`"));
        };
        let freq: usize = freq
            .parse()
            .map_err(|_| bad(i + 1, format!("frequency {freq:?}")))?;
        if word.is_empty() || word == REST {
            return Err(bad(i + 1, "empty or reserved word"));
        }
        jieba.add_word(word, Some(freq), None);
        sum = sum.saturating_add(freq);
    }
    let rest = total
        .checked_sub(sum)
        .ok_or_else(|| bad(1, format!("total {total} is less than the entries' {sum}")))?;
    jieba.add_word(REST, Some(rest), None);
    Ok(jieba)
}

/// The shipped segmenter (an empty dictionary — jieba's HMM alone — if the file were malformed,
/// which `tests/segmenter.rs` rules out).
pub fn shipped() -> Jieba {
    parse(SHIPPED).unwrap_or_else(|e| {
        tracing::error!(error = %e, "shipped segmenter dictionary unreadable");
        Jieba::empty()
    })
}

/// Reduces jieba's whole dictionary (`dict.txt`: `<word> <freq> [tag]` lines) to the entries found
/// inside the normalised `texts` and every single character; returns the file's content.
pub fn reduce(full_dict: &str, texts: &[String]) -> Result<String, SegmenterError> {
    // A word listed twice keeps its last frequency, as jieba's own loader does.
    let mut entries: BTreeMap<&str, usize> = BTreeMap::new();
    let mut longest = 1;
    for (i, line) in full_dict.lines().enumerate() {
        let mut parts = line.split_whitespace();
        let (Some(word), Some(freq)) = (parts.next(), parts.next()) else {
            continue;
        };
        let freq: usize = freq
            .parse()
            .map_err(|_| bad(i + 1, format!("frequency {freq:?}")))?;
        longest = longest.max(word.chars().count());
        entries.insert(word, freq);
    }
    let total = entries.values().fold(0usize, |a, f| a.saturating_add(*f));
    let mut inside: HashSet<&str> = HashSet::new();
    let norms: Vec<String> = texts.iter().map(|t| normalize(t)).collect();
    for norm in &norms {
        let starts: Vec<usize> = norm.char_indices().map(|(i, _)| i).collect();
        for (k, &start) in starts.iter().enumerate() {
            for len in 1..=longest {
                let end = starts.get(k + len).copied().unwrap_or(norm.len());
                inside.insert(&norm[start..end]);
                if end == norm.len() {
                    break;
                }
            }
        }
    }
    let mut out = format!("total {total}\n");
    for (word, freq) in entries
        .iter()
        .filter(|(w, _)| w.chars().count() == 1 || inside.contains(**w))
    {
        out.push_str(&format!("{word} {freq}\n"));
    }
    Ok(out)
}
