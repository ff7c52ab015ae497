//! The audit log's hash chain: the canonical encoding of a row, its SHA-256 link to the row
//! before it, and the verification that finds the first row altered, removed or reordered.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The hash the first row of the chain links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One row of the audit log as stored (all the fields the hash covers).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the chain (1, 2, 3, ...).
    pub sequence: i64,
    /// Unique id (request id or event id).
    pub entry_id: String,
    /// Who acted.
    pub actor_subject: String,
    /// In which role.
    pub actor_role: String,
    /// Display name.
    pub actor_display_name: String,
    /// What was done.
    pub action: String,
    /// Type of the record acted on.
    pub resource_type: String,
    /// Id of the record acted on.
    pub resource_id: String,
    /// When it happened at the source.
    pub occurred_at: DateTime<Utc>,
    /// W3C trace id.
    pub trace_id: String,
    /// Service that did it.
    pub source_service: String,
    /// Outcome name (`SUCCESS`, `DENIED`, `FAILED`).
    pub outcome: String,
    /// Station concerned.
    pub station_id: String,
    /// Short masked detail.
    pub detail: String,
    /// Client address or device.
    pub client: String,
    /// When the audit service stored it.
    pub recorded_at: DateTime<Utc>,
    /// Hash of the previous row.
    pub prev_hash: String,
    /// Hash of this row.
    pub hash: String,
}

/// A record to append (the chain fields are filled in by [`link`]).
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    /// Unique id (request id or event id).
    pub entry_id: String,
    /// Who acted.
    pub actor_subject: String,
    /// Role.
    pub actor_role: String,
    /// Display name.
    pub actor_display_name: String,
    /// What was done.
    pub action: String,
    /// Record type.
    pub resource_type: String,
    /// Record id.
    pub resource_id: String,
    /// When it happened at the source.
    pub occurred_at: DateTime<Utc>,
    /// Trace id.
    pub trace_id: String,
    /// Service that did it.
    pub source_service: String,
    /// Outcome name.
    pub outcome: String,
    /// Station.
    pub station_id: String,
    /// Masked detail.
    pub detail: String,
    /// Client.
    pub client: String,
}

/// The chain head.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainHead {
    /// Newest sequence written.
    pub last_sequence: i64,
    /// Its hash.
    pub last_hash: String,
    /// Last sequence removed by retention (0: none).
    pub pruned_through: i64,
    /// Hash of that row (the anchor the oldest retained row links to).
    pub anchor_hash: String,
}

/// The row `entry` becomes at `sequence`, linked to `prev_hash` and hashed.
pub fn link(
    entry: NewAuditEntry,
    sequence: i64,
    prev_hash: String,
    recorded_at: DateTime<Utc>,
) -> AuditRow {
    let mut row = AuditRow {
        sequence,
        entry_id: entry.entry_id,
        actor_subject: entry.actor_subject,
        actor_role: entry.actor_role,
        actor_display_name: entry.actor_display_name,
        action: entry.action,
        resource_type: entry.resource_type,
        resource_id: entry.resource_id,
        occurred_at: to_micros(entry.occurred_at),
        trace_id: entry.trace_id,
        source_service: entry.source_service,
        outcome: entry.outcome,
        station_id: entry.station_id,
        detail: entry.detail,
        client: entry.client,
        recorded_at: to_micros(recorded_at),
        prev_hash,
        hash: String::new(),
    };
    row.hash = chain_hash(&row.prev_hash, &row);
    row
}

/// Truncates a time to whole microseconds, the precision both backends store exactly.
pub fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The canonical bytes of a row's content (everything but its own hash): every field
/// length-prefixed in a fixed order, times as microseconds since the epoch.
pub fn canonical_bytes(row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"pingan.audit.v1\0");
    out.extend_from_slice(&row.sequence.to_be_bytes());
    let texts = [
        &row.entry_id,
        &row.actor_subject,
        &row.actor_role,
        &row.actor_display_name,
        &row.action,
        &row.resource_type,
        &row.resource_id,
        &row.trace_id,
        &row.source_service,
        &row.outcome,
        &row.station_id,
        &row.detail,
        &row.client,
    ];
    for text in texts {
        let bytes = text.as_bytes();
        out.extend_from_slice(&u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(&row.occurred_at.timestamp_micros().to_be_bytes());
    out.extend_from_slice(&row.recorded_at.timestamp_micros().to_be_bytes());
    out
}

/// SHA-256 over the previous hash and the row's canonical content, lowercase hex.
pub fn chain_hash(prev_hash: &str, row: &AuditRow) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update([0]);
    hasher.update(canonical_bytes(row));
    hex::encode(hasher.finalize())
}

/// What broke first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The row's content no longer matches its hash.
    Altered,
    /// A sequence number is missing.
    Removed,
    /// The row's prev_hash is not the hash of the row before it.
    Reordered,
}

/// The first broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// What broke.
    pub kind: BreakKind,
    /// Sequence of the broken row (the first missing one for `Removed`).
    pub sequence: i64,
    /// Entry id of the broken row, when it exists.
    pub entry_id: String,
    /// Hash expected.
    pub expected_hash: String,
    /// Hash found.
    pub found_hash: String,
}

/// Walks rows in sequence order, batch after batch, and stops at the first broken link.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_sequence: i64,
    prev_hash: String,
    /// Rows checked so far.
    pub rows_checked: i64,
    /// Sequence and hash of the last good row.
    pub head: Option<(i64, String)>,
}

impl ChainVerifier {
    /// Starts at `first_sequence`, which must link to `prev_hash`.
    pub fn new(first_sequence: i64, prev_hash: &str) -> Self {
        Self {
            expected_sequence: first_sequence,
            prev_hash: prev_hash.to_owned(),
            rows_checked: 0,
            head: None,
        }
    }

    /// The next sequence expected.
    pub fn expected_sequence(&self) -> i64 {
        self.expected_sequence
    }

    /// Checks one row; `Err` is the first break.
    pub fn check(&mut self, row: &AuditRow) -> Result<(), Break> {
        if row.sequence != self.expected_sequence {
            return Err(Break {
                kind: if row.sequence > self.expected_sequence {
                    BreakKind::Removed
                } else {
                    BreakKind::Reordered
                },
                sequence: self.expected_sequence,
                entry_id: String::new(),
                expected_hash: self.prev_hash.clone(),
                found_hash: row.prev_hash.clone(),
            });
        }
        let recomputed = chain_hash(&row.prev_hash, row);
        if recomputed != row.hash {
            return Err(Break {
                kind: BreakKind::Altered,
                sequence: row.sequence,
                entry_id: row.entry_id.clone(),
                expected_hash: recomputed,
                found_hash: row.hash.clone(),
            });
        }
        if row.prev_hash != self.prev_hash {
            return Err(Break {
                kind: BreakKind::Reordered,
                sequence: row.sequence,
                entry_id: row.entry_id.clone(),
                expected_hash: self.prev_hash.clone(),
                found_hash: row.prev_hash.clone(),
            });
        }
        self.rows_checked += 1;
        self.prev_hash = row.hash.clone();
        self.expected_sequence += 1;
        self.head = Some((row.sequence, row.hash.clone()));
        Ok(())
    }

    /// Checks the end of the walk: rows up to `last_sequence` must all have been seen.
    pub fn finish(&self, last_sequence: i64) -> Result<(), Break> {
        if self.expected_sequence <= last_sequence {
            return Err(Break {
                kind: BreakKind::Removed,
                sequence: self.expected_sequence,
                entry_id: String::new(),
                expected_hash: self.prev_hash.clone(),
                found_hash: String::new(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sequence: i64, prev_hash: &str) -> AuditRow {
        let at = to_micros(
            DateTime::from_timestamp(1_750_000_000 + sequence, 123_456_789).unwrap_or_default(),
        );
        let mut row = AuditRow {
            sequence,
            entry_id: format!("e-{sequence}"),
            actor_subject: "officer-1".into(),
            actor_role: "inspector".into(),
            actor_display_name: String::new(),
            action: "grid.FindResidentByIdNumber".into(),
            resource_type: "resident".into(),
            resource_id: format!("r-{sequence}"),
            occurred_at: at,
            trace_id: String::new(),
            source_service: "grid-registry".into(),
            outcome: "SUCCESS".into(),
            station_id: "st-chengnan".into(),
            detail: "lookup".into(),
            client: String::new(),
            recorded_at: at,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        row.hash = chain_hash(prev_hash, &row);
        row
    }

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut rows = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for sequence in 1..=n {
            let r = row(sequence, &prev);
            prev = r.hash.clone();
            rows.push(r);
        }
        rows
    }

    fn verify(rows: &[AuditRow], last: i64) -> Result<(), Break> {
        let mut verifier = ChainVerifier::new(1, GENESIS_HASH);
        for r in rows {
            verifier.check(r)?;
        }
        verifier.finish(last)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5), 5), Ok(()));
    }

    #[test]
    fn an_altered_row_is_named() {
        let mut rows = chain(5);
        rows[2].detail = "changed".into();
        let broken = verify(&rows, 5).unwrap_err();
        assert_eq!((broken.kind, broken.sequence), (BreakKind::Altered, 3));
    }

    #[test]
    fn a_rehashed_row_breaks_the_next_link() {
        let mut rows = chain(5);
        rows[2].detail = "changed".into();
        rows[2].hash = chain_hash(&rows[2].prev_hash.clone(), &rows[2]);
        let broken = verify(&rows, 5).unwrap_err();
        assert_eq!((broken.kind, broken.sequence), (BreakKind::Reordered, 4));
    }

    #[test]
    fn removed_rows_are_named_in_the_middle_and_at_the_end() {
        let mut rows = chain(5);
        rows.remove(1);
        let broken = verify(&rows, 5).unwrap_err();
        assert_eq!((broken.kind, broken.sequence), (BreakKind::Removed, 2));
        let rows = chain(5);
        let broken = verify(&rows[..4], 5).unwrap_err();
        assert_eq!((broken.kind, broken.sequence), (BreakKind::Removed, 5));
    }

    #[test]
    fn swapped_rows_are_reported() {
        let mut rows = chain(5);
        let (a, b) = (rows[1].sequence, rows[2].sequence);
        rows.swap(1, 2);
        rows[1].sequence = a;
        rows[2].sequence = b;
        let broken = verify(&rows, 5).unwrap_err();
        assert_eq!(broken.sequence, 2);
    }
}
