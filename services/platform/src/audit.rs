//! The producer side of the audit log: every service records who did what to which record as a
//! `pingan.audit.v1.AuditRecord` event (routed to complaints-audit), enqueued in the business
//! transaction so the record exists exactly when the change does.

use pingan_proto::audit::v1::{AuditOutcome, AuditRecord};
use pingan_proto::common::v1::Actor;

use crate::storage::Tx;
use crate::{ApiError, ServiceContext};

/// One audited action.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Who acted (`Caller::actor()`, or the service itself for automatic actions).
    pub actor: Actor,
    /// `<service>.<Rpc>` or a verb, e.g. `grid.FindResidentByIdNumber`.
    pub action: String,
    /// Type of the record acted on, e.g. `resident`, `ticket`.
    pub resource_type: String,
    /// Id of the record acted on.
    pub resource_id: String,
    /// Station the record belongs to, when known.
    pub station_id: String,
    /// Short detail; scrubbed of anything that looks like a phone or ID number before it leaves.
    pub detail: String,
    /// How it ended (default: success).
    pub outcome: AuditOutcome,
}

impl Audit {
    /// A successful `action` by `actor` on the record `resource_type`/`resource_id`.
    pub fn new(
        actor: Actor,
        action: impl Into<String>,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
    ) -> Self {
        Self {
            actor,
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            station_id: String::new(),
            detail: String::new(),
            outcome: AuditOutcome::Success,
        }
    }

    /// The station the record belongs to.
    pub fn station(mut self, station_id: impl Into<String>) -> Self {
        self.station_id = station_id.into();
        self
    }

    /// A short detail (masked values only; scrubbed again on the way out).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// How the action ended.
    pub fn outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The event as sent: stamped with the context's clock, the current trace and `source_service`.
    pub fn to_record(&self, context: &ServiceContext, source_service: &str) -> AuditRecord {
        self.to_record_at(context.clock.now(), source_service)
    }

    /// The event as sent at `now` (for records written outside a service, e.g. by the host).
    pub fn to_record_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        source_service: &str,
    ) -> AuditRecord {
        AuditRecord {
            actor: Some(self.actor.clone()),
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: i32::try_from(now.timestamp_subsec_nanos()).unwrap_or(0),
            }),
            trace_id: crate::trace_context::trace_id_of(&tracing::Span::current())
                .unwrap_or_default(),
            source_service: source_service.to_owned(),
            outcome: self.outcome as i32,
            station_id: self.station_id.clone(),
            detail: short_detail(&self.detail),
            client: String::new(),
        }
    }
}

/// Longest detail sent, in characters (complaints-audit takes up to 2000).
pub const MAX_DETAIL_CHARS: usize = 500;

/// The detail scrubbed of clear phone and ID numbers and cut to [`MAX_DETAIL_CHARS`].
fn short_detail(detail: &str) -> String {
    let scrubbed = crate::pii::scrub(detail);
    match scrubbed.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &scrubbed[..cut]),
        None => scrubbed,
    }
}

/// Enqueues `audit` in `tx` (commit it with the business change). The record's id is the aggregate
/// (the action when the record has no id).
pub async fn record(
    context: &ServiceContext,
    tx: &mut Tx,
    source_service: &str,
    audit: &Audit,
) -> Result<(), ApiError> {
    let aggregate = if audit.resource_id.is_empty() {
        audit.action.as_str()
    } else {
        audit.resource_id.as_str()
    };
    context
        .outbox
        .enqueue(tx, aggregate, &audit.to_record(context, source_service))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_is_scrubbed_and_cut_and_outcome_defaults_to_success() {
        let audit = Audit::new(Actor::default(), "grid.X", "resident", "r-1")
            .detail("call from 13800138000 about 110101199003071234");
        assert_eq!(audit.outcome, AuditOutcome::Success);
        let scrubbed = short_detail(&audit.detail);
        assert!(!crate::pii::contains_clear_pii(&scrubbed), "{scrubbed}");
        assert!(scrubbed.starts_with("call from "));
        let long = short_detail(&"停水".repeat(400));
        assert_eq!(long.chars().count(), MAX_DETAIL_CHARS + 1);
    }
}
