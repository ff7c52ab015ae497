//! Every service but complaints-audit witnesses the audit chain: at an interval it calls
//! complaints-audit's `GetAuditCheckpoint` as itself, presenting the checkpoint it keeps (gossip),
//! verifies the answer's Ed25519 signature under the configured or pinned keys, and keeps the
//! newest in its own database. A lower sequence, or the same one under another hash, is a
//! rollback seen from outside: not stored, logged and counted.

mod store;

use std::sync::LazyLock;
use std::time::Duration;

use clap::Args;
use pingan_proto::audit::v1::GetAuditCheckpointRequest;
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use prometheus::{IntCounterVec, IntGaugeVec};

use crate::ServiceContext;
use crate::audit_checkpoint::{
    self as checkpoints, Checkpoint, CheckpointError, KeySet, Witnessed,
};
use crate::clients::TracedChannel;
use crate::clock::SharedClock;
use crate::metrics::register;
use crate::service::{SettingsSpec, Worker};
use crate::storage::{Db, StorageError};

pub use store::kept;

/// The peer that keeps the audit chain and signs its checkpoints.
pub const AUDIT_PEER: &str = "complaints-audit";

/// Config-file table of the settings: `[audit-witness] interval-ms = 60000`.
pub const TABLE: &str = "audit-witness";

/// Deadline of one poll.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How the services witness the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AuditWitnessConfig {
    /// How often each service polls complaints-audit's newest signed checkpoint and keeps it,
    /// in milliseconds; 0 turns the witness off.
    #[arg(
        id = "audit_witness_interval_ms",
        long = "audit-witness-interval-ms",
        env = "PINGAN_AUDIT_WITNESS_INTERVAL_MS",
        default_value_t = 60_000
    )]
    pub interval_ms: u64,
    /// Public keys (hex, comma-separated) whose checkpoints the witnesses accept. Unset: the
    /// first key seen is pinned (kept with the checkpoint). List the old and new keys while
    /// rotating complaints-audit's key.
    #[arg(
        id = "audit_witness_public_keys",
        long = "audit-checkpoint-public-key",
        env = "PINGAN_AUDIT_CHECKPOINT_PUBLIC_KEY",
        value_delimiter = ','
    )]
    pub public_keys: Vec<String>,
}

impl Default for AuditWitnessConfig {
    fn default() -> Self {
        Self {
            interval_ms: 60_000,
            public_keys: Vec::new(),
        }
    }
}

impl AuditWitnessConfig {
    /// The poll interval; `None` when the witness is off.
    pub fn interval(&self) -> Option<Duration> {
        (self.interval_ms > 0).then(|| Duration::from_millis(self.interval_ms))
    }
}

/// The settings every hosting process reads once and hands to each service's `ServiceConfig`.
pub fn shared_settings() -> Vec<SettingsSpec> {
    vec![SettingsSpec::of::<AuditWitnessConfig>(TABLE)]
}

/// Why a poll did not keep a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The configured keys are not 32-byte hex public keys.
    #[error("--audit-checkpoint-public-key: {0}")]
    Config(CheckpointError),
    /// complaints-audit could not be asked (or refused the call).
    #[error("GetAuditCheckpoint: {0}")]
    Call(#[from] tonic::Status),
    /// The poll did not answer within its deadline.
    #[error("GetAuditCheckpoint: no answer within {0:?}")]
    Timeout(Duration),
    /// The checkpoint returned is not signed by an accepted key, or does not verify.
    #[error("checkpoint refused: {0}")]
    Refused(CheckpointError),
    /// The service's own database failed.
    #[error("witness storage: {0}")]
    Storage(#[from] StorageError),
}

/// What one poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// complaints-audit has published no checkpoint yet.
    Empty,
    /// The checkpoint returned, compared with the kept one (stored when first or newer).
    Compared(Witnessed),
}

/// One service's witness of the audit chain.
#[derive(Debug, Clone)]
pub struct AuditWitness {
    service: String,
    db: Db,
    clock: SharedClock,
    channel: TracedChannel,
    keys: KeySet,
}

impl AuditWitness {
    /// The witness of `service` over its context (database, clock, peers: complaints-audit is
    /// called with the service's own credentials), accepting `config`'s keys or pinning the
    /// first one seen.
    pub fn new(
        service: &str,
        context: &ServiceContext,
        config: &AuditWitnessConfig,
    ) -> Result<Self, WitnessError> {
        let keys = KeySet::from_hex(config.public_keys.iter().map(String::as_str))
            .map_err(WitnessError::Config)?;
        let channel = context
            .peers
            .channel(AUDIT_PEER)
            .map_err(|err| WitnessError::Call(err.into()))?;
        Ok(Self {
            service: service.to_owned(),
            db: context.db.clone(),
            clock: context.clock.clone(),
            channel,
            keys,
        })
    }

    /// Asks complaints-audit for its newest checkpoint, presenting the kept one, and keeps the
    /// answer when it is newer. A presented checkpoint complaints-audit refuses is logged and
    /// counted, and the poll is repeated without it.
    pub async fn poll_once(&self) -> Result<Polled, WitnessError> {
        let kept = store::kept(&self.db).await?;
        let presented = kept
            .as_ref()
            .filter(|kept| self.keys.is_empty() || self.keys.contains(&kept.public_key));
        let returned = match self.ask(presented).await {
            Err(WitnessError::Call(status))
                if presented.is_some() && status.code() == tonic::Code::InvalidArgument =>
            {
                refused(&self.service, "presented_refused");
                tracing::error!(
                    service = %self.service,
                    sequence = presented.map_or(0, |c| c.sequence),
                    reason = %status.message(),
                    "complaints-audit refused the kept audit checkpoint: altered here, or its key retired"
                );
                self.ask(None).await?
            }
            other => other?,
        };
        match returned {
            None => Ok(Polled::Empty),
            Some(checkpoint) => self.observe(kept.as_ref(), &checkpoint).await,
        }
    }

    async fn ask(
        &self,
        presented: Option<&Checkpoint>,
    ) -> Result<Option<Checkpoint>, WitnessError> {
        let mut request = tonic::Request::new(GetAuditCheckpointRequest {
            witnessed_checkpoint: presented.map(checkpoints::to_proto),
        });
        request.set_timeout(CALL_TIMEOUT);
        let mut client = ComplaintsAuditServiceClient::new(self.channel.clone());
        let answer = tokio::time::timeout(CALL_TIMEOUT, client.get_audit_checkpoint(request))
            .await
            .map_err(|_| WitnessError::Timeout(CALL_TIMEOUT))??;
        answer
            .into_inner()
            .checkpoint
            .as_ref()
            .map(checkpoints::from_proto)
            .transpose()
            .map_err(|err| {
                refused(&self.service, "malformed");
                WitnessError::Refused(err)
            })
    }

    /// Verifies `returned` under the accepted keys and compares it with `kept`: stored when
    /// first or newer; a conflict is logged and counted, and the kept one stays.
    pub async fn observe(
        &self,
        kept: Option<&Checkpoint>,
        returned: &Checkpoint,
    ) -> Result<Polled, WitnessError> {
        self.accepted(kept, returned)
            .verify(returned)
            .map_err(|err| {
                let reason = match err {
                    CheckpointError::UnknownKey { .. } => "unknown_key",
                    CheckpointError::BadSignature => "bad_signature",
                    CheckpointError::BadKey(_) | CheckpointError::Malformed(_) => "malformed",
                };
                refused(&self.service, reason);
                tracing::error!(
                    service = %self.service,
                    sequence = returned.sequence,
                    public_key = %returned.public_key,
                    reason,
                    "audit checkpoint refused: not signed by an accepted key"
                );
                WitnessError::Refused(err)
            })?;
        let outcome = checkpoints::compare(kept, returned);
        match &outcome {
            Witnessed::First | Witnessed::Newer => {
                if store::keep(&self.db, returned, self.clock.now()).await? {
                    gauge(&self.service, returned.sequence);
                    tracing::debug!(service = %self.service, sequence = returned.sequence, "audit checkpoint witnessed");
                }
            }
            Witnessed::Same => {}
            Witnessed::RolledBack { kept, returned } => {
                conflict(&self.service, "rolled_back");
                tracing::error!(
                    service = %self.service,
                    kept_sequence = kept,
                    returned_sequence = returned,
                    "audit chain rolled back: complaints-audit returned a checkpoint below the one witnessed"
                );
            }
            Witnessed::Forked { sequence } => {
                conflict(&self.service, "forked");
                tracing::error!(
                    service = %self.service,
                    sequence,
                    "audit chain rewritten: complaints-audit returned another head hash at the witnessed sequence"
                );
            }
        }
        Ok(Polled::Compared(outcome))
    }

    /// The configured keys; else the key of the kept checkpoint (pinned); else the returned
    /// one's (the first key seen is trusted and pinned by storing it).
    fn accepted(&self, kept: Option<&Checkpoint>, returned: &Checkpoint) -> KeySet {
        if !self.keys.is_empty() {
            return self.keys.clone();
        }
        let mut pinned = KeySet::default();
        pinned.add(kept.map_or(&returned.public_key, |kept| &kept.public_key));
        pinned
    }

    /// The witness as a background worker polling every `interval`.
    pub fn worker(self, interval: Duration) -> Worker {
        let name = format!("{}-audit-witness", self.service);
        Worker::every(name, interval, move || {
            let witness = self.clone();
            async move {
                match witness.poll_once().await {
                    Ok(_) => {}
                    // No key at complaints-audit: nothing to witness (the chain is unanchored).
                    Err(WitnessError::Call(status))
                        if status.code() == tonic::Code::FailedPrecondition =>
                    {
                        tracing::debug!(service = %witness.service, "no audit checkpoints published");
                    }
                    Err(err @ WitnessError::Refused(_)) => {
                        tracing::debug!(service = %witness.service, error = %err, "poll refused");
                    }
                    Err(err) => {
                        tracing::warn!(service = %witness.service, error = %err, "audit checkpoint not polled");
                    }
                }
            }
        })
    }
}

/// The witness worker of `service`, when its interval is not 0 and complaints-audit is a peer
/// (an error for keys that cannot be read).
pub fn worker(
    service: &str,
    context: &ServiceContext,
    config: &AuditWitnessConfig,
) -> Result<Option<Worker>, WitnessError> {
    let Some(interval) = config.interval() else {
        return Ok(None);
    };
    if context.peers.channel(AUDIT_PEER).is_err() {
        tracing::info!(
            service,
            "no complaints-audit peer: the audit witness is off"
        );
        return Ok(None);
    }
    let witness = AuditWitness::new(service, context, config)?;
    register_series(service);
    Ok(Some(witness.worker(interval)))
}

static CONFLICTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_audit_witness_conflicts_total",
            "Audit checkpoints returned below (rolled_back) or beside (forked) the one witnessed",
        ),
        &["service", "kind"],
    ))
});
static REFUSED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_audit_witness_refused_total",
            "Audit checkpoints refused: unknown key, bad signature, malformed, presented_refused",
        ),
        &["service", "reason"],
    ))
});
static SEQUENCE: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        prometheus::Opts::new(
            "pingan_audit_witness_sequence",
            "Sequence of the newest audit checkpoint this service witnessed",
        ),
        &["service"],
    ))
});

/// The conflict series of `service` at zero, so alerts see them from process start.
fn register_series(service: &str) {
    if let Some(counter) = CONFLICTS.as_ref() {
        for kind in ["rolled_back", "forked"] {
            counter.with_label_values(&[service, kind]);
        }
    }
}

fn conflict(service: &str, kind: &str) {
    if let Some(counter) = CONFLICTS.as_ref() {
        counter.with_label_values(&[service, kind]).inc();
    }
}

fn refused(service: &str, reason: &str) {
    if let Some(counter) = REFUSED.as_ref() {
        counter.with_label_values(&[service, reason]).inc();
    }
}

fn gauge(service: &str, sequence: i64) {
    if let Some(gauge) = SEQUENCE.as_ref() {
        gauge.with_label_values(&[service]).set(sequence);
    }
}

/// Conflicts counted for `service` so far (both kinds), as `/metrics` reports them.
pub fn conflicts_counted(service: &str) -> u64 {
    CONFLICTS.as_ref().map_or(0, |counter| {
        ["rolled_back", "forked"]
            .iter()
            .map(|kind| counter.with_label_values(&[service, kind]).get())
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        settings: AuditWitnessConfig,
    }

    fn parse(args: &[&str]) -> Result<AuditWitnessConfig, String> {
        let matches = Probe::command()
            .try_get_matches_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Probe::from_arg_matches(&matches)
            .map(|p| p.settings)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_witness_polls_every_minute_by_default_and_zero_turns_it_off() {
        let defaults = parse(&[]).expect("defaults");
        assert_eq!(defaults, AuditWitnessConfig::default());
        assert_eq!(defaults.interval(), Some(Duration::from_secs(60)));
        let off = parse(&["--audit-witness-interval-ms", "0"]).expect("off");
        assert_eq!(off.interval(), None);
        let keys = parse(&["--audit-checkpoint-public-key", "aa,bb"]).expect("keys");
        assert_eq!(keys.public_keys, ["aa", "bb"]);
        assert!(parse(&["--audit-witness-interval-ms", "soon"]).is_err());
    }
}
