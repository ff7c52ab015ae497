//! `pingan.events.v1.EventAdminService`: dead letters listed and re-driven, outbox counts,
//! for every service hosted by this process (routed by the request's service name).

use std::collections::BTreeMap;
use std::sync::Arc;

use pingan_proto::events::v1::event_admin_service_server::EventAdminService;
use pingan_proto::events::v1::{
    DeadLetter, GetOutboxStatsRequest, GetOutboxStatsResponse, ListDeadLettersRequest,
    ListDeadLettersResponse, RedriveDeadLettersRequest, RedriveDeadLettersResponse,
};
use tonic::{Request, Response, Status};

use super::outbox::Outbox;
use crate::auth::{Authenticator, Role};
use crate::error::{ApiError, FieldViolations};

/// Operators' access to the outboxes of this process.
#[derive(Clone, Debug)]
pub struct EventAdmin {
    outboxes: Arc<BTreeMap<String, Outbox>>,
    auth: Authenticator,
}

impl EventAdmin {
    /// Admin over `outboxes` (service short name → outbox); operators (admin role) only.
    pub fn new(outboxes: BTreeMap<String, Outbox>, auth: Authenticator) -> Self {
        Self {
            outboxes: Arc::new(outboxes),
            auth,
        }
    }

    fn outbox<T>(&self, request: &Request<T>, service: &str) -> Result<&Outbox, ApiError> {
        self.auth.caller(request)?.require_any(&[Role::Admin])?;
        let mut violations = FieldViolations::default();
        violations.require_non_empty("service", service);
        violations.finish()?;
        self.outboxes
            .get(service)
            .ok_or_else(|| ApiError::NotFound(format!("outbox of service {service}")))
    }
}

#[tonic::async_trait]
impl EventAdminService for EventAdmin {
    async fn list_dead_letters(
        &self,
        request: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let outbox = self.outbox(&request, &request.get_ref().service)?;
        let request = request.get_ref();
        let after = if request.page_token.is_empty() {
            0
        } else {
            request
                .page_token
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("page_token", "is not a token from this API"))?
        };
        let page_size = match request.page_size {
            0 => 50,
            n if (1..=500).contains(&n) => n,
            _ => return Err(ApiError::invalid("page_size", "must be between 1 and 500").into()),
        };
        let rows = outbox
            .dead_letters(&request.destination, after, page_size.unsigned_abs())
            .await
            .map_err(ApiError::from)?;
        let next_page_token = if rows.len() == page_size.unsigned_abs() as usize {
            rows.last()
                .map(|r| r.delivery.event_row_id.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let dead_letters = rows
            .into_iter()
            .map(|row| DeadLetter {
                event: Some(outbox.envelope(&row.delivery)),
                destination: row.delivery.destination,
                attempts: row.delivery.attempts,
                last_error: row.last_error,
                failed_at: Some(prost_types::Timestamp {
                    seconds: row.updated_at.timestamp(),
                    nanos: 0,
                }),
            })
            .collect();
        Ok(Response::new(ListDeadLettersResponse {
            dead_letters,
            next_page_token,
        }))
    }

    async fn redrive_dead_letters(
        &self,
        request: Request<RedriveDeadLettersRequest>,
    ) -> Result<Response<RedriveDeadLettersResponse>, Status> {
        let outbox = self.outbox(&request, &request.get_ref().service)?;
        let request = request.get_ref();
        let mut violations = FieldViolations::default();
        violations.require_non_empty("request_id", &request.request_id);
        if request.event_ids.is_empty() && !request.all {
            violations.add("event_ids", "name the events to re-drive, or set all");
        }
        violations.finish()?;
        // Re-driving is idempotent in effect: a second run finds nothing dead.
        let redriven = outbox
            .redrive(&request.event_ids, request.all, &request.destination)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(service = %outbox.source(), redriven, "dead letters re-driven");
        Ok(Response::new(RedriveDeadLettersResponse {
            redriven: i32::try_from(redriven).unwrap_or(i32::MAX),
        }))
    }

    async fn get_outbox_stats(
        &self,
        request: Request<GetOutboxStatsRequest>,
    ) -> Result<Response<GetOutboxStatsResponse>, Status> {
        let outbox = self.outbox(&request, &request.get_ref().service)?;
        let stats = outbox.stats().await.map_err(ApiError::from)?;
        Ok(Response::new(GetOutboxStatsResponse {
            pending: stats.pending,
            oldest_pending_seconds: stats.oldest_pending_seconds,
            dead: stats.dead,
            delivered: stats.delivered,
        }))
    }
}
