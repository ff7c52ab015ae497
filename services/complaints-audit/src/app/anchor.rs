//! Anchoring the audit chain outside its database: at a fixed interval the chain head is signed
//! (Ed25519, key from a file the database does not hold) and appended to an append-only file
//! sink; this process keeps the newest it published and the highest a witness presented back
//! (the other services polling GetAuditCheckpoint), and auditors present theirs to
//! VerifyAuditChain. Checkpoints of previous keys still verify (rotation).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pingan_platform::ApiError;
use pingan_platform::audit_checkpoint as checkpoints;
use pingan_proto::audit::v1::AuditCheckpoint;

use super::Core;
use crate::domain::checkpoint::{
    AnchorCheck, Checkpoint, CheckpointError, KeySet, Signer, check_anchor,
};
use crate::settings::Settings;

/// Why the sink could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Reading or appending the file failed.
    #[error("checkpoint sink {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The blocking file task did not finish.
    #[error("checkpoint sink task: {0}")]
    Task(String),
}

impl From<SinkError> for ApiError {
    fn from(err: SinkError) -> Self {
        ApiError::Unavailable(err.to_string())
    }
}

/// The signing key, the keys whose checkpoints still verify, the file sink, the newest
/// checkpoint this process published and the highest one a witness presented back.
#[derive(Debug)]
pub struct Anchor {
    signer: Option<Signer>,
    keys: KeySet,
    key_error: Option<String>,
    sink: Option<PathBuf>,
    published: Mutex<Option<Checkpoint>>,
    presented: Mutex<Option<Checkpoint>>,
}

impl Anchor {
    /// The anchor of `settings` (a key that cannot be loaded is kept as an error for
    /// [`Anchor::check`]: the host refuses to start with it).
    pub fn from_settings(settings: &Settings) -> Self {
        let (signer, mut key_error) = match &settings.checkpoint_key {
            None => (None, None),
            Some(path) => match load_key(path) {
                Ok(signer) => (Some(signer), None),
                Err(err) => (None, Some(format!("--audit-checkpoint-key: {err}"))),
            },
        };
        // The current key first: it signs; the previous ones only verify (rotation).
        let current = signer.as_ref().map(|signer| signer.public_key().to_owned());
        let listed = current
            .iter()
            .chain(&settings.checkpoint_previous_keys)
            .map(String::as_str);
        let keys = KeySet::from_hex(listed).unwrap_or_else(|err| {
            key_error.get_or_insert(format!("--audit-checkpoint-previous-public-keys: {err}"));
            KeySet::default()
        });
        Self {
            signer,
            keys,
            key_error,
            sink: settings.checkpoint_sink.clone(),
            published: Mutex::new(None),
            presented: Mutex::new(None),
        }
    }

    /// An error naming the setting when the key was configured but cannot be used, or a sink
    /// is configured without a key.
    pub fn check(&self) -> Result<(), String> {
        if let Some(err) = &self.key_error {
            return Err(err.clone());
        }
        if self.sink.is_some() && self.signer.is_none() {
            return Err("--audit-checkpoint-sink needs --audit-checkpoint-key".into());
        }
        Ok(())
    }

    /// The signing key, when configured.
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_ref()
    }

    /// The keys whose checkpoints verify: the signer's, then the previous ones.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    fn remembered(&self) -> Option<Checkpoint> {
        self.published.lock().ok().and_then(|guard| guard.clone())
    }

    fn remember(&self, checkpoint: &Checkpoint) {
        if let Ok(mut guard) = self.published.lock() {
            *guard = Some(checkpoint.clone());
        }
    }

    /// The highest checkpoint a witness presented back, if any.
    pub fn presented(&self) -> Option<Checkpoint> {
        self.presented.lock().ok().and_then(|guard| guard.clone())
    }

    /// Keeps `checkpoint` (already verified) when it is higher than the one presented before.
    pub fn remember_presented(&self, checkpoint: &Checkpoint) {
        if let Ok(mut guard) = self.presented.lock()
            && guard
                .as_ref()
                .is_none_or(|kept| checkpoint.sequence > kept.sequence)
        {
            *guard = Some(checkpoint.clone());
        }
    }

    /// This service's own checkpoints outside the database: the highest of the file sink and
    /// the one this process published last.
    pub async fn published(&self) -> Result<Vec<Checkpoint>, SinkError> {
        if self.signer.is_none() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        if let Some(path) = &self.sink {
            let lines = read_lines(path.clone()).await?;
            if let Some(best) = newest_valid(&self.keys, &lines) {
                found.push(best);
            }
        }
        found.extend(self.remembered());
        Ok(found)
    }

    /// Every checkpoint witnessed outside the database under an accepted key: this service's
    /// own ([`Anchor::published`]) and the highest a witness presented back.
    pub async fn witnessed(&self) -> Result<Vec<Checkpoint>, SinkError> {
        let mut found = self.published().await?;
        if self.signer.is_some() {
            found.extend(self.presented());
        }
        Ok(found)
    }

    /// The newest checkpoint this service published (highest sequence), if any.
    pub async fn latest(&self) -> Result<Option<Checkpoint>, SinkError> {
        Ok(newest(self.published().await?))
    }
}

fn newest(checkpoints: Vec<Checkpoint>) -> Option<Checkpoint> {
    checkpoints
        .into_iter()
        .max_by_key(|c| (c.sequence, c.signed_at))
}

fn load_key(path: &Path) -> Result<Signer, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    Signer::from_hex_seed(&text).map_err(|err| format!("{}: {err}", path.display()))
}

/// The newest line signed under `keys`; lines that do not verify are skipped and logged (a
/// forged line must not raise or lower the anchor).
fn newest_valid(keys: &KeySet, lines: &[String]) -> Option<Checkpoint> {
    let mut best: Option<Checkpoint> = None;
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let checked =
            crate::domain::checkpoint::from_line(line).and_then(|c| keys.verify(&c).map(|()| c));
        match checked {
            Ok(checkpoint) => {
                if best
                    .as_ref()
                    .is_none_or(|b| checkpoint.sequence >= b.sequence)
                {
                    best = Some(checkpoint);
                }
            }
            Err(err) => {
                tracing::warn!(line = number + 1, error = %err, "checkpoint sink line refused");
            }
        }
    }
    best
}

async fn read_lines(path: PathBuf) -> Result<Vec<String>, SinkError> {
    let shown = path.display().to_string();
    let result = tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
        Ok(file) => std::io::BufReader::new(file).lines().collect(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err),
    })
    .await
    .map_err(|err| SinkError::Task(err.to_string()))?;
    result.map_err(|source| SinkError::Io {
        path: shown,
        source,
    })
}

async fn append_line(path: PathBuf, line: String) -> Result<(), SinkError> {
    let shown = path.display().to_string();
    let result = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(format!("{line}\n").as_bytes())?;
        file.sync_data()
    })
    .await
    .map_err(|err| SinkError::Task(err.to_string()))?;
    result.map_err(|source| SinkError::Io {
        path: shown,
        source,
    })
}

/// Why the head was not signed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The head contradicts a witnessed checkpoint: signing it would launder a rollback.
    #[error("chain head refused: {0}")]
    Contradicts(String),
    /// Storage or the sink failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Signs the chain head and publishes it (file sink, this process's memory) when it moved since
/// this service's newest checkpoint; the checkpoint published, None when nothing was new or no
/// key is configured. Refuses a head that contradicts any witnessed checkpoint (the sink's, this
/// process's, one a witness presented back): a rolled-back chain is never signed.
pub async fn publish(core: &Core) -> Result<Option<Checkpoint>, PublishError> {
    let anchor = &core.anchor;
    let Some(signer) = anchor.signer() else {
        return Ok(None);
    };
    let head = core.store.audit_head().await.map_err(ApiError::from)?;
    if head.last_sequence == 0 {
        return Ok(None);
    }
    for witnessed in anchor.witnessed().await.map_err(ApiError::from)? {
        let hash_at = hash_at(core, witnessed.sequence, &head).await?;
        match check_anchor(
            &witnessed,
            head.last_sequence,
            head.pruned_through,
            hash_at.as_deref(),
        ) {
            AnchorCheck::Consistent | AnchorCheck::Pruned => {}
            broken => {
                return Err(PublishError::Contradicts(reason(&witnessed, &broken)));
            }
        }
    }
    let own = anchor.latest().await.map_err(ApiError::from)?;
    if own.is_some_and(|own| own.sequence == head.last_sequence) {
        return Ok(None);
    }
    let checkpoint = signer.sign(head.last_sequence, &head.last_hash, core.now());
    if let Some(path) = &anchor.sink {
        append_line(
            path.clone(),
            crate::domain::checkpoint::to_line(&checkpoint),
        )
        .await
        .map_err(ApiError::from)?;
    }
    anchor.remember(&checkpoint);
    tracing::info!(sequence = checkpoint.sequence, "audit checkpoint published");
    Ok(Some(checkpoint))
}

/// What GetAuditCheckpoint answers: this service's newest checkpoint, or the one a witness
/// presented back when it is higher and the chain still holds it (another replica signed it
/// first). A presented checkpoint the chain contradicts is never handed out: the witness then
/// sees the lower head and counts the rollback.
pub async fn newest_for_witnesses(core: &Core) -> Result<Option<Checkpoint>, ApiError> {
    let own = core.anchor.latest().await?;
    let Some(presented) = core.anchor.presented() else {
        return Ok(own);
    };
    if own
        .as_ref()
        .is_some_and(|own| own.sequence >= presented.sequence)
    {
        return Ok(own);
    }
    let head = core.store.audit_head().await?;
    let hash_at = hash_at(core, presented.sequence, &head).await?;
    match check_anchor(
        &presented,
        head.last_sequence,
        head.pruned_through,
        hash_at.as_deref(),
    ) {
        AnchorCheck::Consistent | AnchorCheck::Pruned => Ok(Some(presented)),
        AnchorCheck::RolledBack { .. } | AnchorCheck::Mismatch { .. } => Ok(own),
    }
}

/// The stored hash at `sequence` when the row should exist (retained, not past the head).
pub async fn hash_at(
    core: &Core,
    sequence: i64,
    head: &crate::domain::audit::ChainHead,
) -> Result<Option<String>, ApiError> {
    if sequence <= head.pruned_through || sequence > head.last_sequence || sequence == 0 {
        return Ok(None);
    }
    Ok(core.store.audit_hash(sequence).await?)
}

/// The failure in words, naming the witnessed checkpoint.
pub fn reason(checkpoint: &Checkpoint, check: &AnchorCheck) -> String {
    let signed = checkpoint.signed_at.to_rfc3339();
    match check {
        AnchorCheck::RolledBack { head_sequence } => format!(
            "chain head at sequence {head_sequence} is below the checkpoint witnessed at sequence \
             {} (signed {signed}): the newest rows were removed and the head moved back",
            checkpoint.sequence
        ),
        AnchorCheck::Mismatch { found_hash } if found_hash.is_empty() => format!(
            "row {} of the checkpoint witnessed at sequence {} (signed {signed}) is missing",
            checkpoint.sequence, checkpoint.sequence
        ),
        AnchorCheck::Mismatch { .. } => format!(
            "row {} has another hash than the checkpoint witnessed at that sequence (signed \
             {signed}): the chain was rewritten from there",
            checkpoint.sequence
        ),
        AnchorCheck::Consistent | AnchorCheck::Pruned => String::new(),
    }
}

/// A checkpoint as sent.
pub fn to_proto(checkpoint: &Checkpoint) -> AuditCheckpoint {
    checkpoints::to_proto(checkpoint)
}

/// A presented checkpoint, checked against this service's keys (current and previous); the
/// field at fault on error.
pub fn from_proto(
    core: &Core,
    field: &str,
    proto: &AuditCheckpoint,
) -> Result<Checkpoint, ApiError> {
    if core.anchor.signer().is_none() {
        return Err(ApiError::FailedPrecondition(
            "no audit checkpoint key is configured (--audit-checkpoint-key)".into(),
        ));
    }
    let checkpoint = checkpoints::from_proto(proto)
        .map_err(|_| ApiError::invalid(&format!("{field}.signed_at"), "required"))?;
    core.anchor
        .keys()
        .verify(&checkpoint)
        .map_err(|err| match err {
            CheckpointError::UnknownKey { .. } => {
                ApiError::invalid(&format!("{field}.public_key"), err.to_string())
            }
            other => ApiError::invalid(
                &format!("{field}.signature"),
                format!("forged or altered checkpoint: {other}"),
            ),
        })?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checkpoint::to_line;

    fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn sink_lines_of_a_previous_key_still_count_and_strangers_do_not() {
        let old = Signer::from_hex_seed(&"11".repeat(32)).unwrap();
        let new = Signer::from_hex_seed(&"22".repeat(32)).unwrap();
        let stranger = Signer::from_hex_seed(&"33".repeat(32)).unwrap();
        let lines = [
            to_line(&old.sign(3, "h3", at(1))),
            to_line(&old.sign(5, "h5", at(2))),
            to_line(&stranger.sign(90, "h90", at(3))),
            to_line(&new.sign(4, "h4", at(4))),
        ];
        let both = KeySet::from_hex([new.public_key(), old.public_key()]).unwrap();
        assert_eq!(newest_valid(&both, &lines).map(|c| c.sequence), Some(5));
        let only_new = KeySet::from_hex([new.public_key()]).unwrap();
        assert_eq!(newest_valid(&only_new, &lines).map(|c| c.sequence), Some(4));
    }
}
