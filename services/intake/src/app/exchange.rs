//! Incident exchange between bureaus: ExportIncident gathers an incident (its calls and timeline
//! here, its units from dispatch, its 12345 transfers from triage) into a version 1 document;
//! ImportIncident turns another bureau's document into a local incident linked back to its
//! source, once per request id and once per source incident, and routes it here.

mod document;
mod records;
mod sources;

use std::sync::Arc;

use pingan_platform::auth::Caller;
use pingan_platform::jobs::JobQueue;
use pingan_platform::storage::Tx;
use pingan_platform::time::to_timestamp;
use pingan_platform::{ApiError, ServiceContext, audit};
use pingan_proto::intake::v1::{
    ExchangeLink, ImportIncidentRequest, ImportIncidentResponse, IncidentStatus, TimelineEntryKind,
};

use crate::app::reading::Reading;
use crate::app::timeline::Entry;
use crate::app::{Deps, routing_job};
use crate::domain::exchange::{self as doc, DocumentError, IncidentDocument, LinkRecord};
use crate::settings::IntakeSettings;
use crate::store::Store;
use crate::store::exchange::ExchangeStore;

/// An exported incident: the id exported (the live one) and the document's JSON.
#[derive(Debug, Clone)]
pub struct Exported {
    pub incident_id: String,
    pub document: String,
}

/// The use cases behind `IncidentExchangeService`.
#[derive(Debug, Clone)]
pub struct Exchange {
    context: ServiceContext,
    store: Arc<dyn Store>,
    links: ExchangeStore,
    reading: Reading,
    settings: Arc<IntakeSettings>,
    jobs: JobQueue,
}

/// A refused document as the API's error: INVALID_ARGUMENT naming the JSON path.
impl From<DocumentError> for ApiError {
    fn from(err: DocumentError) -> Self {
        ApiError::invalid(&err.path, err.message)
    }
}

/// An imported incident's link as the API's message.
pub fn link_message(link: &LinkRecord) -> ExchangeLink {
    ExchangeLink {
        source_bureau_id: link.source_bureau_id.clone(),
        source_incident_id: link.source_incident_id.clone(),
        document_id: link.document_id.clone(),
        schema_version: link.schema_version.clone(),
        source_status: link.source_status.clone(),
        exported_at: Some(to_timestamp(link.exported_at)),
        imported_at: Some(to_timestamp(link.imported_at)),
    }
}

impl Exchange {
    /// The use cases over the service's storage and peers.
    pub fn new(deps: &Deps) -> Self {
        Self {
            context: deps.context.clone(),
            store: deps.store.clone(),
            links: ExchangeStore::new(deps.context.db.clone()),
            reading: Reading::new(deps),
            settings: deps.settings.clone(),
            jobs: deps.jobs.clone(),
        }
    }

    /// The links of imported incidents.
    pub fn links(&self) -> &ExchangeStore {
        &self.links
    }

    /// The document of incident `id` as `caller` may see it; `reveal`: callers' numbers in
    /// clear, for this reason. Every export is audited (it leaves the bureau), with the reason.
    pub async fn export(
        &self,
        caller: &Caller,
        id: &str,
        reveal: Option<&str>,
    ) -> Result<Exported, ApiError> {
        let view = self.reading.incident(caller, id).await?;
        let incident_id = view.incident.incident_id.clone();
        let entries = self.store.timeline(&incident_id).await?;
        let deadline = self.settings.route_deadline;
        let dispatches = if view.incident.dispatch_id.is_empty() {
            Vec::new()
        } else {
            sources::dispatches(&self.context, deadline, &incident_id).await?
        };
        let transfers = if view.incident.transfer_id.is_empty() {
            Vec::new()
        } else {
            sources::transfers(&self.context, deadline, &incident_id).await?
        };
        let link = self.links.of_incident(&incident_id).await?;
        let document = document::build(&document::Sources {
            bureau_id: &self.settings.bureau_id,
            document_id: format!("doc-{}", uuid::Uuid::now_v7()),
            exported_by: caller.actor(),
            now: self.context.clock.now(),
            view: &view,
            entries: &entries,
            dispatches: &dispatches,
            transfers: &transfers,
            link: link.as_ref(),
            keys: reveal.is_some().then_some(&self.context.pii),
        });
        let json = serde_json::to_string_pretty(&document).map_err(ApiError::internal)?;
        let detail = match reveal {
            Some(reason) => format!(
                "document {} exported with callers' numbers in clear; reason: {reason}",
                document.document_id
            ),
            None => format!(
                "document {} exported with callers' numbers masked",
                document.document_id
            ),
        };
        let mut tx = self.context.db.begin_write().await?;
        let audit = audit::Audit::new(
            caller.actor(),
            "intake.ExportIncident",
            "incident",
            &incident_id,
        )
        .station(&view.incident.station_id)
        .detail(detail);
        audit::record(&self.context, &mut tx, crate::SHORT_NAME, &audit).await?;
        self.context.outbox.commit(tx).await?;
        Ok(Exported {
            incident_id,
            document: json,
        })
    }

    /// Imports `req.document` (checked by [`doc::parse`]): a new linked incident, or the one an
    /// earlier import of the same source incident created.
    pub async fn import(
        &self,
        caller: &Caller,
        req: &ImportIncidentRequest,
    ) -> Result<ImportIncidentResponse, ApiError> {
        let document = doc::parse(&req.document)?;
        match self.import_once(caller, req, &document).await {
            // The same source incident raced in under another request id (the unique link index
            // let only one in): run again, so this request id records the link's answer too and
            // a later reuse of it with other content is still refused.
            Err(ApiError::AlreadyExists(_)) => match self.import_once(caller, req, &document).await
            {
                Err(ApiError::AlreadyExists(_)) => {
                    Err(ApiError::Unavailable("concurrent import; retry".into()))
                }
                other => other,
            },
            other => other,
        }
    }

    async fn import_once(
        &self,
        caller: &Caller,
        req: &ImportIncidentRequest,
        document: &IncidentDocument,
    ) -> Result<ImportIncidentResponse, ApiError> {
        let bureau = &document.issuing_bureau.bureau_id;
        let source_id = &document.incident.incident_id;
        self.context
            .requests
            .run("ImportIncident", &req.request_id, req, async |tx| {
                self.store.write_lock(tx).await?;
                if let Some(existing) = self.links.by_source_in(tx, bureau, source_id).await? {
                    return Ok(answer(&existing));
                }
                self.create(tx, caller, document, req).await
            })
            .await
    }

    async fn create(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        document: &IncidentDocument,
        req: &ImportIncidentRequest,
    ) -> Result<ImportIncidentResponse, ApiError> {
        let now = self.context.clock.now();
        let imported = records::imported(
            document,
            &req.document,
            &req.request_id,
            &self.context.pii,
            now,
        )?;
        let incident = &imported.incident;
        let id = incident.incident_id.clone();
        self.store.insert_incident(tx, incident).await?;
        for call in &imported.calls {
            self.store.insert_call(tx, call).await?;
        }
        self.links.insert(tx, &imported.link).await?;
        let bureau = &document.issuing_bureau.bureau_id;
        let source = &document.incident;
        let summary = format!(
            "handed over by {bureau}: incident {} ({} there), document {}",
            source.incident_id,
            source.status.to_proto().as_str_name(),
            document.document_id
        );
        let actor = caller.actor();
        Entry::new(
            &id,
            TimelineEntryKind::StatusChanged,
            now,
            &actor,
            "exchange",
            summary.clone(),
        )
        .status(IncidentStatus::Unspecified, incident.status())
        .related(&document.document_id)
        .write(self.store.as_ref(), tx)
        .await?;
        if incident.routing_pending {
            // Located in this bureau's grids and dispatched here by the routing job.
            self.jobs.enqueue_in(tx, routing_job::job(&id, &id)).await?;
        }
        let audit =
            audit::Audit::new(actor, "intake.ImportIncident", "incident", &id).detail(summary);
        audit::record(&self.context, tx, crate::SHORT_NAME, &audit).await?;
        tracing::info!(incident_id = %id, source_bureau = %bureau, source_incident_id = %source.incident_id, "incident imported");
        Ok(answer(&imported.link))
    }
}

fn answer(link: &LinkRecord) -> ImportIncidentResponse {
    ImportIncidentResponse {
        incident_id: link.incident_id.clone(),
        link: Some(link_message(link)),
    }
}
