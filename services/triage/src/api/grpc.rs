//! gRPC handlers of `pingan.triage.v1.TriageService`: decode, validate, authorize, call the
//! domain, map errors.

use std::sync::Arc;

use pingan_platform::auth::{Caller, Role};
use pingan_platform::clear_reads::ClearReadReason;
use pingan_platform::time;
use pingan_platform::{ApiError, FieldViolations, ServiceContext};
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_server::TriageService;
use tonic::{Request, Response, Status};

use crate::api::clear_reads::{self, CLEAR_PHONE};
use crate::api::convert;
use crate::app::bridge::{Bridge, or_now};
use crate::domain::transfer::Status as TransferStatus;
use crate::metrics;
use crate::store::ListFilter;

/// Longest call text or description accepted.
pub const MAX_TEXT_CHARS: usize = 2000;
const MAX_SHORT_CHARS: usize = 200;
const MAX_PAGE: i32 = 500;

const CLASSIFIERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
const DIVERTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
    Role::Admin,
];
const HOTLINE: &[Role] = &[Role::HotlineIntegrator, Role::Service, Role::Admin];
const READERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::HotlineIntegrator,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];
const OUTCOME_REPORTERS: &[Role] = &[
    Role::HotlineIntegrator,
    Role::CommandCenter,
    Role::Service,
    Role::Admin,
];
/// Handlers of the triage service.
#[derive(Debug, Clone)]
pub struct TriageApi {
    context: ServiceContext,
    bridge: Arc<Bridge>,
    clear_read_reason: ClearReadReason,
}

impl TriageApi {
    /// Handlers over the bridge.
    pub fn new(context: ServiceContext, bridge: Arc<Bridge>) -> Self {
        Self {
            context,
            bridge,
            clear_read_reason: ClearReadReason::default(),
        }
    }

    /// Whether a clear read of callers' phones must say why (`--clear-read-reason`).
    pub fn with_clear_read_reason(mut self, policy: ClearReadReason) -> Self {
        self.clear_read_reason = policy;
        self
    }

    async fn view(
        &self,
        caller: &Caller,
        row: &crate::store::TransferRow,
    ) -> Result<pb::Transfer, ApiError> {
        self.bridge.transfer(row, caller.has_any(CLEAR_PHONE)).await
    }
}

fn check_location(v: &mut FieldViolations, field: &str, location: Option<&GeoPoint>) {
    if let Some(l) = location {
        v.require_coordinates(field, l.lat, l.lon);
    }
}

fn check_text(v: &mut FieldViolations, field: &str, value: &str) {
    if value.trim().is_empty() {
        v.add(field, "must not be empty");
    } else {
        v.require_max_chars(field, value, MAX_TEXT_CHARS);
    }
}

fn page(size: i32, token: &str, v: &mut FieldViolations) -> (i64, i64) {
    if !(0..=MAX_PAGE).contains(&size) {
        v.add("page_size", format!("must be between 0 and {MAX_PAGE}"));
    }
    let offset = if token.is_empty() {
        0
    } else {
        token.parse::<i64>().unwrap_or_else(|_| {
            v.add("page_token", "is not a token this service issued");
            0
        })
    };
    (i64::from(if size == 0 { 50 } else { size }), offset.max(0))
}

fn next_token(len: usize, limit: i64, offset: i64) -> String {
    if i64::try_from(len).unwrap_or(0) == limit {
        (offset + limit).to_string()
    } else {
        String::new()
    }
}

#[tonic::async_trait]
impl TriageService for TriageApi {
    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        // Whoever may classify may read the vocabulary the answers are written in.
        caller.require_any(CLASSIFIERS)?;
        let catalogue = pingan_catalogue::catalogue().map_err(ApiError::internal)?;
        Ok(Response::new(convert::catalogue(catalogue)))
    }

    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        check_text(&mut v, "text", &request.text);
        let channel = convert::channel_name(request.channel);
        if channel.is_none() {
            v.add("channel", "must be one of CHANNEL_110, CHANNEL_12345, CHANNEL_WALK_IN, CHANNEL_ONLINE, CHANNEL_PATROL");
        }
        v.require_max_chars("reported_category", &request.reported_category, 64);
        check_location(&mut v, "location", request.location.as_ref());
        v.finish()?;
        caller.require_any(CLASSIFIERS)?;
        let c = self.bridge.rules.classify(
            &request.text,
            channel.unwrap_or_default(),
            &request.reported_category,
        );
        metrics::inc(
            &metrics::CLASSIFICATIONS,
            &[
                c.kind.as_str(),
                if c.needs_confirmation {
                    "true"
                } else {
                    "false"
                },
            ],
        );
        Ok(Response::new(pb::ClassifyResponse {
            classification: Some(convert::classification(&c)),
        }))
    }

    async fn divert_to12345(
        &self,
        request: Request<pb::DivertTo12345Request>,
    ) -> Result<Response<pb::DivertTo12345Response>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("request_id", &request.request_id);
        check_text(&mut v, "description", &request.description);
        match &request.classification {
            None => v.add(
                "classification",
                "is required: the classification that makes it non-police business",
            ),
            Some(c) if c.kind != pb::Kind::NonPolice as i32 => v.add(
                "classification.kind",
                "must be KIND_NON_POLICE: police business is never diverted",
            ),
            Some(c) => {
                if c.department.trim().is_empty() && request.department.trim().is_empty() {
                    v.add(
                        "department",
                        "is required when the classification names no department",
                    );
                }
            }
        }
        v.require_max_chars("department", &request.department, MAX_SHORT_CHARS);
        v.require_max_chars("incident_id", &request.incident_id, 128);
        v.require_max_chars("caller_phone", &request.caller_phone, 32);
        v.require_max_chars("caller_name", &request.caller_name, MAX_SHORT_CHARS);
        v.require_max_chars("address", &request.address, 500);
        v.require_max_chars("reason", &request.reason, MAX_TEXT_CHARS);
        check_location(&mut v, "location", request.location.as_ref());
        v.finish()?;
        caller.require_any(DIVERTERS)?;
        let row = self.bridge.divert(&caller.actor(), &request).await?;
        Ok(Response::new(pb::DivertTo12345Response {
            transfer: Some(self.view(&caller, &row).await?),
        }))
    }

    async fn receive_hotline_ticket(
        &self,
        request: Request<pb::ReceiveHotlineTicketRequest>,
    ) -> Result<Response<pb::ReceiveHotlineTicketResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("request_id", &request.request_id);
        // Intake's rules (shared in the platform): what passes here, intake takes.
        crate::app::inbound::check_ticket(&mut v, &request, self.context.clock.now());
        v.require_max_chars("reported_category", &request.reported_category, 64);
        v.require_max_chars("department", &request.department, MAX_SHORT_CHARS);
        v.require_max_chars("origin_transfer_id", &request.origin_transfer_id, 128);
        v.finish()?;
        caller.require_any(HOTLINE)?;
        let received = self.bridge.receive(&caller.actor(), &request).await?;
        Ok(Response::new(pb::ReceiveHotlineTicketResponse {
            transfer: Some(received.transfer),
            disposition: received.disposition as i32,
            return_reason: received.return_reason,
        }))
    }

    async fn get_transfer(
        &self,
        request: Request<pb::GetTransferRequest>,
    ) -> Result<Response<pb::GetTransferResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        if request.transfer_id.is_empty() && request.hotline_ticket_id.is_empty() {
            Err(ApiError::invalid(
                "transfer_id",
                "give transfer_id or hotline_ticket_id",
            ))?;
        }
        caller.require_any(READERS)?;
        let read = clear_reads::start(
            self.clear_read_reason,
            &caller,
            "GetTransfer",
            &request.reason,
        )?;
        let row = self
            .bridge
            .find(&request.transfer_id, &request.hotline_ticket_id)
            .await?;
        let transfer = self.view(&caller, &row).await?;
        clear_reads::record(
            &self.context,
            &caller,
            read,
            std::slice::from_ref(&transfer),
        )
        .await?;
        Ok(Response::new(pb::GetTransferResponse {
            transfer: Some(transfer),
        }))
    }

    async fn list_transfers(
        &self,
        request: Request<pb::ListTransfersRequest>,
    ) -> Result<Response<pb::ListTransfersResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        let (limit, offset) = page(request.page_size, &request.page_token, &mut v);
        let mut statuses = String::new();
        for s in &request.statuses {
            match pb::TransferStatus::try_from(*s)
                .ok()
                .and_then(TransferStatus::from_proto)
            {
                Some(s) => statuses.push_str(&format!(",{},", s.as_str())),
                None => v.add("statuses", "contains an unknown status"),
            }
        }
        let direction = match pb::TransferDirection::try_from(request.direction) {
            Ok(pb::TransferDirection::To12345) => "TO_12345",
            Ok(pb::TransferDirection::From12345) => "FROM_12345",
            Ok(pb::TransferDirection::Unspecified) => "",
            Err(_) => {
                v.add("direction", "unknown direction");
                ""
            }
        };
        v.finish()?;
        caller.require_any(READERS)?;
        let read = clear_reads::start(
            self.clear_read_reason,
            &caller,
            "ListTransfers",
            &request.reason,
        )?;
        let created = request.created.unwrap_or_default();
        let filter = ListFilter {
            direction: direction.into(),
            statuses,
            incident_id: request.incident_id,
            department: request.department,
            created_from: created.start.as_ref().and_then(time::from_timestamp),
            created_to: created.end.as_ref().and_then(time::from_timestamp),
        };
        let rows = self
            .bridge
            .store
            .list(&filter, limit, offset)
            .await
            .map_err(ApiError::from)?;
        let mut transfers = Vec::with_capacity(rows.len());
        for row in &rows {
            transfers.push(self.view(&caller, row).await?);
        }
        clear_reads::record(&self.context, &caller, read, &transfers).await?;
        Ok(Response::new(pb::ListTransfersResponse {
            next_page_token: next_token(rows.len(), limit, offset),
            transfers,
        }))
    }

    async fn record_transfer_outcome(
        &self,
        request: Request<pb::RecordTransferOutcomeRequest>,
    ) -> Result<Response<pb::RecordTransferOutcomeResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("request_id", &request.request_id);
        if request.transfer_id.is_empty() && request.hotline_ticket_id.is_empty() {
            v.add("transfer_id", "give transfer_id or hotline_ticket_id");
        }
        let status = pb::TransferStatus::try_from(request.status)
            .ok()
            .and_then(TransferStatus::from_proto)
            .filter(|s| {
                matches!(
                    s,
                    TransferStatus::Accepted | TransferStatus::Handled | TransferStatus::Bounced
                )
            });
        if status.is_none() {
            v.add("status", "must be TRANSFER_STATUS_ACCEPTED, TRANSFER_STATUS_HANDLED or TRANSFER_STATUS_BOUNCED");
        }
        if status == Some(TransferStatus::Bounced) && request.note.trim().is_empty() {
            v.add(
                "note",
                "is required for TRANSFER_STATUS_BOUNCED: why 12345 sent it back",
            );
        }
        v.require_max_chars("note", &request.note, MAX_TEXT_CHARS);
        v.require_max_chars("department", &request.department, MAX_SHORT_CHARS);
        v.finish()?;
        caller.require_any(OUTCOME_REPORTERS)?;
        let Some(status) = status else {
            return Err(ApiError::invalid("status", "unknown").into());
        };
        let row = self
            .bridge
            .record_outcome(&caller.actor(), &request, status)
            .await?;
        Ok(Response::new(pb::RecordTransferOutcomeResponse {
            transfer: Some(self.view(&caller, &row).await?),
        }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        let (limit, offset) = page(request.page_size, &request.page_token, &mut v);
        v.require_max_chars("transfer_id", &request.transfer_id, 128);
        v.finish()?;
        caller.require_any(READERS)?;
        let rows = self
            .bridge
            .dead_letters(&request.transfer_id, limit, offset)
            .await?;
        Ok(Response::new(pb::ListDeadLettersResponse {
            next_page_token: next_token(rows.len(), limit, offset),
            dead_letters: rows.iter().map(convert::dead_letter).collect(),
        }))
    }

    async fn list_overdue_transfers(
        &self,
        request: Request<pb::ListOverdueTransfersRequest>,
    ) -> Result<Response<pb::ListOverdueTransfersResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        let request = request.into_inner();
        let mut v = FieldViolations::default();
        let (limit, offset) = page(request.page_size, &request.page_token, &mut v);
        let direction = match pb::TransferDirection::try_from(request.direction) {
            Ok(pb::TransferDirection::To12345) => "TO_12345",
            Ok(pb::TransferDirection::From12345) => "FROM_12345",
            Ok(pb::TransferDirection::Unspecified) => "",
            Err(_) => {
                v.add("direction", "unknown direction");
                ""
            }
        };
        v.finish()?;
        caller.require_any(READERS)?;
        let read = clear_reads::start(
            self.clear_read_reason,
            &caller,
            "ListOverdueTransfers",
            &request.reason,
        )?;
        let as_of = or_now(request.as_of.as_ref(), self.context.clock.now());
        let rows = self
            .bridge
            .store
            .overdue(as_of, direction, limit, offset)
            .await
            .map_err(ApiError::from)?;
        let mut transfers = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut t = self.view(&caller, row).await?;
            t.overdue = true;
            transfers.push(t);
        }
        clear_reads::record(&self.context, &caller, read, &transfers).await?;
        Ok(Response::new(pb::ListOverdueTransfersResponse {
            next_page_token: next_token(rows.len(), limit, offset),
            transfers,
        }))
    }

    async fn reload_rules(
        &self,
        request: Request<pb::ReloadRulesRequest>,
    ) -> Result<Response<pb::ReloadRulesResponse>, Status> {
        let caller = self.context.auth.caller(&request)?;
        caller.require_any(&[Role::Admin])?;
        let result = self.bridge.rules.reload(self.context.clock.now());
        let audit = pingan_platform::audit::Audit::new(
            caller.actor(),
            "triage.ReloadRules",
            "rules",
            "triage-rules",
        );
        let audit = match &result {
            Ok(reloaded) => audit.detail(format!(
                "rules {} replace {} ({} rules), model {} replaces {}",
                reloaded.version,
                reloaded.previous,
                reloaded.rule_count,
                reloaded.model_version,
                reloaded.previous_model
            )),
            Err(e) => audit
                .outcome(pingan_proto::audit::v1::AuditOutcome::Failed)
                .detail(format!("rules and model not reloaded: {e}")),
        };
        let mut tx = self
            .context
            .db
            .begin_write()
            .await
            .map_err(ApiError::from)?;
        pingan_platform::audit::record(&self.context, &mut tx, crate::SHORT_NAME, &audit).await?;
        self.context
            .outbox
            .commit(tx)
            .await
            .map_err(ApiError::from)?;
        let reloaded = result.map_err(|e| {
            ApiError::FailedPrecondition(format!(
                "rules and model not reloaded, the previous ones stay: {e}"
            ))
        })?;
        tracing::info!(
            version = %reloaded.version,
            previous = %reloaded.previous,
            model = %reloaded.model_version,
            previous_model = %reloaded.previous_model,
            "rules and model reloaded"
        );
        Ok(Response::new(pb::ReloadRulesResponse {
            rules_version: reloaded.version,
            previous_rules_version: reloaded.previous,
            rule_count: i32::try_from(reloaded.rule_count).unwrap_or(i32::MAX),
            loaded_at: Some(time::to_timestamp(reloaded.loaded_at)),
        }))
    }
}
