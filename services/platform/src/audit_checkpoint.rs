//! Signed checkpoints of the audit chain head (sequence, head hash, time), the anchor that lets
//! a rollback of the newest rows be found: Ed25519 with a key the database does not hold, kept
//! by witnesses outside the database (an append-only file, the services that poll). Pure: the
//! encoding, signing, verifying under a set of accepted keys, and the witnesses' compare rule;
//! complaints-audit signs with it, every other service checks with it.

use chrono::{DateTime, Utc};
use pingan_proto::audit::v1::AuditCheckpoint;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::time::{from_timestamp, to_timestamp};

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
    /// The checkpoint is signed by a key outside the accepted set.
    #[error("signed by public key {found}, not one of the accepted {expected}")]
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

/// The public keys whose checkpoints are accepted: the signer's and the previous ones still
/// trusted after a rotation (complaints-audit), or the configured/pinned set (a witness).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    /// Lowercase hex, in the order given (no duplicates).
    keys: Vec<String>,
}

impl KeySet {
    /// The keys `hex` (32 bytes each, hex, surrounding whitespace ignored; blanks skipped).
    pub fn from_hex<'a>(hex: impl IntoIterator<Item = &'a str>) -> Result<Self, CheckpointError> {
        let mut set = Self::default();
        for text in hex {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let bytes = hex::decode(text)
                .map_err(|_| CheckpointError::BadKey(format!("public key {text:?} is not hex")))?;
            if bytes.len() != 32 {
                return Err(CheckpointError::BadKey(format!(
                    "public key {text:?} has {} bytes, expected 32",
                    bytes.len()
                )));
            }
            set.add(&hex::encode(bytes));
        }
        Ok(set)
    }

    /// Adds `public_hex` (already lowercase hex) unless present.
    pub fn add(&mut self, public_hex: &str) {
        if !self.contains(public_hex) {
            self.keys.push(public_hex.to_owned());
        }
    }

    /// True when no key is accepted yet.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when `public_hex` is accepted.
    pub fn contains(&self, public_hex: &str) -> bool {
        self.keys.iter().any(|key| key == public_hex)
    }

    /// The accepted keys, comma-separated (messages).
    pub fn describe(&self) -> String {
        self.keys.join(",")
    }

    /// Checks that `checkpoint` names an accepted key and that its signature verifies under it.
    pub fn verify(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        if !self.contains(&checkpoint.public_key) {
            return Err(CheckpointError::UnknownKey {
                expected: self.describe(),
                found: checkpoint.public_key.clone(),
            });
        }
        let key = hex::decode(&checkpoint.public_key)
            .map_err(|_| CheckpointError::Malformed("public_key is not hex".into()))?;
        verify_with(&key, checkpoint)
    }
}

/// A checkpoint as sent.
pub fn to_proto(checkpoint: &Checkpoint) -> AuditCheckpoint {
    AuditCheckpoint {
        sequence: checkpoint.sequence,
        head_hash: checkpoint.head_hash.clone(),
        signed_at: Some(to_timestamp(checkpoint.signed_at)),
        public_key: checkpoint.public_key.clone(),
        signature: checkpoint.signature.clone(),
    }
}

/// A checkpoint as received, not yet verified; `Malformed` naming `signed_at` when it is unset.
pub fn from_proto(proto: &AuditCheckpoint) -> Result<Checkpoint, CheckpointError> {
    let signed_at = proto
        .signed_at
        .as_ref()
        .and_then(from_timestamp)
        .ok_or_else(|| CheckpointError::Malformed("signed_at missing".into()))?;
    Ok(Checkpoint {
        sequence: proto.sequence,
        head_hash: proto.head_hash.clone(),
        signed_at,
        public_key: proto.public_key.clone(),
        signature: proto.signature.clone(),
    })
}

/// What a witness makes of a checkpoint it was handed, against the one it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witnessed {
    /// Nothing kept yet: keep it.
    First,
    /// Higher than the kept one: keep it.
    Newer,
    /// The kept one again (re-signed or not): nothing to store.
    Same,
    /// Lower than the kept one: the chain went back. Not stored.
    RolledBack { kept: i64, returned: i64 },
    /// The kept sequence with another head hash: the chain was rewritten. Not stored.
    Forked { sequence: i64 },
}

impl Witnessed {
    /// True when the checkpoint should replace the kept one.
    pub fn keeps(&self) -> bool {
        matches!(self, Self::First | Self::Newer)
    }

    /// True when the checkpoint contradicts the kept one.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::RolledBack { .. } | Self::Forked { .. })
    }
}

/// The witnesses' rule: only a higher sequence replaces the kept checkpoint; a lower one, or the
/// same sequence under another hash, is a conflict (a rollback seen from outside).
pub fn compare(kept: Option<&Checkpoint>, returned: &Checkpoint) -> Witnessed {
    let Some(kept) = kept else {
        return Witnessed::First;
    };
    if returned.sequence > kept.sequence {
        Witnessed::Newer
    } else if returned.sequence < kept.sequence {
        Witnessed::RolledBack {
            kept: kept.sequence,
            returned: returned.sequence,
        }
    } else if returned.head_hash == kept.head_hash {
        Witnessed::Same
    } else {
        Witnessed::Forked {
            sequence: kept.sequence,
        }
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
    fn a_key_set_accepts_previous_keys_and_refuses_others() {
        let old = Signer::from_hex_seed(SEED).unwrap();
        let new = Signer::from_hex_seed(&"22".repeat(32)).unwrap();
        let stranger = Signer::from_hex_seed(&"33".repeat(32)).unwrap();
        let set = KeySet::from_hex([new.public_key(), " ", old.public_key()]).unwrap();
        assert_eq!(set.verify(&old.sign(3, "h3", at(1))), Ok(()));
        assert_eq!(set.verify(&new.sign(4, "h4", at(2))), Ok(()));
        assert!(matches!(
            set.verify(&stranger.sign(5, "h5", at(3))),
            Err(CheckpointError::UnknownKey { .. })
        ));
        let mut disguised = stranger.sign(5, "h5", at(3));
        disguised.public_key = old.public_key().to_owned();
        assert_eq!(set.verify(&disguised), Err(CheckpointError::BadSignature));
        assert!(KeySet::from_hex(["abcd"]).is_err());
        assert!(KeySet::from_hex(["zz"]).is_err());
        let upper = old.public_key().to_uppercase();
        assert!(
            KeySet::from_hex([upper.as_str()])
                .unwrap()
                .contains(old.public_key())
        );
    }

    #[test]
    fn a_checkpoint_survives_its_proto_and_needs_its_time() {
        let signer = Signer::from_hex_seed(SEED).unwrap();
        let checkpoint = signer.sign(7, "ab12", at(1_750_000_000));
        assert_eq!(from_proto(&to_proto(&checkpoint)), Ok(checkpoint.clone()));
        let mut timeless = to_proto(&checkpoint);
        timeless.signed_at = None;
        assert!(matches!(
            from_proto(&timeless),
            Err(CheckpointError::Malformed(_))
        ));
    }

    #[test]
    fn only_a_higher_sequence_replaces_the_kept_checkpoint() {
        let signer = Signer::from_hex_seed(SEED).unwrap();
        let kept = signer.sign(6, "h6", at(10));
        assert_eq!(compare(None, &kept), Witnessed::First);
        assert_eq!(
            compare(Some(&kept), &signer.sign(8, "h8", at(11))),
            Witnessed::Newer
        );
        // Re-signed later (a restarted publisher): the same head, nothing to store.
        assert_eq!(
            compare(Some(&kept), &signer.sign(6, "h6", at(12))),
            Witnessed::Same
        );
        let back = compare(Some(&kept), &signer.sign(4, "h4", at(13)));
        assert_eq!(
            back,
            Witnessed::RolledBack {
                kept: 6,
                returned: 4
            }
        );
        let forked = compare(Some(&kept), &signer.sign(6, "other", at(14)));
        assert_eq!(forked, Witnessed::Forked { sequence: 6 });
        for outcome in [&back, &forked] {
            assert!(outcome.is_conflict() && !outcome.keeps());
        }
        assert!(Witnessed::Newer.keeps() && Witnessed::First.keeps());
        assert!(!Witnessed::Same.keeps() && !Witnessed::Same.is_conflict());
    }
}
