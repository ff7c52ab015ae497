//! Signed checkpoints of the audit chain head (sequence, head hash, time), the anchor that lets
//! a rollback of the newest rows be found: Ed25519 with a key the database does not hold, kept
//! by witnesses outside the database (an append-only file, the services that poll).

use chrono::{DateTime, Utc};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// What was signed: "at `signed_at` the chain ended at `sequence` with `head_hash`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Sequence of the newest row (0: empty chain).
    pub sequence: i64,
    /// Hash of that row, lowercase hex.
    pub head_hash: String,
    /// When it was signed (whole microseconds).
    pub signed_at: DateTime<Utc>,
    /// Public key of the signer, lowercase hex.
    pub public_key: String,
    /// Ed25519 signature over [`signed_bytes`].
    pub signature: Vec<u8>,
}

/// Why a key or a checkpoint was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// The key file does not hold a 32-byte seed in hex.
    #[error("checkpoint key: {0}")]
    BadKey(String),
    /// The checkpoint is signed by another key than this service's.
    #[error("signed by public key {found}, not this service's {expected}")]
    UnknownKey { expected: String, found: String },
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A field of a stored or presented checkpoint cannot be read.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
}

/// The canonical bytes a checkpoint's signature covers: a domain tag, then every field
/// length-prefixed or fixed-width, so no two checkpoints share an encoding.
pub fn signed_bytes(sequence: i64, head_hash: &str, signed_at: DateTime<Utc>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"pingan.audit.checkpoint.v1\0");
    out.extend_from_slice(&sequence.to_be_bytes());
    let hash = head_hash.as_bytes();
    out.extend_from_slice(&u64::try_from(hash.len()).unwrap_or(u64::MAX).to_be_bytes());
    out.extend_from_slice(hash);
    out.extend_from_slice(&signed_at.timestamp_micros().to_be_bytes());
    out
}

/// The signing key, read from a file outside the database.
pub struct Signer {
    pair: Ed25519KeyPair,
    public_hex: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public_key", &self.public_hex)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The key whose 32-byte seed is `text` in hex (surrounding whitespace ignored).
    pub fn from_hex_seed(text: &str) -> Result<Self, CheckpointError> {
        let seed = hex::decode(text.trim())
            .map_err(|_| CheckpointError::BadKey("not hex (expected a 32-byte seed)".into()))?;
        if seed.len() != 32 {
            return Err(CheckpointError::BadKey(format!(
                "{} bytes, expected a 32-byte seed",
                seed.len()
            )));
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| CheckpointError::BadKey("not an Ed25519 seed".into()))?;
        let public_hex = hex::encode(pair.public_key().as_ref());
        Ok(Self { pair, public_hex })
    }

    /// The public key, lowercase hex.
    pub fn public_key(&self) -> &str {
        &self.public_hex
    }

    /// Signs the head `sequence`/`head_hash` at `signed_at`.
    pub fn sign(&self, sequence: i64, head_hash: &str, signed_at: DateTime<Utc>) -> Checkpoint {
        let signature = self
            .pair
            .sign(&signed_bytes(sequence, head_hash, signed_at));
        Checkpoint {
            sequence,
            head_hash: head_hash.to_owned(),
            signed_at,
            public_key: self.public_hex.clone(),
            signature: signature.as_ref().to_vec(),
        }
    }

    /// Checks that `checkpoint` was signed by this key.
    pub fn verify(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        if checkpoint.public_key != self.public_hex {
            return Err(CheckpointError::UnknownKey {
                expected: self.public_hex.clone(),
                found: checkpoint.public_key.clone(),
            });
        }
        verify_with(self.pair.public_key().as_ref(), checkpoint)
    }
}

/// Checks `checkpoint` against the raw 32-byte public key `public_key`.
pub fn verify_with(public_key: &[u8], checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
    let message = signed_bytes(
        checkpoint.sequence,
        &checkpoint.head_hash,
        checkpoint.signed_at,
    );
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&message, &checkpoint.signature)
        .map_err(|_| CheckpointError::BadSignature)
}

/// One line of the append-only file sink (JSON, one checkpoint per line).
pub fn to_line(checkpoint: &Checkpoint) -> String {
    serde_json::json!({
        "sequence": checkpoint.sequence,
        "head_hash": checkpoint.head_hash,
        "signed_at_micros": checkpoint.signed_at.timestamp_micros(),
        "public_key": checkpoint.public_key,
        "signature": hex::encode(&checkpoint.signature),
    })
    .to_string()
}

/// A checkpoint read back from a line of the file sink.
pub fn from_line(line: &str) -> Result<Checkpoint, CheckpointError> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|err| CheckpointError::Malformed(err.to_string()))?;
    let text = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CheckpointError::Malformed(format!("{name} missing")))
    };
    let number = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| CheckpointError::Malformed(format!("{name} missing")))
    };
    let signed_at = DateTime::from_timestamp_micros(number("signed_at_micros")?)
        .ok_or_else(|| CheckpointError::Malformed("signed_at_micros out of range".into()))?;
    let signature = hex::decode(text("signature")?)
        .map_err(|_| CheckpointError::Malformed("signature is not hex".into()))?;
    Ok(Checkpoint {
        sequence: number("sequence")?,
        head_hash: text("head_hash")?,
        signed_at,
        public_key: text("public_key")?,
        signature,
    })
}

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

    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_survives_its_line() {
        let signer = Signer::from_hex_seed(SEED).unwrap();
        let checkpoint = signer.sign(7, "ab12", at(1_750_000_000));
        assert_eq!(signer.verify(&checkpoint), Ok(()));
        let back = from_line(&to_line(&checkpoint)).unwrap();
        assert_eq!(back, checkpoint);
        assert_eq!(signer.verify(&back), Ok(()));
    }

    #[test]
    fn any_changed_field_or_foreign_key_is_refused() {
        let signer = Signer::from_hex_seed(SEED).unwrap();
        let good = signer.sign(7, "ab12", at(1_750_000_000));
        let mut raised = good.clone();
        raised.sequence = 8;
        assert_eq!(signer.verify(&raised), Err(CheckpointError::BadSignature));
        let mut rehashed = good.clone();
        rehashed.head_hash = "ab13".into();
        assert_eq!(signer.verify(&rehashed), Err(CheckpointError::BadSignature));
        let mut flipped = good.clone();
        flipped.signature[0] ^= 1;
        assert_eq!(signer.verify(&flipped), Err(CheckpointError::BadSignature));
        let other = Signer::from_hex_seed(&"11".repeat(32)).unwrap();
        let foreign = other.sign(7, "ab12", at(1_750_000_000));
        assert!(matches!(
            signer.verify(&foreign),
            Err(CheckpointError::UnknownKey { .. })
        ));
        // A foreign signature under this service's key name fails the signature itself.
        let mut disguised = foreign;
        disguised.public_key = signer.public_key().to_owned();
        assert_eq!(
            signer.verify(&disguised),
            Err(CheckpointError::BadSignature)
        );
    }

    #[test]
    fn bad_keys_are_named() {
        assert!(Signer::from_hex_seed("zz").is_err());
        assert!(Signer::from_hex_seed("abcd").is_err());
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
