//! What an export gathers from the peers intake already calls: the incident's dispatches (with
//! their assignments: the units) from dispatch, its 12345 transfers from triage. Each read is
//! bounded by the route deadline; a peer that does not answer makes the export UNAVAILABLE
//! (never a document that silently lacks its units or transfers).

use std::time::Duration;

use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{Dispatch, ListDispatchesRequest};
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_proto::triage::v1::{ListTransfersRequest, Transfer};

/// Most dispatches or transfers one incident has in practice; one page is read.
const PAGE: i32 = 100;

async fn bounded<T>(
    peer: &'static str,
    deadline: Duration,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(ApiError::Unavailable(format!(
            "{peer} did not answer the export: {:?} {}",
            status.code(),
            status.message()
        ))),
        Err(_) => Err(ApiError::Unavailable(format!(
            "{peer} did not answer the export within {deadline:?}"
        ))),
    }
}

fn request<T>(message: T, deadline: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    request
}

/// The dispatches of `incident_id`, oldest first.
pub async fn dispatches(
    context: &ServiceContext,
    deadline: Duration,
    incident_id: &str,
) -> Result<Vec<Dispatch>, ApiError> {
    let mut client = DispatchServiceClient::new(context.peers.channel("dispatch")?);
    let message = ListDispatchesRequest {
        incident_id: incident_id.to_owned(),
        page_size: PAGE,
        ..Default::default()
    };
    let page = bounded(
        "dispatch",
        deadline,
        client.list_dispatches(request(message, deadline)),
    )
    .await?;
    let mut dispatches = page.dispatches;
    dispatches.reverse();
    Ok(dispatches)
}

/// The 12345 transfers of `incident_id`, oldest first.
pub async fn transfers(
    context: &ServiceContext,
    deadline: Duration,
    incident_id: &str,
) -> Result<Vec<Transfer>, ApiError> {
    let mut client = TriageServiceClient::new(context.peers.channel("triage")?);
    let message = ListTransfersRequest {
        incident_id: incident_id.to_owned(),
        page_size: PAGE,
        ..Default::default()
    };
    let page = bounded(
        "triage",
        deadline,
        client.list_transfers(request(message, deadline)),
    )
    .await?;
    let mut transfers = page.transfers;
    transfers.reverse();
    Ok(transfers)
}
