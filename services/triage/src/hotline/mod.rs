//! The 12345 platform as triage sees it: a [`HotlineGateway`] with a gRPC implementation over
//! `pingan.hotline.v1.HotlineGatewayService` and a built-in [`simulator::HotlineSimulator`].

pub mod simulator;

use std::time::Duration;

use pingan_platform::clients::{TracedChannel, traced_channel};
use pingan_proto::hotline::v1::hotline_gateway_service_client::HotlineGatewayServiceClient;
use pingan_proto::hotline::v1::{
    CreateTicketRequest, CreateTicketResponse, ReplyTicketRequest, ReplyTicketResponse,
};

/// Why a call to 12345 failed: retried later, unless 12345 refused the request itself.
#[derive(Debug, Clone, thiserror::Error)]
#[error("12345 gateway: {message}")]
pub struct GatewayError {
    /// What happened.
    pub message: String,
    /// 12345's status code when it answered with one (a refusal may be permanent).
    pub code: Option<tonic::Code>,
}

impl GatewayError {
    /// 12345 could not be reached or did not answer: worth retrying.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
        }
    }
}

/// Something 12345 reported on its own (the simulator's bounces; the real platform calls
/// `RecordTransferOutcome` instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotlineReport {
    /// Our transfer id.
    pub transfer_id: String,
    /// 12345's ticket id.
    pub ticket_id: String,
    /// Why 12345 sent the request back.
    pub reason: String,
}

/// The 12345 platform.
#[tonic::async_trait]
pub trait HotlineGateway: Send + Sync + std::fmt::Debug {
    /// Creates a ticket; idempotent on `request_id` (our transfer id).
    async fn create_ticket(
        &self,
        request: CreateTicketRequest,
    ) -> Result<CreateTicketResponse, GatewayError>;

    /// Answers a ticket; idempotent on `request_id`.
    async fn reply_ticket(
        &self,
        request: ReplyTicketRequest,
    ) -> Result<ReplyTicketResponse, GatewayError>;

    /// Reports 12345 made on its own since the last call (bounced tickets).
    fn take_reports(&self) -> Vec<HotlineReport> {
        Vec::new()
    }
}

/// The gRPC client of the external platform.
#[derive(Debug, Clone)]
pub struct GrpcHotlineGateway {
    channel: TracedChannel,
    timeout: Duration,
}

impl GrpcHotlineGateway {
    /// A client of the gateway at `url` with a deadline per call.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, pingan_platform::ApiError> {
        Ok(Self {
            channel: traced_channel(url)?,
            timeout,
        })
    }
}

fn status_error(status: tonic::Status) -> GatewayError {
    GatewayError {
        message: format!("{:?}: {}", status.code(), status.message()),
        code: Some(status.code()),
    }
}

#[tonic::async_trait]
impl HotlineGateway for GrpcHotlineGateway {
    async fn create_ticket(
        &self,
        request: CreateTicketRequest,
    ) -> Result<CreateTicketResponse, GatewayError> {
        let mut request = tonic::Request::new(request);
        request.set_timeout(self.timeout);
        HotlineGatewayServiceClient::new(self.channel.clone())
            .create_ticket(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(status_error)
    }

    async fn reply_ticket(
        &self,
        request: ReplyTicketRequest,
    ) -> Result<ReplyTicketResponse, GatewayError> {
        let mut request = tonic::Request::new(request);
        request.set_timeout(self.timeout);
        HotlineGatewayServiceClient::new(self.channel.clone())
            .reply_ticket(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(status_error)
    }
}
