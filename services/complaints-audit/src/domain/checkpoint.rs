//! How the chain compares with a witnessed checkpoint (rolled back, rewritten, consistent). The
//! checkpoint itself (encoding, signing, verifying) is the platform's: every witness checks it.

pub use pingan_platform::audit_checkpoint::{
    Checkpoint, CheckpointError, KeySet, Signer, from_line, to_line,
};

/// How a chain head compares with the newest witnessed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorCheck {
    /// The chain holds the witnessed head.
    Consistent,
    /// The head is below the witnessed sequence: the newest rows were removed.
    RolledBack { head_sequence: i64 },
    /// The row at the witnessed sequence has another hash than the one signed.
    Mismatch { found_hash: String },
    /// The witnessed row was removed by retention: only the sequence can be checked.
    Pruned,
}

/// Compares the witnessed `checkpoint` with the chain: its head sequence, and the stored hash of
/// the row at the checkpoint's sequence (`None` when that row does not exist).
pub fn check_anchor(
    checkpoint: &Checkpoint,
    head_sequence: i64,
    pruned_through: i64,
    hash_at_checkpoint: Option<&str>,
) -> AnchorCheck {
    if head_sequence < checkpoint.sequence {
        return AnchorCheck::RolledBack { head_sequence };
    }
    if checkpoint.sequence == 0 {
        return AnchorCheck::Consistent;
    }
    if checkpoint.sequence <= pruned_through {
        return AnchorCheck::Pruned;
    }
    match hash_at_checkpoint {
        Some(hash) if hash == checkpoint.head_hash => AnchorCheck::Consistent,
        Some(hash) => AnchorCheck::Mismatch {
            found_hash: hash.to_owned(),
        },
        None => AnchorCheck::Mismatch {
            found_hash: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn rollback_and_mismatch_are_told_apart() {
        let signer = Signer::from_hex_seed(SEED).unwrap();
        let checkpoint = signer.sign(10, "h10", at(1));
        assert_eq!(
            check_anchor(&checkpoint, 7, 0, None),
            AnchorCheck::RolledBack { head_sequence: 7 }
        );
        assert_eq!(
            check_anchor(&checkpoint, 12, 0, Some("other")),
            AnchorCheck::Mismatch {
                found_hash: "other".into()
            }
        );
        assert_eq!(
            check_anchor(&checkpoint, 12, 0, Some("h10")),
            AnchorCheck::Consistent
        );
        assert_eq!(check_anchor(&checkpoint, 12, 10, None), AnchorCheck::Pruned);
    }
}
