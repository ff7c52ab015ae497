//! Calls to grid-registry, triage and dispatch, each bounded by its own deadline. A failure is
//! a reason to wait and retry, never a lost call.

use std::time::Duration;

use pingan_platform::ServiceContext;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{OpenDispatchRequest, OpenDispatchResponse};
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::{
    LocateGridRequest, LocateGridResponse, ResolveAddressRequest, ResolveAddressResponse,
};
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_proto::triage::v1::{
    Classification, ClassifyRequest, DivertTo12345Request, DivertTo12345Response,
};
use tonic::Code;

/// Why a hop did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopError {
    /// The peer is down, slow (deadline) or refused: try again later.
    #[error("{peer} unavailable: {detail}")]
    Unavailable {
        /// Peer name.
        peer: &'static str,
        /// What happened (no personal data).
        detail: String,
    },
    /// The peer answered that the record does not exist (e.g. a point outside every grid).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The peer already holds the result (ALREADY_EXISTS).
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The peer refused the request as malformed (INVALID_ARGUMENT): retrying the same request
    /// cannot succeed, so the incident is held for a dispatcher instead of retried forever.
    #[error("{peer} refused the request: {detail}")]
    Refused {
        /// Peer name.
        peer: &'static str,
        /// The peer's message (field violations, no personal data).
        detail: String,
    },
}

impl HopError {
    /// Short reason for the incident's pending_reason.
    pub fn reason(&self) -> String {
        match self {
            Self::Unavailable { peer, .. } => format!("{peer} unavailable, retrying"),
            other => other.to_string(),
        }
    }
}

async fn call<T>(
    peer: &'static str,
    deadline: Duration,
    future: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, HopError> {
    match tokio::time::timeout(deadline, future).await {
        Err(_) => Err(HopError::Unavailable {
            peer,
            detail: format!("no answer within {deadline:?}"),
        }),
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => match status.code() {
            Code::NotFound => Err(HopError::NotFound(peer)),
            Code::AlreadyExists => Err(HopError::AlreadyExists(peer)),
            Code::InvalidArgument => {
                tracing::error!(peer, message = %status.message(), "peer refused a routing call as invalid");
                Err(HopError::Refused {
                    peer,
                    detail: status.message().to_owned(),
                })
            }
            code => {
                if !matches!(
                    code,
                    Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
                ) {
                    tracing::error!(peer, code = ?code, message = %status.message(), "peer refused a routing call");
                }
                Err(HopError::Unavailable {
                    peer,
                    detail: format!("{code:?}: {}", status.message()),
                })
            }
        },
    }
}

fn request<T>(message: T, deadline: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    request
}

/// The peer's channel; a peer without an endpoint is unavailable (retried), not a lost call.
fn channel(
    context: &ServiceContext,
    peer: &'static str,
) -> Result<pingan_platform::clients::TracedChannel, HopError> {
    context
        .peers
        .channel(peer)
        .map_err(|err| HopError::Unavailable {
            peer,
            detail: err.to_string(),
        })
}

/// LocateGrid on grid-registry.
pub async fn locate(
    context: &ServiceContext,
    deadline: Duration,
    lat: f64,
    lon: f64,
) -> Result<LocateGridResponse, HopError> {
    const PEER: &str = "grid-registry";
    let channel = channel(context, PEER)?;
    let mut client = GridRegistryServiceClient::new(channel);
    let message = LocateGridRequest {
        location: Some(pingan_proto::common::v1::GeoPoint { lat, lon }),
        // Intake reads as a service: no reason asked, nothing in clear audited.
        reason: String::new(),
    };
    call(
        PEER,
        deadline,
        client.locate_grid(request(message, deadline)),
    )
    .await
}

/// ResolveAddress on grid-registry: NOT_FOUND when the text is no known standard address (a
/// registry without the RPC counts as knowing none, rather than a reason to retry forever).
pub async fn resolve_address(
    context: &ServiceContext,
    deadline: Duration,
    address: &str,
) -> Result<ResolveAddressResponse, HopError> {
    const PEER: &str = "grid-registry";
    let channel = channel(context, PEER)?;
    let mut client = GridRegistryServiceClient::new(channel);
    let message = ResolveAddressRequest {
        address: address.to_owned(),
        station_id: String::new(),
    };
    let answer = async {
        client
            .resolve_address(request(message, deadline))
            .await
            .map_err(|status| match status.code() {
                Code::Unimplemented => tonic::Status::not_found("no standard addresses"),
                _ => status,
            })
    };
    call(PEER, deadline, answer).await
}

/// Classify on triage.
pub async fn classify(
    context: &ServiceContext,
    deadline: Duration,
    message: ClassifyRequest,
) -> Result<Classification, HopError> {
    const PEER: &str = "triage";
    let channel = channel(context, PEER)?;
    let mut client = TriageServiceClient::new(channel);
    let response = call(PEER, deadline, client.classify(request(message, deadline))).await?;
    response.classification.ok_or(HopError::Unavailable {
        peer: PEER,
        detail: "answer without a classification".into(),
    })
}

/// DivertTo12345 on triage.
pub async fn divert(
    context: &ServiceContext,
    deadline: Duration,
    message: DivertTo12345Request,
) -> Result<DivertTo12345Response, HopError> {
    const PEER: &str = "triage";
    let channel = channel(context, PEER)?;
    let mut client = TriageServiceClient::new(channel);
    call(
        PEER,
        deadline,
        client.divert_to12345(request(message, deadline)),
    )
    .await
}

/// OpenDispatch on dispatch.
pub async fn open_dispatch(
    context: &ServiceContext,
    deadline: Duration,
    message: OpenDispatchRequest,
) -> Result<OpenDispatchResponse, HopError> {
    const PEER: &str = "dispatch";
    let channel = channel(context, PEER)?;
    let mut client = DispatchServiceClient::new(channel);
    call(
        PEER,
        deadline,
        client.open_dispatch(request(message, deadline)),
    )
    .await
}
