//! Evidence rules: content hashes, and how a fetched dispatch timeline fills a pending item.

use chrono::{DateTime, Utc};
use pingan_proto::audit::v1::EvidenceStatus;
use sha2::{Digest, Sha256};

use super::records::EvidenceRow;

/// A fetched timeline, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedTimeline {
    /// Title, e.g. "Dispatch timeline of incident I-1 (7 entries)".
    pub title: String,
    /// JSON of the entries.
    pub content: Vec<u8>,
    /// SHA-256 of the content.
    pub sha256: String,
    /// First and last entry times.
    pub covers: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    /// Dispatch ids the entries belong to.
    pub source_ref: String,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// True for a lowercase hex SHA-256.
pub fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Attaches a fetched timeline to its (pending) evidence row, captured at `now`.
pub fn fill(row: &mut EvidenceRow, timeline: FetchedTimeline, now: DateTime<Utc>) {
    row.status = EvidenceStatus::Attached.as_str_name().to_owned();
    row.title = timeline.title;
    row.size_bytes = i64::try_from(timeline.content.len()).unwrap_or(i64::MAX);
    row.content = Some(timeline.content);
    row.content_sha256 = timeline.sha256;
    row.covers_start = timeline.covers.0;
    row.covers_end = timeline.covers.1;
    row.captured_at = Some(now);
    if !timeline.source_ref.is_empty() {
        row.source_ref = timeline.source_ref;
    }
    row.pending_reason.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lowercase_hex() {
        let hash = sha256_hex(b"timeline");
        assert!(is_sha256_hex(&hash));
        assert!(!is_sha256_hex(&hash.to_uppercase()));
    }
}
