//! gRPC handlers of `pingan.intake.v1.IncidentExchangeService`, and the link a handed-over
//! incident shows in GetIncident and ListIncidents.

use pingan_platform::auth::Role;
use pingan_platform::clear_reads::{self, ClearReadReason};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::intake::v1::incident_exchange_service_server::{
    IncidentExchangeService, IncidentExchangeServiceServer,
};
use pingan_proto::intake::v1::{
    ExportIncidentRequest, ExportIncidentResponse, ImportIncidentRequest, ImportIncidentResponse,
    Incident,
};
use tonic::{Request, Response, Status};

use super::{PHONE_READERS, READERS};
use crate::app::Deps;
use crate::app::exchange::{Exchange, link_message};
use crate::domain::exchange::{MAX_DOCUMENT_BYTES, SCHEMA_ID, SCHEMA_VERSION};
use crate::store::exchange::ExchangeStore;

/// Roles that import incidents handed over by other bureaus.
const IMPORTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
    Role::Admin,
];

/// Handlers of the exchange service.
#[derive(Debug, Clone)]
pub struct ExchangeApi {
    deps: Deps,
    exchange: Exchange,
    /// Whether call takers must give a reason to export callers' numbers (`--clear-read-reason`).
    clear_read_reason: ClearReadReason,
}

impl ExchangeApi {
    /// Handlers over the use cases' dependencies.
    pub fn new(deps: Deps) -> Self {
        Self {
            exchange: Exchange::new(&deps),
            deps,
            clear_read_reason: ClearReadReason::default(),
        }
    }
}

/// The tonic service of the exchange, over intake's dependencies, under the clear-read policy.
pub fn server(
    deps: Deps,
    clear_read_reason: ClearReadReason,
) -> IncidentExchangeServiceServer<ExchangeApi> {
    let api = ExchangeApi {
        clear_read_reason,
        ..ExchangeApi::new(deps)
    };
    IncidentExchangeServiceServer::new(api)
        .max_decoding_message_size(MAX_DOCUMENT_BYTES + 64 * 1024)
}

/// Fills `exchange_link` of the incidents that were handed over by another bureau.
pub(crate) async fn attach_links(deps: &Deps, incidents: &mut [Incident]) -> Result<(), ApiError> {
    let links = ExchangeStore::new(deps.context.db.clone());
    for incident in incidents {
        if let Some(link) = links.of_incident(&incident.incident_id).await? {
            incident.exchange_link = Some(link_message(&link));
        }
    }
    Ok(())
}

#[tonic::async_trait]
impl IncidentExchangeService for ExchangeApi {
    #[tracing::instrument(skip_all, fields(incident_id = %request.get_ref().incident_id))]
    async fn export_incident(
        &self,
        request: Request<ExportIncidentRequest>,
    ) -> Result<Response<ExportIncidentResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(READERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("incident_id", &req.incident_id);
        v.require_max_chars("incident_id", &req.incident_id, 128);
        v.finish()?;
        // A clear export names its reason in its audit record (NOT_GIVEN when optional).
        let reveal = if caller.has_any(PHONE_READERS) {
            let reason = clear_reads::reason(self.clear_read_reason, &req.reason)?;
            Some(reason.unwrap_or_else(|| clear_reads::NOT_GIVEN.to_owned()))
        } else {
            None
        };
        let exported = self
            .exchange
            .export(&caller, &req.incident_id, reveal.as_deref())
            .await?;
        Ok(Response::new(ExportIncidentResponse {
            incident_id: exported.incident_id,
            document: exported.document,
            schema_version: SCHEMA_VERSION.into(),
            schema_id: SCHEMA_ID.into(),
        }))
    }

    #[tracing::instrument(skip_all, fields(incident_id))]
    async fn import_incident(
        &self,
        request: Request<ImportIncidentRequest>,
    ) -> Result<Response<ImportIncidentResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(IMPORTERS)?;
        self.deps.ready().await?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        v.require_non_empty("request_id", &req.request_id);
        v.require_max_chars("request_id", &req.request_id, 128);
        v.finish()?;
        let response = self.exchange.import(&caller, &req).await?;
        tracing::Span::current().record("incident_id", response.incident_id.as_str());
        Ok(Response::new(response))
    }
}
