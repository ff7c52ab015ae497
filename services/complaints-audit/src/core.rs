//! What every operation of the service shares: its context and settings, who may see what,
//! and the service's own entries in the audit log.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_platform::storage::Tx;
use pingan_platform::{ServiceContext, trace_context};
use pingan_proto::audit::v1::AuditOutcome;
use pingan_proto::common::v1::Actor;

use crate::domain::complaint::RuleError;
use crate::settings::Settings;
use crate::store::audit::{self, NewAuditEntry};
use crate::store::complaints::ComplaintRow;

/// The service's shared state.
#[derive(Debug, Clone)]
pub struct Core {
    /// Storage, peers, auth, keys, clock, outbox, request log.
    pub context: ServiceContext,
    /// Deadlines, thresholds, retention.
    pub settings: Settings,
}

/// Roles that see complaints with the complainant's data in clear.
pub const COMPLAINT_ROLES: [Role; 2] = [Role::Inspector, Role::LegalUnit];
/// Roles that may read complaints with the complainant's data masked.
pub const MASKED_READERS: [Role; 5] = [
    Role::Inspector,
    Role::LegalUnit,
    Role::CommandCenter,
    Role::Admin,
    Role::Service,
];
/// Roles that may file a complaint (received at a station, from 12345, by the inspectors).
pub const FILERS: [Role; 8] = [
    Role::Inspector,
    Role::LegalUnit,
    Role::StationOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
/// Roles that read the audit log.
pub const AUDIT_READERS: [Role; 3] = [Role::Inspector, Role::Admin, Role::LegalUnit];

impl Core {
    /// The service over `context`.
    pub fn new(context: ServiceContext, settings: Settings) -> Self {
        Self { context, settings }
    }

    /// Now, truncated to microseconds (what both backends store exactly).
    pub fn now(&self) -> DateTime<Utc> {
        crate::domain::audit::to_micros(self.context.clock.now())
    }
}

/// True when the caller sees complainants in clear.
pub fn sees_pii(caller: &Caller) -> bool {
    caller.has_any(&COMPLAINT_ROLES)
}

/// True when the caller may see a complaint of `station_id` (empty: bureau-wide only).
pub fn can_see(caller: &Caller, station_id: &str) -> bool {
    if station_id.is_empty() {
        matches!(caller.jurisdiction, Jurisdiction::Bureau)
    } else {
        caller.can_see_station(station_id)
    }
}

/// NOT_FOUND (not PERMISSION_DENIED: existence is not disclosed) outside the jurisdiction.
pub fn require_visible(caller: &Caller, row: &ComplaintRow) -> Result<(), ApiError> {
    if can_see(caller, &row.station_id) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "complaint {}",
            row.complaint_id
        )))
    }
}

/// The stations the caller is limited to, as `,a,b,` (empty for bureau-wide callers).
pub fn visible_stations(caller: &Caller) -> Option<String> {
    match &caller.jurisdiction {
        Jurisdiction::Bureau => None,
        Jurisdiction::Stations(stations) => Some(crate::store::member_list(
            stations.iter().map(String::as_str),
        )),
    }
}

/// The actor of a caller, naming the role it acts in for this service when it has several.
pub fn actor(caller: &Caller) -> Actor {
    let mut actor = caller.actor();
    for role in [Role::Inspector, Role::LegalUnit, Role::Service, Role::Admin] {
        if caller.has_role(role) {
            role.as_str().clone_into(&mut actor.role);
            break;
        }
    }
    actor
}

/// The W3C trace id of the current request, when traced.
pub fn current_trace_id() -> String {
    trace_context::current_headers()
        .get("traceparent")
        .and_then(|tp| tp.split('-').nth(1))
        .filter(|id| id.len() == 32 && id.bytes().any(|b| b != b'0'))
        .map(str::to_owned)
        .unwrap_or_default()
}

/// A rule violation as the client sees it.
pub fn rule_error(err: RuleError) -> ApiError {
    ApiError::FailedPrecondition(err.to_string())
}

/// Records this service's own action in the audit log, in the business transaction.
#[allow(clippy::too_many_arguments)]
pub async fn audit_own(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    resource_type: &str,
    resource_id: &str,
    station_id: &str,
    detail: &str,
) -> Result<(), ApiError> {
    let now = core.now();
    audit::append(
        tx,
        NewAuditEntry {
            entry_id: uuid::Uuid::now_v7().to_string(),
            actor_subject: actor.subject.clone(),
            actor_role: actor.role.clone(),
            actor_display_name: actor.display_name.clone(),
            action: format!("complaints-audit.{action}"),
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_owned(),
            occurred_at: now,
            trace_id: current_trace_id(),
            source_service: crate::SHORT_NAME.to_owned(),
            outcome: AuditOutcome::Success.as_str_name().to_owned(),
            station_id: station_id.to_owned(),
            detail: pingan_platform::pii::scrub(detail),
            client: String::new(),
        },
        now,
    )
    .await?;
    Ok(())
}
