//! What the guard did, as audit records: written through an outbox of the process (so they reach
//! complaints-audit like every other record), by a worker reading the guard's events.

use pingan_proto::audit::v1::AuditOutcome;
use pingan_proto::common::v1::Actor;
use tokio::sync::mpsc;

use super::GuardEvent;
use crate::audit::Audit;
use crate::clock::SharedClock;
use crate::events::Outbox;
use crate::service::{Shutdown, Worker};

/// Source service named in the guard's records.
const SOURCE: &str = "guard";

impl GuardEvent {
    /// The audit record of the event.
    pub fn to_audit(&self) -> Audit {
        match self {
            Self::SourceBlocked {
                source,
                block,
                failures,
            } => Audit::new(
                Actor {
                    subject: format!("address:{source}"),
                    role: String::new(),
                    display_name: String::new(),
                },
                "guard.BlockSource",
                "source_address",
                source.to_string(),
            )
            .detail(format!(
                "{failures} failed authentications: calls without a valid token refused for {} s",
                block.as_secs()
            ))
            .outcome(AuditOutcome::Denied),
            Self::CallerLimited { subject, bucket } => Audit::new(
                Actor {
                    subject: subject.clone(),
                    role: String::new(),
                    display_name: String::new(),
                },
                "guard.RateLimit",
                "caller",
                subject.clone(),
            )
            .detail(format!("rate limit of bucket `{bucket}` exceeded"))
            .outcome(AuditOutcome::Denied),
            Self::ServiceCallRefused { subject, path } => Audit::new(
                Actor {
                    subject: subject.clone(),
                    role: "service".to_owned(),
                    display_name: String::new(),
                },
                "guard.RefuseServiceCall",
                "rpc",
                path.clone(),
            )
            .detail(format!(
                "service `{subject}` called {path}, which it is not declared to call"
            ))
            .outcome(AuditOutcome::Denied),
        }
    }
}

/// A worker writing each event of `events` as an audit record through `outbox`.
pub fn audit_worker(
    mut events: mpsc::UnboundedReceiver<GuardEvent>,
    outbox: Outbox,
    clock: SharedClock,
) -> Worker {
    Worker::new("guard-audit", move |shutdown: Shutdown| async move {
        loop {
            let event = tokio::select! {
                () = shutdown.signalled() => break,
                event = events.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
            };
            let audit = event.to_audit();
            let record = audit.to_record_at(clock.now(), SOURCE);
            let written = async {
                let mut tx = outbox.db().begin_write().await?;
                outbox.enqueue(&mut tx, &audit.resource_id, &record).await?;
                tx.commit().await
            }
            .await;
            if let Err(err) = written {
                tracing::warn!(error = %err, action = %audit.action, "guard audit record not written");
            }
        }
    })
}
